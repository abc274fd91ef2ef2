"""Charging, refunding and paying out through the configured provider (the contract the
product layer codes against; docs/architecture.md, "Payments and monetization").

These only ASK the provider. What happened arrives by verified webhook
(`services.webhooks`), which alone moves a Payment to succeeded / failed / refunded /
disputed and a payout to paid / failed, and raises `hooks.payment_event` /
`hooks.payout_event`. So `start_payment` returns a Payment that is `requires_action` (send
the payer to `next_action_url`) or `processing`; never yet succeeded or failed.

Every call is idempotent by the caller's `key`: the same key and the same request return
the same row; the same key with another request is refused (409).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import IntegrityError, transaction

from apps.core.errors import ApplicationError
from apps.payments.models import Payment, ProviderPayout, Refund
from apps.payments.money import SUPPORTED_CURRENCIES
from apps.payments.providers import get_provider
from apps.payments.providers.base import PaymentRefusedError
from apps.payments.services.ledger import IdempotencyConflictError

MAX_AMOUNT_MINOR = 10**12
Keyed = TypeVar("Keyed", Payment, ProviderPayout)


def check_amount(amount_minor: object, *, field: str = "amount") -> int:
    """Whole minor units (cents), 1 .. 10^12: ints only (no bools, floats or strings)."""
    if type(amount_minor) is not int or not 0 < amount_minor <= MAX_AMOUNT_MINOR:
        raise ApplicationError(
            "The amount must be a whole number of cents between 1 and 10^12.",
            code="invalid_amount",
            fields={field: ["A whole number of cents between 1 and 10^12."]})
    return amount_minor


def check_currency(currency: object) -> str:
    if not isinstance(currency, str) or currency.upper() not in SUPPORTED_CURRENCIES:
        raise ApplicationError(
            "Unknown currency.", code="invalid_currency",
            fields={"currency": [f"One of: {', '.join(sorted(SUPPORTED_CURRENCIES))}."]})
    return currency.upper()


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not key or len(key) > 128:
        raise ApplicationError("An idempotency key (1-128 characters) is needed.",
                               code="invalid_key")
    return key


def _same_or_conflict(row: Any, expected: dict[str, Any]) -> None:
    for name, value in expected.items():
        if getattr(row, name) != value:
            raise IdempotencyConflictError(
                "This idempotency key was already used for a different request.")


def _once(model: type[Keyed], key: str, expected: dict[str, Any],
          create: Callable[[], Keyed]) -> Keyed:
    """The row of `key`: the existing one if the request is the same (409 if not), else
    `create()`'s, made in one transaction with the provider's answer (a provider error rolls
    the row back). Two calls at once with one key: the second finds the first's row."""
    existing = model.objects.filter(key=key).first()
    if existing is None:
        try:
            with transaction.atomic():
                return create()
        except IntegrityError:
            existing = model.objects.filter(key=key).first()
            if existing is None:
                raise
    _same_or_conflict(existing, expected)
    return existing


def start_payment(*, user_id: int, amount_minor: int, currency: str, purpose: str, key: str,
                  payment_method: str | None = None, off_session: bool = False,
                  return_url: str = "") -> Payment:
    """Charge `user_id` `amount_minor` (cents) of `currency` for `purpose` (the caller's
    opaque string, echoed in `hooks.PaymentEvent`)."""
    check_amount(amount_minor)
    currency = check_currency(currency)
    key = _check_key(key)
    expected = {"user_id": user_id, "amount_minor": amount_minor, "currency": currency,
                "purpose": purpose, "payment_method": payment_method or "",
                "off_session": off_session}

    def create() -> Payment:
        provider = get_provider()
        payment = Payment.objects.create(key=key, provider=provider.name,
                                         return_url=return_url[:1000], **expected)
        started = provider.create_payment(payment=payment)
        payment.provider_ref = started.ref
        payment.status = started.status
        payment.next_action_url = started.next_action_url
        payment.save(update_fields=["provider_ref", "status", "next_action_url", "updated_at"])
        return payment

    return _once(Payment, key, expected, create)


