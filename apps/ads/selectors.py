"""Reads: THE eligibility query delivery uses, and the portal's lists scoped to a member.

Eligibility (one rule, one place) — an ad may serve to a viewer now when:
- the ad is approved by review and active, its ad group active with the placement, its
  campaign active and within its schedule (start ≤ now < end), its org active with a
  prepaid balance above zero;
- the ad group's audiences: every custom audience / lookalike it names that is below
  `SWIPEME_ADS_AUDIENCE_MIN_SIZE` is ignored, and a group left with none of the audiences
  it named does not serve at all;
- now is within the group's day-parting hours (in the org's time zone);
- the viewer matches the targeting (`targeting.viewer_matches`: the minors, signed-out
  and restricted-category rules live there);
- the campaign has budget left: daily — today's spend (delivery.budget's Redis counter)
  below the budget; lifetime — spend before today (measurement's daily table) plus today's
  below the budget. Pacing and frequency caps are delivery's, on top of this.

`live_ads(now)` is the viewer-independent part (one SQL statement plus one for the
audience links; cacheable for a few seconds by delivery); `servable_ads(viewer, ...)`
applies the viewer, the day-part and the budget to it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from apps.ads.conf import conf
from apps.ads.hooks import creative_revoked
from apps.ads.models import (
    Ad,
    AdGroup,
    AdvertiserOrg,
    Campaign,
    CustomAudience,
    Lookalike,
    Membership,
    Topup,
)
from apps.ads.services.orgs import Action, require, user_id_of
from apps.ads.targeting import Targeting, Viewer, topic_matches, viewer_matches
from apps.core.errors import NotFoundError


@dataclass(frozen=True)
class ServableAd:
    ad_id: int
    ad_group_id: int
    campaign_id: int
    org_id: int
    asset_id: int
    name: str
    display_name: str
    cta: str
    landing_url: str
    restricted_category: str
    objective: str
    bid_strategy: str
    bid_micros: int | None
    target_cost_micros: int | None
    frequency_cap_day: int | None
    frequency_cap_week: int | None
    inventory_tier: str
    budget_kind: str
    budget_micros: int
    currency: str
    timezone: str
    hours_of_week: tuple[int, ...]
    targeting: Targeting


def live_ads(
    now: datetime | None = None,
    *,
    placement: str = AdGroup.Placement.FOR_YOU,
    campaign_ids: Iterable[int] | None = None,
) -> list[ServableAd]:
    """Every ad that may serve now to someone (before viewer, day-part and budget)."""
    now = now or timezone.now()
    rows = (
        Ad.objects.filter(
            review_state=Ad.Review.APPROVED,
            status=Ad.Status.ACTIVE,
            ad_group__status=AdGroup.Status.ACTIVE,
            ad_group__placements__contains=[placement],
            ad_group__campaign__status=Campaign.Status.ACTIVE,
            ad_group__campaign__start_at__lte=now,
            ad_group__campaign__org__status=AdvertiserOrg.Status.ACTIVE,
            # the prepaid balance: credits above debits and holds
            ad_group__campaign__org__balance_account__credits_posted__gt=(
                F("ad_group__campaign__org__balance_account__debits_posted")
                + F("ad_group__campaign__org__balance_account__debits_pending")
            ),
        )
        .filter(Q(ad_group__campaign__end_at__isnull=True) | Q(ad_group__campaign__end_at__gt=now))
        .values(
            "id",
            "ad_group_id",
            "ad_group__campaign_id",
            "ad_group__campaign__org_id",
            "asset_id",
            "name",
            "display_name",
            "cta",
            "landing_url",
            "restricted_category",
            "ad_group__campaign__objective",
            "ad_group__bid_strategy",
            "ad_group__bid_micros",
            "ad_group__target_cost_micros",
            "ad_group__frequency_cap_day",
            "ad_group__frequency_cap_week",
            "ad_group__campaign__inventory_tier",
            "ad_group__campaign__budget_kind",
            "ad_group__campaign__budget_micros",
            "ad_group__campaign__org__currency",
            "ad_group__campaign__org__timezone",
            "ad_group__hours_of_week",
            "ad_group__countries",
            "ad_group__regions",
            "ad_group__languages",
            "ad_group__age_bands",
            "ad_group__interests",
            "ad_group__devices",
            "ad_group__topics",
        )
        .order_by("id")
    )
    if campaign_ids is not None:
        rows = rows.filter(ad_group__campaign_id__in=list(campaign_ids))
    # A creative that is not a member's upload was granted (a spark ad: ads.hooks); a grant
    # that has ended (the post removed, made private, its author banned) stops the ad at the
    # next inventory read, not only at the ad's check.
    rows = rows.annotate(
        creative_owned=Exists(
            Membership.objects.filter(
                org_id=OuterRef("ad_group__campaign__org_id"), user_id=OuterRef("asset__owner_id")
            )
        )
    )
    found = [
        r
        for r in rows
        if r["creative_owned"]
        or not creative_revoked(org_id=r["ad_group__campaign__org_id"], asset_id=r["asset_id"])
    ]
    audiences, lookalikes, named = _group_audiences({r["ad_group_id"] for r in found})
    out: list[ServableAd] = []
    for r in found:
        gid = r["ad_group_id"]
        usable_a, usable_l = audiences.get(gid, ()), lookalikes.get(gid, ())
        if gid in named and not (usable_a or usable_l):
            continue  # every audience it names is below the minimum size
        out.append(
            ServableAd(
                ad_id=r["id"],
                ad_group_id=gid,
                campaign_id=r["ad_group__campaign_id"],
                org_id=r["ad_group__campaign__org_id"],
                asset_id=r["asset_id"],
                name=r["name"],
                display_name=r["display_name"],
                cta=r["cta"],
                landing_url=r["landing_url"],
                restricted_category=r["restricted_category"],
                objective=r["ad_group__campaign__objective"],
                bid_strategy=r["ad_group__bid_strategy"],
                bid_micros=r["ad_group__bid_micros"],
                target_cost_micros=r["ad_group__target_cost_micros"],
                frequency_cap_day=r["ad_group__frequency_cap_day"],
                frequency_cap_week=r["ad_group__frequency_cap_week"],
                inventory_tier=r["ad_group__campaign__inventory_tier"],
                budget_kind=r["ad_group__campaign__budget_kind"],
                budget_micros=r["ad_group__campaign__budget_micros"],
                currency=r["ad_group__campaign__org__currency"],
                timezone=r["ad_group__campaign__org__timezone"],
                hours_of_week=tuple(r["ad_group__hours_of_week"] or ()),
                targeting=Targeting(
                    countries=tuple(r["ad_group__countries"]),
                    regions=tuple(r["ad_group__regions"]),
                    languages=tuple(r["ad_group__languages"]),
                    age_bands=tuple(r["ad_group__age_bands"]),
                    interests=tuple(r["ad_group__interests"]),
                    devices=tuple(r["ad_group__devices"]),
                    custom_audience_ids=tuple(usable_a),
                    lookalike_ids=tuple(usable_l),
                    topics=tuple(r["ad_group__topics"]),
                ),
            )
        )
    return out


def _group_audiences(
    group_ids: set[int],
) -> tuple[dict[int, list[int]], dict[int, list[int]], set[int]]:
    """Per group: its usable custom audiences and lookalikes (at least the minimum size),
    and the set of groups that name any audience at all."""
    if not group_ids:
        return {}, {}, set()
    floor = int(conf("SWIPEME_ADS_AUDIENCE_MIN_SIZE"))
    audiences: dict[int, list[int]] = defaultdict(list)
    lookalikes: dict[int, list[int]] = defaultdict(list)
    named: set[int] = set()
    through_a = AdGroup.custom_audiences.through
    for gid, aid, count, state in through_a.objects.filter(adgroup_id__in=group_ids).values_list(
        "adgroup_id", "customaudience_id", "customaudience__matched_count", "customaudience__state"
    ):
        named.add(gid)
        if count >= floor and state == CustomAudience.State.READY:
            audiences[gid].append(aid)
    through_l = AdGroup.lookalikes.through
    for gid, lid, count, state in through_l.objects.filter(adgroup_id__in=group_ids).values_list(
        "adgroup_id", "lookalike_id", "lookalike__matched_count", "lookalike__state"
    ):
        named.add(gid)
        if count >= floor and state == Lookalike.State.READY:
            lookalikes[gid].append(lid)
    return audiences, lookalikes, named


def hour_of_week(now: datetime, zone: str) -> int:
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    local = now.astimezone(tz)
    return local.weekday() * 24 + local.hour


def in_daypart(ad: ServableAd, now: datetime) -> bool:
    return not ad.hours_of_week or hour_of_week(now, ad.timezone) in ad.hours_of_week


def _spent_today(campaign_ids: Sequence[int], now: datetime) -> dict[int, int]:
    # Seam: delivery.budget's Redis counters are the spend of record for pacing.
    from apps.ads.delivery.budget import spent

    return spent(campaign_ids, day=now)


def _spent_before_today(campaign_ids: Sequence[int], now: datetime) -> dict[int, int]:
    """Lifetime campaigns: what measurement's daily table says was spent before today."""
    from apps.ads.models.measurement import AdDailyStats

    if not campaign_ids:
        return {}
    today = now.astimezone(UTC).date()
    rows = (
        AdDailyStats.objects.filter(campaign_id__in=list(campaign_ids), day__lt=today)
        .values("campaign_id")
        .annotate(total=Sum("spend_micros"))
    )
    return {r["campaign_id"]: int(r["total"] or 0) for r in rows}


