"""The demo seed's money (apps/web/seed/money.py): wallets funded by local-provider
purchases confirmed by their signed webhooks, gifts and tips giving creators earnings, all
on the ledger's real path; a re-run moves nothing; the books balance. transaction=True:
the money services take locks."""

from __future__ import annotations

from typing import Any

import pytest

from apps.monetization.models import CoinPurchase, GiftSend
from apps.payments.models import LedgerAccount, Payment, ProviderEvent
from apps.payments.services.reconcile import reconcile_ledger
from apps.web.seed import catalogue, money
from tests.content.factories import PostFactory
from tests.monetization.coin_helpers import assert_books_balance, balance, earnings
from tests.monetization.coin_helpers import catalogue as coin_catalogue

pytestmark = pytest.mark.django_db(transaction=True)


def _wallets() -> dict[int | None, int]:
    return {a.owner_id: a.balance for a in LedgerAccount.objects.filter(
        kind=LedgerAccount.Kind.WALLET)}


def test_demo_money_goes_the_real_way_and_reseeding_moves_nothing(db: Any) -> None:
    coin_catalogue()  # the packs and gifts (a transactional test's flush emptied them)
    catalogue.ensure_users(catalogue.Report())
    users = money.demo_users()
    assert users[0].username == "maya"
    by_name = {u.username: u for u in users}
    post = PostFactory(author=by_name["leo"])  # leo has a post: gifts land on it

    first = money.ensure_money(users)
    assert (first.enabled, first.purchases_created, first.coins_credited,
            first.sends_created) == (True, money.BUYERS, money.BUYERS, money.BUYERS * 3)
    # credited only through the provider's confirmation
    assert Payment.objects.filter(status=Payment.Status.SUCCEEDED).count() == money.BUYERS
    assert ProviderEvent.objects.filter(provider="local").count() >= money.BUYERS
    assert CoinPurchase.objects.filter(status=CoinPurchase.Status.SUCCEEDED).count() == (
        money.BUYERS)
    for buyer in users[:money.BUYERS]:
        assert 0 < balance(buyer) < money.PACK_COINS  # bought, spent some, kept some
    for name in money.CREATORS:
        assert earnings(by_name[name]) > 0, name
    assert GiftSend.objects.filter(kind=GiftSend.Kind.GIFT, post=post).exists()
    assert GiftSend.objects.filter(kind=GiftSend.Kind.TIP).exists()
    # a creator without a post got tips instead of gifts
    assert not GiftSend.objects.filter(kind=GiftSend.Kind.GIFT).exclude(post=post).exists()
    wallets, sends = _wallets(), GiftSend.objects.count()

    again = money.ensure_money(money.demo_users())
    assert (again.purchases_created, again.coins_credited, again.sends_created) == (
        0, money.BUYERS, 0)
    assert _wallets() == wallets
    assert GiftSend.objects.count() == sends
    assert Payment.objects.count() == money.BUYERS  # no second charge

    assert_books_balance()
    assert reconcile_ledger().differences == 0


def test_no_demo_money_with_another_provider(db: Any, settings: Any) -> None:
    settings.SWIPEME_PAYMENT_PROVIDER = "stripe"
    coin_catalogue()
    catalogue.ensure_users(catalogue.Report())
    skipped = money.ensure_money(money.demo_users())
    assert skipped.enabled is False
    assert skipped.skipped_because == "only with the local payment provider"
    assert not CoinPurchase.objects.exists()
