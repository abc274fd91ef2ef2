"""The Stripe adapter, with the official library, against a local HTTP server answering in
Stripe's format (PaymentIntents, Refunds, Payouts; card errors; outages), and its webhooks
signed with the library's own scheme (`stripe.WebhookSignature`)."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
from rest_framework.test import APIClient

from apps.core.errors import ApplicationError
from apps.payments.models import Payment, ProviderPayout, Refund
from apps.payments.services import payments
from tests.factories import UserFactory
from tests.payments.provider_helpers import (  # noqa: F401
    HookEvents,
    event_body,
    hook_events_fixture,
    post_signed,
)

pytestmark = pytest.mark.django_db(transaction=True)
WEBHOOK_SECRET = "whsec_test_" + secrets.token_hex(8)


class FakeStripe(BaseHTTPRequestHandler):
    """Answers like api.stripe.com for what the adapter calls; remembers every request and,
    like Stripe, answers a repeated Idempotency-Key with the first answer."""

    requests: list[dict[str, Any]] = []
    answered: dict[str, tuple[int, dict[str, Any]]] = {}

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        params = dict(parse_qsl(self.rfile.read(length).decode()))
        key = self.headers.get("Idempotency-Key", "")
        self.requests.append({"path": self.path, "params": params,
                              "headers": {k.lower(): v for k, v in self.headers.items()}})
        if key in self.answered:
            status, body = self.answered[key]
        else:
            status, body = self._answer(params)
            self.answered[key] = (status, body)
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("Request-Id", "req_" + secrets.token_hex(6))
        self.end_headers()
        self.wfile.write(raw)

    def _answer(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        metadata = {k[9:-1]: v for k, v in params.items() if k.startswith("metadata[")}
        if self.path == "/v1/payment_intents":
            intent = {"id": "pi_" + secrets.token_hex(8), "object": "payment_intent",
                      "amount": int(params["amount"]), "currency": params["currency"],
                      "metadata": metadata, "status": "succeeded", "next_action": None,
                      "client_secret": "pi_secret"}
            method = params.get("payment_method", "")
            if method == "pm_card_threeDSecure2Required":
                intent.update(status="requires_action", next_action={
                    "type": "redirect_to_url", "redirect_to_url": {
                        "url": "https://hooks.stripe.com/3d_secure_2/hosted?x=1",
                        "return_url": params.get("return_url")}})
            if method == "pm_card_chargeDeclined":
                intent["status"] = "requires_payment_method"
                return 402, {"error": {"type": "card_error", "code": "card_declined",
                                       "decline_code": "generic_decline",
                                       "message": "Your card was declined.",
                                       "payment_intent": intent}}
            if method == "pm_card_outage":
                return 500, {"error": {"type": "api_error", "message": "Something broke."}}
            return 200, intent
        if self.path == "/v1/refunds":
            return 200, {"id": "re_" + secrets.token_hex(8), "object": "refund",
                         "amount": int(params["amount"]), "metadata": metadata,
                         "payment_intent": params["payment_intent"], "status": "succeeded"}
        if self.path == "/v1/payouts":
            return 200, {"id": "po_" + secrets.token_hex(8), "object": "payout",
                         "amount": int(params["amount"]), "currency": params["currency"],
                         "metadata": metadata, "status": "pending"}
        return 404, {"error": {"type": "invalid_request_error",
                               "message": f"Unrecognized request URL ({self.path})."}}


@pytest.fixture(scope="module")
def stripe_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeStripe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def stripe_on(stripe_server: str, settings: Any) -> list[dict[str, Any]]:
    settings.SWIPEME_PAYMENT_PROVIDER = "stripe"
    settings.SWIPEME_STRIPE_SECRET_KEY = "sk_test_h2"
    settings.SWIPEME_STRIPE_API_BASE = stripe_server
    settings.SWIPEME_STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.SWIPEME_STRIPE_MAX_NETWORK_RETRIES = 0
    FakeStripe.requests.clear()
    return FakeStripe.requests


def _webhook(event_type: str, obj: dict[str, Any], **kw: Any) -> Any:
    body = event_body(event_type, obj, event_id="evt_" + secrets.token_hex(8))
    return post_signed(APIClient(), "stripe", body, secret=WEBHOOK_SECRET, **kw)


def _intent(payment: Payment, **extra: Any) -> dict[str, Any]:
    return {"id": payment.provider_ref, "object": "payment_intent",
            "amount": payment.amount_minor, "currency": payment.currency.lower(),
            "metadata": {"swipeme_payment_id": str(payment.pk)}, **extra}


def test_payment_intents_and_their_webhooks(stripe_on: list[dict[str, Any]],
                                            hook_events: HookEvents) -> None:
    user = UserFactory()

    def pay(key: str, method: str, **kw: Any) -> Payment:
        return payments.start_payment(user_id=user.pk, amount_minor=1299, currency="usd",
                                      purpose=f"test:{key}", key=key, payment_method=method,
                                      **kw)

    paid = pay("s-visa", "pm_card_visa")
    # Stripe said "succeeded" at once, but only its webhook settles the payment.
    assert (paid.provider, paid.status) == ("stripe", Payment.Status.PROCESSING)
    assert paid.provider_ref.startswith("pi_")
    sent = stripe_on[-1]
    assert sent["path"] == "/v1/payment_intents"
    assert sent["headers"]["authorization"] == "Bearer sk_test_h2"
    assert sent["headers"]["idempotency-key"] == "swipeme-payment:s-visa"
    assert {k: sent["params"][k] for k in (
        "amount", "currency", "confirm", "payment_method", "metadata[swipeme_payment_id]",
        "automatic_payment_methods[allow_redirects]")} == {
        "amount": "1299", "currency": "usd", "confirm": "true",
        "payment_method": "pm_card_visa", "metadata[swipeme_payment_id]": str(paid.pk),
        "automatic_payment_methods[allow_redirects]": "never"}
    assert pay("s-visa", "pm_card_visa").pk == paid.pk
    assert len(stripe_on) == 1  # the same key again asks Stripe nothing

    assert _webhook("payment_intent.succeeded",
                    _intent(paid, status="succeeded")).json()["outcome"] == "processed"
    assert Payment.objects.get(pk=paid.pk).status == Payment.Status.SUCCEEDED
    assert hook_events.kinds(paid.pk) == ["succeeded"]

    secure = pay("s-3ds", "pm_card_threeDSecure2Required",
                 return_url="https://swipeme.example/coins")
    assert secure.status == Payment.Status.REQUIRES_ACTION
    assert secure.next_action_url.startswith("https://hooks.stripe.com/3d_secure_2/")
    assert stripe_on[-1]["params"]["return_url"] == "https://swipeme.example/coins"

    declined = pay("s-declined", "pm_card_chargeDeclined")
    assert declined.status == Payment.Status.PROCESSING
    assert declined.provider_ref.startswith("pi_")
    _webhook("payment_intent.payment_failed", _intent(
        declined, status="requires_payment_method",
        last_payment_error={"code": "card_declined", "message": "Your card was declined."}))
    failed = Payment.objects.get(pk=declined.pk)
    assert (failed.status, failed.failure_reason) == (Payment.Status.FAILED,
                                                      "Your card was declined.")
    assert hook_events.kinds(declined.pk) == ["failed"]

    renewal = pay("s-renewal", "cus_123:pm_card_visa", off_session=True)
    assert renewal.status == Payment.Status.PROCESSING
    assert {k: stripe_on[-1]["params"].get(k) for k in ("customer", "off_session",
                                                        "payment_method")} == {
        "customer": "cus_123", "off_session": "true", "payment_method": "pm_card_visa"}

    with pytest.raises(ApplicationError) as outage:
        pay("s-outage", "pm_card_outage")
    assert (outage.value.status_code, outage.value.code) == (503, "provider_unavailable")
    assert not Payment.objects.filter(key="s-outage").exists()  # nothing half-made

    # Stripe webhooks are checked with the library's scheme: forged and stale refused.
    body = event_body("payment_intent.succeeded", _intent(secure, status="succeeded"),
                      event_id="evt_forged")
    refused = post_signed(APIClient(), "stripe", body, secret="whsec_guess")
    assert refused.json()["error"]["code"] == "webhook_signature_invalid"
    stale = post_signed(APIClient(), "stripe", body, secret=WEBHOOK_SECRET, timestamp=1)
    assert stale.json()["error"]["code"] == "webhook_stale"
    assert Payment.objects.get(pk=secure.pk).status == Payment.Status.REQUIRES_ACTION


def test_refunds_disputes_and_payouts_through_stripe(stripe_on: list[dict[str, Any]],
                                                     hook_events: HookEvents) -> None:
    user = UserFactory()
    paid = payments.start_payment(user_id=user.pk, amount_minor=2000, currency="EUR",
                                  purpose="test:r", key="s-r", payment_method="pm_card_visa")
    _webhook("payment_intent.succeeded", _intent(paid, status="succeeded"))
    payments.refund_payment(payment=paid, amount_minor=500, key="s-r-1", reason="late video")
    sent = stripe_on[-1]
    assert sent["path"] == "/v1/refunds"
    assert sent["headers"]["idempotency-key"] == "swipeme-refund:s-r-1"
    assert (sent["params"]["payment_intent"], sent["params"]["amount"],
            sent["params"]["metadata[reason]"]) == (paid.provider_ref, "500", "late video")
    refund = Refund.objects.get(key="s-r-1")
    assert refund.status == Refund.Status.PENDING
    charge = {"id": "ch_1", "object": "charge", "payment_intent": paid.provider_ref,
              "amount": 2000, "amount_refunded": 500, "metadata": dict(_intent(paid)["metadata"]),
              "refunds": {"object": "list", "data": [{"id": refund.provider_ref,
                                                      "object": "refund", "amount": 500,
                                                      "metadata": {"reason": "late video"}}]}}
    _webhook("charge.refunded", charge)
    assert Refund.objects.get(pk=refund.pk).status == Refund.Status.SUCCEEDED
    dispute = {"id": "dp_1", "object": "dispute", "payment_intent": paid.provider_ref,
               "amount": 1500, "reason": "fraudulent", "status": "needs_response"}
    _webhook("charge.dispute.created", dispute)
    _webhook("charge.dispute.closed", {**dispute, "status": "won"})
    assert hook_events.kinds(paid.pk) == ["succeeded", "refunded", "disputed", "dispute_won"]
    disputed = next(e for e in hook_events.payments if e.kind == "disputed")
    assert (disputed.amount_refunded_minor, disputed.reason) == (1500, "fraudulent")
    assert Payment.objects.get(pk=paid.pk).dispute_status == Payment.DisputeStatus.WON

    payout = payments.start_payout(user_id=user.pk, amount_minor=1000, currency="EUR",
                                   destination="acct_creator1", key="s-po", purpose="payout:9")
    sent = stripe_on[-1]
    assert sent["path"] == "/v1/payouts"
    assert sent["headers"]["stripe-account"] == "acct_creator1"
    assert sent["headers"]["idempotency-key"] == "swipeme-payout:s-po"
    assert payout.provider_ref.startswith("po_")
    _webhook("payout.failed", {"id": payout.provider_ref, "object": "payout",
                               "amount": 1000, "status": "failed",
                               "failure_message": "The bank account has been closed.",
                               "metadata": {"swipeme_payout_id": str(payout.pk)}})
    assert ProviderPayout.objects.get(pk=payout.pk).status == ProviderPayout.Status.FAILED
    assert [(e.kind, e.reason, e.purpose) for e in hook_events.payouts] == [
        ("failed", "The bank account has been closed.", "payout:9")]


def test_out_of_order_disputes_and_refunds_that_fail_or_are_not_listed(
        stripe_on: list[dict[str, Any]], hook_events: HookEvents) -> None:
    paid = payments.start_payment(user_id=UserFactory().pk, amount_minor=900, currency="USD",
                                  purpose="test:o", key="s-o", payment_method="pm_card_visa")
    _webhook("payment_intent.succeeded", _intent(paid, status="succeeded"))
    closed = {"id": "dp_2", "object": "dispute", "payment_intent": paid.provider_ref,
              "amount": 900, "reason": "fraudulent", "status": "lost"}
    # A dispute closed before we heard it open: come back later (its consumers would
    # otherwise undo a clawback that never happened).
    assert _webhook("charge.dispute.closed", closed).json()["error"]["code"] == "retry_later"
    assert Payment.objects.get(pk=paid.pk).dispute_status == Payment.DisputeStatus.NONE

    payments.refund_payment(payment=paid, amount_minor=300, key="s-o-1", reason="one")
    payments.refund_payment(payment=paid, amount_minor=200, key="s-o-2", reason="two")
    first, second = Refund.objects.filter(payment=paid).order_by("id")
    # The second refund fails at Stripe: it no longer counts against what is left.
    _webhook("refund.failed", {"id": second.provider_ref, "object": "refund", "amount": 200,
                               "status": "failed", "failure_reason": "expired_or_canceled_card"})
    assert Refund.objects.get(pk=second.pk).status == Refund.Status.FAILED
    payments.refund_payment(payment=paid, amount_minor=600, key="s-o-3", reason="rest")
    # charge.refunded without its refunds listed (newer API versions): oldest pending first.
    _webhook("charge.refunded", {"id": "ch_2", "object": "charge",
                                 "payment_intent": paid.provider_ref, "amount": 900,
                                 "amount_refunded": 300, "metadata": {}})
    assert Refund.objects.get(pk=first.pk).status == Refund.Status.SUCCEEDED
    assert Refund.objects.get(key="s-o-3").status == Refund.Status.PENDING
    assert [(e.kind, e.refund_amount_minor) for e in hook_events.payments] == [
        ("succeeded", 0), ("refunded", 300)]
