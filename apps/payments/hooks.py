"""The upward events payments raises (docs/architecture.md, "Payments and monetization").

Payments is a base layer: it knows nothing of coins, subscriptions or creators. The product
layer (apps.monetization) registers its functions in `AppConfig.ready()`. Each registered
function runs INSIDE the transaction that marks the provider's webhook event processed,
once per provider event (deduplicated by the provider's event id), so a consumer's ledger
posting commits together with the "processed" mark, or neither does (and the provider's
retry brings the event again). A consumer that raises rolls the event back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from apps.core.hooks import Hook

PaymentEventKind = Literal["succeeded", "failed", "refunded", "disputed", "dispute_won",
                           "dispute_lost"]
PayoutEventKind = Literal["paid", "failed"]


@dataclass(frozen=True)
class PaymentEvent:
    kind: PaymentEventKind
    payment_id: int
    user_id: int
    purpose: str  # the caller's opaque string given to start_payment
    amount_minor: int  # the payment's whole amount
    currency: str
    # refunded: the total refunded so far (this refund included); disputed / dispute_*:
    # the disputed amount. 0 otherwise.
    amount_refunded_minor: int
    reason: str  # failed: why, in words for the payer; refunded / disputed: the reason given
    # refunded: this refund's amount (the increment over the previous total).
    refund_amount_minor: int = 0
    provider_event_id: str = ""


@dataclass(frozen=True)
class PayoutEvent:
    kind: PayoutEventKind
    payout_id: int
    user_id: int
    purpose: str
    amount_minor: int
    currency: str
    reason: str  # failed: why, in words
    provider_event_id: str = ""


class PaymentEventFn(Protocol):
    def __call__(self, *, event: PaymentEvent) -> None: ...


class PayoutEventFn(Protocol):
    def __call__(self, *, event: PayoutEvent) -> None: ...


payment_event: Hook[PaymentEventFn] = Hook("payments.payment_event")
payout_event: Hook[PayoutEventFn] = Hook("payments.payout_event")


def emit_payment_event(event: PaymentEvent) -> None:
    for fn in payment_event:
        fn(event=event)


def emit_payout_event(event: PayoutEvent) -> None:
    for fn in payout_event:
        fn(event=event)
