"""Webhook signatures in Stripe's scheme (`t=<unix time>,v1=<HMAC-SHA256 of "t.body">`),
checked with the official library's own `WebhookSignature`, for both providers: the
local provider signs its events exactly as Stripe does, with its own secret."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import stripe

from apps.payments.providers.base import EventAction, WebhookEvent, WebhookRefusedError

TOLERANCE_SECONDS = 300  # the library's default: an older signature is a replay
FUTURE_SKEW_SECONDS = 60  # a timestamp from the future is as suspect as an old one


def header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


def sign(body: str, secret: str, timestamp: int | None = None) -> str:
    return str(stripe.WebhookSignature.generate_signature_header(body, secret, timestamp))


def verified_json(*, body: bytes, signature: str, secret: str) -> dict[str, Any]:
    """The event's JSON if `signature` is valid for `body`, fresh, and the body a JSON
    object with an id and a type; WebhookRefusedError (in words) otherwise."""
    if not secret:
        raise WebhookRefusedError("Webhooks from this provider are not configured.",
                                  code="webhook_not_configured", status_code=404)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRefusedError("The webhook body is not UTF-8 text.") from None
    if not signature:
        raise WebhookRefusedError("The webhook carries no signature.",
                                  code="webhook_signature_missing")
    try:
        stripe.WebhookSignature.verify_header(text, signature, secret, TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        stale = "tolerance" in str(exc)
        raise WebhookRefusedError(
            "The webhook's signature is too old (a replay?)." if stale
            else "The webhook's signature does not match.",
            code="webhook_stale" if stale else "webhook_signature_invalid") from None
    timestamp = int(signature.split("t=", 1)[1].split(",", 1)[0])
    if timestamp > time.time() + FUTURE_SKEW_SECONDS:
        raise WebhookRefusedError("The webhook's signature is dated in the future.",
                                  code="webhook_stale")
    try:
        data = json.loads(text)
    except ValueError:
        raise WebhookRefusedError("The webhook body is not JSON.",
                                  code="webhook_malformed") from None
    if (not isinstance(data, dict) or not isinstance(data.get("id"), str)
            or not isinstance(data.get("type"), str) or not data["id"]
            or not isinstance(data.get("data"), dict)
            or not isinstance(data["data"].get("object"), dict)):
        raise WebhookRefusedError("The webhook body is not an event (id, type, data.object).",
                                  code="webhook_malformed")
    return data


def _our_id(obj: Mapping[str, Any], name: str) -> int | None:
    metadata = obj.get("metadata")
    raw = metadata.get(name) if isinstance(metadata, dict) else None
    return int(raw) if isinstance(raw, str) and raw.isdigit() else None


def _amount(obj: Mapping[str, Any], name: str) -> int | None:
    value = obj.get(name)
    return value if type(value) is int and value >= 0 else None


def to_event(data: Mapping[str, Any]) -> WebhookEvent:
    """A verified event in Stripe's shape (both providers send it) → what it means to us.
    Types we do not act on keep action "" (recorded and ignored)."""
    obj: Mapping[str, Any] = data["data"]["object"]
    kind = data["type"]
    raw_ref = obj.get("id")
    ref = raw_ref if isinstance(raw_ref, str) else ""
    common: dict[str, Any] = {"event_id": data["id"], "type": kind, "payload": dict(data)}
    if kind in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        error = obj.get("last_payment_error")
        message = error.get("message") if isinstance(error, dict) else None
        return WebhookEvent(
            **common, object_ref=ref, our_id=_our_id(obj, "swipeme_payment_id"),
            action="payment_succeeded" if kind.endswith("succeeded") else "payment_failed",
            amount_minor=_amount(obj, "amount"),
            reason=message if isinstance(message, str) else "")
    if kind == "charge.refunded":
        intent = obj.get("payment_intent")
        return WebhookEvent(
            **common, object_ref=intent if isinstance(intent, str) else "",
            our_id=_our_id(obj, "swipeme_payment_id"), action="payment_refunded",
            amount_minor=_amount(obj, "amount_refunded"),
            reason=_refund_reason(obj))
    if kind in ("charge.dispute.created", "charge.dispute.closed"):
        intent = obj.get("payment_intent")
        status = obj.get("status")
        action: EventAction = ("dispute_opened" if kind.endswith("created")
                               else "dispute_won" if status == "won"
                               else "dispute_lost" if status == "lost" else "")
        reason = obj.get("reason")
        return WebhookEvent(
            **common, object_ref=intent if isinstance(intent, str) else "",
            our_id=_our_id(obj, "swipeme_payment_id"), action=action,
            amount_minor=_amount(obj, "amount"),
            reason=reason if isinstance(reason, str) else "")
    if kind == "refund.failed":  # the money did not go back: nothing was refunded
        reason = obj.get("failure_reason")
        return WebhookEvent(**common, object_ref=ref, action="refund_failed",
                            amount_minor=_amount(obj, "amount"),
                            reason=reason if isinstance(reason, str) else "")
    if kind in ("payout.paid", "payout.failed"):
        message = obj.get("failure_message")
        return WebhookEvent(
            **common, object_ref=ref, our_id=_our_id(obj, "swipeme_payout_id"),
            action="payout_paid" if kind.endswith("paid") else "payout_failed",
            amount_minor=_amount(obj, "amount"),
            reason=message if isinstance(message, str) else "")
    return WebhookEvent(**common, object_ref=ref, action="")


def _refund_reason(charge: Mapping[str, Any]) -> str:
    refunds = charge.get("refunds")
    items = refunds.get("data") if isinstance(refunds, dict) else None
    if isinstance(items, list) and items and isinstance(items[0], dict):
        reason = items[0].get("reason")
        metadata = items[0].get("metadata")
        said = metadata.get("reason") if isinstance(metadata, dict) else None
        for text in (said, reason):
            if isinstance(text, str) and text:
                return text
    return ""
