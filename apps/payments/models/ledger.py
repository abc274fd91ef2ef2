"""The double-entry ledger, in the shape of TigerBeetle's model, kept in PostgreSQL.

- `LedgerAccount`: one per (kind, owner, asset, shard). Balances are maintained on the row
  (debits/credits, posted and pending) so they read in O(1); the nightly reconciliation
  compares them with the sum of the transfers. The balance convention is credit-normal:
  `balance = credits_posted - debits_posted`. An account with `no_negative` may never have
  `credits_posted < debits_posted + debits_pending` (a CHECK constraint, so the database
  refuses it whatever the Python says).
- `TransferSet`: a linked set of transfers that succeed or fail together, under one
  client-supplied idempotency `key`. Its `fingerprint` (a hash of the legs) makes the same
  key with other legs a refusal, never a second posting. A pending (two-phase) set is
  resolved by exactly one later set pointing at it through `pending_of` (post or void);
  a reversal is a new set pointing at the original through `reversal_of`.
- `Transfer`: immutable; one debit account, one credit account, one asset, an amount > 0
  in integer minor units of that asset (cents for USD, whole coins for COIN).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from apps.core.models import SnowflakeModel


class LedgerAccount(SnowflakeModel):
    class Kind(models.TextChoices):
        WALLET = "wallet", "Coin wallet"  # a user's coins (COIN); never negative
        EARNINGS = "earnings", "Creator earnings"  # a creator's unpaid earnings; never negative
        # a creator's earnings not payable yet: gifts, tips and subscription payments wait
        # here for the clearing period (a card dispute's first window), then move to
        # `earnings` (monetization's clearing task); a chargeback takes from here first.
        # Never negative.
        EARNINGS_CLEARING = "earnings_clearing", "Creator earnings clearing"
        # what a creator owes the platform: a chargeback's share of earnings already paid
        # out (a receivable: its balance is below zero while they owe); the clearing release
        # repays it before anything reaches `earnings` (monetization's clearing).
        EARNINGS_OWED = "earnings_owed", "Creator earnings owed (chargebacks)"
        PLATFORM_REVENUE = "platform_revenue", "Platform revenue"
        COIN_SALES = "coin_sales", "Coin sales (deferred revenue)"  # money taken for coins
        COIN_ISSUANCE = "coin_issuance", "Coin issuance"  # COIN source/sink of wallets
        PROVIDER_CLEARING = "provider_clearing", "Payment provider clearing"
        PAYOUTS_PAYABLE = "payouts_payable", "Payouts payable"
        CHARGEBACKS = "chargebacks", "Refunds and chargebacks"
        TAX_WITHHELD = "tax_withheld", "Tax withheld"
        # what the platform owes a purged account's creator: their unpaid earnings, kept
        # under their (former) id until claimed; never negative
        UNCLAIMED_EARNINGS = "unclaimed_earnings", "Unclaimed earnings (deleted accounts)"
        # an advertiser organisation's prepaid balance (the owner id is the org's id, not a
        # user's: ads.AdvertiserOrg.balance_account); never negative
        AD_BALANCE = "ad_balance", "Advertiser prepaid balance"
        # a marketplace deal's fee between the creator's draft and the payout or refund (the
        # owner id is the deal's id, not a user's: marketplace.Deal); never negative
        MARKETPLACE_ESCROW = "marketplace_escrow", "Marketplace deal escrow"

    kind = models.CharField(max_length=24, choices=Kind.choices)
    # No database constraint and nothing done on delete: books outlive the people in them
    # (a purged account's ledger rows keep its id; a PROTECT would block the purge).
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.DO_NOTHING, db_constraint=False,
                              related_name="+")
    asset = models.CharField(max_length=8)  # "COIN", "USD", ... (settings.SWIPEME_LEDGER_ASSETS)
    # Hot platform accounts are split into shards so that concurrent transfers do not all
    # queue on one row; an account's balance is the sum over its shards.
    shard = models.PositiveSmallIntegerField(default=0)
    no_negative = models.BooleanField(default=False)
    debits_posted = models.BigIntegerField(default=0)
    credits_posted = models.BigIntegerField(default=0)
    debits_pending = models.BigIntegerField(default=0)
    credits_pending = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "owner", "asset", "shard"],
                                    nulls_distinct=False, name="ledger_account_unique"),
            models.CheckConstraint(
                condition=Q(no_negative=False)
                | Q(credits_posted__gte=F("debits_posted") + F("debits_pending")),
                name="ledger_account_no_negative"),
            models.CheckConstraint(
                condition=Q(debits_posted__gte=0, credits_posted__gte=0,
                            debits_pending__gte=0, credits_pending__gte=0),
                name="ledger_account_sums_not_negative"),
        ]

    @property
    def balance(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        """What may still be spent: the posted balance less what pending holds take."""
        return self.credits_posted - self.debits_posted - self.debits_pending

    def __str__(self) -> str:
        owner = f" of user {self.owner_id}" if self.owner_id else ""
        return f"{self.get_kind_display()}{owner} ({self.asset}#{self.shard})"


class TransferSet(SnowflakeModel):
    class Phase(models.TextChoices):
        POSTED = "posted", "Posted"  # single-phase: final at once
        PENDING = "pending", "Pending"  # two-phase: held until posted, voided or expired
        POST_PENDING = "post_pending", "Post of a pending set"
        VOID_PENDING = "void_pending", "Void of a pending set"

    key = models.CharField(max_length=128, unique=True)  # the client's idempotency key
    fingerprint = models.CharField(max_length=64)  # sha256 of the legs
    code = models.CharField(max_length=32)  # the purpose: gift, tip, coin_purchase, payout, ...
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.POSTED)
    pending_of = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="resolution")
    timeout_at = models.DateTimeField(null=True, blank=True)  # pending sets only
    reversal_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="reversals")
    memo = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.DO_NOTHING, db_constraint=False,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["code", "created_at"])]
        constraints = [
            # A set is reversed at most once (a second reversal would pay it back twice).
            models.UniqueConstraint(fields=["reversal_of"], condition=Q(reversal_of__isnull=False),
                                    name="ledger_set_reversed_once"),
            models.CheckConstraint(
                condition=Q(phase="pending", timeout_at__isnull=False)
                | (~Q(phase="pending") & Q(timeout_at__isnull=True)),
                name="ledger_set_timeout_iff_pending"),
            models.CheckConstraint(
                condition=Q(phase__in=["post_pending", "void_pending"],
                            pending_of__isnull=False)
                | (~Q(phase__in=["post_pending", "void_pending"])
                   & Q(pending_of__isnull=True)),
                name="ledger_set_resolution_names_its_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.key}"


class Transfer(SnowflakeModel):
    set = models.ForeignKey(TransferSet, on_delete=models.PROTECT, related_name="transfers")
    debit_account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT,
                                      related_name="debits")
    credit_account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT,
                                       related_name="credits")
    asset = models.CharField(max_length=8)
    amount = models.BigIntegerField()
    code = models.CharField(max_length=32)  # the leg's purpose: "creator_share", "platform_fee"
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["debit_account", "created_at"]),
            models.Index(fields=["credit_account", "created_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0),
                                   name="ledger_transfer_amount_positive"),
            models.CheckConstraint(condition=~Q(debit_account=F("credit_account")),
                                   name="ledger_transfer_two_accounts"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.asset}: {self.debit_account_id} -> {self.credit_account_id}"


class ReconciliationRun(SnowflakeModel):
    """One run of the nightly reconciliation (`services.reconcile.reconcile_ledger`): the
    maintained balances of every account against the sum of its transfers, and the books
    per asset. `differences` > 0 is an alert: finance staff see it in the admin."""

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    accounts_checked = models.PositiveIntegerField(default=0)
    differences = models.PositiveIntegerField(default=0)
    # [{"account": id, "column": "credits_posted", "maintained": n, "from_transfers": m}, ...]
    # and [{"asset": "USD", "books_off_by": n}] for an unbalanced asset (first 500).
    details = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at"]

    @property
    def ok(self) -> bool:
        return self.finished_at is not None and self.differences == 0

    def __str__(self) -> str:
        state = "running" if self.finished_at is None else (
            "books balance" if self.differences == 0 else f"{self.differences} differences")
        return f"Reconciliation {self.started_at:%Y-%m-%d %H:%M} — {state}"
