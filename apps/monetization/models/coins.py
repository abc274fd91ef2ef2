"""Coins: the packs people buy and each purchase (credited only when the provider confirms).

A `CoinPurchase` is made before the payment starts (its id names the payment's purpose,
`coin_purchase:<id>`), then follows the provider's events (`services/coins.py`): the coins
reach the wallet on "succeeded" only; a refund or dispute claws them back
(`services/chargebacks.py`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import SnowflakeModel

# Coins are sold in one currency: the creators' earnings are kept in it too, so a coin's
# value (settings.SWIPEME_COIN_VALUE_MICROS) needs no exchange rate.
COIN_CURRENCY = "USD"


class CoinPack(SnowflakeModel):
    """A pack on sale: so many coins for a price (staff-editable in the admin)."""

    name = models.CharField(max_length=60)
    coins = models.PositiveIntegerField()
    price_minor = models.PositiveIntegerField(help_text="In the currency's minor unit (cents).")
    currency = models.CharField(max_length=3, default=COIN_CURRENCY)
    active = models.BooleanField(default=True)
    sort = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort", "coins"]
        constraints = [
            models.CheckConstraint(condition=Q(coins__gt=0, price_minor__gt=0),
                                   name="monetization_pack_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.coins} coins for {self.price_minor} {self.currency}"


class CoinPurchase(SnowflakeModel):
    class Status(models.TextChoices):
        STARTED = "started", "Started"  # the row exists; the payment is being started
        REQUIRES_ACTION = "requires_action", "Waiting for your approval"  # 3-D Secure
        PROCESSING = "processing", "Processing"  # waiting for the provider's confirmation
        SUCCEEDED = "succeeded", "Coins added"
        FAILED = "failed", "Payment failed"
        REFUNDED = "refunded", "Refunded"
        DISPUTED = "disputed", "Disputed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING,
                             db_constraint=False, related_name="+")
    pack = models.ForeignKey(CoinPack, on_delete=models.PROTECT, related_name="purchases")
    # Copied from the pack at the time of purchase: a pack edited later changes nothing.
    coins = models.PositiveIntegerField()
    price_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.STARTED)
    failure_reason = models.CharField(max_length=300, blank=True)
    next_action_url = models.CharField(max_length=500, blank=True)
    payment_id = models.BigIntegerField(null=True, blank=True)  # payments.Payment
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)
    # What the provider took back so far (refunds and lost disputes), cumulative.
    refunded_minor = models.PositiveIntegerField(default=0)
    credited_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"])]
        constraints = [
            models.UniqueConstraint(fields=["user", "idempotency_key"],
                                    condition=Q(idempotency_key__isnull=False),
                                    name="monetization_purchase_key_unique"),
        ]

    @property
    def purpose(self) -> str:
        return f"coin_purchase:{self.pk}"

    def __str__(self) -> str:
        return f"{self.coins} coins for user {self.user_id} ({self.status})"


class SpendingBar(SnowflakeModel):
    """A user barred from buying and spending coins until finance staff review it (set by a
    chargeback; lifted in the admin, audited)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING,
                             db_constraint=False, related_name="+")
    reason = models.CharField(max_length=300)
    purchase = models.ForeignKey(CoinPurchase, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["user"], condition=Q(lifted_at__isnull=True),
                                name="monetization_bar_active")]

    def __str__(self) -> str:
        return f"user {self.user_id}: {self.reason}"
