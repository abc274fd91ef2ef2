"""The clearing period (services/clearing.py; docs/architecture.md, "The clearing period"):
a creator's share of a gift, tip or subscription payment waits in their clearing account
for the source's clearing period before it may be paid out. Against the real database,
the local provider's signed webhooks and real threads: a share is released exactly once
(also by concurrent runs), a dispute during clearing takes it back from there and nothing
is paid out, a payout is refused while the money clears (in words, with the day), the
books and the reconciliation stay exact, and finance staff set the period in the admin
(audited)."""

from __future__ import annotations

import threading
from datetime import UTC, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.utils import timezone

from apps.core.models import AuditEvent
from apps.monetization.models import Clawback, CoinPurchase, EarningsClearing, PayoutRequest
from apps.monetization.payout_selectors import earnings_payload
from apps.monetization.services.clearing import RELEASE_CODE, release_due
from apps.monetization.services.gifts import tip_send
from apps.monetization.tasks import release_cleared_earnings
from apps.payments.models import LedgerAccount, TransferSet
from apps.payments.providers import local
from apps.payments.services.payments import local_close_dispute, local_open_dispute
from apps.payments.services.reconcile import reconcile_ledger
from tests.monetization.coin_helpers import (
    adult,
    assert_books_balance,
    buy,
    catalogue,
    clear_all,
    clearing,
    client_for,
    creator_with_post,
    payable,
    payment_of,
    platform_total,
)
from tests.monetization.payout_helpers import payable_creator, tipped

pytestmark = pytest.mark.django_db(transaction=True)  # releases and claws lock rows
Kind = LedgerAccount.Kind
DAYS = 7  # the default clearing period (RevenueShare.clearing_days)


def _rows_match_the_account(creator: Any) -> None:
    """The invariant: a creator's clearing balance is what their open rows have left."""
    rows = EarningsClearing.objects.filter(creator=creator, released_at__isnull=True)
    assert clearing(creator) == sum(row.left_micros for row in rows)


def _dispute(purchase: CoinPurchase, *, won: bool | None = None) -> CoinPurchase:
    if won is None:
        local_open_dispute(payment=payment_of(purchase))
    else:
        local_close_dispute(payment=payment_of(purchase), won=won)
    local.deliver()
    return CoinPurchase.objects.get(pk=purchase.pk)


