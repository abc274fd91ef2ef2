"""Recording what a viewer did with a served ad: `ad_event_record` (impressions, views,
completions from the client; clicks from the redirect).

The served-ad token is the only thing trusted: it names the auction, the ad, the price and
the billing event, and the viewer it was served to. The request adds only who sends it
(the signed-in user, or nobody) and its user agent. Every event is judged for invalid
traffic (`ivt.judge`) and recorded either way; a valid event that is the token's billing
event carries the auction's price, at most once per auction and kind (the partial unique
index `ads_event_once_per_auction`: a concurrent replay fails the insert and is recorded as
a duplicate), but never more than what is left of the campaign's budget for the day: the
check and the debit of delivery's Redis spend counter are one script
(`billing.charge_within_budget`), so a late click or view of an ad that pacing admitted on
its expected cost is charged only the remainder (0 once the budget is spent; the event is
still counted). A charge whose event is then not recorded is taken back (`_refund`)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from redis import RedisError

from apps.ads.delivery.tokens import InvalidAdTokenError, ServedAd, read_token
from apps.ads.measurement import billing, ivt
from apps.ads.measurement.viewers import viewer_cell
from apps.ads.models import Ad
from apps.ads.models.measurement import AdEvent, AdEventKind, InvalidReason
from apps.core.errors import ApplicationError, NotFoundError

logger = logging.getLogger(__name__)

CLIENT_KINDS = (
    AdEventKind.IMPRESSION,
    AdEventKind.VIEW_2S,
    AdEventKind.VIEW_6S,
    AdEventKind.COMPLETION,
)
_INT64_MAX = 2**63 - 1


class InvalidTokenError(ApplicationError):
    code = "invalid_ad_token"


@dataclass(frozen=True)
class Caller:
    """Who sends the event, as the server sees it (never what the client says)."""

    user_id: int | None
    user_agent: str


@dataclass(frozen=True)
class Recorded:
    event: AdEvent
    landing_url: str

    @property
    def valid(self) -> bool:
        return not self.event.invalid_reason

    @property
    def charged(self) -> int:
        return self.event.price_micros


def served_ad_from(token: str) -> tuple[ServedAd, int]:
    """The token's served ad and its auction id as an int, or InvalidTokenError (400)."""
    try:
        served = read_token(token)
    except InvalidAdTokenError as exc:
        raise InvalidTokenError(exc.message, fields={"token": [exc.message]}) from None
    try:
        auction_id = int(served.auction_id)
    except ValueError:
        auction_id = -1
    if not 0 < auction_id <= _INT64_MAX:
        raise InvalidTokenError(
            "This ad token is not valid.", fields={"token": ["This ad token is not valid."]}
        )
    return served, auction_id


def landing_url_for(token: str) -> str:
    """Where a served ad's click goes, without recording anything."""
    served, _ = served_ad_from(token)
    url = Ad.objects.filter(pk=served.ad_id).values_list("landing_url", flat=True).first()
    if url is None:
        raise NotFoundError("This ad is no longer available.")
    return url


