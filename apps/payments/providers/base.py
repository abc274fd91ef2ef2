"""The contract every payment provider adapter keeps.

An adapter only talks to its provider: it starts charges, refunds and payouts, and turns a
webhook request into a verified, provider-neutral `WebhookEvent` (or refuses it). It never
changes our rows' statuses: `services.webhooks` does that, from verified events only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from apps.core.errors import ApplicationError
from apps.payments.models import Payment, ProviderPayout, Refund

# What a verified event means to us; "" = a type we do not act on (recorded, ignored).
EventAction = Literal["", "payment_succeeded", "payment_failed", "payment_refunded",
                      "dispute_opened", "dispute_won", "dispute_lost", "payout_paid",
                      "payout_failed", "refund_failed"]


class WebhookRefusedError(ApplicationError):
    """A webhook we do not accept: bad or missing signature, stale timestamp, malformed
    body. 400 in the error shape; nothing is recorded."""

    code = "webhook_refused"


class ProviderUnavailableError(ApplicationError):
    """The provider could not be reached or failed; nothing was charged (the caller may
    retry with the same idempotency key)."""

    status_code = 503
    code = "provider_unavailable"


class PaymentRefusedError(ApplicationError):
    """The provider refused the request itself (not a card decline, which arrives by
    webhook): unknown test card, invalid parameters."""

    code = "payment_refused"


@dataclass(frozen=True)
class ChargeStarted:
    ref: str  # the provider's id of the charge (pi_..., lp_...)
    status: Literal["requires_action", "processing"]
    next_action_url: str = ""


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str
    type: str  # the provider's own event type
    action: EventAction
    object_ref: str  # the provider's id of the payment intent / payout it is about
    # Our own id, when the provider echoes the metadata we gave it: tells an event for a
    # payment we have not committed yet (retry later) from one that is not ours at all.
    our_id: int | None = None
    amount_minor: int | None = None  # refunded: cumulative refunded; disputes: disputed
    reason: str = ""
    payload: Mapping[str, Any] = field(default_factory=dict)


class PaymentProvider(Protocol):
    name: str
    # The payer may start a payment without a payment method and confirm it in the browser
    # with the provider's own script (Stripe.js and `client_secret`).
    confirms_in_browser: bool

    def create_payment(self, *, payment: Payment) -> ChargeStarted:
        """Start charging `payment` (already saved, with its key). Idempotent by
        `payment.key`. Raises PaymentRefusedError / ProviderUnavailableError."""
        ...

    def client_secret(self, *, payment: Payment) -> str:
        """The secret the payer's browser confirms `payment` with, through the provider's
        own script (Stripe.js's client_secret), while it waits for the payer; "" when the
        provider has no such script or the payment no longer waits. Never logged."""
        ...

    def refund(self, *, payment: Payment, refund: Refund) -> str:
        """Ask for `refund` (saved, pending) of `payment`; the provider's refund id."""
        ...

    def create_payout(self, *, payout: ProviderPayout) -> str:
        """Send `payout` (saved, pending); the provider's payout id."""
        ...

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify the request's signature (and freshness) and read the event; raises
        WebhookRefusedError for anything forged, stale or malformed."""
        ...
