"""Posting to the ledger: linked transfer sets, idempotent by the caller's key.

Every money movement goes through `post_transfers` (single-phase) or `hold` →
`post_pending` / `void_pending` (two-phase). Each opens its own transaction (a savepoint
when the caller already has one, so a caller can record its own row in the same commit).

The balances move in PostgreSQL, not here: inserting a set's transfers runs the trigger of
migration 0003, which updates each account once, in id order (so two sets touching the same
accounts never deadlock), under the no-negative CHECK (an overdraft becomes
`InsufficientFundsError`). At commit a deferred trigger checks the set (zero-sum per asset,
assets, a resolution or reversal repeating its legs). Nothing can edit a transfer afterwards.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.core.errors import ApplicationError, ConflictError
from apps.payments.models.ledger import LedgerAccount, TransferSet

# Accounts that hold someone's money: they may never go below zero.
NO_NEGATIVE_KINDS = frozenset({LedgerAccount.Kind.WALLET, LedgerAccount.Kind.EARNINGS,
                               LedgerAccount.Kind.EARNINGS_CLEARING,
                               LedgerAccount.Kind.UNCLAIMED_EARNINGS,
                               LedgerAccount.Kind.AD_BALANCE,
                               LedgerAccount.Kind.MARKETPLACE_ESCROW})


class InsufficientFundsError(ApplicationError):
    status_code = 409
    code = "insufficient_funds"


class IdempotencyConflictError(ConflictError):
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class Leg:
    debit: LedgerAccount
    credit: LedgerAccount
    amount: int
    code: str = ""


def account_for(kind: str, *, owner_id: int | None, asset: str, shard: int = 0) -> LedgerAccount:
    """The account, created on first use (wallets and earnings with `no_negative`)."""
    found = LedgerAccount.objects.filter(kind=kind, owner_id=owner_id, asset=asset,
                                         shard=shard).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return LedgerAccount.objects.create(kind=kind, owner_id=owner_id, asset=asset,
                                                shard=shard, no_negative=kind in NO_NEGATIVE_KINDS)
    except IntegrityError:  # created concurrently
        return LedgerAccount.objects.get(kind=kind, owner_id=owner_id, asset=asset, shard=shard)


def platform_shards() -> int:
    return max(1, int(getattr(settings, "SWIPEME_LEDGER_PLATFORM_SHARDS", 16)))


def platform_account(kind: str, asset: str, spread_key: int | str) -> LedgerAccount:
    """One shard of a hot platform account (revenue, coin sales, issuance, clearing...).

    Concurrent transfers that all touched one platform row would queue on its lock; the
    spread key (the sender's or creator's id, say) picks one of N shards, stably, so the
    load spreads and a given key keeps to one shard. Its balance is the sum over shards
    (`apps.payments.selectors.platform_balance`)."""
    if kind in NO_NEGATIVE_KINDS:
        raise ValueError(f"{kind} accounts belong to a person, not the platform.")
    return account_for(kind, owner_id=None, asset=asset, shard=platform_shard(spread_key))


def platform_shard(spread_key: int | str) -> int:
    """The shard `platform_account` picks for a spread key (stable across processes)."""
    return zlib.crc32(str(spread_key).encode()) % platform_shards()


def _fingerprint(code: str, phase: str, legs: Sequence[Leg], pending_of: int | None) -> str:
    body = json.dumps([code, phase, pending_of,
                       [[leg.debit.pk, leg.credit.pk, leg.amount, leg.code] for leg in legs]])
    return hashlib.sha256(body.encode()).hexdigest()


def _validate(legs: Sequence[Leg]) -> None:
    if not legs:
        raise ApplicationError("A transfer set needs at least one transfer.", code="invalid")
    for leg in legs:
        if type(leg.amount) is not int or leg.amount <= 0:
            raise ApplicationError("Amounts are positive whole numbers of minor units.",
                                   code="invalid_amount")
        if leg.debit.pk == leg.credit.pk:
            raise ApplicationError("A transfer needs two different accounts.", code="invalid")
        if leg.debit.asset != leg.credit.asset:
            raise ApplicationError("Both accounts of a transfer hold the same asset.",
                                   code="asset_mismatch")


def _existing(key: str, fingerprint: str) -> TransferSet | None:
    found = TransferSet.objects.filter(key=key).first()
    if found is None:
        return None
    if found.fingerprint != fingerprint:
        raise IdempotencyConflictError(
            "This idempotency key was already used for another transfer.")
    return found


def _insufficient(exc: IntegrityError) -> bool:
    """Was it the database's no-negative CHECK that refused the set?"""
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == "ledger_account_no_negative"


