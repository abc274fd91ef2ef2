"""A deleted account's money (services/closure.py): told before in words (the deletion page
and GET /api/v1/me/delete/notices), then at the purge the coins are forfeited (wallet →
issuance, their deferred revenue → platform revenue), the unpaid earnings are kept as
unclaimed (never platform revenue), the KYC files are removed, a payout still under way
defers the purge; the books balance and the reconciliation is clean. Lock-taking code:
transaction=True."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.services import users_purge_due
from apps.accounts.storage import private_storage
from apps.monetization.models import CoinPurchase, EarningsClearing, KycDocument, PayoutRequest
from apps.monetization.services import closure, kyc, payouts
from apps.monetization.services import coins as coin_services
from apps.payments.models import LedgerAccount, TransferSet
from apps.payments.providers import local
from apps.payments.services.reconcile import reconcile_ledger
from tests.monetization.coin_helpers import (
    adult,
    assert_books_balance,
    balance,
    buy,
    client_for,
    pack,
    platform_total,
)
from tests.monetization.payout_helpers import payable_creator, settle, tipped

pytestmark = pytest.mark.django_db(transaction=True)
Kind = LedgerAccount.Kind
EARNED = 11_200_000  # 1,400 coins tipped at 80%: $11.20
COIN_MICROS = 10_000  # settings.SWIPEME_COIN_VALUE_MICROS in tests ($0.01 a coin)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _schedule(*users: User) -> None:
    User.objects.filter(pk__in=[u.pk for u in users]).update(
        deletion_scheduled_for=timezone.now() - timedelta(minutes=1))


def _unclaimed(user_id: int) -> int:
    row = LedgerAccount.objects.filter(kind=Kind.UNCLAIMED_EARNINGS, owner_id=user_id).first()
    return row.balance if row else 0


def _ledger_row(kind: str, owner_id: int, asset: str) -> LedgerAccount:
    return LedgerAccount.objects.get(kind=kind, owner_id=owner_id, asset=asset)


def test_told_before_then_coins_forfeited_and_earnings_kept_as_unclaimed(
        db: Any, settings: Any) -> None:
    assert settings.SWIPEME_COIN_VALUE_MICROS == COIN_MICROS
    creator = payable_creator()
    fan = tipped(creator)  # $11.20 unpaid earnings for the creator
    buy(creator, coins=70)  # and 70 coins of the creator's own
    buyer = adult()
    buy(buyer, coins=70)
    document = kyc.kyc_document_upload(user=buyer, kind="passport", file=io.BytesIO(PNG),
                                       size=len(PNG))
    assert private_storage().exists(document.file)

    # told before, in words: the API and the deletion page
    notices = client_for(creator).get("/api/v1/me/delete/notices").json()["notices"]
    assert notices[0] == ("You have 70 coins. Coins are lost when your account is deleted: "
                          "spend them before then.")
    assert notices[1].startswith("You have $11.20 of unpaid earnings. Request a payout first")
    assert "not lost" in notices[1]
    assert "unclaimed" in notices[1]
    assert client_for(fan).get("/api/v1/me/delete/notices").json() == {"notices": []}
    assert client_for(fan).get("/api/v1/me/delete/notices").status_code == 200
    assert Client().get("/api/v1/me/delete/notices").status_code in (401, 403)
    browser = Client()
    browser.force_login(creator)
    page = browser.get("/settings/data").content.decode()
    assert "Before you delete it:" in page
    assert "You have 70 coins." in page
    assert "$11.20 of unpaid earnings" in page

    revenue_before = platform_total(Kind.PLATFORM_REVENUE)
    sales_before = platform_total(Kind.COIN_SALES)
    issuance_before = platform_total(Kind.COIN_ISSUANCE, "COIN")
    _schedule(creator, buyer)
    assert users_purge_due() == 2
    assert not User.objects.filter(pk__in=[creator.pk, buyer.pk]).exists()

    # coins forfeited: back to issuance, their deferred revenue recognised
    assert _ledger_row(Kind.WALLET, creator.pk, "COIN").balance == 0
    assert _ledger_row(Kind.WALLET, buyer.pk, "COIN").balance == 0
    assert platform_total(Kind.COIN_ISSUANCE, "COIN") == issuance_before + 140
    assert platform_total(Kind.COIN_SALES) == sales_before - 140 * COIN_MICROS
    assert platform_total(Kind.PLATFORM_REVENUE) == revenue_before + 140 * COIN_MICROS
    forfeit = TransferSet.objects.get(key=f"forfeit:{creator.pk}")
    assert forfeit.code == "coins_forfeited"
    # earnings not taken: kept under the creator's former id, not revenue
    assert _ledger_row(Kind.EARNINGS, creator.pk, "USD").balance == 0
    assert _unclaimed(creator.pk) == EARNED
    assert TransferSet.objects.get(key=f"unclaimed:{creator.pk}").code == "earnings_unclaimed"
    # identity papers gone, files too
    assert not KycDocument.objects.filter(user_id=buyer.pk).exists()
    assert not private_storage().exists(document.file)

    assert_books_balance()
    run = reconcile_ledger()
    assert run.differences == 0, run.details


def test_earnings_still_clearing_are_kept_as_unclaimed_too(db: Any) -> None:
    """A purged creator's share still in its clearing period is theirs as well: told
    before, released early at the purge and kept with the rest as unclaimed money."""
    creator = payable_creator()
    tipped(creator, cleared=False)  # $11.20, still clearing
    notices = client_for(creator).get("/api/v1/me/delete/notices").json()["notices"]
    assert notices == ["$11.20 of your earnings is still clearing. If the account is "
                       "deleted, it is kept with your unpaid earnings as unclaimed money."]
    _schedule(creator)
    assert users_purge_due() == 1
    assert _ledger_row(Kind.EARNINGS_CLEARING, creator.pk, "USD").balance == 0
    assert _ledger_row(Kind.EARNINGS, creator.pk, "USD").balance == 0
    assert _unclaimed(creator.pk) == EARNED
    assert not EarningsClearing.objects.filter(released_at__isnull=True).exists()
    assert_books_balance()
    assert reconcile_ledger().differences == 0


def test_a_payout_under_way_defers_the_purge_until_it_settles(db: Any) -> None:
    creator = payable_creator()
    tipped(creator)
    other = adult()
    buy(other, coins=70)
    payout, _ = payouts.payout_request(user=creator, amount_minor=1000,
                                       destination="acct_maya", key="k1")
    assert payout.state == PayoutRequest.State.PROCESSING
    notices = client_for(creator).get("/api/v1/me/delete/notices").json()["notices"]
    assert notices[-1] == ("A payout of yours is still under way: the account is deleted "
                           "only after it is settled.")
    _schedule(creator, other)

    assert users_purge_due() == 1  # the other account; the creator waits
    assert User.objects.filter(pk=creator.pk).exists()
    assert not User.objects.filter(pk=other.pk).exists()
    assert _unclaimed(creator.pk) == 0  # rolled back with the deferred purge: nothing moved
    assert not TransferSet.objects.filter(key=f"unclaimed:{creator.pk}").exists()

    assert settle(payout).state == PayoutRequest.State.PAID
    assert users_purge_due() == 1
    assert not User.objects.filter(pk=creator.pk).exists()
    assert _unclaimed(creator.pk) == EARNED - 10_000_000  # the $1.20 left after the payout
    assert_books_balance()
    assert reconcile_ledger().differences == 0


def test_settling_twice_moves_nothing_more(db: Any) -> None:
    creator = payable_creator()
    tipped(creator)
    buy(creator, coins=70)
    with transaction.atomic():
        closure.money_purge_user(user_id=creator.pk)
        closure.money_purge_user(user_id=creator.pk)
    assert TransferSet.objects.filter(key__in=[f"forfeit:{creator.pk}",
                                               f"unclaimed:{creator.pk}"]).count() == 2
    assert balance(creator) == 0
    assert _unclaimed(creator.pk) == EARNED
    # nothing left to say about money
    assert closure.deletion_notices(user_id=creator.pk) == []
    assert_books_balance()


def test_a_coin_purchase_being_confirmed_defers_the_purge(db: Any) -> None:
    buyer = adult()
    purchase = coin_services.purchase_start(user=buyer, pack_id=pack(70).pk,
                                            payment_method="pm_card_ok", key="k")
    assert purchase.status == CoinPurchase.Status.PROCESSING  # the webhook not delivered yet
    assert closure.deletion_notices(user_id=buyer.pk) == [
        "A coin purchase of yours is still being confirmed: the account is deleted only "
        "after it is, and its coins are lost with the others."]
    _schedule(buyer)
    assert users_purge_due() == 0
    assert User.objects.filter(pk=buyer.pk).exists()
    local.deliver()  # the provider confirms: 70 coins
    assert balance(buyer) == 70
    assert users_purge_due() == 1
    assert _ledger_row(Kind.WALLET, buyer.pk, "COIN").balance == 0
    assert TransferSet.objects.get(key=f"forfeit:{buyer.pk}").code == "coins_forfeited"
    assert_books_balance()
