"""Fraud holds: the finance review queue and the account changes its signals read.

- `RiskReview`: a payout held because a risk signal fired (`signals`: [{"code", "words"}]),
  waiting for finance staff to release it (the payout goes to the provider) or refuse it
  (the hold is voided, the money returns to earnings). Decisions are audited.
- `AccountChange`: a password or e-mail change of an account (from accounts' security hook
  and allauth's e-mail signals): a payout soon after one is held for review, in case the
  account was taken over.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.models import SnowflakeModel


class RiskReview(SnowflakeModel):
    class State(models.TextChoices):
        OPEN = "open", "Waiting for review"
        RELEASED = "released", "Released"
        REFUSED = "refused", "Refused"

    payout = models.OneToOneField("monetization.PayoutRequest", on_delete=models.CASCADE,
                                  related_name="review")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    signals = models.JSONField(default=list)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["state", "created_at"], name="monet_review_queue")]

    def __str__(self) -> str:
        return f"review of payout {self.payout_id}: {self.state}"


class AccountChange(SnowflakeModel):
    class Kind(models.TextChoices):
        PASSWORD = "password", "Password changed or reset"
        EMAIL = "email", "E-mail address changed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"], name="monet_acctchange_user")]

    def __str__(self) -> str:
        return f"{self.kind} change of {self.user_id}"
