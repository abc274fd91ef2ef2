"""Finance staff in the admin: the ledger is read-only; reversing a set and posting or
voiding a hold are actions with a required reason, made as new sets and recorded in the
audit trail. The nightly reconciliation raises its alert (log, run with the differences,
audit row, admin banner, /metrics) on any difference between balances and transfers."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client

from apps.core.models import AuditEvent
from apps.payments import selectors
from apps.payments.models.ledger import TransferSet
from apps.payments.services import ledger
from apps.payments.services.ledger import Leg, platform_account
from apps.payments.services.reconcile import reconcile_ledger
from apps.payments.tasks import reconcile_ledger as reconcile_task
from apps.payments.tasks import void_expired_holds as void_task
from tests.factories import UserFactory
from tests.payments.ledger_helpers import Kind, earnings, fund, gift_legs, key, wallet

pytestmark = pytest.mark.django_db
SETS = "/django-admin/payments/transferset/"
REASON = "ticket 77: refund agreed with the viewer"


@pytest.fixture
def finance() -> Client:
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="payments",
        codename__in=["view_transferset", "change_transferset", "view_ledgeraccount",
                      "view_transfer", "view_reconciliationrun"]))
    client = Client()
    client.force_login(staff)
    return client


def _act(client: Client, action: str, entry: TransferSet, reason: str = REASON) -> str:
    response = client.post(SETS, {"action": action, "_selected_action": [str(entry.pk)],
                                  "reason": reason}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_finance_reverses_posts_and_voids_with_a_reason_and_an_audit_row(
        finance: Client) -> None:
    viewer, creator = UserFactory(), UserFactory()
    fund(viewer.pk, 40)
    gift = ledger.post_transfers(key=key("gift"), code="gift",
                                 legs=gift_legs(viewer.pk, creator.pk, 40))
    payable = platform_account(Kind.PAYOUTS_PAYABLE, "USD", creator.pk)
    holds = [ledger.hold(key=key("hold"), code="payout", timeout=timedelta(days=1),
                         legs=[Leg(earnings(creator.pk), payable, 10_000)]) for _ in range(2)]

    # read-only: no add, no edit, no delete
    assert finance.get(f"{SETS}add/").status_code == 403
    page = finance.get(f"{SETS}{gift.pk}/change/").content.decode()
    assert "creator_share" in page
    assert 'name="memo"' not in page
    assert finance.post(f"{SETS}{gift.pk}/delete/", {"post": "yes"}).status_code == 403

    # without a reason nothing moves
    assert "Say why" in _act(finance, "reverse_sets", gift, reason="")
    assert not TransferSet.objects.filter(reversal_of=gift).exists()

    # the reversal takes back the creator's 280_000 share: refused in words while holds
    # keep 20_000 of it
    assert "Not enough balance" in _act(finance, "reverse_sets", gift)
    _act(finance, "void_holds", holds[0])
    _act(finance, "post_holds", holds[1])
    assert "Only a pending transfer" in _act(finance, "void_holds", gift)
    assert "already posted or voided" in _act(finance, "post_holds", holds[0])
    assert selectors.earnings_balance(creator.pk).balance == 270_000

    ledger.post_transfers(key=key("back"), code="adjust", legs=[  # the payout came back
        Leg(payable, earnings(creator.pk), 10_000)])
    assert "Reversed 1" in _act(finance, "reverse_sets", gift)
    reversal = TransferSet.objects.get(reversal_of=gift)
    assert reversal.memo == REASON
    assert reversal.created_by_id is not None
    assert selectors.wallet_coins(viewer.pk) == 40
    assert selectors.earnings_balance(creator.pk).balance == 0
    # the same action again answers with the same reversal, never a second one
    _act(finance, "reverse_sets", gift)
    assert TransferSet.objects.filter(reversal_of=gift).count() == 1

    audit = list(AuditEvent.objects.filter(app="payments").order_by("id")
                 .values_list("verb", "reason", "target_id"))
    assert audit == [("ledger_void", REASON, holds[0].pk), ("ledger_post", REASON, holds[1].pk),
                     ("ledger_reverse", REASON, gift.pk), ("ledger_reverse", REASON, gift.pk)]

    # staff without the ledger's change permission see the books, not the actions
    reader = UserFactory(is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_transferset"))
    client = Client()
    client.force_login(reader)
    assert "reverse_sets" not in client.get(SETS).content.decode()


def test_a_difference_raises_the_alert_everywhere_finance_looks(
        finance: Client, caplog: pytest.LogCaptureFixture) -> None:
    viewer = UserFactory()
    fund(viewer.pk, 25)
    assert reconcile_task.apply().get() == 0
    account = wallet(viewer.pk)
    # what only something around the trigger could do (a restore, a hand edit as owner)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE payments_ledgeraccount DISABLE TRIGGER "
                       "payments_ledgeraccount_guard")
        cursor.execute("UPDATE payments_ledgeraccount SET credits_posted = credits_posted + 5 "
                       "WHERE id = %s", [account.pk])
        cursor.execute("ALTER TABLE payments_ledgeraccount ENABLE TRIGGER "
                       "payments_ledgeraccount_guard")
    with caplog.at_level(logging.ERROR, logger="apps.payments.services.reconcile"):
        run = reconcile_ledger()
    assert run.differences == 2  # the wallet's credits, and the COIN books
    assert {"account": str(account.pk), "column": "credits_posted", "maintained": 30,
            "from_transfers": 25} in run.details
    assert {"asset": "COIN", "posted_off_by": 5, "pending_off_by": 0} in run.details
    assert "2 differences" in caplog.text
    assert AuditEvent.objects.get(app="payments", verb="ledger_reconcile_alert").target_id \
        == run.pk
    banner = finance.get("/django-admin/payments/ledgeraccount/").content.decode()
    assert "found 2 differences between the balances and the transfers" in banner
    metrics = Client().get("/metrics").content.decode()
    assert "swipeme_ledger_reconciliation_differences 2.0" in metrics


def test_the_beat_task_voids_expired_holds_and_their_money_returns() -> None:
    creator = UserFactory()
    ledger.post_transfers(key=key("earn"), code="adjust", legs=[
        Leg(platform_account(Kind.COIN_SALES, "USD", 1), earnings(creator.pk), 5_000)])
    payable = platform_account(Kind.PAYOUTS_PAYABLE, "USD", creator.pk)
    expired = ledger.hold(key=key("h"), code="payout", timeout=timedelta(seconds=-1),
                          legs=[Leg(earnings(creator.pk), payable, 3_000)])
    live = ledger.hold(key=key("h"), code="payout", timeout=timedelta(hours=1),
                       legs=[Leg(earnings(creator.pk), payable, 1_000)])
    assert selectors.earnings_balance(creator.pk).available == 1_000
    assert void_task.apply().get() == 1
    assert void_task.apply().get() == 0  # twice is harmless
    assert TransferSet.objects.get(pending_of=expired).phase == "void_pending"
    assert not TransferSet.objects.filter(pending_of=live).exists()
    assert selectors.earnings_balance(creator.pk).available == 4_000
    assert [h.pk for h in selectors.pending_holds(Kind.EARNINGS, owner_id=creator.pk,
                                                  asset="USD")] == [live.pk]


def test_an_accounts_history_by_entry_source_and_day() -> None:
    viewer, creator = UserFactory(), UserFactory()
    fund(viewer.pk, 30)
    ledger.post_transfers(key=key("gift"), code="gift", legs=gift_legs(viewer.pk, creator.pk, 10))
    ledger.post_transfers(key=key("tip"), code="tip", legs=gift_legs(viewer.pk, creator.pk, 5))
    ledger.hold(key=key("hold"), code="payout", timeout=timedelta(days=1), legs=[
        Leg(earnings(creator.pk), platform_account(Kind.PAYOUTS_PAYABLE, "USD", 1), 20_000)])
    rows: list[Any] = list(selectors.entries(Kind.EARNINGS, owner_id=creator.pk, asset="USD"))
    assert [(r.set_code, r.signed) for r in rows] == [("payout", -20_000), ("tip", 35_000),
                                                      ("gift", 70_000)]
    # posted only: the hold is not earnings moved yet
    assert selectors.total_by_source(Kind.EARNINGS, owner_id=creator.pk, asset="USD") == {
        "gift": 70_000, "tip": 35_000}
    coins = selectors.daily_totals(Kind.WALLET, owner_id=viewer.pk, asset="COIN",
                                   since=rows[-1].created_at - timedelta(days=1))
    assert [(d["source"], d["net"]) for d in coins] == [("coin_purchase", 30), ("gift", -10),
                                                        ("tip", -5)]