def ad_event_record(
    *, token: str, kind: str, caller: Caller, now: datetime | None = None
) -> Recorded:
    """Record one event of a served ad (judged, charged when it is the valid billing
    event). Raises InvalidTokenError for a token that is not ours or too old, NotFoundError
    when its ad no longer exists."""
    if kind not in AdEventKind.values:
        raise ApplicationError("Unknown ad event.", fields={"event": ["Unknown ad event."]})
    served, auction_id = served_ad_from(token)
    now = now or timezone.now()
    ad = (
        Ad.objects.filter(pk=served.ad_id)
        .values("landing_url", "ad_group_id", "ad_group__campaign_id", "ad_group__campaign__org_id")
        .first()
    )
    if (
        ad is None
        or ad["ad_group_id"] != served.ad_group_id
        or ad["ad_group__campaign_id"] != served.campaign_id
    ):
        raise NotFoundError("This ad is no longer available.")
    cell = viewer_cell(served.viewer_key, now.date())
    debited = 0  # what delivery's Redis counter was charged, taken back if we fail
    try:
        with transaction.atomic():
            if kind == AdEventKind.CLICK:
                # one viewer's clicks on one ad are judged one at a time (repeated clicks)
                _lock(f"ads-click:{served.viewer_key}:{served.ad_id}")
            reason = ivt.judge(_facts(served, auction_id, kind, caller, cell.user_id, now))
            price, counted = 0, False
            if not reason and kind == served.billing_event and served.price_micros > 0:
                # at most what is left of the budget (checked and debited at once)
                price, counted = billing.charge_within_budget(
                    campaign_id=served.campaign_id,
                    price_micros=served.price_micros,
                    at=now,
                    served_at=served.served_at,
                )
                debited = price if counted else 0
            event = AdEvent(
                auction_id=auction_id,
                kind=kind,
                org_id=ad["ad_group__campaign__org_id"],
                campaign_id=served.campaign_id,
                ad_group_id=served.ad_group_id,
                ad_id=served.ad_id,
                viewer_key=served.viewer_key,
                user_id=cell.user_id,
                age_band=cell.age_band,
                country=cell.country,
                served_at=served.served_at,
                created_at=now,
                invalid_reason=reason,
                price_micros=price,
                click_id=secrets.token_urlsafe(16) if kind == AdEventKind.CLICK else None,
            )
            try:
                with transaction.atomic():
                    event.save(force_insert=True)
            except IntegrityError:
                # the same auction's event of this kind committed meanwhile: a replay
                event.pk = None
                event.invalid_reason, event.price_micros = InvalidReason.DUPLICATE, 0
                event.save(force_insert=True)
                _refund(served.campaign_id, debited, now)
                debited = 0
            if event.price_micros and not counted:
                charge = (served.campaign_id, event.price_micros, now, served.served_at)
                transaction.on_commit(lambda: billing.spend_to_budget(*charge))
    except BaseException:
        _refund(served.campaign_id, debited, now)
        raise
    return Recorded(event=event, landing_url=ad["landing_url"])


def _refund(campaign_id: int, micros: int, at: datetime) -> None:
    if not micros:
        return
    from apps.ads.delivery import budget

    try:
        budget.refund(campaign_id=campaign_id, micros=micros, at=at)
    except RedisError:  # the counter then reads high for the day: pacing spends less
        logger.warning("ads.budget_refund_failed", extra={"campaign_id": campaign_id})


def _lock(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [name])


def _facts(
    served: ServedAd,
    auction_id: int,
    kind: str,
    caller: Caller,
    token_user_id: int | None,
    now: datetime,
) -> ivt.Facts:
    recorded = dict(
        AdEvent.objects.filter(auction_id=auction_id, invalid_reason="").values_list(
            "kind", "created_at"
        )
    )
    minute_ago = now - timedelta(minutes=1)
    recent = AdEvent.objects.filter(
        viewer_key=served.viewer_key, kind=kind, created_at__gt=minute_ago, created_at__lte=now
    ).count()
    clicked = (
        kind == AdEventKind.CLICK
        and AdEvent.objects.filter(
            viewer_key=served.viewer_key,
            kind=AdEventKind.CLICK,
            ad_id=served.ad_id,
            invalid_reason="",
            created_at__lte=now,
            created_at__gt=now - timedelta(seconds=_repeat_click_seconds()),
        ).exists()
    )
    return ivt.Facts(
        kind=kind,
        user_agent=caller.user_agent,
        served_at=served.served_at,
        now=now,
        token_user_id=token_user_id,
        caller_user_id=caller.user_id,
        recorded_kinds=frozenset(recorded),
        impression_at=recorded.get(AdEventKind.IMPRESSION),
        recent_of_kind=recent,
        clicked_recently=clicked,
    )


def _repeat_click_seconds() -> int:
    from django.conf import settings

    return int(settings.SWIPEME_ADS_REPEAT_CLICK_SECONDS)
