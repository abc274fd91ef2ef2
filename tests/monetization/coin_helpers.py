"""Shared by the coins, gifts, tips and chargebacks tests: adults, creators with a post, and
coins bought the real way (the API or the service, the local provider, its signed webhook
delivered through the payments app's processing)."""

from __future__ import annotations

from datetime import date, timedelta
from importlib import import_module
from typing import Any

from django.apps import apps as django_apps
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.content.models import Post
from apps.monetization import coin_selectors
from apps.monetization.models import CoinPack, CoinPurchase, Gift
from apps.monetization.services import coins as coin_services
from apps.monetization.services.clearing import release_due
from apps.payments.models import LedgerAccount, Payment
from apps.payments.providers import local
from tests.content.factories import PostFactory
from tests.factories import UserFactory

Kind = LedgerAccount.Kind


def adult(**kwargs: Any) -> User:
    """An adult whose account is past the new-account limits."""
    kwargs.setdefault("date_of_birth", date(1990, 1, 1))
    kwargs.setdefault("date_joined", timezone.now() - timedelta(days=60))
    return UserFactory(**kwargs)


def creator_with_post(**kwargs: Any) -> tuple[User, Post]:
    creator = adult(**kwargs)
    return creator, PostFactory(author=creator)


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def catalogue() -> None:
    """The default packs, gifts and shares (migration 0002's), again after a
    transactional test's flush emptied them."""
    if not CoinPack.objects.exists():
        import_module("apps.monetization.migrations.0002_default_catalogue").seed(
            django_apps, None)


def pack(coins: int = 70) -> CoinPack:
    catalogue()
    return CoinPack.objects.get(coins=coins, active=True)


def gift(name: str = "Rose") -> Gift:
    catalogue()
    return Gift.objects.get(name=name)


def buy(user: User, *, coins: int = 70, card: str = "pm_card_ok",
        key: str | None = None) -> CoinPurchase:
    """Start a purchase and deliver the local provider's webhooks (as its Celery task
    would): the coins arrive only through the verified event."""
    purchase = coin_services.purchase_start(user=user, pack_id=pack(coins).pk,
                                            payment_method=card, key=key)
    local.deliver()
    return CoinPurchase.objects.get(pk=purchase.pk)


def payment_of(purchase: CoinPurchase) -> Payment:
    assert purchase.payment_id is not None
    return Payment.objects.get(pk=purchase.payment_id)


def balance(user: User) -> int:
    return coin_selectors.wallet_balance(user.pk)


def earnings(user: User) -> int:
    """The creator's unpaid earnings in USD micro-units: payable and still clearing."""
    return payable(user) + clearing(user)


def payable(user: User) -> int:
    """The creator's earnings past their clearing period (the earnings account)."""
    row = LedgerAccount.objects.filter(kind=Kind.EARNINGS, owner_id=user.pk, asset="USD").first()
    return row.balance if row else 0


def clearing(user: User) -> int:
    """The creator's earnings still clearing (the earnings clearing account)."""
    row = LedgerAccount.objects.filter(kind=Kind.EARNINGS_CLEARING, owner_id=user.pk,
                                       asset="USD").first()
    return row.balance if row else 0


def clear_all() -> int:
    """Run the clearing task as if every clearing period had ended (a year on)."""
    return release_due(now=timezone.now() + timedelta(days=365))


def platform_total(kind: str, asset: str = "USD") -> int:
    return sum(a.balance for a in LedgerAccount.objects.filter(kind=kind, owner__isnull=True,
                                                                asset=asset))


def books() -> dict[tuple[str, str], int]:
    """Every account kind's total balance per asset: the whole ledger's picture (sums to
    zero per asset)."""
    totals: dict[tuple[str, str], int] = {}
    for a in LedgerAccount.objects.all():
        totals[(a.kind, a.asset)] = totals.get((a.kind, a.asset), 0) + a.balance
    return totals


def assert_books_balance() -> None:
    per_asset: dict[str, int] = {}
    for (_, asset), total in books().items():
        per_asset[asset] = per_asset.get(asset, 0) + total
    assert all(v == 0 for v in per_asset.values()), per_asset
