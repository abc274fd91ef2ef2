"""A chargeback takes from a creator's payouts that have not left yet
(services/clawback_holds.py; docs/architecture.md, "Negative-balance policy"): a payout held
for review or not yet handed to the provider gives up what the dispute needs (its hold
voided through the ledger, held again for the rest, or cancelled), the creator reads why,
and only then is the rest owed. A payout already sent is never touched: what it paid out
becomes the creator's debt (earnings_owed), repaid first from their next released earnings;
a payout request is refused while they owe. Against
the real database, the local provider's signed webhooks and the ledger's own primitives;
the books balance and the reconciliation stays green."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.monetization.models import Clawback, CoinPurchase, PayoutRequest, RiskReview
from apps.monetization.payout_selectors import earnings_payload
from apps.monetization.services import chargebacks, clearing, payouts
from apps.notifications.models import Notification
from apps.payments.models import LedgerAccount, ProviderPayout, TransferSet
from apps.payments.providers import local
from apps.payments.services.payments import local_close_dispute, local_open_dispute
from apps.payments.services.reconcile import reconcile_ledger
from tests.monetization.coin_helpers import (
    adult,
    assert_books_balance,
    clear_all,
    payment_of,
    platform_total,
)
from tests.monetization.payout_helpers import earnings_account, payable_creator, settle, tipped

pytestmark = pytest.mark.django_db(transaction=True)  # claws and sends lock payout rows
Kind = LedgerAccount.Kind
SHARE = 11_200_000  # 1,400 coins tipped: $11.20 for the creator


def _disputed(purchase: CoinPurchase) -> Clawback:
    local_open_dispute(payment=payment_of(purchase))
    local.deliver()
    return Clawback.objects.get(purchase=purchase, event="disputed")


def _told(user: Any) -> list[str]:
    return [f"{n.data.get('title')} / {n.data.get('body')}"
            for n in Notification.objects.filter(recipient_id=user.pk, type="payouts")]


def _green() -> None:
    assert_books_balance()
    assert reconcile_ledger().differences == 0


def test_a_dispute_cancels_a_payout_held_for_review_and_books_no_loss() -> None:
    creator = payable_creator()
    fan = adult(date_joined=timezone.now())  # a fresh account: the payout is reviewed
    tipped(creator, fan=fan)
    purchase = CoinPurchase.objects.get(user=fan)
    payout, _ = payouts.payout_request(user=creator, amount_minor=1120, destination="acct_1")
    assert payout.state == PayoutRequest.State.IN_REVIEW
    assert earnings_account(creator).available == 0

    claw = _disputed(purchase)
    assert (claw.earnings_micros, claw.loss_micros) == (SHARE, 0)
    assert platform_total(Kind.CHARGEBACKS) == 0
    payout.refresh_from_db()
    assert payout.state == PayoutRequest.State.CANCELLED
    assert "disputed" in payout.message
    assert "Cancelled" in payout.message
    assert hasattr(payout.hold, "resolution")  # voided, never posted
    assert TransferSet.objects.get(pending_of=payout.hold).phase == "void_pending"
    review = RiskReview.objects.get(payout=payout)
    assert review.state == RiskReview.State.REFUSED
    assert "chargeback" in review.reason
    account = earnings_account(creator)
    assert (account.balance, account.available, account.debits_pending) == (0, 0, 0)
    assert any("was cancelled" in line and "disputed" in line for line in _told(creator))

    # nothing moves twice: the same event again, the send task, the webhook queue
    again = chargebacks.claw_back(purchase=purchase, event="disputed", amount_minor=1400,
                                  key=claw.key)
    assert again.pk == claw.pk
    payouts.payout_send(payout.pk)
    local.deliver()
    assert TransferSet.objects.filter(code="chargeback").count() == 1
    assert not ProviderPayout.objects.exists()
    _green()


def test_a_dispute_reduces_a_payout_not_sent_yet_and_the_rest_is_paid() -> None:
    creator = payable_creator()
    tipped(creator)  # $11.20 from a fan who stays
    cheat = adult()
    tipped(creator, fan=cheat)  # $11.20 more, from coins that will be disputed
    payout, _ = payouts.payout_request(user=creator, amount_minor=2000, destination="acct_1")
    assert payout.state == PayoutRequest.State.PROCESSING
    assert not payout.provider_payout_id
    first_hold = payout.hold
    assert earnings_account(creator).available == 2_400_000

    claw = _disputed(CoinPurchase.objects.get(user=cheat))
    assert (claw.earnings_micros, claw.loss_micros) == (SHARE, 0)
    assert platform_total(Kind.CHARGEBACKS) == 0
    payout.refresh_from_db()
    assert payout.state == PayoutRequest.State.PROCESSING
    assert payout.amount_minor == 1120  # what the creator has left after the claw
    assert payout.hold != first_hold
    assert hasattr(first_hold, "resolution")
    assert "Reduced from $20.00 to $11.20" in payout.message
    account = earnings_account(creator)
    assert (account.balance, account.available, account.debits_pending) == (
        SHARE, 0, SHARE)
    assert any("reduced to $11.20" in line for line in _told(creator))

    assert settle(payout).state == PayoutRequest.State.PAID
    assert ProviderPayout.objects.get().amount_minor == 1120
    account = earnings_account(creator)
    assert (account.balance, account.debits_pending) == (0, 0)
    _green()


def _owed(user: Any) -> int:
    row = LedgerAccount.objects.filter(kind=Kind.EARNINGS_OWED, owner_id=user.pk).first()
    return -row.balance if row else 0


def _paid_out_then_disputed() -> tuple[Any, CoinPurchase, PayoutRequest]:
    """The creator's $11.20 is handed to the provider, then its coins are disputed."""
    creator = payable_creator()
    fan = tipped(creator)
    payout, _ = payouts.payout_request(user=creator, amount_minor=1120, destination="acct_1")
    payouts.payout_send(payout.pk)  # handed to the provider, its webhook not in yet
    payout.refresh_from_db()
    assert payout.provider_payout_id
    purchase = CoinPurchase.objects.get(user=fan)
    claw = _disputed(purchase)  # delivers the payout's webhook too
    assert (claw.earnings_micros, claw.loss_micros) == (0, 0)
    payout.refresh_from_db()
    return creator, purchase, payout


