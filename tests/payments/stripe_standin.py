"""A local server in Stripe's format for the web client's side of a Stripe payment, and a
stand-in for Stripe.js that it serves. NOT Stripe and NOT Stripe.js: it implements only
the subset SwipeMe calls, following these real contracts:

- `POST /v1/payment_intents` (secret key) without a payment method: an unconfirmed intent,
  `requires_payment_method`, with a `client_secret` of Stripe's form `<pi id>_secret_<x>`.
- `GET /v1/payment_intents/<id>` (secret key): the intent, `client_secret` included (what
  the adapter reads to give the payer).
- `POST /v1/payment_intents/<id>/confirm` with the *publishable* key and the
  `client_secret` (what Stripe.js's `confirmPayment` sends; CORS open, as api.stripe.com):
  card number 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined (Stripe's test
  numbers; a 402 `card_error` "Your card was declined."), any other number is Stripe.js's
  own `validation_error` (no event), a wrong client_secret is a 400.
  Then, like Stripe, it sends the event `payment_intent.succeeded` / `payment_failed` to the
  webhook URL, signed with the official library's scheme
  (`stripe.WebhookSignature.generate_signature_header`, header `Stripe-Signature`),
  retried on any non-2xx answer.
- `GET /v3/`: the stand-in script (below), served where `SWIPEME_STRIPE_JS_URL` points:
  `Stripe(pk)` → `elements({clientSecret})` → `create("payment")` → `mount(el)` (a plain
  card-number field, not Stripe's iframe) → `confirmPayment({elements, confirmParams:
  {return_url}})`: on success it navigates to `return_url` with `payment_intent`,
  `payment_intent_client_secret` and `redirect_status` added (Stripe's redirect); on an
  immediate error it resolves `{error: {type, code, message}}` and stays.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import stripe

SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"

STANDIN_JS = r"""// NOT Stripe.js: a test stand-in for the subset SwipeMe calls (see
// tests/payments/stripe_standin.py). Requests go to the origin this script came from.
(function () {
  const api = new URL(document.currentScript.src).origin;
  function Stripe(key) {
    if (!/^pk_/.test(String(key))) throw new Error("Stripe(): a publishable key is needed");
    return {
      elements({ clientSecret }) {
        const made = [];
        return {
          clientSecret,
          made,
          create(type) {
            if (type !== "payment") throw new Error(`stand-in: no "${type}" element`);
            const element = {
              input: null,
              mount(target) {
                const box = typeof target === "string" ? document.querySelector(target) : target;
                const label = document.createElement("label");
                label.textContent = "Card number (test stand-in, not Stripe)";
                const input = document.createElement("input");
                input.setAttribute("inputmode", "numeric");
                input.setAttribute("autocomplete", "cc-number");
                input.dataset.standinCard = "";
                label.append(input);
                box.replaceChildren(label);
                element.input = input;
              },
            };
            made.push(element);
            return element;
          },
        };
      },
      async confirmPayment({ elements, confirmParams }) {
        if (!confirmParams || !confirmParams.return_url) {
          return { error: { type: "invalid_request_error", message: "return_url is required." } };
        }
        const secret = elements.clientSecret;
        const id = secret.split("_secret_")[0];
        const card = elements.made[0] && elements.made[0].input ? elements.made[0].input.value : "";
        const body = new URLSearchParams({
          key, client_secret: secret, return_url: confirmParams.return_url,
          "payment_method_data[type]": "card",
          "payment_method_data[card][number]": card.replace(/\s+/g, ""),
        });
        const url = `${api}/v1/payment_intents/${id}/confirm`;
        const response = await fetch(url, { method: "POST", body });
        const answer = await response.json();
        if (answer.error) return { error: answer.error };
        const back = new URL(confirmParams.return_url);
        back.searchParams.set("payment_intent", id);
        back.searchParams.set("payment_intent_client_secret", secret);
        const outcome = answer.status === "succeeded" ? "succeeded" : "failed";
        back.searchParams.set("redirect_status", outcome);
        window.location.assign(back.href);
        return new Promise(() => {});  // the page is going away
      },
    };
  }
  window.Stripe = Stripe;
})();
"""


class StandinStripe:
    """The server's state: intents by id, every request seen, webhooks sent and answered."""

    def __init__(self, *, secret_key: str, webhook_secret: str) -> None:
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.webhook_url = ""
        self.intents: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.webhooks: list[tuple[str, int]] = []  # (event type, our answer's status)
        self.lock = threading.Lock()

    def send_event(self, event_type: str, intent: dict[str, Any]) -> None:
        body = json.dumps({"id": "evt_" + secrets.token_hex(8), "object": "event",
                           "type": event_type, "created": int(time.time()),
                           "livemode": False, "data": {"object": intent}})
        for _attempt in range(20):
            signature = stripe.WebhookSignature.generate_signature_header(
                body, self.webhook_secret)
            request = urllib.request.Request(
                self.webhook_url, data=body.encode(), method="POST",
                headers={"Content-Type": "application/json", "Stripe-Signature": signature})
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    self.webhooks.append((event_type, answer.status))
                    return
            except urllib.error.HTTPError as refused:
                self.webhooks.append((event_type, refused.code))
            except OSError:
                self.webhooks.append((event_type, 0))
            time.sleep(0.5)


