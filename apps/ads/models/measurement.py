"""Measurement: what viewers did with served ads, conversions, the daily report and the
spend posted to the ledger.

Ids of orgs, campaigns, ad groups and ads are plain integers here, not foreign keys: the
record of what was served, charged and reported outlives the campaign rows (a deleted
campaign's spend stays in the books and the reports). Money is integer micros of the org's
currency (payments.money), never a float."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import SnowflakeModel


class AdEventKind(models.TextChoices):
    IMPRESSION = "impression", "Impression"  # >= 50 % on screen for the standard second
    VIEW_2S = "view_2s", "2-second view"
    VIEW_6S = "view_6s", "6-second view"
    COMPLETION = "completion", "Completion"
    CLICK = "click", "Click"


class InvalidReason(models.TextChoices):
    """Why an event is invalid traffic: recorded, reported, never billed."""

    NONE = "", "Valid"
    BOT = "bot", "Bot user agent"
    EXPIRED = "expired", "Token too old"
    VIEWER_MISMATCH = "viewer_mismatch", "Sent by another viewer than the ad was served to"
    DUPLICATE = "duplicate", "Token replayed"
    NO_IMPRESSION = "no_impression", "No impression before it"
    TOO_FAST = "too_fast", "Faster than possible"
    RATE = "rate", "More events than a person makes"
    REPEATED_CLICK = "repeated_click", "Repeated click"


class AdEvent(SnowflakeModel):
    """One measurement event of one served ad (one auction). At most one valid event of a
    kind per auction (the partial unique index): the same token and event again is a
    replay, recorded as invalid. The billing event's row carries the price charged."""

    auction_id = models.BigIntegerField()
    kind = models.CharField(max_length=16, choices=AdEventKind.choices)
    org_id = models.BigIntegerField()
    campaign_id = models.BigIntegerField()
    ad_group_id = models.BigIntegerField()
    ad_id = models.BigIntegerField()
    # "u:<user id>" or "d:<device/session id>" as the token names the viewer
    viewer_key = models.CharField(max_length=80)
    user_id = models.BigIntegerField(null=True, blank=True)
    age_band = models.CharField(max_length=8, blank=True)  # "" unknown (signed out)
    country = models.CharField(max_length=2, blank=True)
    served_at = models.DateTimeField()
    created_at = models.DateTimeField()  # receipt, by the server's clock
    invalid_reason = models.CharField(
        max_length=16, choices=InvalidReason.choices, blank=True, default=""
    )
    # What this event charged (the auction's price on its billing event; 0 otherwise).
    price_micros = models.BigIntegerField(default=0)
    # Clicks only: the opaque id the landing URL carries (swpclid), for conversions.
    click_id = models.CharField(max_length=32, null=True, blank=True, unique=True)
    # Set when the charge was moved into the ledger (reconciliation).
    posting = models.ForeignKey(
        "ads.SpendPosting", null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )

    class Meta:
        indexes = [
            models.Index(fields=["viewer_key", "created_at"], name="ads_event_viewer_time"),
            models.Index(fields=["ad_id", "created_at"], name="ads_event_ad_time"),
            models.Index(fields=["created_at"], name="ads_event_time"),
            models.Index(
                fields=["org_id"],
                condition=Q(price_micros__gt=0, posting__isnull=True),
                name="ads_event_unposted",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["auction_id", "kind"],
                condition=Q(invalid_reason=""),
                name="ads_event_once_per_auction",
            ),
            models.CheckConstraint(
                condition=Q(price_micros__gte=0), name="ads_event_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(price_micros=0) | Q(invalid_reason=""),
                name="ads_event_invalid_never_charged",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of ad {self.ad_id} (auction {self.auction_id})"


class SpendPosting(SnowflakeModel):
    """One move of charged spend from an org's prepaid balance to platform revenue: the
    ledger set `ads-spend:<id>` and the events it covers (`AdEvent.posting`), committed
    together."""

    org_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    amount_micros = models.BigIntegerField()
    event_count = models.PositiveIntegerField()
    transfer_set_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["org_id", "created_at"], name="ads_posting_org")]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_micros__gt=0), name="ads_posting_amount_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.amount_micros} {self.currency} micros of org {self.org_id}"


class ConversionSource(models.TextChoices):
    PIXEL = "pixel", "Pixel"
    API = "api", "Conversions API"


class Attribution(models.TextChoices):
    CLICK = "click", "Last click"
    VIEW = "view", "Last view"
    NONE = "none", "Not attributed"


class AdConversion(SnowflakeModel):
    """A conversion an advertiser reported, once per (org, event id) whatever the source,
    attributed to the viewer's last valid click within the click window, else their last
    valid impression within the view window."""

    org_id = models.BigIntegerField()
    event_id = models.CharField(max_length=100)
    event_name = models.CharField(max_length=40)
    source = models.CharField(max_length=8, choices=ConversionSource.choices)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    value_micros = models.BigIntegerField(default=0)
    attribution = models.CharField(max_length=8, choices=Attribution.choices)
    attributed_event = models.ForeignKey(
        AdEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    campaign_id = models.BigIntegerField(null=True, blank=True)
    ad_group_id = models.BigIntegerField(null=True, blank=True)
    ad_id = models.BigIntegerField(null=True, blank=True)
    age_band = models.CharField(max_length=8, blank=True)
    country = models.CharField(max_length=2, blank=True)

    class Meta:
        indexes = [models.Index(fields=["ad_id", "occurred_at"], name="ads_conversion_ad")]
        constraints = [
            models.UniqueConstraint(fields=["org_id", "event_id"], name="ads_conversion_once"),
            models.CheckConstraint(
                condition=Q(value_micros__gte=0), name="ads_conversion_value_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_name} {self.event_id} of org {self.org_id}"


class AdDailyStats(SnowflakeModel):
    """The report's table: UTC day (of receipt) x ad x age band x country. Rebuilt from the
    events by `rollup` (exact; `reach` is the exact count of distinct viewers with a valid
    impression in the cell that day — reach over several cells or days is counted from the
    events again, never summed from here)."""

    day = models.DateField()
    org_id = models.BigIntegerField()
    campaign_id = models.BigIntegerField()
    ad_group_id = models.BigIntegerField()
    ad_id = models.BigIntegerField()
    age_band = models.CharField(max_length=8, blank=True)
    country = models.CharField(max_length=2, blank=True)
    impressions = models.BigIntegerField(default=0)
    reach = models.BigIntegerField(default=0)
    views_2s = models.BigIntegerField(default=0)
    views_6s = models.BigIntegerField(default=0)
    completions = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    conversions = models.BigIntegerField(default=0)
    spend_micros = models.BigIntegerField(default=0)
    invalid_events = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["org_id", "day"], name="ads_daily_org_day")]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "ad_id", "age_band", "country"], name="ads_daily_cell"
            )
        ]

    def __str__(self) -> str:
        return f"ad {self.ad_id} on {self.day} ({self.age_band or '?'}, {self.country or '?'})"


class ConversionApiKey(SnowflakeModel):
    """An org's key for the server-to-server conversions API: shown once at creation, kept
    as its SHA-256; `prefix` finds the row."""

    org = models.ForeignKey(
        "ads.AdvertiserOrg", on_delete=models.CASCADE, related_name="conversion_keys"
    )
    name = models.CharField(max_length=60)
    prefix = models.CharField(max_length=16, unique=True)
    key_sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
