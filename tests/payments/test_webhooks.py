"""`POST /api/v1/payments/webhooks/<provider>`: only a verified, fresh, well-formed event
changes anything; forged, tampered, replayed-stale, malformed ones are refused in the error
shape with nothing recorded; the same event twice (or at once) is processed once; an event
about a payment we do not know is handled without harm."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.payments import hooks
from apps.payments.models import LocalProviderEvent, Payment, ProviderEvent
from apps.payments.providers import local, signing
from apps.payments.services import payments
from apps.payments.services.webhooks import receive_webhook
from tests.factories import UserFactory
from tests.payments.provider_helpers import (  # noqa: F401
    HookEvents,
    event_body,
    hook_events_fixture,
    post_signed,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _pending_event(key: str) -> tuple[Payment, str]:
    """A local payment whose succeeded event the provider has made but not delivered."""
    payment = payments.start_payment(user_id=UserFactory().pk, amount_minor=1299,
                                     currency="EUR", purpose=f"test:{key}", key=key,
                                     payment_method="pm_card_ok")
    event = LocalProviderEvent.objects.get(body__data__object__id=payment.provider_ref)
    return payment, json.dumps(event.body)


def _refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert "fields" in error


def test_forged_stale_and_malformed_webhooks_are_refused(hook_events: HookEvents) -> None:
    payment, body = _pending_event("wh-refused")
    client = APIClient()
    secret = local.webhook_secret()
    url = "/api/v1/payments/webhooks/local"

    _refused(client.generic("POST", url, body, content_type="application/json"), 400,
             "webhook_signature_missing")
    _refused(post_signed(client, "local", body, secret="whsec_forged"), 400,
             "webhook_signature_invalid")
    signed_for_other = signing.sign(body.replace("1299", "9"), secret)  # tampered
    _refused(client.generic("POST", url, body, content_type="application/json",
                            HTTP_SWIPEME_LOCAL_SIGNATURE=signed_for_other), 400,
             "webhook_signature_invalid")
    _refused(post_signed(client, "local", body, secret=secret,
                         timestamp=int(time.time()) - 600), 400, "webhook_stale")
    _refused(post_signed(client, "local", body, secret=secret,
                         timestamp=int(time.time()) + 600), 400, "webhook_stale")
    _refused(client.generic("POST", url, body, content_type="application/json",
                            HTTP_SWIPEME_LOCAL_SIGNATURE="garbage"), 400,
             "webhook_signature_invalid")
    for malformed in ("not json", "[]", '{"id": "evt_1"}',
                      '{"id": "evt_1", "type": "x", "data": {"object": 3}}'):
        _refused(post_signed(client, "local", malformed, secret=secret), 400,
                 "webhook_malformed")
    _refused(client.generic("POST", url, b"\xff\xfe",  # type: ignore[arg-type]
                            content_type="application/json",
                            HTTP_SWIPEME_LOCAL_SIGNATURE="t=1,v1=00"), 400, "webhook_refused")
    _refused(post_signed(client, "paypal", body, secret=secret), 404, "unknown_provider")
    _refused(post_signed(client, "stripe", body, secret=""), 404, "webhook_not_configured")
    assert client.get(url).status_code == 405

    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.PROCESSING
    assert not ProviderEvent.objects.exists()
    assert hook_events.payments == []

    # The genuine event is processed; the same event again (a retry, or a replay with a
    # fresh signature) is answered 200 and changes nothing more.
    first = post_signed(client, "local", body, secret=secret)
    again = post_signed(client, "local", body, secret=secret)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() == {
        "received": True, "event_id": json.loads(body)["id"], "outcome": "processed"}
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.SUCCEEDED
    assert hook_events.kinds(payment.pk) == ["succeeded"]
    assert ProviderEvent.objects.count() == 1


def test_the_same_event_delivered_concurrently_is_processed_once(
        hook_events: HookEvents) -> None:
    payment, body = _pending_event("wh-concurrent")
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            headers = {local.SIGNATURE_HEADER: signing.sign(body, local.webhook_secret())}
            barrier.wait()
            receive_webhook(provider="local", body=body.encode(), headers=headers)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert hook_events.kinds(payment.pk) == ["succeeded"]
    assert ProviderEvent.objects.count() == 1


def test_events_about_unknown_or_unsettled_payments(hook_events: HookEvents) -> None:
    client = APIClient()
    secret = local.webhook_secret()
    intent = {"id": "lpi_elsewhere", "object": "payment_intent", "amount": 100,
              "currency": "usd", "status": "succeeded", "metadata": {}}
    stranger = post_signed(client, "local", event_body(
        "payment_intent.succeeded", intent, event_id="evt_stranger"), secret=secret)
    assert stranger.json()["outcome"] == "unknown_object"

    # Names one of ours that is not committed yet: the provider is asked to come back
    # (503), nothing recorded; long after, it is let go as unknown.
    ours = {**intent, "id": "lpi_ours", "metadata": {"swipeme_payment_id": "424242"}}
    _refused(post_signed(client, "local", event_body(
        "payment_intent.succeeded", ours, event_id="evt_early"), secret=secret), 503,
        "retry_later")
    assert not ProviderEvent.objects.filter(event_id="evt_early").exists()
    old = post_signed(client, "local", event_body(
        "payment_intent.succeeded", ours, event_id="evt_old",
        created=int(time.time()) - 7200), secret=secret)
    assert old.json()["outcome"] == "unknown_object"
    assert post_signed(client, "local", event_body(
        "customer.created", {"id": "cus_1"}, event_id="evt_other"),
        secret=secret).json()["outcome"] == "ignored"

    # A refund arriving before the payment's success waits for it (events out of order);
    # a success for another amount than the payment's is not believed.
    payment, body = _pending_event("wh-order")
    refund = {"id": "ch_x", "object": "charge", "payment_intent": payment.provider_ref,
              "amount_refunded": 1299, "metadata": {}}
    _refused(post_signed(client, "local", event_body(
        "charge.refunded", refund, event_id="evt_refund_early"), secret=secret), 503,
        "retry_later")
    wrong = json.loads(body)
    wrong["id"] = "evt_wrong_amount"
    wrong["data"]["object"]["amount"] = 1
    assert post_signed(client, "local", json.dumps(wrong),
                       secret=secret).json()["outcome"] == "ignored"
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.PROCESSING
    assert post_signed(client, "local", body, secret=secret).json()["outcome"] == "processed"
    assert post_signed(client, "local", event_body(
        "charge.refunded", refund, event_id="evt_refund_early"),
        secret=secret).json()["outcome"] == "processed"
    assert hook_events.kinds(payment.pk) == ["succeeded", "refunded"]
    assert [e.payment_id for e in hook_events.payments] == [payment.pk, payment.pk]


def test_a_failing_consumer_rolls_the_event_back_and_it_is_delivered_again(
        hook_events: HookEvents) -> None:
    """A consumer's error undoes the event (no 'processed' mark, no state change), the
    later events of that charge wait behind it, other charges' events go on; the next
    delivery processes them in order."""
    user = UserFactory()
    disputed = payments.start_payment(user_id=user.pk, amount_minor=300, currency="USD",
                                      purpose="test:a", key="fail-a",
                                      payment_method="pm_card_dispute")
    other = payments.start_payment(user_id=user.pk, amount_minor=300, currency="USD",
                                   purpose="test:b", key="fail-b", payment_method="pm_card_ok")
    failures: list[int] = []

    def consumer_down_once(*, event: hooks.PaymentEvent) -> None:
        if event.payment_id == disputed.pk and not failures:
            failures.append(event.payment_id)
            raise RuntimeError("the consumer's database write failed")

    hooks.payment_event.remove(hook_events.on_payment)  # record only what commits
    hooks.payment_event.register(consumer_down_once)
    hooks.payment_event.register(hook_events.on_payment)
    try:
        assert local.deliver() == 1
        assert Payment.objects.get(pk=disputed.pk).status == Payment.Status.PROCESSING
        assert not ProviderEvent.objects.filter(object_ref=disputed.provider_ref).exists()
        assert hook_events.kinds(other.pk) == ["succeeded"]
        assert hook_events.kinds(disputed.pk) == []
        assert local.deliver() == 2
    finally:
        hooks.payment_event.remove(consumer_down_once)
    assert hook_events.kinds(disputed.pk) == ["succeeded", "disputed"]
    assert Payment.objects.get(pk=disputed.pk).dispute_status == Payment.DisputeStatus.OPEN
