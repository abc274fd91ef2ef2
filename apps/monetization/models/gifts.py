"""Gifts and tips: the staff-edited catalogue, the revenue share per source, and one row per
gift or tip sent (its ledger set is `gift:<id>`; services/gifts.py)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import FileExtensionValidator, MaxValueValidator
from django.db import models
from django.db.models import Q

from apps.core.models import SnowflakeModel


class Gift(SnowflakeModel):
    """A gift in the catalogue. Its price is in coins; what it looks like is an emoji and a
    named animation the web client plays (optionally an animated image instead)."""

    class Animation(models.TextChoices):
        FLOAT = "float", "Floats up"
        BURST = "burst", "Bursts"
        SPIN = "spin", "Spins"
        RAIN = "rain", "Rains down"

    name = models.CharField(max_length=40)
    coins = models.PositiveIntegerField()
    emoji = models.CharField(max_length=16)
    animation = models.CharField(max_length=10, choices=Animation.choices,
                                 default=Animation.FLOAT)
    animation_file = models.FileField(
        upload_to="gifts/", blank=True,
        validators=[FileExtensionValidator(["webp", "gif", "png", "svg"])],
        help_text="Optional animated image shown instead of the emoji.")
    active = models.BooleanField(default=True)
    sort = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort", "coins"]
        constraints = [models.CheckConstraint(condition=Q(coins__gt=0),
                                              name="monetization_gift_coins_positive")]

    def __str__(self) -> str:
        return f"{self.emoji} {self.name} ({self.coins} coins)"


class RevenueShare(models.Model):
    """The creator's share of what a source earns, in basis points (10000 = all of it);
    the platform keeps the rest. One row per source, edited by finance staff (audited)."""

    class Source(models.TextChoices):
        GIFT = "gift", "Gifts"
        TIP = "tip", "Tips"
        SUBSCRIPTION = "subscription", "Subscriptions"

    source = models.CharField(max_length=16, choices=Source.choices, primary_key=True)
    creator_bps = models.PositiveIntegerField(validators=[MaxValueValidator(10_000)])
    # Days the creator's share waits in clearing before it may be paid out (a dispute in
    # that time takes it back from there; 0 = payable at once). services/clearing.py.
    clearing_days = models.PositiveSmallIntegerField(
        default=7, validators=[MaxValueValidator(120)],
        help_text="Days before this source's earnings may be paid out (0 = at once).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(creator_bps__lte=10_000),
                                              name="monetization_share_at_most_all"),
                       models.CheckConstraint(condition=Q(clearing_days__lte=120),
                                              name="monetization_clearing_days_at_most_120")]

    def __str__(self) -> str:
        return f"{self.get_source_display()}: {self.creator_bps / 100:g}% to the creator"


class GiftSend(SnowflakeModel):
    """One gift or tip: the coins the sender spent and how they were shared. On a post, on
    a profile (tips), or in a live stream (`live_id`: the host received it)."""

    class Kind(models.TextChoices):
        GIFT = "gift", "Gift"
        TIP = "tip", "Tip"

    kind = models.CharField(max_length=4, choices=Kind.choices)
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING,
                               db_constraint=False, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING,
                                  db_constraint=False, related_name="+")
    gift = models.ForeignKey(Gift, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    post = models.ForeignKey("content.Post", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    live_id = models.BigIntegerField(null=True, blank=True)
    coins = models.PositiveIntegerField()
    creator_bps = models.PositiveIntegerField()
    creator_micros = models.BigIntegerField()  # USD micro-units to the creator's earnings
    platform_micros = models.BigIntegerField()
    # Coins of this gift a chargeback of the sender's purchase took back from the creator.
    clawed_coins = models.PositiveIntegerField(default=0)
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["sender", "created_at"]),
            models.Index(fields=["recipient", "created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["sender", "idempotency_key"],
                                    condition=Q(idempotency_key__isnull=False),
                                    name="monetization_giftsend_key_unique"),
            models.CheckConstraint(condition=Q(coins__gt=0), name="monetization_send_positive"),
            models.CheckConstraint(condition=~Q(sender=models.F("recipient")),
                                   name="monetization_send_not_to_self"),
            models.CheckConstraint(condition=Q(clawed_coins__lte=models.F("coins")),
                                   name="monetization_send_claw_at_most_coins"),
            models.CheckConstraint(condition=Q(kind="tip") | Q(gift__isnull=False),
                                   name="monetization_gift_names_its_gift"),
        ]

    @property
    def ledger_key(self) -> str:
        return f"gift:{self.pk}"

    def __str__(self) -> str:
        return f"{self.kind} of {self.coins} coins: {self.sender_id} -> {self.recipient_id}"


class Clawback(SnowflakeModel):
    """What one refund or dispute of a coin purchase took back (the rule is in
    docs/architecture.md, "Chargebacks and refunds"); its ledger set is `claw:<key>`."""

    purchase = models.ForeignKey("monetization.CoinPurchase", on_delete=models.PROTECT,
                                 related_name="clawbacks")
    event = models.CharField(max_length=16)  # refunded | disputed | dispute_won
    key = models.CharField(max_length=128, unique=True)
    amount_micros = models.BigIntegerField()  # what the provider took back (or returned)
    coins = models.PositiveIntegerField(default=0)  # of the purchase's coins, this claw's
    wallet_coins = models.PositiveIntegerField(default=0)  # taken from the buyer's wallet
    earnings_micros = models.BigIntegerField(default=0)  # from creators' unpaid earnings
    # of which from creators' earnings still clearing (taken before the available ones)
    clearing_micros = models.BigIntegerField(default=0)
    loss_micros = models.BigIntegerField(default=0)  # nobody could repay: platform loss
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.event} of purchase {self.purchase_id}"
