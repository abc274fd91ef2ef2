"""Advertiser organisations and their members.

An org's prepaid balance is a payments ledger account (kind `ad_balance`, its owner id the
org's id, asset the org's currency): funded by top-ups through the PaymentProvider contract
and spent by billing. Nothing else holds the org's money."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.models import TimestampedModel


class AdvertiserOrg(TimestampedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"  # staff: nothing of it serves

    name = models.CharField(max_length=100)
    country = models.CharField(max_length=2)  # ISO 3166-1 alpha-2, upper case
    currency = models.CharField(max_length=3)  # payments.money.SUPPORTED_CURRENCIES
    # Day-parting hours are read in this zone (IANA name).
    timezone = models.CharField(max_length=64, default="UTC")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(max_length=300, blank=True)  # shown to its members
    balance_account = models.OneToOneField(
        "payments.LedgerAccount", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name


class Membership(TimestampedModel):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"  # everything, members included
        EDITOR = "editor", "Editor"  # campaigns, ad groups, ads, audiences
        ANALYST = "analyst", "Analyst"  # reads and reports only
        BILLING = "billing", "Billing"  # balance and top-ups, reads

    org = models.ForeignKey(AdvertiserOrg, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="ad_memberships")
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "user"],
                                               name="ads_membership_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.org_id} as {self.role}"
