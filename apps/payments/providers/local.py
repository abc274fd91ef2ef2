"""The local test provider: Stripe's contract without Stripe, for `make run` and the tests.

It keeps its own side (`LocalProviderObject`: charges, refunds, payouts) and tells us what
happened only by webhook, as Stripe does: each event is a `LocalProviderEvent` in Stripe's
event shape, signed with Stripe's scheme (the official library's `WebhookSignature`) and
delivered after the commit by a Celery task (`payments.deliver_local_events`) to the same
verification and processing code the HTTP route `/api/v1/payments/webhooks/local` runs; an
event whose delivery failed is delivered again by beat (`payments.redeliver_local_events`).

Test cards (payment-method tokens; README and the coins page list them):
- `pm_card_ok`: succeeds (asynchronously, by webhook);
- `pm_card_declined`: declined (a failed webhook: "Your card was declined.");
- `pm_card_3ds`: needs the payer's approval on a 3-D Secure-like page (`next_action_url`,
  /payments/local/approve/<ref>/); approve → succeeds, refuse → fails. Off-session (a
  subscription renewal) it fails: "This payment needs your approval...";
- `pm_card_dispute`: succeeds, then a dispute arrives (`charge.dispute.created`).
No payment method = the approval page too. Payout destinations: anything succeeds except
`bank_fail` (a failed payout: "The bank account was closed.").
Staff raise refunds and disputes in the admin (Payments) or with
`manage.py local_payments refund|dispute|close-dispute <payment id>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from apps.core.outbox import enqueue_on_commit
from apps.payments.models import (
    LocalProviderEvent,
    LocalProviderObject,
    Payment,
    ProviderPayout,
    Refund,
)
from apps.payments.providers import signing
from apps.payments.providers.base import ChargeStarted, PaymentRefusedError, WebhookEvent

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "SwipeMe-Local-Signature"
TEST_CARDS: dict[str, str] = {
    "pm_card_ok": "Succeeds (confirmed by webhook a moment later).",
    "pm_card_declined": "Declined by the bank.",
    "pm_card_3ds": "Asks you to approve the payment on a 3-D Secure-like page.",
    "pm_card_dispute": "Succeeds, then the payer disputes it (a chargeback).",
}
FAILING_DESTINATION = "bank_fail"
DECLINED = "Your card was declined."
NEEDS_APPROVAL = ("This payment needs your approval and could not be made while you were "
                  "away. Pay again with a card that does not ask for approval.")
REFUSED_AT_APPROVAL = "You refused the payment on your bank's approval page."
PAYOUT_FAILED = "The bank account was closed."


def webhook_secret() -> str:
    """The local provider's signing secret: from the environment when set, else derived
    from SECRET_KEY (so it differs per deployment and is never a constant in the code)."""
    configured: str = settings.SWIPEME_LOCAL_PAYMENTS_WEBHOOK_SECRET
    if configured:
        return configured
    return "whsec_local_" + hmac.new(settings.SECRET_KEY.encode(), b"local-payments-webhook",
                                     hashlib.sha256).hexdigest()


def approval_path(obj: LocalProviderObject) -> str:
    return f"/payments/local/approve/{obj.ref}/?token={obj.approval_token}"


def _ref(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _intent(charge: LocalProviderObject, *, status: str, error: str = "") -> dict[str, Any]:
    return {"id": charge.ref, "object": "payment_intent", "amount": charge.amount_minor,
            "currency": charge.currency.lower(), "status": status,
            "metadata": dict(charge.metadata),
            "last_payment_error": {"message": error, "code": "card_declined"} if error else None}


def _emit(event_type: str, obj: Mapping[str, Any]) -> LocalProviderEvent:
    event_id = _ref("evt_local")
    event = LocalProviderEvent.objects.create(event_id=event_id, body={
        "id": event_id, "object": "event", "type": event_type, "created": int(time.time()),
        "livemode": False, "data": {"object": dict(obj)}})
    from apps.payments.providers.tasks import deliver_local_events

    enqueue_on_commit(deliver_local_events, [event.pk])
    return event


class LocalProvider:
    name = "local"
    confirms_in_browser = False  # its approval page is for 3-D Secure-like test cards

    def create_payment(self, *, payment: Payment) -> ChargeStarted:
        method = payment.payment_method
        if method and method not in TEST_CARDS:
            raise PaymentRefusedError(
                "This is not one of the local provider's test cards.",
                fields={"payment_method": [f"Use one of: {', '.join(TEST_CARDS)}."]})
        charge, created = LocalProviderObject.objects.get_or_create(
            idempotency_key=f"charge:{payment.key}",
            defaults={"kind": LocalProviderObject.Kind.CHARGE, "ref": _ref("lpi"),
                      "amount_minor": payment.amount_minor, "currency": payment.currency,
                      "payment_method": method, "status": "processing",
                      "metadata": {"swipeme_payment_id": str(payment.pk)}})
        if not created:  # the same key again: the same charge, nothing new happens
            return ChargeStarted(ref=charge.ref, status="requires_action"
                                 if charge.status == "requires_action" else "processing",
                                 next_action_url=approval_path(charge)
                                 if charge.status == "requires_action" else "")
        if method in ("", "pm_card_3ds") and not payment.off_session:
            charge.status = "requires_action"
            charge.approval_token = secrets.token_urlsafe(24)
            charge.save(update_fields=["status", "approval_token"])
            return ChargeStarted(ref=charge.ref, status="requires_action",
                                 next_action_url=approval_path(charge))
        if method in ("", "pm_card_3ds"):
            self._fail(charge, NEEDS_APPROVAL)
        elif method == "pm_card_declined":
            self._fail(charge, DECLINED)
        else:
            self._succeed(charge)
        return ChargeStarted(ref=charge.ref, status="processing")

    def client_secret(self, *, payment: Payment) -> str:
        return ""  # the payer approves on our own approval page (next_action_url)

    def _fail(self, charge: LocalProviderObject, reason: str) -> None:
        charge.status = "failed"
        charge.save(update_fields=["status"])
        _emit("payment_intent.payment_failed",
              _intent(charge, status="requires_payment_method", error=reason))

    def _succeed(self, charge: LocalProviderObject) -> None:
        charge.status = "succeeded"
        charge.save(update_fields=["status"])
        _emit("payment_intent.succeeded", _intent(charge, status="succeeded"))
        if charge.payment_method == "pm_card_dispute":
            self.open_dispute(charge.ref, reason="fraudulent")

    def answer_approval(self, *, ref: str, token: str, approve: bool) -> LocalProviderObject:
        """The payer's answer on the approval page. A wrong token or a charge no longer
        waiting changes nothing."""
        with transaction.atomic():
            charge = (LocalProviderObject.objects.select_for_update()
                      .filter(ref=ref, kind=LocalProviderObject.Kind.CHARGE).first())
            if charge is None or not charge.approval_token or not hmac.compare_digest(
                    charge.approval_token, token):
                raise PaymentRefusedError("This approval link is not valid.",
                                          code="not_found", status_code=404)
            if charge.status == "requires_action":
                if approve:
                    self._succeed(charge)
                else:
                    self._fail(charge, REFUSED_AT_APPROVAL)
            return charge

    def _charge(self, ref: str, *, lock: bool = False) -> LocalProviderObject:
        rows = LocalProviderObject.objects.filter(ref=ref, kind=LocalProviderObject.Kind.CHARGE)
        charge = (rows.select_for_update() if lock else rows).first()
        if charge is None:
            raise PaymentRefusedError("The local provider has no such charge.",
                                      code="not_found", status_code=404)
        return charge

    def refund(self, *, payment: Payment, refund: Refund) -> str:
        with transaction.atomic():
            charge = self._charge(payment.provider_ref, lock=True)
            existing = LocalProviderObject.objects.filter(
                idempotency_key=f"refund:{refund.key}").first()
            if existing is not None:
                return existing.ref
            if charge.status != "succeeded":
                raise PaymentRefusedError("Only a payment that went through can be refunded.",
                                          code="not_refundable", status_code=409)
            before = LocalProviderObject.objects.filter(
                kind=LocalProviderObject.Kind.REFUND, parent_ref=charge.ref).aggregate(
                total=Sum("amount_minor"))["total"] or 0
            if before + refund.amount_minor > charge.amount_minor:
                raise PaymentRefusedError("That is more than is left to refund.",
                                          code="refund_too_large", status_code=409)
            obj = LocalProviderObject.objects.create(
                kind=LocalProviderObject.Kind.REFUND, ref=_ref("lre"),
                idempotency_key=f"refund:{refund.key}", parent_ref=charge.ref,
                amount_minor=refund.amount_minor, currency=charge.currency, status="succeeded",
                metadata={**charge.metadata, "reason": refund.reason})
            _emit("charge.refunded", {
                "id": "ch_" + charge.ref, "object": "charge", "payment_intent": charge.ref,
                "amount": charge.amount_minor, "amount_refunded": before + refund.amount_minor,
                "currency": charge.currency.lower(), "metadata": dict(charge.metadata),
                "refunds": {"object": "list", "data": [{
                    "id": obj.ref, "object": "refund", "amount": refund.amount_minor,
                    "reason": "requested_by_customer",
                    "metadata": {"reason": refund.reason}}]}})
            return obj.ref

    def open_dispute(self, ref: str, *, reason: str = "fraudulent") -> None:
        """Called inside a transaction (services.payments.local_open_dispute, or the
        charge's own creation): the lock makes two clicks one dispute."""
        charge = self._charge(ref, lock=True)
        if charge.status != "succeeded" or charge.metadata.get("dispute"):
            raise PaymentRefusedError("Only a paid, undisputed charge can be disputed.",
                                      code="not_disputable", status_code=409)
        charge.metadata = {**charge.metadata, "dispute": "needs_response"}
        charge.save(update_fields=["metadata"])
        _emit("charge.dispute.created", self._dispute(charge, "needs_response", reason))

    def close_dispute(self, ref: str, *, won: bool) -> None:
        charge = self._charge(ref, lock=True)
        if charge.metadata.get("dispute") != "needs_response":
            raise PaymentRefusedError("This charge has no open dispute.",
                                      code="no_open_dispute", status_code=409)
        status = "won" if won else "lost"
        charge.metadata = {**charge.metadata, "dispute": status}
        charge.save(update_fields=["metadata"])
        _emit("charge.dispute.closed", self._dispute(charge, status, "fraudulent"))

    @staticmethod
    def _dispute(charge: LocalProviderObject, status: str, reason: str) -> dict[str, Any]:
        return {"id": "ldp_" + charge.ref, "object": "dispute", "payment_intent": charge.ref,
                "amount": charge.amount_minor, "currency": charge.currency.lower(),
                "reason": reason, "status": status,
                "metadata": {k: v for k, v in charge.metadata.items() if k != "dispute"}}

    def create_payout(self, *, payout: ProviderPayout) -> str:
        obj, created = LocalProviderObject.objects.get_or_create(
            idempotency_key=f"payout:{payout.key}",
            defaults={"kind": LocalProviderObject.Kind.PAYOUT, "ref": _ref("lpo"),
                      "amount_minor": payout.amount_minor, "currency": payout.currency,
                      "status": "pending",
                      "metadata": {"swipeme_payout_id": str(payout.pk)}})
        if created:
            failed = payout.destination == FAILING_DESTINATION
            obj.status = "failed" if failed else "paid"
            obj.save(update_fields=["status"])
            _emit("payout.failed" if failed else "payout.paid", {
                "id": obj.ref, "object": "payout", "amount": obj.amount_minor,
                "currency": obj.currency.lower(), "status": obj.status,
                "failure_message": PAYOUT_FAILED if failed else None,
                "metadata": dict(obj.metadata)})
        return obj.ref

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        data = signing.verified_json(body=body,
                                     signature=signing.header(headers, SIGNATURE_HEADER),
                                     secret=webhook_secret())
        return signing.to_event(data)


def _about(body: Mapping[str, Any]) -> str:
    """The charge or payout an event is about: its events are delivered in order."""
    obj = body.get("data", {}).get("object", {})
    return str(obj.get("payment_intent") or obj.get("id") or "")


def deliver(event_ids: list[int] | None = None) -> int:
    """Deliver undelivered events, oldest first, through the webhook processing the HTTP
    route runs: all of them, or those up to the newest of `event_ids` (so an event never
    overtakes an earlier one about the same charge, even when two tasks run at once; a
    duplicate delivery is processed once). An event refused or failed is retried later
    (beat), and the later events about the same charge wait for it; others go on.
    Returns how many were delivered."""
    from apps.payments.services.webhooks import receive_webhook

    rows = LocalProviderEvent.objects.filter(delivered_at__isnull=True).order_by("id")
    if event_ids is not None:
        if not event_ids:
            return 0
        rows = rows.filter(pk__lte=max(event_ids))
    delivered = 0
    waiting: set[str] = set()
    for event in rows:
        about = _about(event.body)
        if about in waiting:
            continue
        body = json.dumps(event.body, separators=(",", ":"))
        headers = {SIGNATURE_HEADER: signing.sign(body, webhook_secret())}
        try:
            receive_webhook(provider="local", body=body.encode(), headers=headers)
        except Exception:
            logger.warning("local payments event %s not delivered; retried later",
                           event.event_id, exc_info=True)
            LocalProviderEvent.objects.filter(pk=event.pk).update(attempts=event.attempts + 1)
            waiting.add(about)
            continue
        LocalProviderEvent.objects.filter(pk=event.pk).update(
            delivered_at=timezone.now(), attempts=event.attempts + 1)
        delivered += 1
    return delivered
