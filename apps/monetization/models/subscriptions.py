"""Subscriptions to creators: monthly price tiers, a subscription's paid periods and the
charge behind each period.

- `SubscriptionTier`: a creator's monthly price (whole cents of a currency), a name and
  perks. Archiving (`active=False`) stops new subscriptions; current subscribers keep their
  price until they leave (a subscription copies the price when it starts).
- `Subscription`: one person's subscription to one creator. At most one is live
  (incomplete / active / past_due) per pair, backed by a partial unique index; a new one
  may start after the old one ended (cancelled / expired). Periods are whole calendar
  months from `anchor` (period n ends `anchor + n months`, so a 31st stays the month's
  last day, never drifts).
- `SubscriptionCharge`: one attempt to pay one period. Unique (subscription, period,
  attempt): a renewal task run twice finds the row and charges nothing more; the
  provider call's idempotency key is built from it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import SnowflakeModel

TIER_NAME_MAX = 40
TIER_PERKS_MAX = 500
# $0.99 .. $999.99 a month: a price below the provider's fixed fee, or a typo's thousands,
# is refused in words.
TIER_MIN_MINOR = 99
TIER_MAX_MINOR = 99_999


class SubscriptionTier(SnowflakeModel):
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="+")
    name = models.CharField(max_length=TIER_NAME_MAX)
    price_minor = models.PositiveIntegerField()  # per month, in the currency's minor unit
    currency = models.CharField(max_length=3, default="USD")
    perks = models.TextField(max_length=TIER_PERKS_MAX, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["creator", "active", "price_minor"],
                                name="monet_tier_creator_active")]
        constraints = [models.CheckConstraint(
            condition=Q(price_minor__gte=TIER_MIN_MINOR, price_minor__lte=TIER_MAX_MINOR),
            name="monet_tier_price_range")]

    def __str__(self) -> str:
        return f"{self.name} ({self.price_minor} {self.currency}/month) by {self.creator_id}"


class Subscription(SnowflakeModel):
    class Status(models.TextChoices):
        INCOMPLETE = "incomplete", "Waiting for the first payment"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Payment failed; retrying (access kept during the grace period)"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Ended: payment failed"

    LIVE = (Status.INCOMPLETE, Status.ACTIVE, Status.PAST_DUE)

    subscriber = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                   related_name="+")
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="+")
    tier = models.ForeignKey(SubscriptionTier, on_delete=models.PROTECT, related_name="+")
    # The price the subscriber agreed to (a tier's later price change is for newcomers).
    price_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=12, choices=Status.choices,
                              default=Status.INCOMPLETE)
    key = models.CharField(max_length=128, unique=True)  # the subscribe request's key
    payment_method = models.CharField(max_length=64, blank=True)  # the provider's token
    anchor = models.DateTimeField(null=True, blank=True)  # when the first period began
    periods_paid = models.PositiveIntegerField(default=0)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    retry_count = models.PositiveSmallIntegerField(default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    grace_until = models.DateTimeField(null=True, blank=True)  # past_due: access ends then
    last_failure = models.CharField(max_length=255, blank=True)  # the provider's words
    cancelled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "creator"],
                condition=Q(status__in=["incomplete", "active", "past_due"]),
                name="monet_sub_one_live_per_pair"),
            models.CheckConstraint(condition=~Q(subscriber=models.F("creator")),
                                   name="monet_sub_not_self"),
        ]
        indexes = [
            models.Index(fields=["status", "current_period_end"], name="monet_sub_due"),
            models.Index(fields=["status", "next_retry_at"], name="monet_sub_retry"),
            models.Index(fields=["subscriber", "-id"], name="monet_sub_subscriber"),
            models.Index(fields=["creator", "status"], name="monet_sub_creator"),
        ]

    def __str__(self) -> str:
        return f"{self.subscriber_id} -> {self.creator_id} ({self.status})"


class SubscriptionCharge(SnowflakeModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the provider"
        SUCCEEDED = "succeeded", "Paid"
        FAILED = "failed", "Failed"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE,
                                     related_name="charges")
    period = models.PositiveIntegerField()  # 1 = the first month
    attempt = models.PositiveSmallIntegerField(default=0)  # 0, then each retry
    payment = models.ForeignKey("payments.Payment", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    amount_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subscription", "period", "attempt"],
                                               name="monet_charge_once_per_attempt")]

    def __str__(self) -> str:
        return f"charge {self.subscription_id}#{self.period}.{self.attempt} ({self.status})"
