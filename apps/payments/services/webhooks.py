"""Provider webhooks: verified, deduplicated by the provider's event id, applied to our
rows, and raised to the product layer (`hooks.payment_event` / `hooks.payout_event`).

One transaction per event: the ProviderEvent row (unique per provider and event id), the
Payment / payout row's new state, and whatever the hooks' consumers post to the ledger
commit together or not at all. A second delivery of the same event finds the row and does
nothing; a concurrent one waits on the unique index, then finds it.

Events about a payment we do not know:
- naming one of ours (our id in the metadata) that is not visible yet (its transaction not
  committed yet), or one that has not succeeded when the event needs it to (events out of
  order), while the event is recent: refused with 503 (`retry_later`), nothing recorded, so
  the provider delivers it again later;
- otherwise: recorded as `unknown_object`, answered 200 (a provider retrying for days would
  change nothing), and logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.payments import hooks
from apps.payments.models import Payment, ProviderEvent, ProviderPayout, Refund
from apps.payments.providers import get_provider
from apps.payments.providers.base import WebhookEvent

logger = logging.getLogger(__name__)

Row = TypeVar("Row", Payment, ProviderPayout)
RETRY_WINDOW_SECONDS = 3600  # after this, an event about something unknown is let go
Outcome = ProviderEvent.Outcome


class RetryLaterError(ApplicationError):
    status_code = 503
    code = "retry_later"


def receive_webhook(*, provider: str, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
    """Verify and apply one webhook request (the route and the local provider's delivery
    both call this). Raises WebhookRefusedError (400) for anything forged, stale or
    malformed, RetryLaterError (503) to be delivered again later."""
    event = get_provider(provider).parse_webhook(body=body, headers=headers)
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = ProviderEvent.objects.create(
                    provider=provider, event_id=event.event_id[:255], type=event.type[:64],
                    object_ref=event.object_ref[:255], payload=dict(event.payload),
                    outcome=Outcome.IGNORED)
        except IntegrityError:  # delivered before: processed once, never again
            logger.info("payments webhook %s %s already processed", provider, event.event_id)
            return ProviderEvent.objects.get(provider=provider, event_id=event.event_id[:255])
        outcome, detail = _apply(provider, event)
        row.outcome, row.detail = outcome, detail[:255]
        row.save(update_fields=["outcome", "detail"])
    return row


def _recent(event: WebhookEvent) -> bool:
    created = event.payload.get("created")
    return type(created) is int and created > time.time() - RETRY_WINDOW_SECONDS


def _locked_row(rows: QuerySet[Row], provider: str, event: WebhookEvent) -> Row | None:
    """The payment or payout the event is about, row-locked for the event's transaction."""
    if not event.object_ref:
        return None
    return rows.select_for_update().filter(provider=provider,
                                           provider_ref=event.object_ref).first()


def _unknown(what: str, provider: str, event: WebhookEvent) -> tuple[str, str]:
    if event.our_id is not None and _recent(event):
        raise RetryLaterError(f"This {what} is not known yet; deliver the event again.")
    logger.warning("payments webhook %s %s names an unknown %s %r", provider,
                   event.event_id, what, event.object_ref)
    return Outcome.UNKNOWN_OBJECT, f"no {what} {event.object_ref!r}"


def _apply(provider: str, event: WebhookEvent) -> tuple[str, str]:
    if not event.action:
        return Outcome.IGNORED, "a type we do not act on"
    if event.action.startswith("payout_"):
        return _apply_payout(provider, event)
    if event.action == "refund_failed":
        # Our refund request failed at the provider (no payment changed): mark it, so
        # what is left to refund counts it out again. Nothing is raised to the hooks.
        failed = Refund.objects.filter(payment__provider=provider, provider_ref=event.object_ref,
                                       status=Refund.Status.PENDING).update(
            status=Refund.Status.FAILED)
        return (Outcome.PROCESSED, "refund failed") if failed else (
            Outcome.IGNORED, "no pending refund of that id")
    payment = _locked_row(Payment.objects.all(), provider, event)
    if payment is None:
        return _unknown("payment", provider, event)
    if event.action == "payment_succeeded":
        return _succeeded(payment, event)
    if event.action == "payment_failed":
        if payment.status not in (Payment.Status.REQUIRES_ACTION, Payment.Status.PROCESSING):
            return Outcome.IGNORED, f"payment already {payment.status}"
        payment.status = Payment.Status.FAILED
        payment.failure_reason = (event.reason or "The payment did not go through.")[:255]
        payment.next_action_url = ""
        payment.save(update_fields=["status", "failure_reason", "next_action_url",
                                    "updated_at"])
        _emit(payment, event, "failed", reason=payment.failure_reason)
        return Outcome.PROCESSED, "failed"
    if payment.status != Payment.Status.SUCCEEDED:  # refunds and disputes need a payment
        if _recent(event):
            raise RetryLaterError("The payment has not gone through here yet; deliver the "
                                  "event again.")
        return Outcome.IGNORED, f"payment {payment.status}, not succeeded"
    if event.action == "payment_refunded":
        return _refunded(payment, event)
    return _disputed(payment, event)