# The set and its transfers in one statement (one round trip): the transfers' INSERT fires
# the balance trigger once for the whole set, which sees the set's row (same statement).
_RECORD_SQL = """
WITH s AS (
    INSERT INTO payments_transferset (key, fingerprint, code, phase, pending_of_id,
        timeout_at, reversal_of_id, memo, metadata, created_by_id, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s) RETURNING id
), t AS (
    INSERT INTO payments_transfer (set_id, debit_account_id, credit_account_id, asset, amount,
        code, created_at)
    SELECT s.id, v.debit, v.credit, v.asset, v.amount, v.code, %s
      FROM s, (VALUES {legs}) AS v (debit, credit, asset, amount, code)
)
SELECT id FROM s
"""


def _record(*, key: str, code: str, phase: str, legs: Sequence[Leg], fingerprint: str,
            memo: str, metadata: dict[str, Any] | None, created_by_id: int | None,
            pending_of: TransferSet | None = None, timeout_at: Any = None,
            reversal_of: TransferSet | None = None) -> TransferSet:
    now = timezone.now()
    entry = TransferSet(key=key, fingerprint=fingerprint, code=code, phase=phase,
                        pending_of=pending_of, timeout_at=timeout_at, reversal_of=reversal_of,
                        memo=memo[:200], metadata=metadata or {},
                        created_by_id=created_by_id, created_at=now)
    params: list[Any] = [key, fingerprint, code, phase, pending_of.pk if pending_of else None,
                         timeout_at, reversal_of.pk if reversal_of else None, entry.memo,
                         json.dumps(entry.metadata), created_by_id, now, now]
    for leg in legs:
        params += [leg.debit.pk, leg.credit.pk, leg.debit.asset, leg.amount, leg.code or code]
    values = ", ".join(["(%s::bigint, %s::bigint, %s, %s::bigint, %s)"] * len(legs))
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_SQL.format(legs=values), params)
        entry.pk = cursor.fetchone()[0]
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry


def _post(*, key: str, code: str, phase: str, legs: Sequence[Leg], memo: str,
          metadata: dict[str, Any] | None, created_by_id: int | None,
          timeout: timedelta | None = None, reversal_of: TransferSet | None = None) -> TransferSet:
    _validate(legs)
    fingerprint = _fingerprint(code, phase, legs, None)
    # No look-up first: a retry is rare, so the unique key answers it (one round trip
    # less for every first posting); the refused INSERT rolls back its savepoint only.
    try:
        with transaction.atomic():
            return _record(key=key, code=code, phase=phase, legs=legs, fingerprint=fingerprint,
                           memo=memo, metadata=metadata, created_by_id=created_by_id,
                           timeout_at=timezone.now() + timeout if timeout else None,
                           reversal_of=reversal_of)
    except IntegrityError as exc:
        if _insufficient(exc):
            raise InsufficientFundsError(
                "Not enough balance for this.",
                fields={"amount": ["More than the balance."]}) from None
        if reversal_of is not None and TransferSet.objects.filter(
                reversal_of=reversal_of).exclude(key=key).exists():
            raise ConflictError("This transfer was already reversed.",
                                code="already_reversed") from None
        # The same key committed concurrently (the unique key refused ours): answer with it.
        found = _existing(key, fingerprint)
        if found is None:
            raise
        return found


def post_transfers(*, key: str, code: str, legs: Sequence[Leg], memo: str = "",
                   metadata: dict[str, Any] | None = None,
                   created_by_id: int | None = None) -> TransferSet:
    """Post linked transfers at once: all of them or none. The same key again returns the
    first set (a retry); the same key with other legs is refused."""
    return _post(key=key, code=code, phase=TransferSet.Phase.POSTED, legs=legs, memo=memo,
                 metadata=metadata, created_by_id=created_by_id)


