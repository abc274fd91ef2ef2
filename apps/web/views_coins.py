"""The /coins page: the balance, the packs on sale, buying one (the local provider's test
cards and its 3-D Secure-like approval page when `make run` uses it; with Stripe, Stripe.js's
Payment Element and `confirmPayment`), the purchases and the coin history, and why the
person can't use coins when they can't (in words). Buying is the API's
(`static/js/pages/coins.js`); this page only reads."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.monetization import coin_selectors
from apps.monetization.eligibility import may_use_coins
from apps.payments.money import format_money, to_micros
from apps.web.pages import viewer_of


def _test_cards() -> dict[str, str]:
    if settings.SWIPEME_PAYMENT_PROVIDER != "local":
        return {}
    from apps.payments.providers.local import TEST_CARDS

    return dict(TEST_CARDS)


# Stripe's own origins for Stripe.js and its Payment Element (Stripe's CSP guide): the
# script, its frames (js.stripe.com, hooks.stripe.com for 3-D Secure) and its API.
STRIPE_CSP = {
    "script-src": ["https://js.stripe.com", "https://*.js.stripe.com"],
    "frame-src": ["https://js.stripe.com", "https://*.js.stripe.com",
                  "https://hooks.stripe.com"],
    "connect-src": ["https://api.stripe.com", "https://m.stripe.network"],
}


def _stripe_js() -> dict[str, str]:
    """Where the page loads Stripe.js from and the key it gives it, when Stripe is on (and
    has a publishable key; without one the page asks for a payment-method token)."""
    if (settings.SWIPEME_PAYMENT_PROVIDER != "stripe"
            or not settings.SWIPEME_STRIPE_PUBLISHABLE_KEY):
        return {}
    return {"url": settings.SWIPEME_STRIPE_JS_URL,
            "key": settings.SWIPEME_STRIPE_PUBLISHABLE_KEY}


def _stripe_csp(js_url: str) -> dict[str, list[str]]:
    """STRIPE_CSP, plus the origin SWIPEME_STRIPE_JS_URL names (Stripe's own, or the
    tests' local stand-in, which is also where the stand-in's requests go)."""
    parts = urlsplit(js_url)
    extra = [f"{parts.scheme}://{parts.netloc}"] if parts.scheme and parts.netloc else []
    return {name: [*sources, *(s for s in extra if s not in sources)]
            for name, sources in STRIPE_CSP.items()}


@login_required
@require_safe
def coins(request: HttpRequest) -> HttpResponse:
    me = viewer_of(request)
    assert me is not None  # login_required
    refusal = may_use_coins(me)
    packs = [{"pack": pack, "price": format_money(to_micros(pack.price_minor, pack.currency),
                                                   pack.currency)}
             for pack in coin_selectors.packs_on_sale()]
    purchases = list(coin_selectors.purchases_of(me).order_by("-id")[:10])
    history = coin_selectors.history_lines(
        me, list(coin_selectors.history_of(me).order_by("-id")[:20]))
    stripe_js = _stripe_js()
    response = render(request, "web/coins.html", {
        "balance": coin_selectors.wallet_balance(me.pk), "refusal": refusal, "packs": packs,
        "test_cards": _test_cards(), "purchases": purchases, "history": history,
        "stripe_js": stripe_js,
    })
    if stripe_js:  # Stripe's origins only on this page, and only when Stripe is on
        response._csp_update = _stripe_csp(stripe_js["url"])  # type: ignore[attr-defined]
    return response