def _succeeded(payment: Payment, event: WebhookEvent) -> tuple[str, str]:
    if payment.status == Payment.Status.SUCCEEDED:
        return Outcome.IGNORED, "already succeeded"
    if event.amount_minor != payment.amount_minor:
        logger.error("payments webhook %s: amount %s differs from payment %s's %s",
                     event.event_id, event.amount_minor, payment.pk, payment.amount_minor)
        return Outcome.IGNORED, "amount differs from the payment's"
    payment.status = Payment.Status.SUCCEEDED
    payment.succeeded_at = timezone.now()
    payment.failure_reason = payment.next_action_url = ""
    payment.save(update_fields=["status", "succeeded_at", "failure_reason", "next_action_url",
                                "updated_at"])
    _emit(payment, event, "succeeded")
    return Outcome.PROCESSED, "succeeded"


def _refunded(payment: Payment, event: WebhookEvent) -> tuple[str, str]:
    total = event.amount_minor
    if total is None or total > payment.amount_minor:
        return Outcome.IGNORED, "refunded amount missing or above the payment's"
    increment = total - payment.amount_refunded_minor
    if increment <= 0:
        return Outcome.IGNORED, "nothing newly refunded"
    payment.amount_refunded_minor = total
    payment.save(update_fields=["amount_refunded_minor", "updated_at"])
    refund_ref = _refund_ref(event.payload)
    if refund_ref:
        updated = Refund.objects.filter(payment=payment, provider_ref=refund_ref).update(
            status=Refund.Status.SUCCEEDED)
        if not updated:  # a refund made on the provider's side (its dashboard)
            Refund.objects.get_or_create(
                key=f"provider:{payment.provider}:{refund_ref}"[:128],
                defaults={"payment": payment, "provider_ref": refund_ref,
                          "amount_minor": increment, "reason": event.reason[:255],
                          "status": Refund.Status.SUCCEEDED})
    else:  # the charge does not list its refunds (newer API versions): oldest first
        left = increment
        for refund in payment.refunds.filter(status=Refund.Status.PENDING).order_by("id"):
            if refund.amount_minor > left:
                break
            left -= refund.amount_minor
            Refund.objects.filter(pk=refund.pk).update(status=Refund.Status.SUCCEEDED)
    _emit(payment, event, "refunded", amount=total, refund_amount=increment)
    return Outcome.PROCESSED, f"refunded {increment}"


def _refund_ref(payload: Mapping[str, Any]) -> str:
    obj = payload.get("data", {}).get("object", {})
    refunds = obj.get("refunds") if isinstance(obj, dict) else None
    items = refunds.get("data") if isinstance(refunds, dict) else None
    if isinstance(items, list) and items and isinstance(items[0], dict):
        ref = items[0].get("id")
        return ref if isinstance(ref, str) else ""
    return ""


def _disputed(payment: Payment, event: WebhookEvent) -> tuple[str, str]:
    status = {"dispute_opened": Payment.DisputeStatus.OPEN,
              "dispute_won": Payment.DisputeStatus.WON,
              "dispute_lost": Payment.DisputeStatus.LOST}[event.action]
    if payment.dispute_status in (Payment.DisputeStatus.WON, Payment.DisputeStatus.LOST) or (
            status == Payment.DisputeStatus.OPEN
            and payment.dispute_status == Payment.DisputeStatus.OPEN):
        return Outcome.IGNORED, f"dispute already {payment.dispute_status}"
    if status != Payment.DisputeStatus.OPEN and not payment.dispute_status:
        # A dispute closed before we heard it open (out of order): its consumers would undo
        # a clawback that never happened. Wait for the opening; long after, let it go.
        if _recent(event):
            raise RetryLaterError("This dispute has not been opened here yet; deliver the "
                                  "event again.")
        logger.error("payments webhook %s closes a dispute never opened on payment %s",
                     event.event_id, payment.pk)
        return Outcome.IGNORED, "closes a dispute never opened here"
    payment.dispute_status = status
    payment.save(update_fields=["dispute_status", "updated_at"])
    kind = {"dispute_opened": "disputed", "dispute_won": "dispute_won",
            "dispute_lost": "dispute_lost"}[event.action]
    _emit(payment, event, kind,  # type: ignore[arg-type]
          amount=min(event.amount_minor or payment.amount_minor, payment.amount_minor),
          reason=event.reason)
    return Outcome.PROCESSED, kind


def _emit(payment: Payment, event: WebhookEvent, kind: hooks.PaymentEventKind, *,
          amount: int = 0, refund_amount: int = 0, reason: str = "") -> None:
    hooks.emit_payment_event(hooks.PaymentEvent(
        kind=kind, payment_id=payment.pk, user_id=payment.user_id, purpose=payment.purpose,
        amount_minor=payment.amount_minor, currency=payment.currency,
        amount_refunded_minor=amount, reason=reason or event.reason,
        refund_amount_minor=refund_amount, provider_event_id=event.event_id))


def _apply_payout(provider: str, event: WebhookEvent) -> tuple[str, str]:
    payout = _locked_row(ProviderPayout.objects.all(), provider, event)
    if payout is None:
        return _unknown("payout", provider, event)
    if payout.status != ProviderPayout.Status.PENDING:
        return Outcome.IGNORED, f"payout already {payout.status}"
    paid = event.action == "payout_paid"
    payout.status = ProviderPayout.Status.PAID if paid else ProviderPayout.Status.FAILED
    payout.failure_reason = "" if paid else (event.reason or "The payout failed.")[:255]
    payout.save(update_fields=["status", "failure_reason", "updated_at"])
    hooks.emit_payout_event(hooks.PayoutEvent(
        kind="paid" if paid else "failed", payout_id=payout.pk, user_id=payout.user_id,
        purpose=payout.purpose, amount_minor=payout.amount_minor, currency=payout.currency,
        reason=payout.failure_reason, provider_event_id=event.event_id))
    return Outcome.PROCESSED, payout.status
