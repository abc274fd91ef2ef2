"""Reads of the ledger: balances in O(1) (maintained on the account rows, summed over a
platform account's shards) and the history of an account's transfers.

Only posted transfers move `balance`; a pending hold takes from `available` (a debit) and
shows in `pending_in` (a credit not yet posted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Case, F, Q, QuerySet, Sum, When
from django.db.models.functions import Coalesce, TruncDate

from apps.payments.models.ledger import LedgerAccount, ReconciliationRun, Transfer, TransferSet

# Phases whose transfers moved posted balances (a pending set only reserved them; a void
# only released the reservation).
POSTED_PHASES = (TransferSet.Phase.POSTED, TransferSet.Phase.POST_PENDING)


@dataclass(frozen=True)
class Balance:
    asset: str
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def balance(self) -> int:
        """Credit-normal posted balance: what the account holds."""
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        """What may be spent now: the balance less the holds on it."""
        return self.balance - self.debits_pending

    @property
    def pending_out(self) -> int:
        return self.debits_pending

    @property
    def pending_in(self) -> int:
        return self.credits_pending


def _sum_balance(accounts: QuerySet[LedgerAccount], asset: str) -> Balance:
    sums = accounts.aggregate(
        dp=Coalesce(Sum("debits_posted"), 0), cp=Coalesce(Sum("credits_posted"), 0),
        dpe=Coalesce(Sum("debits_pending"), 0), cpe=Coalesce(Sum("credits_pending"), 0))
    return Balance(asset=asset, debits_posted=sums["dp"], credits_posted=sums["cp"],
                   debits_pending=sums["dpe"], credits_pending=sums["cpe"])


def account_balance(account: LedgerAccount) -> Balance:
    """One account row's balance, as stored (refresh the row for a fresh read)."""
    return Balance(asset=account.asset, debits_posted=account.debits_posted,
                   credits_posted=account.credits_posted,
                   debits_pending=account.debits_pending,
                   credits_pending=account.credits_pending)


def balance_of(kind: str, *, owner_id: int | None, asset: str) -> Balance:
    """The balance of an account, over all its shards (zero if it does not exist yet)."""
    return _sum_balance(LedgerAccount.objects.filter(kind=kind, owner_id=owner_id, asset=asset),
                        asset)


def platform_balance(kind: str, asset: str) -> Balance:
    """A platform account (revenue, coin sales, ...): the sum over its shards."""
    return balance_of(kind, owner_id=None, asset=asset)


def wallet_coins(user_id: int) -> int:
    """The coins a person may spend now."""
    return balance_of(LedgerAccount.Kind.WALLET, owner_id=user_id, asset="COIN").available


def earnings_balance(user_id: int, asset: str = "USD") -> Balance:
    """A creator's earnings (micro-units): `available` may be paid out, `pending_out` is
    held by payouts under way."""
    return balance_of(LedgerAccount.Kind.EARNINGS, owner_id=user_id, asset=asset)


def earnings_clearing_balance(user_id: int, asset: str = "USD") -> Balance:
    """A creator's earnings still clearing (micro-units): earned, not payable yet."""
    return balance_of(LedgerAccount.Kind.EARNINGS_CLEARING, owner_id=user_id, asset=asset)


def _accounts_q(kind: str, owner_id: int | None, asset: str) -> QuerySet[LedgerAccount]:
    return LedgerAccount.objects.filter(kind=kind, owner_id=owner_id, asset=asset)


def entries(kind: str, *, owner_id: int | None, asset: str,
            since: datetime | None = None, until: datetime | None = None,
            posted_only: bool = False) -> QuerySet[Transfer]:
    """Every transfer in or out of an account, newest first, each annotated with `signed`
    (+ in, - out, in the asset's units), `set_code`, `set_phase`, `set_key`, `set_memo`
    (the purpose of its linked set: "gift", "payout", ...). Paginate it (cursor on -id)."""
    ids = list(_accounts_q(kind, owner_id, asset).values_list("pk", flat=True))
    found = Transfer.objects.filter(Q(debit_account_id__in=ids) | Q(credit_account_id__in=ids))
    if since is not None:
        found = found.filter(created_at__gte=since)
    if until is not None:
        found = found.filter(created_at__lt=until)
    if posted_only:
        found = found.filter(set__phase__in=POSTED_PHASES)
    return (found.annotate(
        signed=Case(When(credit_account_id__in=ids, then=F("amount")),
                    default=-F("amount")),
        set_code=F("set__code"), set_phase=F("set__phase"), set_key=F("set__key"),
        set_memo=F("set__memo"))
        .order_by("-created_at", "-pk"))


def daily_totals(kind: str, *, owner_id: int | None, asset: str, since: datetime,
                 until: datetime | None = None, tzinfo: Any = None) -> list[dict[str, Any]]:
    """Posted net movement per day and per source (the set's code: "gift", "tip",
    "subscription", "payout", ...) for charts: [{"day": date, "source": str, "net": int}]
    in day order. `tzinfo` picks the day boundaries (default: the current time zone)."""
    rows = (entries(kind, owner_id=owner_id, asset=asset, since=since, until=until,
                    posted_only=True)
            .annotate(day=TruncDate("created_at", tzinfo=tzinfo))
            .order_by()
            .values("day", "set__code")
            .annotate(net=Sum("signed"))
            .order_by("day", "set__code"))
    return [{"day": row["day"], "source": row["set__code"], "net": int(row["net"])}
            for row in rows]


def total_by_source(kind: str, *, owner_id: int | None, asset: str,
                    since: datetime | None = None) -> dict[str, int]:
    """Posted net movement per source since a time (all time by default)."""
    rows = (entries(kind, owner_id=owner_id, asset=asset, since=since, posted_only=True)
            .order_by().values("set__code").annotate(net=Sum("signed")))
    return {row["set__code"]: int(row["net"]) for row in rows}


def pending_holds(kind: str, *, owner_id: int | None, asset: str) -> QuerySet[TransferSet]:
    """Holds on an account not yet posted or voided (payouts under way), oldest first."""
    ids = _accounts_q(kind, owner_id, asset).values("pk")
    return (TransferSet.objects.filter(phase=TransferSet.Phase.PENDING,
                                       resolution__isnull=True)
            .filter(Q(transfers__debit_account_id__in=ids)
                    | Q(transfers__credit_account_id__in=ids))
            .distinct().order_by("created_at"))


def latest_reconciliation() -> ReconciliationRun | None:
    return ReconciliationRun.objects.order_by("-started_at").first()

