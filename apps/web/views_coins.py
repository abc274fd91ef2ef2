"""The /coins page: the balance, the packs on sale, buying one (the local provider's test
cards and its 3-D Secure-like approval page when `make run` uses it), the purchases and the
coin history, and why the person can't use coins when they can't (in words). Buying is the
API's (`static/js/pages/coins.js`); this page only reads."""

from __future__ import annotations

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
    return render(request, "web/coins.html", {
        "balance": coin_selectors.wallet_balance(me.pk), "refusal": refusal, "packs": packs,
        "test_cards": _test_cards(), "purchases": purchases, "history": history,
    })
