"""The web client's side of a Stripe payment: a coin purchase started without a payment
method answers the PaymentIntent's client_secret (read from Stripe, to the buyer only, never
logged) and the publishable key; the /coins page loads Stripe.js from SWIPEME_STRIPE_JS_URL
with Stripe's origins in its CSP only when Stripe is on. Against the Stripe-format stand-in
server of tests/payments/stripe_standin.py (not Stripe)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from apps.monetization.models import CoinPurchase
from apps.payments.models import Payment
from tests.monetization.coin_helpers import adult, client_for, pack, payment_of
from tests.payments.stripe_standin import StandinStripe, standin_stripe

pytestmark = pytest.mark.django_db(transaction=True)  # purchases take row locks
PURCHASES = "/api/v1/coins/purchases"
SECRET_KEY = "sk_test_h5_" + secrets.token_hex(4)
PUBLISHABLE_KEY = "pk_test_h5_" + secrets.token_hex(4)


@pytest.fixture(scope="module")
def stripe_api() -> Iterator[tuple[str, StandinStripe]]:
    with standin_stripe(secret_key=SECRET_KEY, webhook_secret="whsec_h5") as running:
        yield running


@pytest.fixture
def stripe_on(stripe_api: tuple[str, StandinStripe], settings: Any) -> StandinStripe:
    api, state = stripe_api
    settings.SWIPEME_PAYMENT_PROVIDER = "stripe"
    settings.SWIPEME_STRIPE_SECRET_KEY = SECRET_KEY
    settings.SWIPEME_STRIPE_API_BASE = api
    settings.SWIPEME_STRIPE_WEBHOOK_SECRET = "whsec_h5"
    settings.SWIPEME_STRIPE_MAX_NETWORK_RETRIES = 0
    settings.SWIPEME_STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.SWIPEME_STRIPE_JS_URL = f"{api}/v3/"
    return state


def test_a_purchase_without_a_payment_method_answers_the_client_secret(
        stripe_on: StandinStripe, caplog: pytest.LogCaptureFixture) -> None:
    buyer, stranger = adult(), adult()
    client = client_for(buyer)
    caplog.set_level(logging.DEBUG)
    answer = client.post(PURCHASES, {"pack_id": str(pack(70).pk),
                                     "return_url": "/coins?purchase={id}"},
                         format="json", HTTP_IDEMPOTENCY_KEY="h5-buy-1")
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    payment = payment_of(CoinPurchase.objects.get(pk=body["id"]))
    intent = stripe_on.intents[payment.provider_ref]
    assert body["status"] == "requires_action"
    assert body["next_action_url"] == ""
    assert body["client_secret"] == intent["client_secret"]
    assert body["client_secret"].startswith(f"{payment.provider_ref}_secret_")
    assert body["publishable_key"] == PUBLISHABLE_KEY
    # read from Stripe (GET /v1/payment_intents/<id> with the secret key), not stored
    assert {"method": "GET", "path": f"/v1/payment_intents/{payment.provider_ref}"} \
        in stripe_on.requests
    assert intent["client_secret"] not in str(
        Payment.objects.filter(pk=payment.pk).values().get())
    # the same Idempotency-Key: the same purchase and secret, no second intent
    again = client.post(PURCHASES, {"pack_id": str(pack(70).pk)}, format="json",
                        HTTP_IDEMPOTENCY_KEY="h5-buy-1")
    assert again.status_code == 200
    assert again.json()["client_secret"] == intent["client_secret"]
    assert [i["id"] for i in stripe_on.intents.values()
            if i["metadata"].get("swipeme_payment_id") == str(payment.pk)] == [intent["id"]]
    # only the creating answer carries it: not the purchase's reads, not another person
    read = client.get(f"{PURCHASES}/{body['id']}").json()
    assert "client_secret" not in read
    assert intent["client_secret"] not in str(client.get(PURCHASES).json())
    assert client_for(stranger).get(f"{PURCHASES}/{body['id']}").status_code == 404
    # never logged
    assert not [r for r in caplog.records if intent["client_secret"] in r.getMessage()]
    # no coins until Stripe's webhook
    assert CoinPurchase.objects.get(pk=body["id"]).status == CoinPurchase.Status.REQUIRES_ACTION


def test_no_client_secret_once_the_intent_no_longer_waits(stripe_on: StandinStripe) -> None:
    client = client_for(adult())
    body = client.post(PURCHASES, {"pack_id": str(pack(70).pk)}, format="json",
                       HTTP_IDEMPOTENCY_KEY="h5-buy-2").json()
    ref = payment_of(CoinPurchase.objects.get(pk=body["id"])).provider_ref
    stripe_on.intents[ref]["status"] = "processing"  # confirmed meanwhile (Stripe's side)
    again = client.post(PURCHASES, {"pack_id": str(pack(70).pk)}, format="json",
                        HTTP_IDEMPOTENCY_KEY="h5-buy-2").json()
    assert (again["client_secret"], again["publishable_key"]) == ("", "")


def test_the_local_provider_still_needs_a_payment_method_and_gives_no_secret() -> None:
    client = client_for(adult())
    refused = client.post(PURCHASES, {"pack_id": str(pack(70).pk)}, format="json")
    assert refused.status_code == 400
    assert "payment_method" in refused.json()["error"]["fields"]
    made = client.post(PURCHASES, {"pack_id": str(pack(70).pk), "payment_method": "pm_card_3ds"},
                       format="json").json()
    assert made["next_action_url"]
    assert (made["client_secret"], made["publishable_key"]) == ("", "")


def _page(user: Any) -> Any:
    browser = Client()
    browser.force_login(user)
    return browser.get("/coins")


def test_the_coins_page_loads_stripe_js_and_allows_stripe_only_when_stripe_is_on(
        stripe_on: StandinStripe, settings: Any) -> None:
    user = adult()
    pack(70)
    page = _page(user)
    assert page.status_code == 200
    html = page.content.decode()
    policy = page["Content-Security-Policy"]
    js = settings.SWIPEME_STRIPE_JS_URL
    origin = js.rsplit("/v3/", 1)[0]
    assert f'<script src="{js}" nonce=' in html
    assert f'data-stripe-key="{PUBLISHABLE_KEY}"' in html
    assert 'name="payment_method"' not in html  # no typed pm_… with Stripe
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    for name, needed in [("script-src", ["https://js.stripe.com", origin]),
                         ("frame-src", ["https://js.stripe.com", "https://hooks.stripe.com"]),
                         ("connect-src", ["https://api.stripe.com", origin])]:
        assert set(needed) <= set(directives[name]), (name, directives.get(name))

    settings.SWIPEME_PAYMENT_PROVIDER = "local"
    local = _page(user)
    assert "stripe" not in local["Content-Security-Policy"]
    assert js not in local.content.decode()
    assert "data-stripe-key" not in local.content.decode()
    # Stripe without a publishable key: no Stripe.js, a payment-method token is asked for
    settings.SWIPEME_PAYMENT_PROVIDER = "stripe"
    settings.SWIPEME_STRIPE_PUBLISHABLE_KEY = ""
    keyless = _page(user)
    assert "stripe" not in keyless["Content-Security-Policy"]
    assert 'name="payment_method"' in keyless.content.decode()