def _handler(state: StandinStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Request-Id", "req_" + secrets.token_hex(6))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, body: dict[str, Any]) -> None:
            self._send(status, json.dumps(body).encode(), "application/json")

        def _error(self, status: int, message: str, **extra: Any) -> None:
            self._json(status, {"error": {"type": "invalid_request_error",
                                          "message": message, **extra}})

        def _secret_key_ok(self) -> bool:
            return self.headers.get("Authorization", "") == f"Bearer {state.secret_key}"

        def do_OPTIONS(self) -> None:  # a CORS preflight, if a browser sends one
            self.send_response(204)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Methods", "GET, POST")
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
            self.end_headers()

        def do_GET(self) -> None:
            state.requests.append({"method": "GET", "path": self.path})
            if self.path.split("?")[0] in ("/v3", "/v3/"):
                self._send(200, STANDIN_JS.encode(), "application/javascript")
                return
            parts = self.path.strip("/").split("/")
            if len(parts) == 3 and parts[:2] == ["v1", "payment_intents"]:
                if not self._secret_key_ok():
                    self._error(401, "Invalid API Key provided.")
                    return
                with state.lock:
                    intent = state.intents.get(parts[2])
                if intent is None:
                    self._error(404, f"No such payment_intent: '{parts[2]}'")
                    return
                self._json(200, intent)
                return
            self._error(404, f"Unrecognized request URL ({self.path}).")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            params = dict(parse_qsl(self.rfile.read(length).decode()))
            state.requests.append({"method": "POST", "path": self.path, "params": params})
            parts = self.path.strip("/").split("/")
            if parts == ["v1", "payment_intents"]:
                if not self._secret_key_ok():
                    self._error(401, "Invalid API Key provided.")
                    return
                self._create(params)
                return
            if len(parts) == 4 and parts[:2] == ["v1", "payment_intents"] \
                    and parts[3] == "confirm":
                self._confirm(parts[2], params)
                return
            self._error(404, f"Unrecognized request URL ({self.path}).")

        def _create(self, params: dict[str, str]) -> None:
            if params.get("payment_method"):
                self._error(400, "This stand-in creates unconfirmed intents only.")
                return
            ref = "pi_" + secrets.token_hex(8)
            intent = {
                "id": ref, "object": "payment_intent", "amount": int(params["amount"]),
                "currency": params["currency"], "status": "requires_payment_method",
                "client_secret": f"{ref}_secret_{secrets.token_hex(12)}",
                "next_action": None, "last_payment_error": None,
                "metadata": {k[9:-1]: v for k, v in params.items()
                             if k.startswith("metadata[")},
            }
            with state.lock:
                state.intents[ref] = intent
            self._json(200, intent)

        def _confirm(self, ref: str, params: dict[str, str]) -> None:
            with state.lock:
                intent = state.intents.get(ref)
            if not params.get("key", "").startswith("pk_"):
                self._error(401, "A publishable key is required.")
                return
            if intent is None or params.get("client_secret") != intent["client_secret"]:
                self._error(400, "The client_secret does not match this PaymentIntent.")
                return
            if intent["status"] != "requires_payment_method":
                self._error(400, "This PaymentIntent was already confirmed.",
                            code="payment_intent_unexpected_state")
                return
            number = params.get("payment_method_data[card][number]", "")
            if number not in (SUCCEEDS, DECLINED):
                # Stripe.js refuses this in the browser, before any request (no event)
                self._json(400, {"error": {"type": "validation_error",
                                           "code": "incomplete_number",
                                           "message": "Your card number is incomplete."}})
                return
            if number == DECLINED:
                error = {"type": "card_error", "code": "card_declined",
                         "decline_code": "generic_decline",
                         "message": "Your card was declined."}
                failed = {**intent, "last_payment_error": error}  # it still waits, like Stripe
                threading.Thread(target=state.send_event, daemon=True,
                                 args=("payment_intent.payment_failed", failed)).start()
                self._json(402, {"error": {**error, "payment_intent": failed}})
                return
            with state.lock:
                intent.update(status="succeeded", payment_method="pm_" + secrets.token_hex(6))
                done = dict(intent)
            threading.Thread(target=state.send_event, daemon=True,
                             args=("payment_intent.succeeded", done)).start()
            self._json(200, done)

    return Handler


@contextmanager
def standin_stripe(*, secret_key: str, webhook_secret: str) -> Iterator[tuple[str, StandinStripe]]:
    """Run the server on a free loopback port: (its base URL, its state). Set
    `state.webhook_url` before a confirmation is sent."""
    state = StandinStripe(secret_key=secret_key, webhook_secret=webhook_secret)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
