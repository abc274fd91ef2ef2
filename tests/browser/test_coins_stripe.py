"""Buying coins on /coins with the Stripe provider, in headless Chromium: the page gets the
PaymentIntent's client_secret from the purchase, loads "Stripe.js" from SWIPEME_STRIPE_JS_URL,
mounts the Payment Element and confirms with return_url back to /coins, which waits until
the signed webhook credits the coins; a declined card is said in words.

The machine has no network, so "Stripe.js" here is the stand-in of
tests/payments/stripe_standin.py (NOT Stripe.js) and Stripe's API a local server in its
format; the web server is its own uvicorn process in Stripe mode (the session's live server
runs the local provider). Screenshots: var/artifacts/screenshots/coins-stripe-*."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from apps.monetization.models import CoinPurchase
from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot
from tests.conftest import uvicorn_process
from tests.monetization.coin_helpers import adult, catalogue
from tests.payments.stripe_standin import DECLINED, SUCCEEDS, StandinStripe, standin_stripe

SHOTS = Path("/tmp/shots-h5-stripejs")
SECRET_KEY = "sk_test_standin_" + secrets.token_hex(6)
WEBHOOK_SECRET = "whsec_standin_" + secrets.token_hex(8)
PUBLISHABLE_KEY = "pk_test_standin_" + secrets.token_hex(6)


@pytest.fixture(scope="module")
def stripe_api() -> Iterator[tuple[str, StandinStripe]]:
    with standin_stripe(secret_key=SECRET_KEY, webhook_secret=WEBHOOK_SECRET) as running:
        yield running


@pytest.fixture(scope="module")
def stripe_site(stripe_api: tuple[str, StandinStripe]) -> Iterator[str]:
    """Our ASGI server in its own process with the Stripe provider on, pointed at the
    stand-in (API base and Stripe.js URL)."""
    api, state = stripe_api
    env = {"SWIPEME_PAYMENT_PROVIDER": "stripe",
           "SWIPEME_STRIPE_SECRET_KEY": SECRET_KEY,
           "SWIPEME_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
           "SWIPEME_STRIPE_API_BASE": api, "SWIPEME_STRIPE_MAX_NETWORK_RETRIES": "0",
           "SWIPEME_STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
           "SWIPEME_STRIPE_JS_URL": f"{api}/v3/"}
    with uvicorn_process("web-stripe", env) as url:
        state.webhook_url = f"{url}/api/v1/payments/webhooks/stripe"
        yield url


@pytest.fixture
def base_url(stripe_site: str) -> str:  # new_context / logged_in_page use this server
    return stripe_site


def _pay(page: Page, card: str, shot: str = "") -> None:
    page.get_by_role("button", name="Buy").click()
    expect(page.locator("[data-buy-status]")).to_have_text("Enter your card details, then Pay.")
    page.get_by_label(re.compile("Card number")).fill(card)
    if shot:
        screenshot(page, shot, copy_to=SHOTS)
    page.get_by_role("button", name=re.compile(r"^Pay \$\d+\.\d\d$")).click()


def test_buy_a_pack_with_stripe_js_then_the_webhook_credits_it(
        logged_in_page: Callable[..., Page], page_errors: PageErrors,
        stripe_api: tuple[str, StandinStripe]) -> None:
    _api, state = stripe_api
    catalogue()
    fan = adult()
    page = logged_in_page(fan, viewport=PHONE)
    page.goto("/coins")
    expect(page.locator("[data-coin-balance]")).to_have_text("0")
    assert page.locator('input[name="payment_method"]').count() == 0  # no typed pm_…
    first = page.locator("[data-pack-id]").first
    coins = int(first.get_attribute("data-pack-coins") or 0)

    # A declined card: Stripe's words on the page, no coins, and the failed event arrives.
    _pay(page, DECLINED, shot="coins-stripe-element-390")
    expect(page.locator("[data-buy-status]")).to_contain_text("Your card was declined.")
    screenshot(page, "coins-stripe-declined-390", copy_to=SHOTS)
    declined = CoinPurchase.objects.get(user=fan)
    deadline = time.monotonic() + 30
    while declined.status != CoinPurchase.Status.FAILED and time.monotonic() < deadline:
        time.sleep(0.2)
        declined.refresh_from_db()
    assert declined.status == CoinPurchase.Status.FAILED
    assert declined.failure_reason == "Your card was declined."

    # A good card: confirmPayment goes back to /coins?purchase=<id>, which waits for the
    # webhook and shows the coins.
    page.set_viewport_size({"width": DESKTOP["width"], "height": DESKTOP["height"]})
    page.goto("/coins")
    _pay(page, SUCCEEDS, shot="coins-stripe-element-1440")
    page.wait_for_url(re.compile(r"/coins\?purchase=\d+&.*redirect_status=succeeded"))
    expect(page.locator("[data-buy-status]")).to_have_text(
        f"Done: {coins:,} coins were added.", timeout=30_000)
    expect(page.locator("[data-coin-balance]")).to_have_text(str(coins))
    screenshot(page, "coins-stripe-done-1440", copy_to=SHOTS)
    bought = CoinPurchase.objects.filter(user=fan).exclude(pk=declined.pk).get()
    assert bought.status == CoinPurchase.Status.SUCCEEDED
    assert ("payment_intent.succeeded", 200) in state.webhooks
    # Stripe.js confirmed with the publishable key and the intent's client_secret.
    confirms = [r for r in state.requests if r["path"].endswith("/confirm")]
    assert confirms
    assert all(r["params"]["key"] == PUBLISHABLE_KEY for r in confirms)
    assert page_errors.uncaught == []