def _ask(creator: Any, cents: int, key: str) -> Any:
    return client_for(creator).post(
        "/api/v1/me/payouts", {"amount_minor": cents, "currency": "USD",
                               "destination": "acct_maya"},
        format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_share_clears_after_the_period_exactly_once() -> None:
    buyer = adult()
    creator, post = creator_with_post()
    buy(buyer, coins=350)
    send, _ = tip_send(sender=buyer, recipient=creator, coins=300, post=post)
    row = EarningsClearing.objects.get()
    assert (row.source, row.source_key, row.amount_micros) == ("tip", f"gift:{send.pk}",
                                                               2_400_000)  # 80 % of $3.00
    assert row.clears_at == send.created_at + timedelta(days=DAYS)
    assert (payable(creator), clearing(creator)) == (0, 2_400_000)
    _rows_match_the_account(creator)

    # the beat task (every 15 minutes) runs the same release: nothing is due yet
    beat = settings.CELERY_BEAT_SCHEDULE["monetization-release-cleared-earnings"]
    assert beat["task"] == release_cleared_earnings.name
    assert beat["schedule"] == timedelta(minutes=15)
    assert release_cleared_earnings() == 0
    assert release_due(now=row.clears_at - timedelta(seconds=1)) == 0  # not yet
    assert (payable(creator), clearing(creator)) == (0, 2_400_000)
    assert release_due(now=row.clears_at) == 1
    assert (payable(creator), clearing(creator)) == (2_400_000, 0)
    assert release_due(now=row.clears_at + timedelta(days=30)) == 0  # released once
    released = TransferSet.objects.get(code=RELEASE_CODE)
    assert [(t.debit_account.kind, t.credit_account.kind, t.amount)
            for t in released.transfers.all()] == [
        (Kind.EARNINGS_CLEARING, Kind.EARNINGS, 2_400_000)]
    row.refresh_from_db()
    assert row.released_at is not None
    assert row.release_key == released.key
    _rows_match_the_account(creator)
    assert_books_balance()
    assert reconcile_ledger().differences == 0
    # the history counts the tip once: the move out of clearing is no new money
    payload = earnings_payload(creator.pk, "7d")
    assert (payload["period_minor"], payload["by_source"]["tip"]) == (240, 240)
    assert (payload["available_minor"], payload["clearing_minor"]) == (240, 0)


def test_concurrent_clearing_runs_release_each_share_once() -> None:
    buyer = adult()
    creators = [creator_with_post()[0] for _ in range(3)]
    buy(buyer, coins=350)
    for i in range(12):
        tip_send(sender=buyer, recipient=creators[i % 3], coins=10 + i)
    later = timezone.now() + timedelta(days=DAYS + 1)
    counts: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def run() -> None:
        try:
            start.wait()
            counts.append(release_due(now=later, batch_size=2))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(counts) == 12  # every row once across the four runs
    assert not EarningsClearing.objects.filter(released_at__isnull=True).exists()
    for i, creator in enumerate(creators):
        coins = sum(10 + j for j in range(12) if j % 3 == i)
        assert (payable(creator), clearing(creator)) == (coins * 10_000 * 8000 // 10_000, 0)
    moved = sum(t.amount for s in TransferSet.objects.filter(code=RELEASE_CODE)
                for t in s.transfers.all())
    assert moved == sum(EarningsClearing.objects.values_list("amount_micros", flat=True))
    assert_books_balance()
    assert reconcile_ledger().differences == 0


def test_a_dispute_during_clearing_takes_the_share_back_and_nothing_is_paid_out() -> None:
    """The abuse the period closes: coins bought with a stolen card, tipped to an
    accomplice creator who asks for a payout before the card's owner disputes."""
    creator = payable_creator()
    fan = adult()
    purchase = buy(fan, coins=1400)  # $14.00 worth of coins...
    tip_send(sender=fan, recipient=creator, coins=1400)  # ...all tipped: $11.20 clearing
    refused = _ask(creator, 1120, "pay-1")
    assert refused.status_code == 409, refused.json()
    assert refused.json()["error"]["code"] == "earnings_clearing"
    assert not PayoutRequest.objects.exists()
    assert not TransferSet.objects.filter(code="payout").exists()

    purchase = _dispute(purchase)
    claw = Clawback.objects.get(purchase=purchase)
    assert (claw.wallet_coins, claw.earnings_micros, claw.clearing_micros, claw.loss_micros) == (
        0, 11_200_000, 11_200_000, 0)
    row = EarningsClearing.objects.get()
    assert row.clawed_micros == row.amount_micros == 11_200_000
    assert (payable(creator), clearing(creator)) == (0, 0)
    _rows_match_the_account(creator)
    assert platform_total(Kind.CHARGEBACKS) == 0  # no platform loss
    assert platform_total(Kind.PROVIDER_CLEARING) == 0

    assert clear_all() == 1  # the row ends with nothing left to release: no set
    assert not TransferSet.objects.filter(code=RELEASE_CODE).exists()
    assert payable(creator) == 0
    again = _ask(creator, 1000, "pay-2")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "insufficient_funds"
    assert not PayoutRequest.objects.exists()
    assert_books_balance()
    assert reconcile_ledger().differences == 0


def test_a_claw_takes_clearing_first_then_available_and_a_won_dispute_gives_back() -> None:
    buyer = adult()
    creator, post = creator_with_post()
    purchase = buy(buyer, coins=350)
    tip_send(sender=buyer, recipient=creator, coins=100, post=post)  # $0.80
    assert clear_all() == 1  # that one is payable now
    tip_send(sender=buyer, recipient=creator, coins=200, post=post)  # $1.60, clearing
    assert (payable(creator), clearing(creator)) == (800_000, 1_600_000)

    purchase = _dispute(purchase)
    claw = Clawback.objects.get(purchase=purchase)
    assert (claw.wallet_coins, claw.clearing_micros, claw.earnings_micros, claw.loss_micros) == (
        50, 1_600_000, 2_400_000, 0)
    assert (payable(creator), clearing(creator)) == (0, 0)
    _rows_match_the_account(creator)

    # won while the second share still clears: it goes back to clearing (and its row)
    _dispute(purchase, won=True)
    assert (payable(creator), clearing(creator)) == (800_000, 1_600_000)
    assert EarningsClearing.objects.get(released_at__isnull=True).clawed_micros == 0
    _rows_match_the_account(creator)
    assert clear_all() == 1
    assert (payable(creator), clearing(creator)) == (2_400_000, 0)
    assert_books_balance()
    assert reconcile_ledger().differences == 0


def test_a_dispute_won_after_the_period_passes_the_share_on_to_the_earnings() -> None:
    buyer = adult()
    creator, post = creator_with_post()
    purchase = buy(buyer, coins=70)
    tip_send(sender=buyer, recipient=creator, coins=70, post=post)  # $0.56, clearing
    purchase = _dispute(purchase)
    assert clearing(creator) == 0
    assert clear_all() == 1  # released with nothing left while the dispute is open
    _dispute(purchase, won=True)  # weeks later: the money is back
    assert (payable(creator), clearing(creator)) == (560_000, 0)  # no money left behind
    _rows_match_the_account(creator)
    assert_books_balance()
    assert reconcile_ledger().differences == 0


def test_the_creator_sees_available_clearing_and_pending_payout() -> None:
    creator = payable_creator()
    tipped(creator, cleared=False)  # $11.20, clearing
    clears = (timezone.now() + timedelta(days=DAYS)).astimezone(UTC).date()
    api = client_for(creator)
    earnings = api.get("/api/v1/me/earnings?period=7d").json()
    assert (earnings["available_minor"], earnings["clearing_minor"],
            earnings["clearing_next_minor"], earnings["pending_minor"]) == (0, 1120, 1120, 0)
    assert earnings["clearing_next_on"] == clears.isoformat()
    assert earnings["by_source"]["tip"] == 1120  # earned, though not payable yet
    status = api.get("/api/v1/me/payouts/status").json()
    assert (status["can_request"], status["refusal_code"], status["clearing_minor"]) == (
        False, "earnings_clearing", 1120)
    assert status["clearing_next_on"] == clears.isoformat()

    # within available + clearing: refused with the day it clears
    refused = _ask(creator, 1120, "pay-1").json()["error"]
    assert refused["code"] == "earnings_clearing"
    assert refused["message"] == (
        "Only $0.00 is available now: $11.20 of your earnings is still clearing (new "
        "earnings wait a few days in case a payment is disputed). You can ask for $11.20 "
        f"from {clears.day} {clears:%B %Y}.")
    # beyond it: more than the balance, the clearing part said
    beyond = _ask(creator, 2000, "pay-2").json()["error"]
    assert beyond["code"] == "insufficient_funds"
    assert beyond["message"] == ("That is more than your balance ($0.00 available now, "
                                 "$11.20 more still clearing).")
    web = Client()
    web.force_login(creator)
    page = web.get("/studio/earnings?period=7d").content.decode()
    assert 'data-stat="clearing">$11.20<' in page
    assert f"$11.20 available on {clears.day} {clears:%b %Y}" in page

    assert clear_all() == 1
    asked = _ask(creator, 1120, "pay-3")
    assert asked.status_code == 201, asked.json()
    earnings = api.get("/api/v1/me/earnings?period=7d").json()
    assert (earnings["available_minor"], earnings["clearing_minor"], earnings["pending_minor"],
            earnings["clearing_next_on"]) == (0, 0, 1120, None)


def test_finance_staff_set_the_period_in_the_admin_audited_and_zero_pays_at_once() -> None:
    catalogue()
    staff = adult(is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="monetization",
        codename__in=["view_revenueshare", "change_revenueshare"]))
    web = Client()
    web.force_login(staff)
    url = "/django-admin/monetization/revenueshare/tip/change/"
    too_long = web.post(url, {"creator_bps": 8000, "clearing_days": 121})
    assert too_long.status_code == 200
    assert "errorlist" in too_long.content.decode()
    assert web.post(url, {"creator_bps": 8000, "clearing_days": 0}).status_code == 302
    audit = AuditEvent.objects.get(app="monetization", verb="revenueshare_change")
    assert audit.data["changed"] == {"clearing_days": 0}
    assert audit.actor_id == staff.pk

    buyer = adult()
    creator, post = creator_with_post()
    buy(buyer, coins=70)
    tip_send(sender=buyer, recipient=creator, coins=10, post=post)
    assert (payable(creator), clearing(creator)) == (80_000, 0)  # 0 days: payable at once
    assert not EarningsClearing.objects.exists()

    assert web.post(url, {"creator_bps": 8000, "clearing_days": 3}).status_code == 302
    send, _ = tip_send(sender=buyer, recipient=creator, coins=10, post=post)
    row = EarningsClearing.objects.get()
    assert row.clears_at == send.created_at + timedelta(days=3)
    assert (payable(creator), clearing(creator)) == (80_000, 80_000)
    assert_books_balance()
