"""The clearing period: a creator's share of a gift, tip or subscription payment waits in
their clearing account before it may be paid out (docs/architecture.md, "The clearing
period").

Why: coins bought with a stolen card can be gifted to an accomplice creator and paid out
before the card's owner disputes the purchase; the dispute then finds nothing to take back.
Card disputes open mostly within days of the charge, so the share waits
`RevenueShare.clearing_days` (7 by default, per source, edited by finance staff in the
admin; 0 = payable at once) where a chargeback takes it back first.

On the ledger (its own primitives, nothing new in payments but an account kind):
- the gift's, tip's or subscription charge's ONE linked set credits the creator's share to
  `earnings_clearing` (per creator, never negative) instead of `earnings`; an
  `EarningsClearing` row (one per credit, unique by the set's key) says until when;
- `release_due` (beat `apps.monetization.release_cleared_earnings`) moves what is left of
  each due row to `earnings` — one set per creator and batch, `clear:<first row id>`, code
  `earnings_cleared` — and marks the rows released in the same commit. Rows are taken with
  `FOR UPDATE SKIP LOCKED`, so concurrent runs release disjoint rows and a row is released
  once (a second run finds none);
- a chargeback takes from a row not yet released first (`lock_open` + `take`, the row
  locked so the release waits or skips it), then from the available earnings as before;
  a dispute the platform wins gives it back (`give_back`): to the row if it is still
  clearing, else straight on to the earnings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.monetization.models import EarningsClearing, RevenueShare
from apps.payments.models import LedgerAccount
from apps.payments.services.ledger import Leg, account_for, post_transfers

DEFAULT_CLEARING_DAYS = 7
RELEASE_CODE = "earnings_cleared"  # the set code of a release (clearing -> earnings)
ASSET = "USD"  # earnings are kept in USD (services.gifts.EARNINGS_ASSET)


def clearing_days(source: str) -> int:
    """Days `source`'s earnings wait (the staff-edited row, or the default without one)."""
    found = (RevenueShare.objects.filter(source=source)
             .values_list("clearing_days", flat=True).first())
    return int(found) if found is not None else DEFAULT_CLEARING_DAYS


def clearing_account_of(user_id: int) -> LedgerAccount:
    return account_for(LedgerAccount.Kind.EARNINGS_CLEARING, owner_id=user_id, asset=ASSET)


def share_account(user_id: int, *, days: int) -> LedgerAccount:
    """Where a creator's share is credited: their clearing account, or (0 days) their
    payable earnings."""
    if days > 0:
        return clearing_account_of(user_id)
    return account_for(LedgerAccount.Kind.EARNINGS, owner_id=user_id, asset=ASSET)


def clearing_open(*, creator_id: int, source: str, source_key: str, micros: int, days: int,
                  now: datetime | None = None) -> EarningsClearing | None:
    """The row of a share just credited to clearing (in the crediting set's transaction)."""
    if days <= 0 or micros <= 0:
        return None
    return EarningsClearing.objects.create(
        creator_id=creator_id, source=source, source_key=source_key, amount_micros=micros,
        clears_at=(now or timezone.now()) + timedelta(days=days))


def owed_account_of(user_id: int) -> LedgerAccount:
    """What the creator owes from chargebacks of earnings already paid out (a receivable:
    below zero while they owe; services/chargebacks.py)."""
    return account_for(LedgerAccount.Kind.EARNINGS_OWED, owner_id=user_id, asset=ASSET)


def owed_micros(user_id: int) -> int:
    """How much the creator owes (0 without an account)."""
    found = LedgerAccount.objects.filter(kind=LedgerAccount.Kind.EARNINGS_OWED,
                                         owner_id=user_id, asset=ASSET).first()
    return max(0, -found.balance) if found is not None else 0


def owed_settled(creator_ids: Iterable[int], *, key: str) -> None:
    """A won dispute reversed a claw that booked debts: a debt repaid meanwhile leaves the
    owed account above zero, which is the creator's money again: on to their earnings."""
    for creator_id in sorted(set(creator_ids)):
        owed = owed_account_of(creator_id)
        owed.refresh_from_db()
        if owed.balance > 0:
            post_transfers(
                key=f"{key}:{creator_id}", code=RELEASE_CODE,
                legs=[Leg(owed, account_for(LedgerAccount.Kind.EARNINGS, owner_id=creator_id,
                                            asset=ASSET), owed.balance, "owed_returned")],
                memo="Dispute won: a repaid debt returns to the earnings")