def hold(*, key: str, code: str, legs: Sequence[Leg], timeout: timedelta, memo: str = "",
         metadata: dict[str, Any] | None = None, created_by_id: int | None = None) -> TransferSet:
    """Two-phase, first phase: the amounts are reserved (pending) until `post_pending`,
    `void_pending`, or the timeout (then voided by `void_expired_holds`)."""
    return _post(key=key, code=code, phase=TransferSet.Phase.PENDING, legs=legs, memo=memo,
                 metadata=metadata, created_by_id=created_by_id, timeout=timeout)


def _legs_of(entry: TransferSet) -> list[Leg]:
    return [Leg(debit=t.debit_account, credit=t.credit_account, amount=t.amount, code=t.code)
            for t in entry.transfers.select_related("debit_account", "credit_account")
            .order_by("pk")]


def _resolve(*, key: str, pending: TransferSet, post: bool, memo: str,
             created_by_id: int | None) -> TransferSet:
    phase = TransferSet.Phase.POST_PENDING if post else TransferSet.Phase.VOID_PENDING
    legs = _legs_of(pending)
    fingerprint = _fingerprint(pending.code, phase, legs, pending.pk)
    found = _existing(key, fingerprint)
    if found is not None:
        return found
    with transaction.atomic():
        # The pending set's row lock orders resolutions: exactly one post or void wins.
        locked = TransferSet.objects.select_for_update().get(pk=pending.pk)
        if locked.phase != TransferSet.Phase.PENDING:
            raise ApplicationError("Only a pending transfer can be posted or voided.",
                                   code="not_pending")
        if TransferSet.objects.filter(pending_of=locked).exists():
            raise ConflictError("This pending transfer was already posted or voided.",
                                code="already_resolved")
        # The transfers' INSERT takes the pending amounts off (and, for a post, onto the
        # posted balances) in the database; neither can overdraw an account.
        return _record(key=key, code=pending.code, phase=phase, legs=legs,
                       fingerprint=fingerprint, memo=memo, metadata={}, created_by_id=created_by_id,
                       pending_of=locked)


def post_pending(*, key: str, pending: TransferSet, memo: str = "",
                 created_by_id: int | None = None) -> TransferSet:
    return _resolve(key=key, pending=pending, post=True, memo=memo, created_by_id=created_by_id)


def void_pending(*, key: str, pending: TransferSet, memo: str = "",
                 created_by_id: int | None = None) -> TransferSet:
    return _resolve(key=key, pending=pending, post=False, memo=memo, created_by_id=created_by_id)


def reverse(*, key: str, original: TransferSet, memo: str,
            created_by_id: int | None = None) -> TransferSet:
    """Undo a posted set with a new one (never an edit): each leg the other way round."""
    if original.phase not in (TransferSet.Phase.POSTED, TransferSet.Phase.POST_PENDING):
        raise ApplicationError("Only posted transfers can be reversed.", code="not_posted")
    done = TransferSet.objects.filter(reversal_of=original).first()
    if done is not None and done.key != key:
        raise ConflictError("This transfer was already reversed.", code="already_reversed")
    legs = [Leg(debit=leg.credit, credit=leg.debit, amount=leg.amount, code=leg.code)
            for leg in _legs_of(original)]
    return _post(key=key, code="reversal", phase=TransferSet.Phase.POSTED, legs=legs, memo=memo,
                 metadata={"reverses": str(original.pk)}, created_by_id=created_by_id,
                 reversal_of=original)


def expired_holds(*, now: datetime | None = None) -> QuerySet[TransferSet]:
    """Pending sets past their timeout that nothing has posted or voided yet."""
    return (TransferSet.objects.filter(phase=TransferSet.Phase.PENDING,
                                       timeout_at__lte=now or timezone.now(),
                                       resolution__isnull=True)
            .order_by("timeout_at", "pk"))


def void_expired_holds(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Void every hold past its timeout (the beat task `apps.payments.void_expired_holds`):
    the amounts return to the accounts they were held from. Safe to run twice or
    concurrently with a late post: the void's key is fixed per hold and `_resolve`'s row
    lock lets exactly one resolution win (the loser is skipped)."""
    voided = 0
    for pending in list(expired_holds(now=now)[:batch_size]):
        try:
            void_pending(key=f"void-expired:{pending.pk}", pending=pending,
                         memo="Hold expired")
        except ApplicationError:  # resolved meanwhile by a post or a void
            continue
        voided += 1
    return voided