def test_a_payout_already_sent_is_not_touched_the_creator_owes_and_repays_first() -> None:
    creator, _, payout = _paid_out_then_disputed()
    assert (payout.state, payout.amount_minor) == (PayoutRequest.State.PAID, 1120)
    assert not TransferSet.objects.filter(key__startswith=f"payout-clawed:{payout.pk}").exists()
    assert _owed(creator) == SHARE  # recorded as owed, no platform loss booked
    assert platform_total(Kind.CHARGEBACKS) == 0
    told = [line for line in _told(creator) if line.startswith("You owe $11.20")]
    assert len(told) == 1  # the creator is told what they owe and how it is repaid
    assert "repaid from your next earnings" in told[0]
    assert earnings_payload(creator.pk, "28d")["owed_minor"] == 1120  # the API's figure
    client = Client()
    client.force_login(creator)
    page = client.get(reverse("web:earnings")).content.decode()
    assert 'data-stat="owed">$11.20<' in page  # and the earnings page's
    _green()

    with pytest.raises(ApplicationError) as refused:
        payouts.payout_request(user=creator, amount_minor=100, destination="acct_1")
    assert refused.value.code == "earnings_owed"
    assert "You owe $11.20" in refused.value.message

    tipped(creator, coins=350, cleared=False)  # $2.80 clearing...
    clear_all()  # ...released: all of it repays the debt
    assert (_owed(creator), earnings_account(creator).balance) == (SHARE - 2_800_000, 0)
    _green()
    tipped(creator)  # $11.20: $8.40 repays the rest, $2.80 is payable
    assert (_owed(creator), earnings_account(creator).balance) == (0, 2_800_000)
    tipped(creator)  # $11.20 more, nothing owed now
    assert earnings_account(creator).balance == 14_000_000
    PayoutRequest.objects.update(created_at=timezone.now() - timedelta(days=2))  # 1 a day
    payout, _ = payouts.payout_request(user=creator, amount_minor=1400, destination="acct_1")
    assert settle(payout).state == PayoutRequest.State.PAID
    assert platform_total(Kind.CHARGEBACKS) == 0
    _green()


def test_a_won_dispute_cancels_the_debt_and_returns_what_was_repaid() -> None:
    creator, purchase, _ = _paid_out_then_disputed()
    tipped(creator, coins=350)  # $2.80 released: repays a quarter of the debt
    assert (_owed(creator), earnings_account(creator).balance) == (8_400_000, 0)
    local_close_dispute(payment=payment_of(purchase), won=True)
    local.deliver()
    assert (_owed(creator), earnings_account(creator).balance) == (0, 2_800_000)
    assert platform_total(Kind.CHARGEBACKS) == 0
    _green()


def test_a_release_that_read_a_debt_a_won_dispute_cancelled_pays_it_to_earnings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The release reads the debt without a lock: replay the interleaving where a won
    dispute cancels it between that read and the release's posting. What was 'repaid'
    to a debt no longer owed is the creator's earnings, not stranded in the owed account."""
    creator, purchase, _ = _paid_out_then_disputed()
    local_close_dispute(payment=payment_of(purchase), won=True)
    local.deliver()
    assert _owed(creator) == 0
    monkeypatch.setattr(clearing, "owed_micros", lambda user_id: SHARE)  # the stale read
    tipped(creator)  # $11.20 released
    owed = LedgerAccount.objects.get(kind=LedgerAccount.Kind.EARNINGS_OWED, owner_id=creator.pk)
    assert owed.balance == 0
    assert earnings_account(creator).balance == SHARE
    _green()


def test_a_dispute_racing_the_send_never_pays_out_what_it_took() -> None:
    """The send task and the dispute's webhook at once, on a payout not sent yet: either
    the payout is sent whole and the creator owes the share, or it is cancelled first and
    nothing is sent; never money sent that the ledger gave back to the claw."""
    creator = payable_creator()
    fan = tipped(creator)
    payout, _ = payouts.payout_request(user=creator, amount_minor=1120, destination="acct_1")
    local_open_dispute(payment=payment_of(CoinPurchase.objects.get(user=fan)))  # queued
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(job: Any) -> None:
        try:
            start.wait()
            job()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,))
               for job in (lambda: payouts.payout_send(payout.pk), local.deliver)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    local.deliver()  # whatever the race left queued (the payout's event)
    payout.refresh_from_db()
    claw = Clawback.objects.get(event="disputed")
    sent = sum(p.amount_minor for p in ProviderPayout.objects.all()) * 10_000
    assert sent == platform_total(Kind.PAYOUTS_PAYABLE)  # what left is what was posted
    assert claw.earnings_micros + _owed(creator) == SHARE
    assert claw.loss_micros == 0
    if payout.provider_payout_id:  # the send won: paid whole, the share is owed
        assert (payout.state, sent, _owed(creator)) == (PayoutRequest.State.PAID, SHARE, SHARE)
    else:  # the claw won: cancelled, nothing sent
        assert (payout.state, sent, _owed(creator)) == (PayoutRequest.State.CANCELLED, 0, 0)
    _green()
