"""The local test provider keeps Stripe's contract: a charge's outcome arrives only by a
signed webhook (declines, 3-D Secure-like approval, disputes), refunds and payouts too,
each processed once; `make run`'s delivery is a Celery task (exercised through the live
browser test of the approval page, tests/browser/test_payment_approval.py)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from apps.core.errors import ApplicationError
from apps.core.models import AuditEvent
from apps.payments.models import (
    LocalProviderEvent,
    LocalProviderObject,
    Payment,
    ProviderEvent,
    ProviderPayout,
)
from apps.payments.providers import local
from apps.payments.services import payments
from apps.payments.services.ledger import IdempotencyConflictError
from tests.factories import UserFactory
from tests.payments.provider_helpers import HookEvents, hook_events_fixture  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def _pay(user_id: int, method: str | None, key: str, **kw: Any) -> Payment:
    return payments.start_payment(user_id=user_id, amount_minor=499, currency="USD",
                                  purpose=f"test:{key}", key=key,
                                  payment_method=method, **kw)


def test_each_test_card_settles_only_by_its_webhook(hook_events: HookEvents) -> None:
    user = UserFactory()
    ok = _pay(user.pk, "pm_card_ok", "k-ok")
    declined = _pay(user.pk, "pm_card_declined", "k-declined")
    disputed = _pay(user.pk, "pm_card_dispute", "k-dispute")
    away = _pay(user.pk, "pm_card_3ds", "k-3ds-away", off_session=True)
    waiting = _pay(user.pk, "pm_card_3ds", "k-3ds", return_url="/coins")
    # The provider has answered, but nothing is settled before its webhooks arrive.
    for payment in (ok, declined, disputed, away):
        assert payment.status == Payment.Status.PROCESSING
        assert payment.provider == "local"
        assert payment.provider_ref.startswith("lpi_")
    assert waiting.status == Payment.Status.REQUIRES_ACTION
    assert waiting.next_action_url.startswith(f"/payments/local/approve/{waiting.provider_ref}/")
    assert hook_events.payments == []

    assert local.deliver() == 5  # what the Celery task does after the commit

    def fresh(p: Payment) -> Payment:
        return Payment.objects.get(pk=p.pk)

    assert fresh(ok).status == Payment.Status.SUCCEEDED
    assert fresh(ok).succeeded_at
    assert (fresh(declined).status, fresh(declined).failure_reason) == (
        Payment.Status.FAILED, "Your card was declined.")
    assert fresh(disputed).status == Payment.Status.SUCCEEDED
    assert fresh(disputed).dispute_status == Payment.DisputeStatus.OPEN
    assert fresh(away).status == Payment.Status.FAILED
    assert "needs your approval" in fresh(away).failure_reason
    assert fresh(waiting).status == Payment.Status.REQUIRES_ACTION
    assert hook_events.kinds(ok.pk) == ["succeeded"]
    assert hook_events.kinds(declined.pk) == ["failed"]
    assert hook_events.kinds(disputed.pk) == ["succeeded", "disputed"]
    succeeded = next(e for e in hook_events.payments if e.payment_id == ok.pk)
    assert (succeeded.user_id, succeeded.purpose, succeeded.amount_minor, succeeded.currency) \
        == (user.pk, "test:k-ok", 499, "USD")

    # The provider delivers everything again (as a real one retries): processed once.
    LocalProviderEvent.objects.update(delivered_at=None)
    assert local.deliver() == 5
    assert len(hook_events.payments) == 5
    assert ProviderEvent.objects.filter(provider="local").count() == 5


def test_start_payment_is_idempotent_and_refuses_bad_input() -> None:
    user = UserFactory()
    first = _pay(user.pk, "pm_card_ok", "same-key")
    assert _pay(user.pk, "pm_card_ok", "same-key").pk == first.pk
    assert LocalProviderObject.objects.filter(kind="charge").count() == 1
    with pytest.raises(IdempotencyConflictError):
        payments.start_payment(user_id=user.pk, amount_minor=999, currency="USD",
                               purpose="test:same-key", key="same-key",
                               payment_method="pm_card_ok")
    for amount in (0, -1, 1.5, True, "100", 10**13, None):
        with pytest.raises(ApplicationError) as refused:
            payments.start_payment(user_id=user.pk, amount_minor=amount,  # type: ignore[arg-type]
                                   currency="USD", purpose="x", key=f"bad-{amount!r}")
        assert (refused.value.code, refused.value.status_code) == ("invalid_amount", 400)
    for currency in ("XYZ", "", 840, None):
        with pytest.raises(ApplicationError) as refused:
            payments.start_payment(user_id=user.pk, amount_minor=100,
                                   currency=currency,  # type: ignore[arg-type]
                                   purpose="x", key=f"cur-{currency!r}")
        assert refused.value.code == "invalid_currency"
    with pytest.raises(ApplicationError) as refused:
        _pay(user.pk, "pm_card_stolen", "unknown-card")
    assert refused.value.code == "payment_refused"
    assert "test cards" in refused.value.message
    # Nothing was left behind by any refusal.
    assert list(Payment.objects.values_list("key", flat=True)) == ["same-key"]


def test_refunds_disputes_and_payouts_arrive_by_webhook(hook_events: HookEvents) -> None:
    user = UserFactory()
    paid = _pay(user.pk, "pm_card_ok", "to-refund")
    with pytest.raises(ApplicationError) as early:  # not succeeded yet: nothing to refund
        payments.refund_payment(payment=paid, amount_minor=100, key="r0", reason="early")
    assert early.value.code == "not_refundable"
    local.deliver()
    payments.refund_payment(payment=paid, amount_minor=100, key="r1", reason="asked")
    assert payments.refund_payment(payment=paid, amount_minor=100, key="r1",
                                   reason="asked").amount_refunded_minor == 0  # not yet
    with pytest.raises(ApplicationError) as too_much:
        payments.refund_payment(payment=paid, amount_minor=400, key="r2", reason="greedy")
    assert too_much.value.code == "refund_too_large"
    local.deliver()
    payments.refund_payment(payment=paid, amount_minor=399, key="r3", reason="the rest")
    local.deliver()
    refunds = [e for e in hook_events.payments if e.kind == "refunded"]
    assert [(e.refund_amount_minor, e.amount_refunded_minor, e.reason) for e in refunds] == [
        (100, 100, "asked"), (399, 499, "the rest")]
    assert Payment.objects.get(pk=paid.pk).amount_refunded_minor == 499
    assert set(paid.refunds.values_list("status", flat=True)) == {"succeeded"}

    # Staff (the management command) open a dispute and close it as lost, with audit rows.
    with pytest.raises(CommandError, match="reason"):
        call_command("local_payments", "dispute", str(paid.pk))
    call_command("local_payments", "dispute", str(paid.pk), "--reason", "bank called")
    call_command("local_payments", "close-dispute", str(paid.pk), "--lost", "--reason", "lost")
    local.deliver()
    assert hook_events.kinds(paid.pk) == ["succeeded", "refunded", "refunded", "disputed",
                                          "dispute_lost"]
    assert Payment.objects.get(pk=paid.pk).dispute_status == "lost"
    assert AuditEvent.objects.filter(app="payments", verb__startswith="payment_").count() == 2

    good = payments.start_payout(user_id=user.pk, amount_minor=2500, currency="USD",
                                 destination="bank_ok", key="po-1", purpose="payout:1")
    bad = payments.start_payout(user_id=user.pk, amount_minor=2500, currency="USD",
                                destination=local.FAILING_DESTINATION, key="po-2",
                                purpose="payout:2")
    assert good.status == bad.status == ProviderPayout.Status.PENDING
    local.deliver()
    assert [(e.payout_id, e.kind, e.reason) for e in hook_events.payouts] == [
        (good.pk, "paid", ""), (bad.pk, "failed", "The bank account was closed.")]


def test_staff_refund_and_dispute_from_the_admin_are_audited(hook_events: HookEvents) -> None:
    staff = UserFactory(is_staff=True, is_superuser=True)
    paid = _pay(UserFactory().pk, "pm_card_ok", "admin-pay")
    local.deliver()
    client = Client()
    client.force_login(staff)
    url = "/django-admin/payments/payment/"
    no_reason = client.post(url, {"action": "refund_rest", "_selected_action": [paid.pk],
                                  "reason": ""}, follow=True)
    assert "Say why" in no_reason.content.decode()
    client.post(url, {"action": "refund_rest", "_selected_action": [paid.pk],
                      "reason": "goodwill"})
    client.post(url, {"action": "open_local_dispute", "_selected_action": [paid.pk],
                      "reason": "testing chargebacks"})
    local.deliver()
    assert hook_events.kinds(paid.pk) == ["succeeded", "refunded", "disputed"]
    audit = AuditEvent.objects.filter(app="payments").order_by("id")
    assert [(a.verb, a.reason, a.actor_id) for a in audit] == [
        ("payment_refund", "goodwill", staff.pk), ("payment_dispute", "testing chargebacks",
                                                   staff.pk)]
    assert client.get(f"{url}{paid.pk}/change/").status_code == 200


def test_approval_page_answers_once_and_refuses_forged_links() -> None:
    """The page itself (the browser test, tests/browser/test_payment_approval.py, clicks it
    on the live server and waits for the worker's webhook): a forged token, a foreign
    return_url and a second answer change nothing."""
    user = UserFactory()
    waiting = _pay(user.pk, "pm_card_3ds", "page-3ds", return_url="https://evil.example/")
    path, token = waiting.next_action_url.split("?token=")
    client = Client()
    assert client.get(f"{path}?token=forged").status_code == 404
    assert client.post(path, {"token": "forged", "decision": "approve"}).status_code == 404
    assert client.post(path, {"token": token, "decision": "maybe"}).status_code == 400
    answered = client.post(path, {"token": token, "decision": "approve"})
    assert answered.status_code == 200  # not sent on to another site
    assert "You approved this payment" in answered.content.decode()
    again = client.post(path, {"token": token, "decision": "refuse"})
    assert "You approved this payment" in again.content.decode()
    assert local.deliver() == 1
    assert Payment.objects.get(pk=waiting.pk).status == Payment.Status.SUCCEEDED


def test_the_local_provider_is_off_beside_a_real_one(settings: Any) -> None:
    """With Stripe configured, neither the local approval page nor local webhooks answer."""
    waiting = _pay(UserFactory().pk, "pm_card_3ds", "off-3ds")
    client = Client()
    assert client.get(waiting.next_action_url).status_code == 200
    settings.SWIPEME_PAYMENT_PROVIDER = "stripe"
    assert client.get(waiting.next_action_url).status_code == 404
    refused = client.post("/api/v1/payments/webhooks/local", "{}",
                          content_type="application/json")
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "unknown_provider"


def test_the_same_key_at_once_makes_one_payment_and_one_charge() -> None:
    user = UserFactory()
    barrier = threading.Barrier(4)
    made: list[int] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            barrier.wait()
            made.append(_pay(user.pk, "pm_card_ok", "racing-key").pk)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(made) == 4
    assert len(set(made)) == 1
    assert LocalProviderObject.objects.filter(kind="charge").count() == 1
    assert LocalProviderEvent.objects.count() == 1
