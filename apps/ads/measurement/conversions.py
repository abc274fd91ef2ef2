"""Conversions: what advertisers report happened after an ad (a purchase, a sign-up), from
the pixel on their pages or their server (the conversions API), and its attribution.

- Once per (org, event id), whatever the source: the pixel and the server may both report
  one purchase; a replayed event is a duplicate (the unique constraint decides, so two at
  once count once).
- Who converted: the click id our redirect added to the landing URL (`swpclid`), else (API
  only) the SHA-256 of the person's e-mail address, matched against verified addresses.
- Attribution: the viewer's last valid click on one of the org's ads within the click
  window (SWIPEME_ADS_CLICK_WINDOW_DAYS) before the conversion, else their last valid
  impression within the view window (SWIPEME_ADS_VIEW_WINDOW_DAYS), else none.
- The conversions API authenticates with an org's API key (`ConversionApiKey`: shown once,
  kept as its SHA-256, found by its prefix)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import CharField, Func
from django.utils import timezone

from apps.ads.models import AdvertiserOrg
from apps.ads.models.measurement import (
    AdConversion,
    AdEvent,
    AdEventKind,
    Attribution,
    ConversionApiKey,
)
from apps.ads.services.orgs import Action, require
from apps.core.errors import ApplicationError, NotFoundError

EVENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
EVENT_ID = re.compile(r"^[\x21-\x7e]{1,100}$")  # printable ASCII, no spaces
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
KEY_PREFIX = "swpk_"
MAX_PAST = timedelta(days=7)  # a conversion reported later than this is refused
MAX_FUTURE = timedelta(minutes=5)  # clock skew of the advertiser's server
MAX_VALUE_MICROS = 10**15


@dataclass(frozen=True)
class ConversionIn:
    event_id: str
    event_name: str
    occurred_at: datetime
    click_id: str = ""
    email_sha256: str = ""
    value_micros: int = 0


@dataclass(frozen=True)
class ConversionResult:
    conversion: AdConversion
    duplicate: bool


def conversion_clean(raw: dict[str, Any], *, now: datetime) -> ConversionIn:
    """One reported conversion, checked; ApplicationError with the fields otherwise."""
    errors: dict[str, list[str]] = {}
    event_id = raw.get("event_id")
    if not isinstance(event_id, str) or not EVENT_ID.match(event_id):
        errors["event_id"] = ["1 to 100 printable characters, no spaces."]
    name = raw.get("event", "")
    if not isinstance(name, str) or not EVENT_NAME.match(name):
        errors["event"] = ["A name such as purchase (letters, digits, _; up to 40)."]
    occurred = raw.get("occurred_at")
    occurred_at: datetime | None = now if occurred is None else None
    if isinstance(occurred, int) and not isinstance(occurred, bool) and 0 < occurred < 2**33:
        occurred_at = datetime.fromtimestamp(occurred, tz=UTC)
    elif isinstance(occurred, str):
        try:
            occurred_at = datetime.fromisoformat(occurred)
        except ValueError:
            occurred_at = None
        if occurred_at is not None and occurred_at.tzinfo is None:
            occurred_at = None
    if occurred_at is None or not now - MAX_PAST <= occurred_at <= now + MAX_FUTURE:
        errors["occurred_at"] = [
            "A time with its zone (ISO 8601 or Unix seconds) within the last 7 days."
        ]
    click_id = raw.get("click_id") or ""
    if not isinstance(click_id, str) or len(click_id) > 32:
        errors["click_id"] = ["The swpclid of the landing URL."]
    email = raw.get("email_sha256") or ""
    if not isinstance(email, str) or (email and not SHA256_HEX.match(email.lower())):
        errors["email_sha256"] = ["The SHA-256 (hex) of the lower-cased e-mail address."]
    value = raw.get("value_micros", 0)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_VALUE_MICROS:
        errors["value_micros"] = ["Whole micros of the org's currency, 0 or more."]
    if errors:
        raise ApplicationError("Check the conversion.", fields=errors)
    assert occurred_at is not None
    assert isinstance(event_id, str)
    return ConversionIn(
        event_id=event_id,
        event_name=str(name),
        occurred_at=occurred_at,
        click_id=str(click_id),
        email_sha256=str(email).lower(),
        value_micros=int(value),
    )


class _EmailSha256(Func):
    """PostgreSQL's own sha256 of the trimmed, lower-cased address, as custom audiences
    match it (apps.ads.services.audiences); Django's SHA256 needs pgcrypto."""

    template = "encode(sha256(convert_to(lower(btrim(%(expressions)s)), 'UTF8')), 'hex')"
    output_field = CharField()


