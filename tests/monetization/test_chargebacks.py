"""Refunds and disputes of coin purchases, through the local provider's signed webhooks:
the rule of docs/architecture.md ("Chargebacks and refunds") to the unit, wallets and
earnings never below zero, the buyer barred after a dispute, a won dispute reversed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.monetization.models import Clawback, CoinPurchase, GiftSend, SpendingBar
from apps.monetization.services.gifts import earnings_of, tip_send
from apps.payments.models import LedgerAccount
from apps.payments.providers import local
from apps.payments.services.ledger import Leg, hold, platform_account
from apps.payments.services.payments import (
    local_close_dispute,
    local_open_dispute,
    refund_payment,
)
from tests.monetization.coin_helpers import (
    adult,
    assert_books_balance,
    balance,
    buy,
    clear_all,
    client_for,
    creator_with_post,
    earnings,
    gift,
    pack,
    payment_of,
    platform_total,
)

pytestmark = pytest.mark.django_db(transaction=True)  # webhooks and claws take row locks
Kind = LedgerAccount.Kind


def _dispute(purchase: CoinPurchase, *, won: bool | None = None) -> CoinPurchase:
    if won is None:
        local_open_dispute(payment=payment_of(purchase))
    else:
        local_close_dispute(payment=payment_of(purchase), won=won)
    local.deliver()
    return CoinPurchase.objects.get(pk=purchase.pk)


def test_a_dispute_takes_unspent_coins_back_and_bars_the_buyer():
    buyer = adult()
    _, post = creator_with_post()
    purchase = buy(buyer, card="pm_card_dispute")  # succeeds, then the dispute arrives
    assert purchase.status == CoinPurchase.Status.DISPUTED
    assert balance(buyer) == 0
    claw = Clawback.objects.get(purchase=purchase)
    assert (claw.coins, claw.wallet_coins, claw.earnings_micros, claw.loss_micros) == (
        70, 70, 0, 0)
    # the provider took $0.99 back: clearing, coin sales and revenue are back to nothing
    for kind in (Kind.PROVIDER_CLEARING, Kind.COIN_SALES, Kind.PLATFORM_REVENUE,
                 Kind.CHARGEBACKS):
        assert platform_total(kind) == 0, kind
    assert_books_balance()

    bar = SpendingBar.objects.get(user=buyer, lifted_at__isnull=True)
    assert bar.purchase_id == purchase.pk
    client = client_for(buyer)
    refused = client.post(f"/api/v1/posts/{post.pk}/gifts", {"gift_id": str(gift().pk)},
                          format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "spending_barred"
    assert "paused" in refused.json()["error"]["message"]
    again = client.post("/api/v1/coins/purchases",
                        {"pack_id": str(pack().pk), "payment_method": "pm_card_ok"},
                        format="json")
    assert again.status_code == 403
    wallet = client.get("/api/v1/coins/wallet").json()
    assert wallet["can_use_coins"] is False
    assert "paused" in wallet["refusal"]


def test_gifted_coins_are_clawed_from_creators_most_recent_first():
    buyer = adult()
    first_creator, first_post = creator_with_post()
    last_creator, last_post = creator_with_post()
    purchase = buy(buyer, coins=350)  # $4.99
    tip_send(sender=buyer, recipient=first_creator, coins=100, post=first_post)
    tip_send(sender=buyer, recipient=last_creator, coins=200, post=last_post)
    assert balance(buyer) == 50
    assert clear_all() == 2  # the clearing period passed: the shares are payable
    # 100,000 micros of the last creator's earnings are held for a payout: not clawable
    hold(key="payout-hold", code="payout", timeout=timedelta(days=1), legs=[
        Leg(earnings_of(last_creator.pk),
            platform_account(Kind.PAYOUTS_PAYABLE, "USD", last_creator.pk), 100_000)])
    assert earnings(last_creator) == 1_600_000  # 200 coins, 80% of $2.00

    purchase = _dispute(purchase)
    claw = Clawback.objects.get(purchase=purchase)
    assert claw.coins == 350
    assert claw.wallet_coins == 50
    assert claw.earnings_micros == 1_500_000 + 800_000
    # the held part (not a payout request: nothing to cancel) is owed by the creator,
    # repaid from their next cleared earnings: no platform loss, no negative balance
    assert claw.loss_micros == 0
    assert balance(buyer) == 0
    last = LedgerAccount.objects.get(pk=earnings_of(last_creator.pk).pk)
    assert last.available == 0
    assert last.balance == 100_000  # what the hold took stays for the payout
    assert earnings(first_creator) == 0
    assert platform_total(Kind.CHARGEBACKS) == 0
    assert LedgerAccount.objects.get(kind=Kind.EARNINGS_OWED, owner=last_creator).balance == (
        -100_000)
    assert platform_total(Kind.PROVIDER_CLEARING) == 0
    assert platform_total(Kind.COIN_SALES) == 0
    assert platform_total(Kind.PLATFORM_REVENUE) == 0
    assert list(GiftSend.objects.order_by("pk").values_list("clawed_coins", flat=True)) == [
        100, 200]
    assert_books_balance()
    # the same dispute delivered again (a replay) claws nothing more
    from apps.monetization.services import chargebacks
    assert chargebacks.claw_back(purchase=purchase, event="disputed", amount_minor=499,
                                 key=f"{purchase.pk}:dispute") == claw
    assert Clawback.objects.count() == 1


def test_refunds_take_back_their_share_and_a_won_dispute_returns_what_it_took():
    buyer = adult()
    creator, post = creator_with_post()
    purchase = buy(buyer, coins=350)
    payment = payment_of(purchase)
    refund_payment(payment=payment, amount_minor=100, key="refund-1", reason="asked")
    local.deliver()
    assert balance(buyer) == 250  # $1.00 back = 100 coins
    assert not SpendingBar.objects.exists()  # a refund we gave bars nobody

    tip_send(sender=buyer, recipient=creator, coins=200, post=post)
    purchase = _dispute(CoinPurchase.objects.get(pk=purchase.pk))
    assert balance(buyer) == 0
    assert earnings(creator) == 0
    assert platform_total(Kind.PROVIDER_CLEARING) == 0  # the dispute was for the rest: $3.99
    assert_books_balance()

    purchase = _dispute(purchase, won=True)
    assert purchase.status == CoinPurchase.Status.SUCCEEDED
    assert balance(buyer) == 50
    assert earnings(creator) == 1_600_000
    assert GiftSend.objects.get().clawed_coins == 0
    assert SpendingBar.objects.filter(lifted_at__isnull=True).count() == 1  # staff review
    assert_books_balance()


def test_finance_staff_lift_a_bar_in_the_admin_with_a_reason():
    from django.test import Client

    from apps.core.models import AuditEvent
    buyer = adult()
    buy(buyer, card="pm_card_dispute")
    bar = SpendingBar.objects.get(user=buyer)
    staff = adult(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    url = "/django-admin/monetization/spendingbar/"
    assert client.get(url).status_code == 200
    no_reason = client.post(url, {"action": "lift", "_selected_action": [bar.pk]})
    assert no_reason.status_code == 302
    assert SpendingBar.objects.get(pk=bar.pk).lifted_at is None  # a reason is required
    client.post(url, {"action": "lift", "_selected_action": [bar.pk],
                      "reason": "customer showed the bank's letter"})
    lifted = SpendingBar.objects.get(pk=bar.pk)
    assert lifted.lifted_at is not None
    assert lifted.lifted_by_id == staff.pk
    audit = AuditEvent.objects.get(app="monetization", verb="spending_bar_lift")
    assert audit.reason == "customer showed the bank's letter"
    assert audit.actor_id == staff.pk
    assert client_for(buyer).get("/api/v1/coins/wallet").json()["can_use_coins"] is True
