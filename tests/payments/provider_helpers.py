"""Shared by the provider and webhook tests: a recorder of the hooks payments raises, and
signed webhook requests in Stripe's scheme (made with the official library's signer)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from rest_framework.test import APIClient

from apps.payments import hooks
from apps.payments.providers import local


class HookEvents:
    def __init__(self) -> None:
        self.payments: list[hooks.PaymentEvent] = []
        self.payouts: list[hooks.PayoutEvent] = []

    def on_payment(self, *, event: hooks.PaymentEvent) -> None:
        self.payments.append(event)

    def on_payout(self, *, event: hooks.PayoutEvent) -> None:
        self.payouts.append(event)

    def kinds(self, payment_id: int) -> list[str]:
        return [e.kind for e in self.payments if e.payment_id == payment_id]


@pytest.fixture(name="hook_events")
def hook_events_fixture() -> Iterator[HookEvents]:
    events = HookEvents()
    hooks.payment_event.register(events.on_payment)
    hooks.payout_event.register(events.on_payout)
    yield events
    hooks.payment_event.remove(events.on_payment)
    hooks.payout_event.remove(events.on_payout)


def event_body(event_type: str, obj: dict[str, Any], *, event_id: str,
               created: int | None = None) -> str:
    return json.dumps({"id": event_id, "object": "event", "type": event_type,
                       "created": created if created is not None else int(time.time()),
                       "livemode": False, "data": {"object": obj}})


def post_signed(client: APIClient, provider: str, body: str | bytes, *, secret: str,
                timestamp: int | None = None, header: str | None = None) -> Any:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    signature = stripe.WebhookSignature.generate_signature_header(text, secret, timestamp)
    name = header or ("Stripe-Signature" if provider == "stripe"
                      else local.SIGNATURE_HEADER)
    meta_name = "HTTP_" + name.upper().replace("-", "_")
    return client.generic("POST", f"/api/v1/payments/webhooks/{provider}", text,
                          content_type="application/json", **{meta_name: signature})
