"""Top-ups of an org's prepaid balance: one payment through the PaymentProvider contract
(purpose and key `ads_topup:<id>`), credited to the org's `ad_balance` ledger account when
the provider's verified webhook says it succeeded."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.models import TimestampedModel

from .orgs import AdvertiserOrg

PURPOSE_PREFIX = "ads_topup:"


class Topup(TimestampedModel):
    class Status(models.TextChoices):
        STARTED = "started", "Started"
        REQUIRES_ACTION = "requires_action", "Waiting for your approval"
        PROCESSING = "processing", "Processing"
        SUCCEEDED = "succeeded", "Added to your balance"
        FAILED = "failed", "Failed"
        REFUNDED = "refunded", "Refunded"

    org = models.ForeignKey(AdvertiserOrg, on_delete=models.PROTECT, related_name="topups")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    amount_minor = models.BigIntegerField()  # cents of the org's currency
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.STARTED)
    failure_reason = models.CharField(max_length=300, blank=True)  # in words, for the payer
    payment_id = models.BigIntegerField(null=True, blank=True)  # payments.Payment
    next_action_url = models.CharField(max_length=1000, blank=True)
    credited_at = models.DateTimeField(null=True, blank=True)
    refunded_minor = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount_minor__gt=0),
                                              name="ads_topup_amount_positive")]

    @property
    def purpose(self) -> str:
        return f"{PURPOSE_PREFIX}{self.pk}"
