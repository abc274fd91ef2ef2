"""The ledger's invariants hold in PostgreSQL itself (migration 0003), whatever the Python
says: transfers and sets are never edited or deleted, balances move only with transfers,
every set balances per asset with the assets of its accounts, a post or void repeats its
hold, a reversal mirrors its original and happens once, no wallet goes below zero. Each
is attempted here with raw SQL (the path around every Python check) and refused; the
services' own refusals are checked alongside."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.utils import InternalError

from apps.core.errors import ConflictError
from apps.payments import selectors
from apps.payments.models.ledger import LedgerAccount, Transfer, TransferSet
from apps.payments.services import ledger
from apps.payments.services.ledger import Leg, platform_account
from apps.payments.services.reconcile import reconcile_ledger
from tests.factories import UserFactory
from tests.payments.ledger_helpers import Kind, earnings, fresh, fund, gift_legs, key, wallet

REFUSED = (IntegrityError, InternalError)


def _raw_set(cursor: object, *, phase: str = "posted", pending_of: int | None = None,
             reversal_of: int | None = None) -> int:
    timeout = "now() + interval '1 day'" if phase == "pending" else "NULL"
    cursor.execute(  # type: ignore[attr-defined]
        "INSERT INTO payments_transferset (key, fingerprint, code, phase, pending_of_id, "
        "reversal_of_id, timeout_at, memo, metadata, created_at) VALUES "
        f"(%s, 'raw', 'raw', %s, %s, %s, {timeout}, '', '{{}}', now()) RETURNING id",
        [key("raw"), phase, pending_of, reversal_of])
    return int(cursor.fetchone()[0])  # type: ignore[attr-defined]


def _raw_transfer(cursor: object, set_id: int, debit: LedgerAccount, credit: LedgerAccount,
                  amount: int, asset: str | None = None) -> None:
    cursor.execute(  # type: ignore[attr-defined]
        "INSERT INTO payments_transfer (set_id, debit_account_id, credit_account_id, asset, "
        "amount, code, created_at) VALUES (%s, %s, %s, %s, %s, 'raw', now())",
        [set_id, debit.pk, credit.pk, asset or debit.asset, amount])


def _balances() -> list[tuple[int, int, int, int, int]]:
    return list(LedgerAccount.objects.order_by("pk").values_list(
        "pk", "debits_posted", "credits_posted", "debits_pending", "credits_pending"))


@pytest.mark.django_db(transaction=True)
def test_the_standard_flows_move_exact_balances_and_the_books_balance() -> None:
    viewer, creator = UserFactory(), UserFactory()
    fund(viewer.pk, 100)
    gift = ledger.post_transfers(key="gift:1", code="gift", legs=gift_legs(viewer.pk,
                                                                           creator.pk, 30))
    assert selectors.wallet_coins(viewer.pk) == 70
    assert selectors.earnings_balance(creator.pk).balance == 30 * 10_000 * 7000 // 10_000
    assert selectors.platform_balance(Kind.PLATFORM_REVENUE, "USD").balance == 90_000
    # the same key again is the same set, moved once; other legs under it are refused
    assert ledger.post_transfers(key="gift:1", code="gift",
                                 legs=gift_legs(viewer.pk, creator.pk, 30)).pk == gift.pk
    with pytest.raises(ledger.IdempotencyConflictError):
        ledger.post_transfers(key="gift:1", code="gift", legs=gift_legs(viewer.pk,
                                                                        creator.pk, 31))
    assert selectors.wallet_coins(viewer.pk) == 70
    # two-phase: a hold reserves, a post moves, a void returns
    payable = platform_account(Kind.PAYOUTS_PAYABLE, "USD", creator.pk)
    held = ledger.hold(key="payout:1", code="payout", timeout=timedelta(days=1),
                       legs=[Leg(earnings(creator.pk), payable, 100_000)])
    balance = selectors.earnings_balance(creator.pk)
    assert (balance.balance, balance.available, balance.pending_out) == (210_000, 110_000,
                                                                         100_000)
    with pytest.raises(ledger.InsufficientFundsError):  # more than what is not held
        ledger.hold(key="payout:2", code="payout", timeout=timedelta(days=1),
                    legs=[Leg(earnings(creator.pk), payable, 110_001)])
    ledger.post_pending(key="payout:1:paid", pending=held)
    with pytest.raises(ConflictError):  # resolved once
        ledger.void_pending(key="payout:1:failed", pending=held)
    balance = selectors.earnings_balance(creator.pk)
    assert (balance.balance, balance.available, balance.pending_out) == (110_000, 110_000, 0)
    second = ledger.hold(key="payout:3", code="payout", timeout=timedelta(days=1),
                         legs=[Leg(earnings(creator.pk), payable, 50_000)])
    ledger.void_pending(key="payout:3:failed", pending=second)
    assert selectors.earnings_balance(creator.pk).available == 110_000
    # a reversal is a new set, refused when the creator no longer has what it takes back
    # (100_000 of the gift's 210_000 was paid out): nothing moves
    before = _balances()
    with pytest.raises(ledger.InsufficientFundsError):
        ledger.reverse(key="refund:1", original=gift, memo="refund")
    assert _balances() == before
    small = ledger.post_transfers(key="gift:2", code="gift",
                                  legs=gift_legs(viewer.pk, creator.pk, 10))
    reversal = ledger.reverse(key="refund:2", original=small, memo="refund")
    assert ledger.reverse(key="refund:2", original=small, memo="retry").pk == reversal.pk
    with pytest.raises(ConflictError, match="already reversed"):
        ledger.reverse(key="refund:3", original=small, memo="again")
    assert selectors.wallet_coins(viewer.pk) == 70
    assert selectors.earnings_balance(creator.pk).balance == 110_000
    run = reconcile_ledger()
    assert (run.differences, run.details) == (0, [])
    assert run.accounts_checked == LedgerAccount.objects.count()
    # and a set that does not balance is refused at COMMIT (the deferred trigger), with
    # nothing of it kept
    before = _balances()
    with (pytest.raises(IntegrityError, match="asset their accounts do not hold"),
          transaction.atomic(), connection.cursor() as cursor):
        _raw_transfer(cursor, _raw_set(cursor), wallet(viewer.pk), earnings(creator.pk), 5)
    assert _balances() == before
    assert not TransferSet.objects.filter(code="raw").exists()
    # nor does a committed set take one more transfer (a balanced one, into a posted gift)
    with (pytest.raises(IntegrityError, match="only a set made in the same transaction"),
          transaction.atomic(), connection.cursor() as cursor):
        _raw_transfer(cursor, gift.pk, wallet(viewer.pk),
                      platform_account(Kind.COIN_ISSUANCE, "COIN", 0), 1)
    assert _balances() == before


def _refused(attempt: Callable[[object], object], match: str) -> None:
    """The statement (and, at the end, the deferred checks) refused; nothing kept."""
    before = _balances()
    sets, transfers = TransferSet.objects.count(), Transfer.objects.count()
    def whole_transaction() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            attempt(cursor)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what COMMIT would check

    with pytest.raises(REFUSED, match=match):
        whole_transaction()
    assert _balances() == before
    assert (TransferSet.objects.count(), Transfer.objects.count()) == (sets, transfers)


@pytest.fixture
def books() -> dict[str, object]:
    viewer, creator = UserFactory(), UserFactory()
    fund(viewer.pk, 50)
    gift = ledger.post_transfers(key=key("gift"), code="gift",
                                 legs=gift_legs(viewer.pk, creator.pk, 20))
    held = ledger.hold(key=key("hold"), code="payout", timeout=timedelta(hours=1), legs=[
        Leg(earnings(creator.pk), platform_account(Kind.PAYOUTS_PAYABLE, "USD", 1), 1000)])
    plain = ledger.post_transfers(key=key("fee"), code="fee", legs=[
        Leg(platform_account(Kind.PLATFORM_REVENUE, "USD", 1),
            platform_account(Kind.CHARGEBACKS, "USD", 1), 700)])
    return {"viewer": viewer, "creator": creator, "gift": gift, "held": held, "plain": plain}


@pytest.mark.django_db
def test_raw_sql_cannot_edit_or_delete_the_books(books: dict[str, object]) -> None:
    gift = books["gift"]
    assert isinstance(gift, TransferSet)
    transfer = gift.transfers.first()
    assert transfer is not None
    account = wallet(books["viewer"].pk)  # type: ignore[attr-defined]
    attempts = {
        "UPDATE payments_transfer SET amount = amount + 1 WHERE id = %s": transfer.pk,
        "DELETE FROM payments_transfer WHERE id = %s": transfer.pk,
        "UPDATE payments_transferset SET memo = 'edited' WHERE id = %s": gift.pk,
        "DELETE FROM payments_transferset WHERE id = %s": gift.pk,
        "UPDATE payments_ledgeraccount SET credits_posted = credits_posted + 1000 "
        "WHERE id = %s": account.pk,
        "UPDATE payments_ledgeraccount SET no_negative = false WHERE id = %s": account.pk,
        "DELETE FROM payments_ledgeraccount WHERE id = %s": account.pk,
    }
    for sql, pk in attempts.items():
        _refused(lambda cursor, sql=sql, pk=pk: cursor.execute(sql, [pk]),  # type: ignore[misc]
                 "immutable|changes only through transfers|has transfers")
    # the ORM cannot either
    _refused(lambda cursor: TransferSet.objects.filter(pk=gift.pk).update(memo="x"),
             "immutable")
    # nor is an account opened with money in it
    _refused(lambda cursor: LedgerAccount.objects.create(
        kind=Kind.WALLET, owner_id=books["creator"].pk,  # type: ignore[attr-defined]
        asset="COIN", no_negative=True, credits_posted=1_000), "open empty")
    assert fresh(account).balance == 30


@pytest.mark.django_db
def test_raw_sql_sets_that_break_an_invariant_are_refused(books: dict[str, object]) -> None:
    viewer, creator = books["viewer"].pk, books["creator"].pk  # type: ignore[attr-defined]
    gift, held = books["gift"], books["held"]
    assert isinstance(gift, TransferSet)
    assert isinstance(held, TransferSet)
    coins = platform_account(Kind.COIN_ISSUANCE, "COIN", viewer)
    payable = platform_account(Kind.PAYOUTS_PAYABLE, "USD", 1)

    def mixed_assets(cursor: object) -> None:  # coins out, dollars in
        _raw_transfer(cursor, _raw_set(cursor), wallet(viewer), earnings(creator), 5)

    def mislabelled(cursor: object) -> None:  # two COIN accounts, "USD" on the transfer
        _raw_transfer(cursor, _raw_set(cursor), wallet(viewer), coins, 5, asset="USD")

    def empty_set(cursor: object) -> None:
        _raw_set(cursor)

    def overdraft(cursor: object) -> None:  # a wallet of 30 coins, 31 out
        _raw_transfer(cursor, _raw_set(cursor), wallet(viewer), coins, 31)

    def post_other_amount(cursor: object) -> None:
        _raw_transfer(cursor, _raw_set(cursor, phase="post_pending", pending_of=held.pk),
                      earnings(creator), payable, 999)

    def post_a_posted_set(cursor: object) -> None:
        resolution = _raw_set(cursor, phase="post_pending", pending_of=gift.pk)
        for t in gift.transfers.all():
            _raw_transfer(cursor, resolution, t.debit_account, t.credit_account, t.amount)

    def reversal_other_legs(cursor: object) -> None:
        _raw_transfer(cursor, _raw_set(cursor, reversal_of=gift.pk), coins, wallet(viewer), 20)

    def reversal_twice(cursor: object) -> None:
        plain = books["plain"]
        assert isinstance(plain, TransferSet)
        for _ in range(2):
            reversal = _raw_set(cursor, reversal_of=plain.pk)
            for t in plain.transfers.all():
                _raw_transfer(cursor, reversal, t.credit_account, t.debit_account, t.amount)

    _refused(mixed_assets, "asset their accounts do not hold")
    _refused(mislabelled, "asset their accounts do not hold")
    _refused(empty_set, "has no transfers")
    _refused(overdraft, "ledger_account_no_negative")
    _refused(post_other_amount, "repeats its pending set's legs")
    _refused(post_a_posted_set, "which is not pending|ledger_account_sums_not_negative")
    _refused(reversal_other_legs, "repeats its original's legs reversed")
    _refused(reversal_twice, "ledger_set_reversed_once")
    # what passes every check is a real posting: balances follow it
    with transaction.atomic(), connection.cursor() as cursor:
        _raw_transfer(cursor, _raw_set(cursor), wallet(viewer), coins, 30)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert selectors.wallet_coins(viewer) == 0
    assert reconcile_ledger().differences == 0