def confirms_in_browser() -> bool:
    """Whether the provider in use lets a payment start without a payment method, for the
    payer's browser to confirm it with the provider's own script (Stripe: Stripe.js)."""
    return get_provider().confirms_in_browser


def client_secret_for(*, payment: Payment) -> str:
    """What the payer's browser confirms `payment` with through the provider's own script
    (Stripe.js): the provider's client secret while the payment waits for the payer and has
    no approval page of ours; "" otherwise. Read from the provider each time (not stored);
    give it to the payer only and never log it. The status still changes by webhook only."""
    if (payment.status != Payment.Status.REQUIRES_ACTION or payment.next_action_url
            or not payment.provider_ref):
        return ""
    return get_provider(payment.provider).client_secret(payment=payment)


def refund_payment(*, payment: Payment, amount_minor: int, key: str, reason: str) -> Payment:
    """Ask the payment's provider to give back `amount_minor` (up to what is left). The
    refund takes effect (amount_refunded_minor, hooks' "refunded") when its webhook comes."""
    check_amount(amount_minor)
    key = _check_key(key)
    existing = Refund.objects.filter(key=key).first()
    if existing is not None:
        _same_or_conflict(existing, {"payment_id": payment.pk, "amount_minor": amount_minor})
        return Payment.objects.get(pk=payment.pk)
    provider = get_provider(payment.provider)
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status != Payment.Status.SUCCEEDED:
            raise PaymentRefusedError("Only a payment that went through can be refunded.",
                                      code="not_refundable", status_code=409)
        asked = sum(Refund.objects.filter(payment=locked).exclude(
            status=Refund.Status.FAILED).values_list("amount_minor", flat=True))
        if asked + amount_minor > locked.amount_minor:
            raise PaymentRefusedError(
                "That is more than is left to refund on this payment.",
                code="refund_too_large", status_code=409,
                fields={"amount": [f"At most {locked.amount_minor - asked}."]})
        refund = Refund.objects.create(payment=locked, key=key, amount_minor=amount_minor,
                                       reason=reason[:255])
        refund.provider_ref = provider.refund(payment=locked, refund=refund)
        refund.save(update_fields=["provider_ref"])
    return locked


def start_payout(*, user_id: int, amount_minor: int, currency: str, destination: str,
                 key: str, purpose: str) -> ProviderPayout:
    """Send `amount_minor` to the creator's `destination` (the provider's account/bank
    token); paid or failed arrives by webhook (`hooks.payout_event`)."""
    check_amount(amount_minor)
    currency = check_currency(currency)
    key = _check_key(key)
    if not destination:
        raise ApplicationError("A payout needs a destination.", code="invalid_destination",
                               fields={"destination": ["Required."]})
    expected = {"user_id": user_id, "amount_minor": amount_minor, "currency": currency,
                "destination": destination, "purpose": purpose}

    def create() -> ProviderPayout:
        provider = get_provider()
        payout = ProviderPayout.objects.create(key=key, provider=provider.name, **expected)
        payout.provider_ref = provider.create_payout(payout=payout)
        payout.save(update_fields=["provider_ref", "updated_at"])
        return payout

    return _once(ProviderPayout, key, expected, create)


def _local(payment: Payment) -> Any:
    if payment.provider != "local":
        raise PaymentRefusedError("Only the local test provider's payments can be disputed "
                                  "from here; a real provider's disputes come from the payer's "
                                  "bank.", code="not_local", status_code=409)
    from apps.payments.providers.local import LocalProvider

    return LocalProvider()


def local_open_dispute(*, payment: Payment, reason: str = "fraudulent") -> None:
    """Staff and tests: the local provider raises a dispute on `payment` (its webhook
    follows, as a bank's chargeback would)."""
    with transaction.atomic():
        _local(payment).open_dispute(payment.provider_ref, reason=reason or "fraudulent")


def local_close_dispute(*, payment: Payment, won: bool) -> None:
    """Staff and tests: the local provider closes `payment`'s dispute as won or lost."""
    with transaction.atomic():
        _local(payment).close_dispute(payment.provider_ref, won=won)
