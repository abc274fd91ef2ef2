"""What the payment providers did for us, as we learnt it from them.

- `Payment`: one charge of a user (a coin pack, a subscription period), created by
  `services.payments.start_payment` under the caller's idempotency key. Its status moves
  to succeeded / failed / refunded / disputed only when a verified provider webhook says so
  (`services.webhooks`), never from a client's word or a synchronous API answer.
- `Refund`: a refund we asked the provider for (or one it told us about).
- `ProviderPayout`: money we asked the provider to send to a creator; paid / failed by
  webhook.
- `ProviderEvent`: every verified webhook event, unique per (provider, event id), so the
  same event delivered twice is processed once.
- `LocalProviderObject` / `LocalProviderEvent`: the local test provider's own side (what
  Stripe would keep on its servers): its charges and the events it sends us. Only the
  local provider (`providers.local`) writes them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import SnowflakeModel


class Provider(models.TextChoices):
    LOCAL = "local", "Local test provider"
    STRIPE = "stripe", "Stripe"


class Payment(SnowflakeModel):
    class Status(models.TextChoices):
        REQUIRES_ACTION = "requires_action", "Waiting for the payer's approval"
        PROCESSING = "processing", "Processing"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class DisputeStatus(models.TextChoices):
        NONE = "", "No dispute"
        OPEN = "open", "Disputed"
        WON = "won", "Dispute won"
        LOST = "lost", "Dispute lost"

    # Money records outlive the account (as the ledger's): no database FK, kept on deletion.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING,
                             db_constraint=False, related_name="+")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    provider_ref = models.CharField(max_length=255, blank=True)  # pi_..., lp_...
    key = models.CharField(max_length=128, unique=True)  # the caller's idempotency key
    purpose = models.CharField(max_length=128)  # the caller's opaque string
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)  # ISO 4217, upper case
    payment_method = models.CharField(max_length=255, blank=True)
    off_session = models.BooleanField(default=False)
    status = models.CharField(max_length=24, choices=Status.choices,
                              default=Status.PROCESSING)
    failure_reason = models.CharField(max_length=255, blank=True)  # in words, for the payer
    # Where to send the payer to approve (3-D Secure): absolute for Stripe, a path on this
    # site for the local provider. Empty unless status is requires_action.
    next_action_url = models.CharField(max_length=1000, blank=True)
    return_url = models.CharField(max_length=1000, blank=True)
    amount_refunded_minor = models.BigIntegerField(default=0)
    dispute_status = models.CharField(max_length=8, choices=DisputeStatus.choices,
                                      blank=True, default=DisputeStatus.NONE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"])]
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_ref"],
                                    condition=~Q(provider_ref=""),
                                    name="payment_provider_ref_unique"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0),
                                   name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_refunded_minor__gte=0)
                & Q(amount_refunded_minor__lte=models.F("amount_minor")),
                name="payment_refunded_within_amount"),
        ]

    def __str__(self) -> str:
        return f"payment {self.pk} {self.amount_minor} {self.currency} {self.status}"


class Refund(SnowflakeModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    provider_ref = models.CharField(max_length=255, blank=True)  # re_...
    key = models.CharField(max_length=128, unique=True)
    amount_minor = models.BigIntegerField()
    reason = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0),
                                   name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"refund {self.pk} of payment {self.payment_id}: {self.amount_minor}"


class ProviderPayout(SnowflakeModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"

    # Money records outlive the account (as the ledger's): no database FK, kept on deletion.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING,
                             db_constraint=False, related_name="+")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    provider_ref = models.CharField(max_length=255, blank=True)  # po_... / tr_...
    key = models.CharField(max_length=128, unique=True)
    purpose = models.CharField(max_length=128)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    destination = models.CharField(max_length=255)  # the provider's account / bank token
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    failure_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_ref"],
                                    condition=~Q(provider_ref=""),
                                    name="payout_provider_ref_unique"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0),
                                   name="payout_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"payout {self.pk} {self.amount_minor} {self.currency} {self.status}"


class ProviderEvent(SnowflakeModel):
    """A verified webhook event. The unique (provider, event_id) is what makes a replayed
    or re-delivered event a no-op: the second insert finds the first."""

    class Outcome(models.TextChoices):
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (a type we do not act on, or nothing changed)"
        UNKNOWN_OBJECT = "unknown_object", "Names a payment or payout we do not know"

    provider = models.CharField(max_length=16, choices=Provider.choices)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=64)
    object_ref = models.CharField(max_length=255, blank=True)
    payload = models.JSONField(default=dict)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    detail = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"],
                                    name="provider_event_unique"),
        ]
        indexes = [models.Index(fields=["provider", "object_ref"])]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.event_id}"


class LocalProviderObject(SnowflakeModel):
    """The local test provider's record of a charge, refund, dispute or payout (what
    Stripe would hold on its side); `ref` is what it tells us ("lp_...", "lr_...")."""

    class Kind(models.TextChoices):
        CHARGE = "charge", "Charge"
        REFUND = "refund", "Refund"
        PAYOUT = "payout", "Payout"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    ref = models.CharField(max_length=64, unique=True)
    idempotency_key = models.CharField(max_length=160, unique=True)
    parent_ref = models.CharField(max_length=64, blank=True)  # a refund's charge
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    payment_method = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=24)
    approval_token = models.CharField(max_length=64, blank=True)  # the 3-D Secure-like page
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"local {self.kind} {self.ref} {self.status}"


class LocalProviderEvent(SnowflakeModel):
    """An event the local provider sends us by webhook (delivered by a Celery task, and
    deliverable again, as a real provider retries)."""

    event_id = models.CharField(max_length=64, unique=True)
    body = models.JSONField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"local event {self.event_id}"
