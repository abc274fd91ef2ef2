"""Stripe, through the official `stripe` library (pinned): PaymentIntents (confirmed on
creation with the given payment method; 3-D Secure answers `requires_action` with the
redirect URL; with no payment method the intent waits for the payer's browser, which
confirms it with Stripe.js and its `client_secret`), refunds, payouts on the creator's
connected account, and webhooks verified with the library's own signature check
(`Stripe-Signature`).

Settings: SWIPEME_STRIPE_SECRET_KEY, SWIPEME_STRIPE_WEBHOOK_SECRET, and
SWIPEME_STRIPE_API_BASE (empty: Stripe's own; the tests point it at a local server that
answers in Stripe's format). Every request carries an idempotency key derived from our
row's key, so the library's own retries, and ours, never charge twice.
A payment method may be given as "cus_...:pm_..." (a saved card of a Stripe customer, for
off-session charges such as renewals) or "pm_...".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import stripe as stripe_lib
from django.conf import settings

from apps.payments.models import Payment, ProviderPayout, Refund
from apps.payments.providers import signing
from apps.payments.providers.base import (
    ChargeStarted,
    PaymentRefusedError,
    ProviderUnavailableError,
    WebhookEvent,
)

logger = logging.getLogger(__name__)
# The library logs whole response bodies at DEBUG ("API response body"), a PaymentIntent's
# client_secret included: its logger never goes below INFO, whatever the root's level.
logging.getLogger("stripe").setLevel(max(logging.INFO, logging.getLogger("stripe").level))

SIGNATURE_HEADER = "Stripe-Signature"
UNAVAILABLE = (stripe_lib.APIConnectionError, stripe_lib.RateLimitError, stripe_lib.APIError,
               stripe_lib.AuthenticationError)


def client() -> stripe_lib.StripeClient:
    base = settings.SWIPEME_STRIPE_API_BASE
    return stripe_lib.StripeClient(
        settings.SWIPEME_STRIPE_SECRET_KEY or "sk_missing",
        base_addresses={"api": base} if base else None,
        max_network_retries=settings.SWIPEME_STRIPE_MAX_NETWORK_RETRIES)


def _unavailable(exc: Exception) -> ProviderUnavailableError:
    logger.warning("stripe unavailable: %s: %s", type(exc).__name__, exc)
    return ProviderUnavailableError(
        "The payment provider could not be reached; nothing was charged. Try again.")


def _refused(exc: stripe_lib.StripeError) -> PaymentRefusedError:
    logger.warning("stripe refused a request: %s", exc)
    return PaymentRefusedError("The payment provider refused this request.")


def _plain(obj: Any) -> dict[str, Any]:
    """A StripeObject as plain dicts (v16's objects are not dicts)."""
    return dict(obj.to_dict()) if hasattr(obj, "to_dict") else dict(obj or {})


def _status(made: Any) -> ChargeStarted:
    intent = _plain(made)
    ref = str(intent["id"])
    if intent.get("status") in ("requires_action", "requires_payment_method",
                                "requires_confirmation"):
        next_action = intent.get("next_action") or {}
        redirect = next_action.get("redirect_to_url") or {}
        return ChargeStarted(ref=ref, status="requires_action",
                             next_action_url=str(redirect.get("url") or ""))
    return ChargeStarted(ref=ref, status="processing")


class StripeProvider:
    name = "stripe"
    confirms_in_browser = True

    def create_payment(self, *, payment: Payment) -> ChargeStarted:
        params: dict[str, Any] = {
            "amount": payment.amount_minor, "currency": payment.currency.lower(),
            "metadata": {"swipeme_payment_id": str(payment.pk),
                         "swipeme_user_id": str(payment.user_id),
                         "swipeme_purpose": payment.purpose[:500]},
        }
        customer, _, method = payment.payment_method.rpartition(":")
        if customer:
            params["customer"] = customer
        if method:
            params.update(confirm=True, payment_method=method)
            if payment.off_session:
                params["off_session"] = True
            elif payment.return_url.startswith(("http://", "https://")):
                params["return_url"] = payment.return_url
            else:
                params["automatic_payment_methods"] = {"enabled": True,
                                                       "allow_redirects": "never"}
        try:
            intent = client().v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": f"swipeme-payment:{payment.key}"})
        except stripe_lib.CardError as exc:
            # A decline: the intent exists and Stripe sends payment_intent.payment_failed,
            # which is what fails our payment (statuses change by webhook only).
            error = _plain(exc.error) if exc.error else {}
            failed = error.get("payment_intent") or {}
            if not isinstance(failed, dict) or not failed.get("id"):
                raise _refused(exc) from exc
            return ChargeStarted(ref=str(failed["id"]), status="processing")
        except UNAVAILABLE as exc:
            raise _unavailable(exc) from exc
        except stripe_lib.StripeError as exc:
            raise _refused(exc) from exc
        return _status(intent)

    def client_secret(self, *, payment: Payment) -> str:
        """The PaymentIntent's `client_secret`, read from Stripe (GET
        /v1/payment_intents/<id>), while the intent waits for the payer: the page gives it
        to Stripe.js (`elements({clientSecret})`, `confirmPayment`). Not stored, never
        logged; only the payer's own purchase answer carries it."""
        if not payment.provider_ref:
            return ""
        try:
            intent = _plain(client().v1.payment_intents.retrieve(payment.provider_ref))
        except UNAVAILABLE as exc:
            raise _unavailable(exc) from exc
        except stripe_lib.StripeError as exc:
            raise _refused(exc) from exc
        if intent.get("status") not in ("requires_payment_method", "requires_confirmation",
                                        "requires_action"):
            return ""
        return str(intent.get("client_secret") or "")

    def refund(self, *, payment: Payment, refund: Refund) -> str:
        try:
            made = client().v1.refunds.create(
                params={"payment_intent": payment.provider_ref,
                        "amount": refund.amount_minor,
                        "metadata": {"swipeme_refund_id": str(refund.pk),
                                     "swipeme_payment_id": str(payment.pk),
                                     "reason": refund.reason[:500]}},
                options={"idempotency_key": f"swipeme-refund:{refund.key}"})
        except UNAVAILABLE as exc:
            raise _unavailable(exc) from exc
        except stripe_lib.StripeError as exc:
            raise _refused(exc) from exc
        return str(made.id)

    def create_payout(self, *, payout: ProviderPayout) -> str:
        try:
            made = client().v1.payouts.create(
                params={"amount": payout.amount_minor, "currency": payout.currency.lower(),
                        "metadata": {"swipeme_payout_id": str(payout.pk)}},
                options={"idempotency_key": f"swipeme-payout:{payout.key}",
                         "stripe_account": payout.destination})
        except UNAVAILABLE as exc:
            raise _unavailable(exc) from exc
        except stripe_lib.StripeError as exc:
            raise _refused(exc) from exc
        return str(made.id)

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        data = signing.verified_json(body=body,
                                     signature=signing.header(headers, SIGNATURE_HEADER),
                                     secret=settings.SWIPEME_STRIPE_WEBHOOK_SECRET)
        return signing.to_event(data)