def budget_left(ads: Sequence[ServableAd], now: datetime | None = None) -> dict[int, int]:
    """Micros each campaign may still spend today (≤ 0: exhausted)."""
    now = now or timezone.now()
    budgets = {a.campaign_id: (a.budget_kind, a.budget_micros) for a in ads}
    today = _spent_today(list(budgets), now)
    lifetime = [c for c, (kind, _) in budgets.items() if kind == Campaign.BudgetKind.LIFETIME]
    before = _spent_before_today(lifetime, now)
    return {c: budget - today.get(c, 0) - before.get(c, 0) for c, (_, budget) in budgets.items()}


def servable_ads(
    viewer: Viewer,
    *,
    now: datetime | None = None,
    ads: Sequence[ServableAd] | None = None,
    placement: str = AdGroup.Placement.FOR_YOU,
    topics: frozenset[str] | None = None,
) -> list[ServableAd]:
    """THE eligibility answer for one viewer now. `ads`: a (cached) `live_ads` result.
    `topics`: the slot's content topics (`targeting.slot_topics`); None: any slot."""
    now = now or timezone.now()
    pool = live_ads(now, placement=placement) if ads is None else ads
    matched = [
        a
        for a in pool
        if in_daypart(a, now)
        and viewer_matches(a.targeting, viewer, restricted_category=a.restricted_category)
        and (topics is None or topic_matches(a.targeting, topics))
    ]
    if not matched:
        return []
    left = budget_left(matched, now)
    return [a for a in matched if left.get(a.campaign_id, 0) > 0]


