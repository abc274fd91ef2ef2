"""Buying coins: credited only when the provider's verified webhook confirms; declines and
3-D Secure; the API's bad input refused with nothing charged; velocity limits."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Device
from apps.monetization.models import CoinPurchase
from apps.monetization.services import coins as coin_services
from apps.payments.hooks import PaymentEvent
from apps.payments.models import LedgerAccount, LocalProviderObject, Payment
from apps.payments.providers import local
from apps.payments.providers.local import LocalProvider
from tests.monetization.coin_helpers import (
    adult,
    assert_books_balance,
    balance,
    buy,
    client_for,
    pack,
    payment_of,
    platform_total,
)

pytestmark = pytest.mark.django_db(transaction=True)  # purchases take row locks
Kind = LedgerAccount.Kind
PURCHASES = "/api/v1/coins/purchases"


def test_coins_arrive_only_when_the_provider_confirms():
    buyer = adult()
    started = coin_services.purchase_start(user=buyer, pack_id=pack(70).pk,
                                           payment_method="pm_card_ok")
    assert started.status == CoinPurchase.Status.PROCESSING
    assert balance(buyer) == 0  # the synchronous answer credits nothing
    assert local.deliver() >= 1  # the signed webhook, through payments' processing
    purchase = CoinPurchase.objects.get(pk=started.pk)
    assert purchase.status == CoinPurchase.Status.SUCCEEDED
    assert purchase.credited_at
    assert balance(buyer) == 70
    # $0.99 taken: $0.70 of coin value deferred in coin sales, $0.29 the pack's margin
    assert platform_total(Kind.COIN_SALES) == 700_000
    assert platform_total(Kind.PLATFORM_REVENUE) == 290_000
    assert platform_total(Kind.PROVIDER_CLEARING) == -990_000
    assert platform_total(Kind.COIN_ISSUANCE, "COIN") == -70
    # the same event again (a provider's retry reaching the hook) credits nothing more
    event = PaymentEvent(kind="succeeded", payment_id=purchase.payment_id or 0,
                         user_id=buyer.pk, purpose=purchase.purpose, amount_minor=99,
                         currency="USD", amount_refunded_minor=0, reason="")
    with transaction.atomic():
        coin_services.on_payment_event(event=event)
    assert balance(buyer) == 70
    # an event whose purpose we never wrote is set aside, not raised (which would have the
    # provider's event rolled back and delivered again forever)
    for purpose in ("coin_purchase:abc", "coin_purchase:", "coin_purchase:-1"):
        with transaction.atomic():
            coin_services.on_payment_event(event=dataclasses.replace(event, purpose=purpose))
    assert balance(buyer) == 70
    assert_books_balance()


def test_a_decline_says_why_and_credits_nothing():
    buyer = adult()
    purchase = buy(buyer, card="pm_card_declined")
    assert purchase.status == CoinPurchase.Status.FAILED
    assert "declined" in purchase.failure_reason.lower()
    assert balance(buyer) == 0


def test_3ds_waits_for_approval_then_credits():
    buyer = adult()
    purchase = buy(buyer, card="pm_card_3ds")
    assert purchase.status == CoinPurchase.Status.REQUIRES_ACTION
    assert purchase.next_action_url
    assert balance(buyer) == 0
    payment = payment_of(purchase)
    charge = LocalProviderObject.objects.get(ref=payment.provider_ref)
    LocalProvider().answer_approval(ref=charge.ref, token=charge.approval_token, approve=True)
    local.deliver()
    assert balance(buyer) == 70


def test_the_api_buys_and_refuses_bad_input_with_nothing_charged():
    buyer, other = adult(), adult()
    client = client_for(buyer)
    pack_id = str(pack(350).pk)
    for body, field in [
        ({"payment_method": "pm_card_ok"}, "pack_id"),
        ({"pack_id": "abc", "payment_method": "pm_card_ok"}, "pack_id"),
        ({"pack_id": True, "payment_method": "pm_card_ok"}, "pack_id"),
        ({"pack_id": pack_id}, "payment_method"),
        ({"pack_id": pack_id, "payment_method": "pm_card_ok", "currency": "XYZ"}, "currency"),
        ({"pack_id": pack_id, "payment_method": "pm_card_ok", "currency": "EUR"}, "currency"),
        ({"pack_id": pack_id, "payment_method": "pm_stolen"}, "payment_method"),
    ]:
        answer = client.post(PURCHASES, body, format="json")
        assert answer.status_code == 400, (body, answer.json())
        assert field in answer.json()["error"]["fields"], answer.json()
    assert client.post(PURCHASES, {"pack_id": "123", "payment_method": "pm_card_ok"},
                       format="json").status_code == 404
    assert not Payment.objects.exists()
    assert balance(buyer) == 0

    first = client.post(PURCHASES, {"pack_id": pack_id, "payment_method": "pm_card_ok"},
                        format="json", HTTP_IDEMPOTENCY_KEY="buy-1")
    assert first.status_code == 201, first.json()
    again = client.post(PURCHASES, {"pack_id": pack_id, "payment_method": "pm_card_ok"},
                        format="json", HTTP_IDEMPOTENCY_KEY="buy-1")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    other_pack = client.post(PURCHASES, {"pack_id": str(pack(70).pk),
                                         "payment_method": "pm_card_ok"},
                             format="json", HTTP_IDEMPOTENCY_KEY="buy-1")
    assert other_pack.status_code == 422
    assert other_pack.json()["error"]["code"] == "idempotency_key_reused"
    assert Payment.objects.count() == 1  # charged once
    local.deliver()
    assert balance(buyer) == 350
    mine = client.get(f"{PURCHASES}/{first.json()['id']}")
    assert mine.json()["status"] == "succeeded"
    assert mine.json()["status_text"] == "Coins added"
    # another person's purchase does not exist for them
    assert client_for(other).get(f"{PURCHASES}/{first.json()['id']}").status_code == 404
    assert client.get(f"{PURCHASES}/nope").status_code == 404
    assert client.get("/api/v1/coins/wallet").json()["balance"] == 350
    history = client.get("/api/v1/coins/history").json()["results"]
    assert history[0]["coins"] == 350
    assert history[0]["what"] == "Bought coins"


def test_minors_and_unknown_ages_cannot_buy():
    for born, code in [(date.today() - timedelta(days=365 * 16), "under_18"),
                       (None, "age_unknown")]:
        person = adult(date_of_birth=born)
        answer = client_for(person).post(
            PURCHASES, {"pack_id": str(pack().pk), "payment_method": "pm_card_ok"},
            format="json")
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == code
        assert answer.json()["error"]["message"]
    assert not CoinPurchase.objects.exists()
    assert not Payment.objects.exists()


def test_velocity_limits_are_counted_in_the_database(settings):
    settings.SWIPEME_MONETIZATION_LIMITS = {"purchases_per_hour": 2}
    buyer = adult()
    client = client_for(buyer)
    body = {"pack_id": str(pack().pk), "payment_method": "pm_card_declined"}
    assert client.post(PURCHASES, body, format="json").status_code == 201
    assert client.post(PURCHASES, body, format="json").status_code == 201
    third = client.post(PURCHASES, body, format="json")  # declines count: card testing
    assert third.status_code == 429
    assert third.json()["error"]["code"] == "velocity_limit"
    assert CoinPurchase.objects.filter(user=buyer).count() == 2

    settings.SWIPEME_MONETIZATION_LIMITS = {}
    newcomer = adult(date_joined=timezone.now())
    for _ in range(3):
        buy(newcomer, card="pm_card_declined")
    with pytest.raises(Exception) as refused:
        buy(newcomer)
    assert "New accounts" in str(refused.value)

    device_user = adult()
    Device.objects.create(user=device_user, session_key="fresh-session",
                          device_identifier="new-phone")
    for _ in range(2):
        coin_services.purchase_start(user=device_user, pack_id=pack().pk,
                                     payment_method="pm_card_declined",
                                     session_key="fresh-session")
    with pytest.raises(Exception) as refused:
        coin_services.purchase_start(user=device_user, pack_id=pack().pk,
                                     payment_method="pm_card_ok", session_key="fresh-session")
    assert "new device" in str(refused.value)
