"""The local test provider's 3-D Secure-like approval page in headless Chromium: the
amount and both choices readable and reachable on a phone and a desktop; Approve sends the
payer back to the payment's return page and the worker's webhook settles the payment;
Refuse says nothing was charged. Screenshots: var/artifacts/screenshots/payment-approval-*."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

from apps.payments.models import Payment
from apps.payments.services import payments
from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot
from tests.factories import UserFactory

SHOTS = Path("/tmp/shots-h2")


def _fits(page: Page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth - innerWidth") <= 0
    for name in ("Approve", "Refuse"):
        box = page.get_by_role("button", name=name).bounding_box()
        assert box is not None
        assert box["height"] >= 44  # a thumb's target
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= page.viewport_size["width"]  # type: ignore[index]


def _settled(payment: Payment, deadline: float = 60) -> Payment:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        fresh = Payment.objects.get(pk=payment.pk)
        if fresh.status != Payment.Status.REQUIRES_ACTION:
            return fresh
        time.sleep(0.1)
    raise AssertionError("the payment was not settled by its webhook")


def test_approve_and_refuse_on_the_approval_page(
        new_context: Callable[..., BrowserContext], page_errors: PageErrors) -> None:
    user = UserFactory()
    approve = payments.start_payment(user_id=user.pk, amount_minor=1999, currency="USD",
                                     purpose="test:approve", key="browser-approve",
                                     payment_method="pm_card_3ds", return_url="/healthz")
    refuse = payments.start_payment(user_id=user.pk, amount_minor=250, currency="EUR",
                                    purpose="test:refuse", key="browser-refuse",
                                    payment_method="pm_card_3ds")

    page = new_context(viewport=PHONE).new_page()
    page.goto(approve.next_action_url)
    expect(page.get_by_role("heading", name="Approve your payment to SwipeMe")).to_be_visible()
    expect(page.locator("[data-amount]")).to_have_text("$19.99")
    expect(page.get_by_text("not a real payment")).to_be_visible()
    _fits(page)
    screenshot(page, "payment-approval-390", copy_to=SHOTS)
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(re.compile(r"/healthz$"))
    assert _settled(approve).status == Payment.Status.SUCCEEDED

    desk = new_context(viewport=DESKTOP, touch=False).new_page()
    desk.goto(refuse.next_action_url)
    expect(desk.locator("[data-amount]")).to_have_text("€2.50")
    _fits(desk)
    screenshot(desk, "payment-approval-1440", copy_to=SHOTS)
    desk.get_by_role("button", name="Refuse").click()
    expect(desk.locator("[data-outcome=refused]")).to_contain_text("nothing was charged")
    screenshot(desk, "payment-approval-refused-1440", copy_to=SHOTS)
    failed = _settled(refuse)
    assert failed.status == Payment.Status.FAILED
    assert "refused" in failed.failure_reason
    assert page_errors.uncaught == []