def eligible_ad_groups(
    viewer: Viewer, *, now: datetime | None = None, ads: Sequence[ServableAd] | None = None
) -> set[int]:
    return {a.ad_group_id for a in servable_ads(viewer, now=now, ads=ads)}


# --- the portal: everything scoped to the member's org -------------------------------------------


def orgs_of(user: object) -> QuerySet[AdvertiserOrg]:
    """The orgs the user is a member of (annotated with their `role`)."""
    return (
        AdvertiserOrg.objects.filter(memberships__user_id=user_id_of(user))
        .annotate(role=F("memberships__role"))
        .order_by("name", "id")
    )


def org_for(user: object, org_id: int, action: Action = Action.VIEW) -> AdvertiserOrg:
    require(user, org_id, action)
    return AdvertiserOrg.objects.select_related("balance_account").get(pk=org_id)


def members_of(user: object, org_id: int) -> QuerySet[Membership]:
    require(user, org_id, Action.VIEW)
    return Membership.objects.filter(org_id=org_id).select_related("user").order_by("id")


def campaigns_for(user: object, org_id: int) -> QuerySet[Campaign]:
    require(user, org_id, Action.VIEW)
    return Campaign.objects.filter(org_id=org_id).order_by("-id")


def _member_org_ids(user: object) -> QuerySet[Membership, Any]:
    return Membership.objects.filter(user_id=user_id_of(user)).values("org_id")


