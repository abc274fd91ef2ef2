"""Races on the same money, for real: threads with their own database connections started
together at a barrier, no test transaction around them (transaction=True). Each race has
exactly one winner and the balances stay exact; the books reconcile afterwards."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection

from apps.core.errors import ApplicationError
from apps.payments import selectors
from apps.payments.models.ledger import TransferSet
from apps.payments.services import ledger
from apps.payments.services.ledger import Leg, platform_account
from apps.payments.services.reconcile import reconcile_ledger
from tests.factories import UserFactory
from tests.payments.ledger_helpers import Kind, earnings, fund, gift_legs

pytestmark = pytest.mark.django_db(transaction=True)


def race(n: int, attempt: Callable[[int], Any]) -> list[Any]:
    """`attempt(i)` in n threads at once; each result or the exception it raised."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = attempt(i)
        except Exception as exc:  # noqa: BLE001 - the race's losers are the point
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racer hung (a deadlock?)"
    return results


def winners(results: list[Any]) -> list[TransferSet]:
    return [r for r in results if isinstance(r, TransferSet)]


def test_each_race_on_the_same_money_has_exactly_one_winner() -> None:
    viewer, creator, other = UserFactory(), UserFactory(), UserFactory()

    # the last 10 coins, given by 8 gifts of 10 at once: one goes through
    fund(viewer.pk, 10)
    results = race(8, lambda i: ledger.post_transfers(
        key=f"last:{i}", code="gift", legs=gift_legs(viewer.pk, creator.pk, 10)))
    assert len(winners(results)) == 1
    assert all(isinstance(r, ledger.InsufficientFundsError) for r in results
               if not isinstance(r, TransferSet)), results
    assert selectors.wallet_coins(viewer.pk) == 0
    assert selectors.earnings_balance(creator.pk).balance == 70_000

    # one key sent 8 times at once (a client's retries): one set, moved once
    fund(other.pk, 50)
    results = race(8, lambda i: ledger.post_transfers(
        key="retry:1", code="gift", legs=gift_legs(other.pk, creator.pk, 5)))
    assert len(winners(results)) == 8, results
    assert len({r.pk for r in winners(results)}) == 1
    assert selectors.wallet_coins(other.pk) == 45
    assert TransferSet.objects.filter(key="retry:1").count() == 1

    # a hold posted and voided at once, by 8 callers with their own keys: one resolution
    payable = platform_account(Kind.PAYOUTS_PAYABLE, "USD", creator.pk)
    held = ledger.hold(key="hold:1", code="payout", timeout=timedelta(hours=1),
                       legs=[Leg(earnings(creator.pk), payable, 60_000)])
    results = race(8, lambda i: (ledger.post_pending if i % 2 else ledger.void_pending)(
        key=f"resolve:{i}", pending=held))
    assert len(winners(results)) == 1, results
    assert all(isinstance(r, ApplicationError) for r in results
               if not isinstance(r, TransferSet)), results
    balance = selectors.earnings_balance(creator.pk)
    assert balance.pending_out == 0
    assert balance.balance == (105_000 - 60_000 if winners(results)[0].phase == "post_pending"
                               else 105_000)

    # an expired hold: the sweeper and a late post at once, one wins
    late = ledger.hold(key="hold:2", code="payout", timeout=timedelta(seconds=-1),
                       legs=[Leg(earnings(creator.pk), payable, 1_000)])
    results = race(2, lambda i: ledger.void_expired_holds() if i else ledger.post_pending(
        key="late-post", pending=late))
    assert TransferSet.objects.filter(pending_of=late).count() == 1
    assert selectors.earnings_balance(creator.pk).pending_out == 0

    # a set reversed by 6 refunds at once: once
    fee = ledger.post_transfers(key="fee:1", code="fee", legs=[
        Leg(platform_account(Kind.PLATFORM_REVENUE, "USD", 1),
            platform_account(Kind.CHARGEBACKS, "USD", 1), 500)])
    results = race(6, lambda i: ledger.reverse(key=f"undo:{i}", original=fee, memo="race"))
    assert len(winners(results)) == 1, results
    assert TransferSet.objects.filter(reversal_of=fee).count() == 1

    run = reconcile_ledger()
    assert (run.differences, run.details) == (0, [])
