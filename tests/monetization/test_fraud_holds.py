"""Fraud holds: a payout is held for finance review when a risk signal fires (a gifting
ring: accounts that tip each other or share a device/IP; a sudden earnings spike; a
password or e-mail change just before), with the money reserved; finance staff release it
(then paid) or refuse it (the money returns) in the admin, audited, the creator told."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.signals import email_changed
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from apps.accounts.hooks import security_event
from apps.accounts.models import Device
from apps.core.models import AuditEvent
from apps.monetization import fraud
from apps.monetization.models import AccountChange, PayoutRequest, RiskReview
from apps.monetization.services import payouts
from apps.monetization.services.gifts import tip_send
from apps.notifications.models import Notification
from tests.factories import UserFactory
from tests.monetization.coin_helpers import adult, assert_books_balance, buy
from tests.monetization.payout_helpers import earnings_account, payable_creator, settle, tipped

pytestmark = pytest.mark.django_db(transaction=True)
QUEUE = "/django-admin/monetization/riskreview/"


def _finance() -> Client:
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_riskreview", "change_riskreview"]))
    web = Client()
    web.force_login(staff)
    return web


def _codes(payout: PayoutRequest) -> list[str]:
    return [s["code"] for s in RiskReview.objects.get(payout=payout).signals]


def test_gifting_ring_held_then_refused_in_the_admin(db: Any) -> None:
    creator = payable_creator()
    friend = tipped(creator)  # $11.20 from the friend...
    buy(creator, coins=70)
    tip_send(sender=creator, recipient=friend, coins=70)  # ...who the creator tips back
    payout, _ = payouts.payout_request(user=creator, amount_minor=1000, destination="acct_1")
    assert payout.state == PayoutRequest.State.IN_REVIEW
    assert "security review" in payout.message
    assert _codes(payout) == ["gifting_ring"]
    assert earnings_account(creator).debits_pending == 10_000_000  # reserved meanwhile
    payouts.payout_send(payout.pk)  # a stray send task does nothing while in review
    assert not PayoutRequest.objects.get(pk=payout.pk).provider_payout_id

    web = _finance()
    listing = web.get(QUEUE).content.decode()
    assert "100% of the last 30 days" in listing
    web.post(QUEUE, {"action": "refuse", "_selected_action": [RiskReview.objects.get().pk],
                     "reason": ""})  # no reason: refused, nothing changes
    assert RiskReview.objects.get().state == RiskReview.State.OPEN
    web.post(QUEUE, {"action": "refuse", "_selected_action": [RiskReview.objects.get().pk],
                     "reason": "These gifts came from an account you gift back."})
    payout.refresh_from_db()
    assert payout.state == PayoutRequest.State.REFUSED
    assert payout.message.startswith("These gifts came from an account you gift back.")
    account = earnings_account(creator)
    assert (account.available, account.debits_pending) == (11_200_000, 0)
    assert AuditEvent.objects.filter(verb="payout_refuse", target_id=payout.pk).exists()
    told = [n.data["title"] for n in Notification.objects.filter(recipient_id=creator.pk,
                                                                 type="payouts")]
    assert sorted(told) == ["Your payout of $10.00 is being reviewed",
                            "Your payout of $10.00 was not sent"]
    assert_books_balance()


def test_shared_device_held_then_released_and_paid(db: Any) -> None:
    creator = payable_creator()
    fan = adult()
    for user in (creator, fan):
        Device.objects.create(user=user, ip="203.0.113.9", device_identifier="")
    tipped(creator, fan=fan)
    payout, _ = payouts.payout_request(user=creator, amount_minor=1000, destination="acct_1")
    assert _codes(payout) == ["gifting_ring"]
    _finance().post(QUEUE, {"action": "release", "reason": "Household, checked by phone.",
                            "_selected_action": [RiskReview.objects.get().pk]})
    assert settle(payout).state == PayoutRequest.State.PAID
    assert earnings_account(creator).balance == 1_200_000
    assert AuditEvent.objects.filter(verb="payout_release", target_id=payout.pk,
                                     reason="Household, checked by phone.").exists()
    # deciding again is refused in words (already decided), nothing moves
    web = _finance()
    web.post(QUEUE, {"action": "refuse", "reason": "late",
                     "_selected_action": [RiskReview.objects.get().pk]})
    assert PayoutRequest.objects.get(pk=payout.pk).state == PayoutRequest.State.PAID
    assert_books_balance()


def test_payout_after_password_or_email_change_is_held(db: Any) -> None:
    creator = payable_creator()
    tipped(creator)
    tipped(creator)
    security_event(user_id=creator.pk, kind="password_changed")  # accounts' hook
    payout, _ = payouts.payout_request(user=creator, amount_minor=1000, destination="acct_1")
    assert _codes(payout) == ["account_changed"]
    assert "password changed" in RiskReview.objects.get().signals[0]["words"]
    other = payable_creator()
    email_changed.send(sender=None, request=None, user=other, from_email_address=None,
                       to_email_address=None)
    assert AccountChange.objects.filter(user=other, kind="email").exists()
    assert fraud.recent_account_change(other.pk, timezone.now()) is not None


def test_sudden_spike_is_held_and_plain_earnings_are_not(db: Any) -> None:
    creator = payable_creator()
    tipped(creator, coins=7000)  # $56 in a day with no history
    payout, _ = payouts.payout_request(user=creator, amount_minor=1000, destination="acct_1")
    assert _codes(payout) == ["earnings_spike"]
    calm = payable_creator()
    tipped(calm)
    assert fraud.payout_risk_signals(calm.pk) == []


def test_a_hold_expired_during_review_cannot_be_released_only_refused(db: Any) -> None:
    from datetime import timedelta

    from apps.payments.models import TransferSet
    from apps.payments.services.ledger import void_expired_holds

    creator = payable_creator()
    tipped(creator, coins=7000)  # a spike: held for review
    payout, _ = payouts.payout_request(user=creator, amount_minor=1000, destination="acct_1")
    later = timezone.now() + timedelta(days=31)  # past the payout hold's 30 days
    assert void_expired_holds(now=later) == 1  # payments' beat task: the money is back
    assert TransferSet.objects.filter(pending_of_id=payout.hold_id).exists()
    review = RiskReview.objects.get()
    web = _finance()
    listing = web.post(QUEUE, {"action": "release", "reason": "ok",
                               "_selected_action": [review.pk]}, follow=True)
    assert "hold expired" in listing.content.decode()
    assert PayoutRequest.objects.get(pk=payout.pk).state == PayoutRequest.State.IN_REVIEW
    web.post(QUEUE, {"action": "refuse", "reason": "Not reviewed in time; ask again.",
                     "_selected_action": [review.pk]})
    assert PayoutRequest.objects.get(pk=payout.pk).state == PayoutRequest.State.REFUSED
    account = earnings_account(creator)
    assert (account.available, account.debits_pending) == (56_000_000, 0)
    assert_books_balance()
