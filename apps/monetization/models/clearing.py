"""The clearing period of a creator's earnings (services/clearing.py; docs/architecture.md,
"The clearing period").

A gift, tip or subscription payment credits the creator's share to their *clearing* ledger
account (`LedgerAccount.Kind.EARNINGS_CLEARING`), not to their payable earnings; one
`EarningsClearing` row per such credit says how much and until when. After `clears_at`
the beat task moves what is left of it (the amount less what a chargeback took back
meanwhile) to the earnings account, where it may be paid out. Invariant (tested): a
creator's clearing balance is the sum of `amount_micros - clawed_micros` over their rows
not released yet.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from apps.core.models import SnowflakeModel


class EarningsClearing(SnowflakeModel):
    class Source(models.TextChoices):
        GIFT = "gift", "Gift"
        TIP = "tip", "Tip"
        SUBSCRIPTION = "subscription", "Subscription"

    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING,
                                db_constraint=False, related_name="+")
    source = models.CharField(max_length=16, choices=Source.choices)
    # The ledger set that credited the clearing account: "gift:<send id>",
    # "subscription_charge:<charge id>".
    source_key = models.CharField(max_length=128, unique=True)
    amount_micros = models.BigIntegerField()  # USD micros credited to clearing
    clawed_micros = models.BigIntegerField(default=0)  # taken back by chargebacks meanwhile
    clears_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)
    release_key = models.CharField(max_length=128, blank=True)  # the ledger set that moved it
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "earnings clearing"
        indexes = [
            models.Index(fields=["clears_at"], condition=Q(released_at__isnull=True),
                         name="monetization_clearing_due"),
            models.Index(fields=["creator", "clears_at"], condition=Q(released_at__isnull=True),
                         name="monetization_clearing_open"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_micros__gt=0),
                                   name="monetization_clearing_positive"),
            models.CheckConstraint(
                condition=Q(clawed_micros__gte=0, clawed_micros__lte=F("amount_micros")),
                name="monetization_clearing_claw_within"),
        ]

    @property
    def left_micros(self) -> int:
        return self.amount_micros - self.clawed_micros

    def __str__(self) -> str:
        state = "released" if self.released_at else f"clears {self.clears_at:%Y-%m-%d %H:%M}"
        return f"{self.source_key}: {self.amount_micros} micros ({state})"
