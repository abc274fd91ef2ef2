"""Issue 17's audit (helper A17): the points no other test pinned down.

- Finance staff edit the gift catalogue (price, animation) and the revenue share in the
  admin, audited; a share above 100 % is refused on the form; a staff member without the
  permission cannot; the next gift follows the new share.
- The daily, new-account and new-device limits on coins given (the hourly one is in
  test_tips.py), counted in the database, refused in words with nothing moved.
- No request spends another person's wallet: the sender is always the signed-in person,
  whatever the body names.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from apps.accounts.models import Device
from apps.core.models import AuditEvent
from apps.monetization.models import Gift, GiftSend, RevenueShare
from apps.monetization.services.gifts import tip_send
from apps.monetization.velocity import VelocityLimitError
from tests.monetization.coin_helpers import (
    adult,
    assert_books_balance,
    balance,
    buy,
    catalogue,
    client_for,
    creator_with_post,
    earnings,
    gift,
)

pytestmark = pytest.mark.django_db(transaction=True)  # sends take row locks
ADMIN = "/django-admin/monetization"


def _staff(*codenames: str) -> Client:
    staff = adult(is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="monetization", codename__in=codenames))
    web = Client()
    web.force_login(staff)
    return web


def _gift_form(row: Gift, **changes: Any) -> dict[str, Any]:
    form = {"name": row.name, "coins": row.coins, "emoji": row.emoji,
            "animation": row.animation, "active": "on" if row.active else "",
            "sort": row.sort}
    form.update(changes)
    return {k: v for k, v in form.items() if v != ""}


def test_finance_staff_edit_the_catalogue_and_the_share_audited() -> None:
    catalogue()
    rose = gift("Rose")
    finance = _staff("view_gift", "change_gift", "view_revenueshare", "change_revenueshare")

    answer = finance.post(f"{ADMIN}/gift/{rose.pk}/change/",
                          _gift_form(rose, coins=3, animation="burst"))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    rose.refresh_from_db()
    assert (rose.coins, rose.animation) == (3, "burst")
    audit = AuditEvent.objects.get(app="monetization", verb="gift_change")
    assert audit.data["changed"] == {"coins": 3, "animation": "burst"}
    for bad in (0, -1, "1.5", ""):
        refused = finance.post(f"{ADMIN}/gift/{rose.pk}/change/", _gift_form(rose, coins=bad))
        assert refused.status_code == 200  # the form again, with the error
        assert "errorlist" in refused.content.decode()
    assert Gift.objects.get(pk=rose.pk).coins == 3

    share_url = f"{ADMIN}/revenueshare/gift/change/"
    assert finance.get(share_url).status_code == 200
    over = finance.post(share_url, {"creator_bps": 10_001, "clearing_days": 7})
    assert over.status_code == 200
    assert "errorlist" in over.content.decode()
    assert RevenueShare.objects.get(source="gift").creator_bps == 5000
    # the source is the row's key: read-only, so the gift row's form never writes onto
    # the tip row (an editable key would save the form as the row it names)
    changed = finance.post(share_url, {"source": "tip", "creator_bps": 6000,
                                       "clearing_days": 7})
    assert changed.status_code == 302, changed.content.decode()[:2000]
    assert RevenueShare.objects.get(source="gift").creator_bps == 6000
    assert RevenueShare.objects.get(source="tip").creator_bps == 8000
    share_audit = AuditEvent.objects.get(app="monetization", verb="revenueshare_change")
    assert share_audit.data["changed"] == {"creator_bps": 6000}
    assert (share_audit.target_type, share_audit.target_id) == ("revenueshare", None)
    assert share_audit.target_repr == "Gifts: 60% to the creator"

    # the next gift follows the share staff set: 3 coins = 30,000 micros, 60 % to the creator
    viewer = adult()
    creator, post = creator_with_post()
    buy(viewer, coins=70)
    sent = client_for(viewer).post(f"/api/v1/posts/{post.pk}/gifts",
                                   {"gift_id": str(rose.pk)}, format="json")
    assert sent.status_code == 201, sent.json()
    assert earnings(creator) == 18_000
    assert_books_balance()

    # staff without the permission see nothing to edit
    reader = _staff("view_gift")
    assert reader.post(f"{ADMIN}/gift/{rose.pk}/change/",
                       _gift_form(rose, coins=1)).status_code == 403
    assert reader.post(share_url, {"creator_bps": 10_000,
                                   "clearing_days": 0}).status_code == 403
    assert Gift.objects.get(pk=rose.pk).coins == 3
    assert RevenueShare.objects.get(source="gift").creator_bps == 6000


def test_daily_new_account_and_new_device_limits_on_coins_given(settings: Any) -> None:
    creator = adult()
    veteran = adult()
    buy(veteran, coins=350)
    settings.SWIPEME_MONETIZATION_LIMITS = {"coins_given_per_day": 100}
    tip_send(sender=veteran, recipient=creator, coins=60)
    GiftSend.objects.update(created_at=timezone.now() - timedelta(hours=3))  # not this hour
    with pytest.raises(VelocityLimitError, match="today's limit"):
        tip_send(sender=veteran, recipient=creator, coins=41)
    tip_send(sender=veteran, recipient=creator, coins=40)
    answer = client_for(veteran).post(f"/api/v1/users/{creator.username}/tips", {"coins": 1},
                                      format="json")
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "velocity_limit"
    assert "today's limit" in answer.json()["error"]["message"]
    GiftSend.objects.update(created_at=timezone.now() - timedelta(hours=25))  # yesterday
    tip_send(sender=veteran, recipient=creator, coins=100)
    assert balance(veteran) == 350 - 200

    settings.SWIPEME_MONETIZATION_LIMITS = {"new_account_coins_given_per_day": 50}
    newcomer = adult(date_joined=timezone.now() - timedelta(days=2))
    buy(newcomer, coins=70)
    tip_send(sender=newcomer, recipient=creator, coins=50)
    with pytest.raises(VelocityLimitError, match="New accounts"):
        tip_send(sender=newcomer, recipient=creator, coins=1)
    assert balance(newcomer) == 20

    settings.SWIPEME_MONETIZATION_LIMITS = {"new_device_coins_given_per_day": 30}
    traveller = adult()
    buy(traveller, coins=70)
    Device.objects.create(user=traveller, session_key="new-phone-session",
                          device_identifier="new-phone")
    tip_send(sender=traveller, recipient=creator, coins=30, session_key="new-phone-session")
    with pytest.raises(VelocityLimitError, match="new device"):
        tip_send(sender=traveller, recipient=creator, coins=1,
                 session_key="new-phone-session")
    tip_send(sender=traveller, recipient=creator, coins=1)  # the usual device: allowed
    assert balance(traveller) == 39
    assert_books_balance()


def test_no_request_spends_another_persons_wallet() -> None:
    catalogue()
    victim, attacker = adult(), adult()
    creator, post = creator_with_post()
    buy(victim, coins=350)
    victim_wallet = {"sender": victim.username, "sender_id": str(victim.pk),
                     "user_id": str(victim.pk), "wallet": str(victim.pk),
                     "wallet_id": str(victim.pk), "from": victim.username}
    api = client_for(attacker)  # no coins of their own
    attempts: list[tuple[str, dict[str, Any]]] = [
        (f"/api/v1/posts/{post.pk}/tips", {"coins": 50}),
        (f"/api/v1/users/{creator.username}/tips", {"coins": 50}),
        (f"/api/v1/posts/{post.pk}/gifts", {"gift_id": str(gift("Trophy").pk)}),
    ]
    for path, body in attempts:
        answer = api.post(path, {**body, **victim_wallet}, format="json")
        assert answer.status_code == 409, answer.json()  # the attacker's own empty wallet
        assert answer.json()["error"]["code"] == "insufficient_funds"
    # the wallet and the history are the caller's own; no id reaches another's
    assert api.get("/api/v1/coins/wallet", {"user_id": victim.pk}).json()["balance"] == 0
    assert api.get("/api/v1/coins/history", {"user_id": victim.pk}).json()["results"] == []
    assert not GiftSend.objects.exists()
    assert balance(victim) == 350
    assert earnings(creator) == 0
    assert_books_balance()


def test_a_rejected_identity_check_is_told_bars_payouts_and_may_be_tried_again() -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.monetization.models import KycProfile
    from apps.notifications.models import Notification

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    creator = adult()
    api = client_for(creator)

    def upload() -> Any:
        return api.post("/api/v1/me/kyc/documents", {
            "kind": "passport", "file": SimpleUploadedFile("id.png", png, "image/png")},
            format="multipart")

    def submit() -> Any:
        return api.post("/api/v1/me/kyc/submit", {"legal_name": "Maya Lopez", "country": "US"},
                        format="json")

    assert upload().status_code == 201
    assert submit().status_code == 200
    staff = _staff("view_kycprofile", "change_kycprofile")
    changelist = f"{ADMIN}/kycprofile/"
    staff.post(changelist, {"action": "reject", "_selected_action": [creator.pk],
                            "reason": ""})  # no reason: nothing decided
    assert KycProfile.objects.get(user=creator).state == KycProfile.State.SUBMITTED
    reason = "The name on the document is not the account's."
    staff.post(changelist, {"action": "reject", "_selected_action": [creator.pk],
                            "reason": reason})
    assert KycProfile.objects.get(user=creator).state == KycProfile.State.REJECTED
    assert AuditEvent.objects.filter(verb="kyc_rejected", reason=reason).count() == 1
    told = Notification.objects.get(recipient_id=creator.pk, type="payouts")
    assert told.data["title"] == "We could not verify your identity"
    assert told.data["body"] == reason
    status = api.get("/api/v1/me/payouts/status").json()
    assert status["kyc"]["state_text"].startswith("Rejected.")
    assert status["kyc"]["message"] == reason
    assert status["can_request"] is False
    assert status["refusal_code"] == "kyc_required"
    # a decided check is not decided again; the creator adds a document and submits again
    staff.post(changelist, {"action": "verify", "_selected_action": [creator.pk],
                            "reason": ""})
    assert KycProfile.objects.get(user=creator).state == KycProfile.State.REJECTED
    assert upload().status_code == 201
    assert submit().status_code == 200
    assert KycProfile.objects.get(user=creator).state == KycProfile.State.SUBMITTED


def test_earnings_mostly_from_new_accounts_hold_the_payout_for_review() -> None:
    """The chargeback abuse the negative-balance rule leaves open: coins bought with a
    stolen card, spent by fresh accounts on a creator who is paid out before the card's
    owner disputes. Such a payout waits in the finance queue, its money held."""
    from apps.monetization import fraud
    from apps.monetization.models import PayoutRequest, RiskReview
    from apps.monetization.services import payouts
    from tests.monetization.payout_helpers import earnings_account, payable_creator, tipped

    creator = payable_creator()
    tipped(creator, fan=adult(date_joined=timezone.now() - timedelta(days=3)))
    payout, _ = payouts.payout_request(user=creator, amount_minor=1000, destination="acct_1")
    assert payout.state == PayoutRequest.State.IN_REVIEW
    signals = RiskReview.objects.get(payout=payout).signals
    assert [s["code"] for s in signals] == ["new_senders"]
    assert "100% of the last 30 days' gift and tip earnings came from 1 account(s) " \
           "younger than 30 days" in signals[0]["words"]
    assert earnings_account(creator).debits_pending == 10_000_000  # held, not sent
    payouts.payout_send(payout.pk)
    assert not PayoutRequest.objects.get(pk=payout.pk).provider_payout_id

    # earnings mostly from established accounts are not held for a young minority
    steady = payable_creator()
    tipped(steady)  # a 60-day-old fan: $11.20
    tipped(steady, fan=adult(date_joined=timezone.now() - timedelta(days=1)), coins=350)
    assert fraud.payout_risk_signals(steady.pk) == []
    assert_books_balance()


def test_coin_purchases_per_day_are_limited(settings: Any) -> None:
    from apps.monetization.models import CoinPurchase
    from apps.monetization.velocity import limits

    settings.SWIPEME_MONETIZATION_LIMITS = {"purchases_per_day": 2}
    assert limits().purchases_per_hour == 5  # the other limits keep their defaults
    buyer = adult()
    buy(buyer, card="pm_card_declined")  # attempts count, declined ones too
    buy(buyer)
    CoinPurchase.objects.update(created_at=timezone.now() - timedelta(hours=2))
    answer = client_for(buyer).post("/api/v1/coins/purchases", {
        "pack_id": str(CoinPurchase.objects.first().pack_id),  # type: ignore[union-attr]
        "payment_method": "pm_card_ok"}, format="json")
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "velocity_limit"
    assert "today's limit on coin purchases" in answer.json()["error"]["message"]
    assert CoinPurchase.objects.filter(user=buyer).count() == 2
    assert balance(buyer) == 70
    CoinPurchase.objects.update(created_at=timezone.now() - timedelta(hours=25))
    buy(buyer)
    assert balance(buyer) == 140