def campaign_for(user: object, campaign_id: int, action: Action = Action.VIEW) -> Campaign:
    """A campaign of one of the user's orgs, or 404 (another org's is 'not found' too)."""
    found = (
        Campaign.objects.select_related("org")
        .filter(pk=campaign_id, org_id__in=_member_org_ids(user))
        .first()
    )
    if found is None:
        raise NotFoundError("No such campaign.")
    require(user, found.org_id, action)
    return found


def ad_groups_for(user: object, campaign_id: int) -> QuerySet[AdGroup]:
    campaign = campaign_for(user, campaign_id)
    return AdGroup.objects.filter(campaign=campaign).order_by("-id")


def ad_group_for(user: object, group_id: int, action: Action = Action.VIEW) -> AdGroup:
    found = (
        AdGroup.objects.select_related("campaign__org")
        .filter(pk=group_id, campaign__org_id__in=_member_org_ids(user))
        .first()
    )
    if found is None:
        raise NotFoundError("No such ad group.")
    require(user, found.campaign.org_id, action)
    return found


def ads_for(user: object, group_id: int) -> QuerySet[Ad]:
    group = ad_group_for(user, group_id)
    return Ad.objects.filter(ad_group=group).order_by("-id")


def ad_for(user: object, ad_id: int, action: Action = Action.VIEW) -> Ad:
    found = (
        Ad.objects.select_related("ad_group__campaign__org")
        .filter(pk=ad_id, ad_group__campaign__org_id__in=_member_org_ids(user))
        .first()
    )
    if found is None:
        raise NotFoundError("No such ad.")
    require(user, found.ad_group.campaign.org_id, action)
    return found


def org_ads(user: object, org_id: int) -> QuerySet[Ad]:
    """Every ad of the org with its group and campaign (one query), newest first."""
    require(user, org_id, Action.VIEW)
    return (
        Ad.objects.filter(ad_group__campaign__org_id=org_id)
        .select_related("ad_group__campaign")
        .order_by("-id")
    )


def audiences_for(user: object, org_id: int) -> QuerySet[CustomAudience]:
    require(user, org_id, Action.VIEW)
    return CustomAudience.objects.filter(org_id=org_id).order_by("-id")


def audience_for(user: object, audience_id: int) -> CustomAudience:
    found = CustomAudience.objects.filter(pk=audience_id, org_id__in=_member_org_ids(user)).first()
    if found is None:
        raise NotFoundError("No such audience.")
    return found


def lookalikes_for(user: object, org_id: int) -> QuerySet[Lookalike]:
    require(user, org_id, Action.VIEW)
    return Lookalike.objects.filter(org_id=org_id).select_related("seed").order_by("-id")


def topups_for(user: object, org_id: int) -> QuerySet[Topup]:
    require(user, org_id, Action.VIEW)
    return Topup.objects.filter(org_id=org_id).order_by("-id")


def review_queue() -> QuerySet[Ad]:
    """Ad-ops: ads waiting for a person, oldest submission first."""
    return (
        Ad.objects.filter(review_state=Ad.Review.PENDING)
        .select_related("ad_group__campaign__org")
        .order_by("submitted_at", "id")
    )
