"""Payouts, two-phase on the ledger: held on request, posted when the provider's webhook
says paid, voided (money back) when it says failed; every refusal in words with nothing
moved; concurrent requests for the same balance; the API's strict amounts, idempotency and
other people's payouts (404). Lock-taking code: transaction=True throughout."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import close_old_connections
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.errors import ApplicationError
from apps.moderation.models import EnforcementAction, Strike
from apps.monetization.models import KycProfile, PayoutRequest, TaxForm
from apps.monetization.services import payouts
from apps.notifications.models import Notification
from apps.payments.models import LedgerAccount, ProviderPayout
from apps.payments.providers import local
from tests.monetization.coin_helpers import adult, assert_books_balance, client_for
from tests.monetization.payout_helpers import earnings_account, payable_creator, settle, tipped

pytestmark = pytest.mark.django_db(transaction=True)
EARNED = 11_200_000  # 1,400 coins tipped at 80%: $11.20


def _payable_total() -> int:
    return sum(a.balance for a in LedgerAccount.objects.filter(
        kind=LedgerAccount.Kind.PAYOUTS_PAYABLE))


def _told(user_id: int) -> list[str]:
    return [f"{n.data.get('title')} / {n.data.get('body')}"
            for n in Notification.objects.filter(recipient_id=user_id, type="payouts")]


def test_paid_posts_the_hold_once(db: Any) -> None:
    creator = payable_creator()
    tipped(creator)
    assert earnings_account(creator).available == EARNED
    payout, created = payouts.payout_request(user=creator, amount_minor=1000,
                                             destination="acct_maya", key="k1")
    assert created
    assert payout.state == PayoutRequest.State.PROCESSING
    account = earnings_account(creator)
    # held: the balance still shows it, but it can no longer be spent or paid out twice
    assert (account.balance, account.available, account.debits_pending) == (
        EARNED, EARNED - 10_000_000, 10_000_000)
    assert settle(payout).state == PayoutRequest.State.PAID
    account = earnings_account(creator)
    assert (account.balance, account.available, account.debits_pending) == (
        1_200_000, 1_200_000, 0)
    assert _payable_total() == 10_000_000
    assert ProviderPayout.objects.get().amount_minor == 1000
    # the task again and the webhook again: nothing more moves, no second provider payout
    settle(payout)
    local.deliver()
    assert earnings_account(creator).balance == 1_200_000
    assert ProviderPayout.objects.count() == 1
    assert _told(creator.pk) == ["Your payout of $10.00 was paid / It is on its way to your "
                                 "payout account."]
    assert_books_balance()


def test_failed_payout_returns_the_money_in_words(db: Any) -> None:
    creator = payable_creator()
    tipped(creator)
    payout, _ = payouts.payout_request(user=creator, amount_minor=1100,
                                       destination="bank_fail")
    payout = settle(payout)
    assert payout.state == PayoutRequest.State.FAILED
    assert "The bank account was closed." in payout.message
    assert "back in your balance" in payout.message
    account = earnings_account(creator)
    assert (account.balance, account.available, account.debits_pending) == (EARNED, EARNED, 0)
    assert _payable_total() == 0
    assert _told(creator.pk)[0].startswith("Your payout of $11.00 failed / The payout failed:")
    assert_books_balance()


def _refused(creator: Any, code: str, amount: int = 1000) -> str:
    before = earnings_account(creator).available
    with pytest.raises(ApplicationError) as caught:
        payouts.payout_request(user=creator, amount_minor=amount, destination="acct_1")
    assert caught.value.code == code, caught.value.message
    assert earnings_account(creator).available == before  # nothing moved
    return caught.value.message


def test_each_eligibility_rule_refuses_in_words(db: Any) -> None:
    creator = payable_creator()
    tipped(creator)
    assert "more than your balance ($11.20)" in _refused(creator, "insufficient_funds", 1121)
    assert "$10.00" in _refused(creator, "below_minimum", 999)

    TaxForm.objects.filter(user=creator).update(active=False)
    assert "tax form" in _refused(creator, "tax_form_required")
    TaxForm.objects.filter(user=creator).update(active=True)

    KycProfile.objects.filter(user=creator).update(state=KycProfile.State.NEEDS_MORE)
    assert "Verify your identity" in _refused(creator, "kyc_required")
    KycProfile.objects.filter(user=creator).update(state=KycProfile.State.VERIFIED)

    action = EnforcementAction.objects.create(action="remove", target_type="post",
                                              target_id=1, subject=creator,
                                              policy="spam_scam")
    strike = Strike.objects.create(user=creator, action=action, policy="spam_scam",
                                   expires_at=timezone.now() + timedelta(days=90))
    assert "strike" in _refused(creator, "severe_strike")
    Strike.objects.filter(pk=strike.pk).update(policy="copyright")  # not a severe policy
    payouts.payout_request(user=creator, amount_minor=1000, destination="acct_1")

    minor = payable_creator(date_of_birth=timezone.localdate() - timedelta(days=365 * 17))
    assert "18 and over" in _refused(minor, "under_18")
    assert PayoutRequest.objects.count() == 1


def test_velocity_one_a_day(db: Any) -> None:
    creator = payable_creator()
    tipped(creator)
    tipped(creator)
    payouts.payout_request(user=creator, amount_minor=1000, destination="acct_1")
    message = _refused(creator, "payout_velocity")
    assert "one payout a day" in message
    PayoutRequest.objects.update(created_at=timezone.now() - timedelta(days=2))
    payouts.payout_request(user=creator, amount_minor=1000, destination="acct_1")


def test_concurrent_requests_hold_the_balance_once(db: Any) -> None:
    creator = payable_creator()
    tipped(creator)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def ask() -> None:
        try:
            barrier.wait()
            payouts.payout_request(user=creator, amount_minor=1000, destination="acct_1")
            outcomes.append("ok")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "payout_velocity", "payout_velocity", "payout_velocity"]
    assert earnings_account(creator).debits_pending == 10_000_000


def test_api_strict_amounts_idempotency_and_others_payouts(db: Any) -> None:
    creator = payable_creator()
    tipped(creator)
    api = client_for(creator)
    url = "/api/v1/me/payouts"
    for bad in (-5, 0, 10.5, "1000", True, 10**13, None, [1000]):
        answer = api.post(url, {"amount_minor": bad, "destination": "acct_1"}, format="json")
        assert answer.status_code == 400, (bad, answer.json())
        assert answer.json()["error"]["fields"], bad
    answer = api.post(url, {"amount_minor": 1000, "currency": "XYZ", "destination": "acct_1"},
                      format="json")
    assert answer.json()["error"]["code"] == "invalid_currency"
    answer = api.post(url, {"amount_minor": 1000, "destination": "a b"}, format="json")
    assert answer.json()["error"]["code"] == "invalid_destination"
    assert earnings_account(creator).debits_pending == 0

    first = api.post(url, {"amount_minor": 1000, "destination": "acct_1"}, format="json",
                     HTTP_IDEMPOTENCY_KEY="pay-1")
    assert first.status_code == 201, first.json()
    again = api.post(url, {"amount_minor": 1000, "destination": "acct_1"}, format="json",
                     HTTP_IDEMPOTENCY_KEY="pay-1")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    other = api.post(url, {"amount_minor": 1100, "destination": "acct_1"}, format="json",
                     HTTP_IDEMPOTENCY_KEY="pay-1")
    assert other.status_code == 422
    assert earnings_account(creator).debits_pending == 10_000_000

    payout_id = first.json()["id"]
    assert api.get(f"{url}/{payout_id}").json()["state_text"] == "On its way"
    status = api.get(f"{url}/status").json()
    assert status["can_request"] is False
    assert "one payout a day" in status["refusal"]
    stranger = client_for(adult())
    missing = stranger.get(f"{url}/{payout_id}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert stranger.get(url).json()["results"] == []
    assert APIClient().get(f"{url}/{payout_id}").status_code in (401, 403)


def test_paid_after_the_hold_expired_takes_the_money_again_once(db: Any) -> None:
    from apps.payments.services.ledger import void_expired_holds

    creator = payable_creator()
    tipped(creator)
    payout, _ = payouts.payout_request(user=creator, amount_minor=1000, destination="acct_1")
    assert void_expired_holds(now=timezone.now() + timedelta(days=31)) == 1
    assert earnings_account(creator).available == EARNED  # the expiry gave it back
    assert settle(payout).state == PayoutRequest.State.PAID  # the provider paid anyway
    local.deliver()
    account = earnings_account(creator)
    assert (account.balance, account.debits_pending) == (1_200_000, 0)
    assert _payable_total() == 10_000_000
    assert_books_balance()