def _release(rows: Sequence[EarningsClearing], *, why: str) -> None:
    """Move what is left of these locked, open rows to their creators' earnings, paying
    what the creator owes first (`earnings_owed`)."""
    by_creator: dict[int, list[EarningsClearing]] = defaultdict(list)
    for row in rows:
        by_creator[row.creator_id].append(row)
    now = timezone.now()
    for creator_id, mine in sorted(by_creator.items()):
        total = sum(row.left_micros for row in mine)
        key = f"clear:{min(row.pk for row in mine)}"
        if total > 0:
            repaid = min(total, owed_micros(creator_id))
            legs = [Leg(clearing_account_of(creator_id), owed_account_of(creator_id), repaid,
                        "owed_repaid")] if repaid else []
            if total > repaid:
                legs.append(Leg(clearing_account_of(creator_id),
                                account_for(LedgerAccount.Kind.EARNINGS, owner_id=creator_id,
                                            asset=ASSET), total - repaid, "cleared"))
            post_transfers(key=key, code=RELEASE_CODE, legs=legs, memo=why,
                           metadata={"rows": [str(row.pk) for row in mine],
                                     "owed_repaid": repaid})
            if repaid:
                # The debt was read without a lock: a won dispute that cancelled it
                # meanwhile leaves the owed account above zero; that is earnings again.
                owed_settled([creator_id], key=f"{key}:excess")
        EarningsClearing.objects.filter(pk__in=[row.pk for row in mine]).update(
            released_at=now, release_key=key if total > 0 else "")


def release_due(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Release every row whose clearing period has ended (the beat task); returns how many.
    Safe to run twice or concurrently (SKIP LOCKED; released rows are never taken again)."""
    now = now or timezone.now()
    released = 0
    while True:
        with transaction.atomic():
            rows = list(EarningsClearing.objects.select_for_update(skip_locked=True)
                        .filter(released_at__isnull=True, clears_at__lte=now)
                        .order_by("pk")[:batch_size])
            if rows:
                _release(rows, why="Earnings cleared")
        released += len(rows)
        if len(rows) < batch_size:
            return released


def release_all_of(creator_id: int, *, why: str) -> int:
    """Release a creator's open rows now, due or not (a purged account's earnings become
    unclaimed money: services/closure.py). In the caller's transaction."""
    rows = list(EarningsClearing.objects.select_for_update()
                .filter(creator_id=creator_id, released_at__isnull=True).order_by("pk"))
    if rows:
        _release(rows, why=why)
    return len(rows)


def lock_open(source_keys: Iterable[str]) -> dict[str, EarningsClearing]:
    """The rows of these sets still clearing, locked (id order), by source key."""
    rows = (EarningsClearing.objects.select_for_update()
            .filter(source_key__in=list(source_keys), released_at__isnull=True).order_by("pk"))
    return {row.source_key: row for row in rows}


def take(takes: Iterable[tuple[int, int]]) -> None:
    """Record what a chargeback's posted set took from rows still clearing."""
    for row_id, micros in takes:
        EarningsClearing.objects.filter(pk=row_id).update(
            clawed_micros=F("clawed_micros") + micros)


def give_back(takes: Iterable[tuple[int, int]], *, key: str) -> None:
    """A won dispute reversed a set that took `takes` from clearing rows (the reversal
    credited the clearing accounts back): a row still clearing gets it back and releases
    it with the rest; a row released meanwhile passes it straight on to the earnings
    (`<key>:<creator>`), so no money stays in clearing without a row."""
    released: dict[int, int] = defaultdict(int)
    wanted = dict(takes)
    for row in (EarningsClearing.objects.select_for_update().filter(pk__in=list(wanted))
                .order_by("pk")):
        micros = min(wanted[row.pk], row.clawed_micros)
        if row.released_at is None:
            EarningsClearing.objects.filter(pk=row.pk).update(
                clawed_micros=F("clawed_micros") - micros)
        else:
            released[row.creator_id] += micros
    for creator_id, micros in sorted(released.items()):
        if micros > 0:
            post_transfers(
                key=f"{key}:{creator_id}", code=RELEASE_CODE,
                legs=[Leg(clearing_account_of(creator_id),
                          account_for(LedgerAccount.Kind.EARNINGS, owner_id=creator_id,
                                      asset=ASSET), micros, "cleared")],
                memo="Dispute won: earnings already cleared")


@dataclass(frozen=True)
class Clearing:
    """A creator's earnings still clearing: the total and when each part becomes payable
    (UTC days, soonest first)."""

    total_micros: int
    by_day: list[tuple[date, int]]

    @property
    def next_day(self) -> date | None:
        return self.by_day[0][0] if self.by_day else None

    @property
    def next_micros(self) -> int:
        return self.by_day[0][1] if self.by_day else 0

    def payable_on(self, needed_micros: int) -> date | None:
        """The day on which `needed_micros` more will have cleared (None: never enough)."""
        got = 0
        for day, micros in self.by_day:
            got += micros
            if got >= needed_micros:
                return day
        return None


def clearing_of(creator_id: int) -> Clearing:
    """One grouped query (the open rows' index)."""
    rows = (EarningsClearing.objects
            .filter(creator_id=creator_id, released_at__isnull=True,
                    amount_micros__gt=F("clawed_micros"))
            .annotate(day=TruncDate("clears_at", tzinfo=UTC)).values("day")
            .annotate(left=Sum(F("amount_micros") - F("clawed_micros"))).order_by("day"))
    by_day = [(row["day"], int(row["left"])) for row in rows]
    return Clearing(total_micros=sum(m for _, m in by_day), by_day=by_day)
