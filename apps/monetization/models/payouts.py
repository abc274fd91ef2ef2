"""Getting paid: identity checks (KYC), tax forms and payout requests.

- `KycProfile`: one per creator; its `state` moves unverified → submitted → verified /
  rejected / needs_more (staff review in the admin); `message` is what the creator is told.
- `KycDocument`: an identity document in PRIVATE storage (`apps.accounts.storage.
  private_storage`, never under MEDIA_URL); only staff open it, through the admin.
- `TaxForm`: a W-9 or W-8BEN. Everything a person wrote on it (name, address, TIN, date of
  birth) is in `sealed`, a MultiFernet token (`apps.monetization.crypto`); only the form's
  kind and dates are plain. The latest `active` form is the one on file.
- `PayoutRequest`: a creator's request to be paid `amount_minor` (cents). Two-phase on the
  ledger: `hold` is the pending set (earnings → payouts_payable) made on request; the
  provider's confirmation posts it, a failure or a refusal voids it (the money returns).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import SnowflakeModel


class KycProfile(models.Model):
    class State(models.TextChoices):
        UNVERIFIED = "unverified", "Not verified"
        SUBMITTED = "submitted", "Submitted, waiting for review"
        VERIFIED = "verified", "Verified"
        REJECTED = "rejected", "Rejected"
        NEEDS_MORE = "needs_more", "More information needed"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                primary_key=True, related_name="+")
    state = models.CharField(max_length=12, choices=State.choices, default=State.UNVERIFIED)
    legal_name = models.CharField(max_length=120, blank=True)
    country = models.CharField(max_length=2, blank=True)  # ISO 3166-1 alpha-2
    # What staff told the creator with the last decision (shown on /settings/payouts).
    message = models.CharField(max_length=1000, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "KYC profile"
        indexes = [models.Index(fields=["state", "submitted_at"], name="monet_kyc_queue")]

    def __str__(self) -> str:
        return f"KYC of {self.user_id}: {self.state}"


class KycDocument(SnowflakeModel):
    class Kind(models.TextChoices):
        PASSPORT = "passport", "Passport"
        ID_CARD = "id_card", "National identity card"
        DRIVING_LICENCE = "driving_licence", "Driving licence"
        SELFIE = "selfie", "Photo of you holding the document"
        PROOF_OF_ADDRESS = "proof_of_address", "Proof of address"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    file = models.CharField(max_length=255)  # a name in private storage
    # The file holds a Fernet token of the upload (crypto.seal_file, SWIPEME_KYC_FILE_KEYS),
    # not the upload. False only for files stored before encryption, until
    # `manage.py rotate_kyc_file_keys` encrypts them.
    sealed = models.BooleanField(default=False)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "KYC document"
        indexes = [models.Index(fields=["user", "created_at"], name="monet_kycdoc_user")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.user_id}"


class TaxForm(SnowflakeModel):
    class Kind(models.TextChoices):
        W9 = "w9", "W-9 (US person)"
        W8BEN = "w8ben", "W-8BEN (not a US person)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    kind = models.CharField(max_length=6, choices=Kind.choices)
    # A MultiFernet token of the form's fields as JSON: never plaintext in the database.
    sealed = models.TextField()
    active = models.BooleanField(default=True)  # a newer form replaces it
    signed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user"], condition=Q(active=True),
                                               name="monet_taxform_one_active")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.user_id}"


class PayoutRequest(SnowflakeModel):
    class State(models.TextChoices):
        IN_REVIEW = "in_review", "Held for review"
        PROCESSING = "processing", "On its way"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed, money returned to your balance"
        REFUSED = "refused", "Refused, money returned to your balance"
        # a dispute took what it held back (services.clawback_holds): nothing returned
        CANCELLED = "cancelled", "Cancelled: a card payment was disputed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    amount_minor = models.BigIntegerField()  # cents (the currency's minor unit)
    currency = models.CharField(max_length=3, default="USD")
    state = models.CharField(max_length=12, choices=State.choices)
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)
    # The provider's account or bank token the money goes to (the local test provider:
    # anything but "bank_fail" is paid).
    destination = models.CharField(max_length=64, default="")
    # The ledger's pending set (earnings -> payouts_payable) and its resolution.
    hold = models.OneToOneField("payments.TransferSet", on_delete=models.PROTECT,
                                related_name="+")
    provider_payout_id = models.BigIntegerField(null=True, blank=True)
    # Why it failed or was refused, or why it waits for review: told to the creator.
    message = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"], name="monet_payout_user")]
        constraints = [
            models.UniqueConstraint(fields=["user", "idempotency_key"],
                                    name="monet_payout_idempotency"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0),
                                   name="monet_payout_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"payout {self.pk} of {self.user_id}: {self.amount_minor} {self.currency}"
