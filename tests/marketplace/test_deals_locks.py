"""The deal's row lock with no test transaction around it (transaction=True): every step's
`select_for_update` runs inside its own transaction.atomic, and two people pressing the
same button at once (two approvals, two publishes) move the deal and its money once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from apps.core.errors import ApplicationError
from apps.marketplace.models import Deal
from apps.marketplace.services import deals
from apps.marketplace.services.optin import profile_update
from apps.payments.models import TransferSet
from apps.payments.services.reconcile import reconcile_ledger
from tests.marketplace.helpers import (
    FEE_MICROS,
    brand,
    draft_post,
    earnings,
    escrow_balance,
    invite,
    opted_in,
)

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(*calls: Callable[[], Any]) -> list[str]:
    """Run the calls in threads released together; each answers "ok" or its error code."""
    barrier = threading.Barrier(len(calls))
    out: list[str] = [""] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            call()
            out[i] = "ok"
        except ApplicationError as exc:
            out[i] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return out


def test_two_approvals_and_two_publishes_at_once_move_the_deal_and_money_once() -> None:
    org, admin = brand()
    maker = opted_in()
    profile_update(user=maker, rate_post_minor=45_000)
    deal = invite(org, admin, maker)
    deals.deal_accept(user=maker, deal_id=deal.pk)
    deals.deal_submit_draft(user=maker, deal_id=deal.pk, post_id=draft_post(maker).pk)

    answers = at_once(*[lambda: deals.deal_approve(user=admin, deal_id=deal.pk)] * 2)
    assert sorted(answers) == ["ok", "wrong_state"]

    answers = at_once(*[lambda: deals.deal_publish(user=maker, deal_id=deal.pk)] * 2)
    assert sorted(answers) == ["ok", "wrong_state"]
    deal.refresh_from_db()
    assert deal.state == Deal.State.PAID
    assert earnings(maker) == FEE_MICROS - FEE_MICROS // 10
    assert escrow_balance(deal) == 0
    assert TransferSet.objects.filter(key__startswith=f"deal-settle:{deal.pk}").count() == 1
    assert reconcile_ledger().differences == 0  # and every set passed its commit checks
