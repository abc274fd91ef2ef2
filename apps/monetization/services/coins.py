"""Buying coins: a purchase row, a provider payment, and coins credited ONLY when the
provider's verified webhook says the payment succeeded (`payment_event`, registered in
receivers.py). Refunds and disputes claw back what the purchase funded (chargebacks.py).

The purchase is created (and committed) before the provider is asked, so its id names the
payment (`coin_purchase:<id>`: the payment's purpose and idempotency key); a client's retry
with the same Idempotency-Key answers the same purchase and never charges twice.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.errors import ApplicationError, NotFoundError
from apps.core.idempotency import key_reused
from apps.core.ids import parse_id
from apps.monetization import velocity
from apps.monetization.eligibility import may_buy_coins, require
from apps.monetization.models import CoinPack, CoinPurchase
from apps.monetization.services import chargebacks
from apps.monetization.services.gifts import EARNINGS_ASSET, coin_value_micros, wallet_of
from apps.payments.hooks import PaymentEvent
from apps.payments.models import LedgerAccount, Payment
from apps.payments.money import COIN, to_micros
from apps.payments.providers.base import PaymentRefusedError
from apps.payments.services.ledger import Leg, platform_account, post_transfers
from apps.payments.services.payments import (
    client_secret_for,
    confirms_in_browser,
    start_payment,
)

logger = logging.getLogger(__name__)
PURPOSE_PREFIX = "coin_purchase:"
PAYMENT_METHOD_MAX = 255
_S = CoinPurchase.Status


def _create(*, user: User, pack: CoinPack, key: str | None,
            session_key: str | None) -> tuple[CoinPurchase, bool]:
    with transaction.atomic():
        velocity.lock_money_of(user.pk)
        if key is not None:
            found = CoinPurchase.objects.filter(user_id=user.pk, idempotency_key=key).first()
            if found is not None:
                if found.pack_id != pack.pk:
                    raise key_reused()
                return found, False
        require(may_buy_coins(user))
        velocity.check_purchase(user, session_key=session_key)
        return CoinPurchase.objects.create(
            user=user, pack=pack, coins=pack.coins, price_minor=pack.price_minor,
            currency=pack.currency, idempotency_key=key), True


def purchase_start(*, user: User, pack_id: int, payment_method: str = "",
                   currency: str | None = None, key: str | None = None,
                   session_key: str | None = None, return_url: str = "") -> CoinPurchase:
    """Start buying a pack with a payment method (a provider token; the local provider's
    test cards), or none when the provider confirms in the browser (Stripe: Stripe.js with
    `client_secret_of`). The answer is
    `requires_action` (approve at `next_action_url` or with Stripe.js, then the payer is sent
    to `return_url`, where `{id}` becomes the purchase's id) or `processing`; the coins come
    when the provider confirms."""
    pack = CoinPack.objects.filter(pk=pack_id, active=True).first()
    if pack is None:
        raise NotFoundError("This coin pack is not on sale.", code="pack_not_found")
    if currency is not None and currency != pack.currency:
        raise ApplicationError(f"This pack is sold in {pack.currency}.", code="invalid_currency",
                               fields={"currency": [f"Must be {pack.currency}."]})
    if (not payment_method and not confirms_in_browser()) \
            or len(payment_method) > PAYMENT_METHOD_MAX:
        raise ApplicationError("Choose a payment method.", code="invalid",
                               fields={"payment_method": ["Required."]})
    purchase, _ = _create(user=user, pack=pack, key=key, session_key=session_key)
    if purchase.status != CoinPurchase.Status.STARTED:
        return purchase  # a retry of a purchase already started
    try:
        payment = start_payment(user_id=user.pk, amount_minor=purchase.price_minor,
                                currency=purchase.currency, purpose=purchase.purpose,
                                key=purchase.purpose, payment_method=payment_method,
                                return_url=return_url.replace("{id}", str(purchase.pk)))
    except PaymentRefusedError as refused:  # not a decline (that comes by webhook)
        CoinPurchase.objects.filter(pk=purchase.pk, status=_S.STARTED).update(
            status=_S.FAILED, failure_reason=refused.message[:300], updated_at=timezone.now())
        raise
    with transaction.atomic():
        locked = CoinPurchase.objects.select_for_update().get(pk=purchase.pk)
        if locked.status == CoinPurchase.Status.STARTED:  # a webhook may have come first
            locked.payment_id = payment.pk
            locked.status = (CoinPurchase.Status.REQUIRES_ACTION
                             if payment.status == "requires_action"
                             else CoinPurchase.Status.PROCESSING)
            locked.next_action_url = payment.next_action_url[:500]
            locked.save(update_fields=["payment_id", "status", "next_action_url",
                                       "updated_at"])
    return locked


def client_secret_of(*, purchase: CoinPurchase) -> str:
    """The provider's client secret for the payer's browser to confirm this purchase's
    payment with Stripe.js (`payments.client_secret_for`), while it waits for the payer;
    "" otherwise. For the purchase's own buyer only; never logged or stored."""
    if purchase.status != _S.REQUIRES_ACTION or purchase.payment_id is None:
        return ""
    payment = Payment.objects.filter(pk=purchase.payment_id).first()
    return client_secret_for(payment=payment) if payment is not None else ""


def _credit(purchase: CoinPurchase) -> None:
    """The provider confirmed: the coins reach the wallet (once: the set's key)."""
    buyer = purchase.user_id
    price = to_micros(purchase.price_minor, purchase.currency)
    value = coin_value_micros(purchase.coins)
    clearing = platform_account(LedgerAccount.Kind.PROVIDER_CLEARING, EARNINGS_ASSET, buyer)
    legs = [Leg(clearing, platform_account(LedgerAccount.Kind.COIN_SALES, EARNINGS_ASSET, buyer),
                value, "coins_sold")]
    if price > value:
        legs.append(Leg(clearing, platform_account(LedgerAccount.Kind.PLATFORM_REVENUE,
                                                   EARNINGS_ASSET, buyer),
                        price - value, "pack_margin"))
    legs.append(Leg(platform_account(LedgerAccount.Kind.COIN_ISSUANCE, COIN, buyer),
                    wallet_of(buyer), purchase.coins, "coins_bought"))
    post_transfers(key=purchase.purpose, code="coin_purchase", legs=legs,
                   metadata={"purchase": str(purchase.pk), "payment": str(purchase.payment_id)})


def on_payment_event(*, event: PaymentEvent) -> None:
    """payments' `payment_event` hook: runs in the webhook's transaction, once per provider
    event. Only coin purchases are ours here."""
    if not event.purpose.startswith(PURPOSE_PREFIX):
        return
    # A purpose we did not write (malformed) is logged, not raised: raising would roll the
    # event back and have it delivered again forever.
    purchase_id = parse_id(event.purpose.removeprefix(PURPOSE_PREFIX))
    purchase = (CoinPurchase.objects.select_for_update().filter(pk=purchase_id).first()
                if purchase_id is not None else None)
    if purchase is None or purchase.user_id != event.user_id:
        logger.error("payment event %s for unknown coin purchase %s", event.kind, purchase_id)
        return
    purchase.payment_id = event.payment_id
    fields = ["payment_id", "status", "updated_at"]
    match event.kind:
        case "succeeded":
            if purchase.credited_at is None:
                _credit(purchase)
                purchase.credited_at = timezone.now()
                fields.append("credited_at")
            if purchase.status not in (_S.REFUNDED, _S.DISPUTED):
                purchase.status = _S.SUCCEEDED
        case "failed":
            if purchase.credited_at is None:
                purchase.status = _S.FAILED
                purchase.failure_reason = event.reason[:300] or "The payment failed."
                fields.append("failure_reason")
        case "refunded":
            increment = event.refund_amount_minor or (
                event.amount_refunded_minor - purchase.refunded_minor)
            if purchase.credited_at is not None and increment > 0:
                chargebacks.claw_back(
                    purchase=purchase, event="refunded", amount_minor=increment,
                    key=f"{purchase.pk}:refund:{event.amount_refunded_minor}")
            purchase.refunded_minor = max(purchase.refunded_minor, event.amount_refunded_minor)
            fields.append("refunded_minor")
            if purchase.refunded_minor >= purchase.price_minor:
                purchase.status = _S.REFUNDED
        case "disputed":
            if purchase.credited_at is not None:
                chargebacks.claw_back(
                    purchase=purchase, event="disputed",
                    amount_minor=event.amount_refunded_minor or purchase.price_minor,
                    key=f"{purchase.pk}:dispute")
            chargebacks.bar_spending(
                purchase=purchase, reason=f"Payment disputed ({event.reason or 'no reason'}).")
            purchase.status = _S.DISPUTED
        case "dispute_won":
            chargebacks.dispute_won(purchase=purchase, key=f"{purchase.pk}:dispute_won")
            purchase.status = _S.SUCCEEDED
        case "dispute_lost":
            purchase.status = _S.DISPUTED  # the claw happened when it opened
    purchase.save(update_fields=fields)