def _viewer_keys(org_id: int, conversion: ConversionIn) -> list[str]:
    keys: list[str] = []
    if conversion.click_id:
        key = (
            AdEvent.objects.filter(click_id=conversion.click_id, org_id=org_id)
            .values_list("viewer_key", flat=True)
            .first()
        )
        if key:
            keys.append(key)
    if conversion.email_sha256:
        user_ids = (
            EmailAddress.objects.filter(verified=True)
            .annotate(h=_EmailSha256("email"))
            .filter(h=conversion.email_sha256)
            .values_list("user_id", flat=True)[:5]
        )
        keys.extend(f"u:{uid}" for uid in user_ids)
    return keys


def attribute(org_id: int, viewer_keys: list[str], at: datetime) -> AdEvent | None:
    """The last valid click within the click window, else the last valid impression within
    the view window, of these viewers on the org's ads before `at`."""
    if not viewer_keys:
        return None
    base = AdEvent.objects.filter(
        org_id=org_id, viewer_key__in=viewer_keys, invalid_reason="", created_at__lte=at
    )
    click = (
        base.filter(
            kind=AdEventKind.CLICK,
            created_at__gte=at - timedelta(days=settings.SWIPEME_ADS_CLICK_WINDOW_DAYS),
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if click is not None:
        return click
    return (
        base.filter(
            kind=AdEventKind.IMPRESSION,
            created_at__gte=at - timedelta(days=settings.SWIPEME_ADS_VIEW_WINDOW_DAYS),
        )
        .order_by("-created_at", "-id")
        .first()
    )


def conversion_record(*, org_id: int, conversion: ConversionIn, source: str) -> ConversionResult:
    """Record one conversion once per (org, event id), attributed."""
    found = AdConversion.objects.filter(org_id=org_id, event_id=conversion.event_id).first()
    if found is not None:
        return ConversionResult(conversion=found, duplicate=True)
    event = attribute(org_id, _viewer_keys(org_id, conversion), conversion.occurred_at)
    row = AdConversion(
        org_id=org_id,
        event_id=conversion.event_id,
        event_name=conversion.event_name,
        source=source,
        occurred_at=conversion.occurred_at,
        value_micros=conversion.value_micros,
        attribution=(
            Attribution.NONE
            if event is None
            else Attribution.CLICK
            if event.kind == AdEventKind.CLICK
            else Attribution.VIEW
        ),
        attributed_event=event,
        campaign_id=event.campaign_id if event else None,
        ad_group_id=event.ad_group_id if event else None,
        ad_id=event.ad_id if event else None,
        age_band=event.age_band if event else "",
        country=event.country if event else "",
    )
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:  # the same event id committed meanwhile
        found = AdConversion.objects.get(org_id=org_id, event_id=conversion.event_id)
        return ConversionResult(conversion=found, duplicate=True)
    return ConversionResult(conversion=row, duplicate=False)


def pixel_org(pixel_id: str) -> int:
    """The org a pixel id names (the org's id), or NotFoundError."""
    if not pixel_id.isdigit() or len(pixel_id) > 19:
        raise NotFoundError("No such pixel.", code="pixel_not_found")
    org_id = int(pixel_id)
    if not AdvertiserOrg.objects.filter(pk=org_id, status=AdvertiserOrg.Status.ACTIVE).exists():
        raise NotFoundError("No such pixel.", code="pixel_not_found")
    return org_id


# --- API keys ------------------------------------------------------------------------------


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def conversion_key_create(*, user: object, org_id: int, name: str) -> tuple[ConversionApiKey, str]:
    """A new conversions API key of the org (admins only): the row and the key itself,
    which is shown this once."""
    require(user, org_id, Action.MEMBERS)
    name = " ".join(str(name).split())
    if not 1 <= len(name) <= 60:
        raise ApplicationError(
            "Name the key (1 to 60 characters).", fields={"name": ["1 to 60 characters."]}
        )
    prefix = secrets.token_hex(6)
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ConversionApiKey.objects.create(
        org_id=org_id,
        name=name,
        prefix=prefix,
        key_sha256=_digest(secret),
        created_by_id=getattr(user, "pk", None),
    )
    return row, secret


def conversion_key_revoke(*, user: object, key: ConversionApiKey) -> None:
    require(user, key.org_id, Action.MEMBERS)
    ConversionApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def conversion_key_check(secret: str) -> ConversionApiKey | None:
    """The live key this secret is, or None."""
    parts = secret.split("_")
    if not secret.startswith(KEY_PREFIX) or len(parts) < 3 or len(secret) > 200:
        return None
    row = (
        ConversionApiKey.objects.filter(prefix=parts[1], revoked_at__isnull=True)
        .select_related("org")
        .first()
    )
    if row is None or not hmac.compare_digest(row.key_sha256, _digest(secret)):
        return None
    if row.org.status != AdvertiserOrg.Status.ACTIVE:
        return None
    return row
