"""What a creator owes after a dispute, as they see it in headless Chromium: a payout already
sent, then its coins disputed, leaves a debt (earnings_owed); /studio/earnings shows an
"Owed" card (marked in red, still AA contrast) with the amount and how it is repaid,
the in-app notice says it in words, and a creator who owes nothing sees no such card.
Screenshots at 390x844 and 1440x900 in /tmp/shots-owed/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from apps.monetization.models import CoinPurchase
from apps.monetization.services import payouts
from apps.payments.providers import local
from apps.payments.services.payments import local_open_dispute
from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot
from tests.browser.test_layout_and_contrast import _assert_accessible
from tests.monetization.coin_helpers import payment_of
from tests.monetization.payout_helpers import payable_creator, tipped

SHOTS = Path("/tmp/shots-owed")


def _fits(page: Page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth - innerWidth") <= 0


def test_a_creator_who_owes_reads_it_on_the_earnings_page(
        logged_in_page: Callable[..., Page], page_errors: PageErrors) -> None:
    creator = payable_creator()
    fan = tipped(creator)  # $11.20 earned and cleared
    payout, _ = payouts.payout_request(user=creator, amount_minor=1120, destination="acct_1")
    payouts.payout_send(payout.pk)  # handed to the provider: it cannot be taken back
    local_open_dispute(payment=payment_of(CoinPurchase.objects.get(user=fan)))
    local.deliver()

    page = logged_in_page(creator, viewport=PHONE, bypass_csp=True)  # axe is injected inline
    page.goto("/studio/earnings")
    card = page.locator('[data-stat-card="owed"]')
    expect(card.locator('[data-stat="owed"]')).to_have_text("$11.20")
    expect(card).to_contain_text("repaid from your next earnings first")
    assert card.bounding_box()["width"] > 100  # type: ignore[index]  # laid out, not collapsed
    _fits(page)
    _assert_accessible(page, "earnings with a debt")  # the red figure still reads at AA
    screenshot(page, "earnings-owed-390", copy_to=SHOTS, full_page=True)

    page.goto("/inbox")
    expect(page.get_by_text("You owe $11.20").first).to_be_visible()
    screenshot(page, "owed-notice-390", copy_to=SHOTS)

    desk = logged_in_page(creator, viewport=DESKTOP, touch=False)
    desk.goto("/studio/earnings")
    expect(desk.locator('[data-stat="owed"]')).to_have_text("$11.20")
    _fits(desk)
    screenshot(desk, "earnings-owed-1440", copy_to=SHOTS, full_page=True)

    clear = logged_in_page(payable_creator(), viewport=PHONE)
    clear.goto("/studio/earnings")
    expect(clear.locator('[data-stat="available"]')).to_be_visible()
    assert clear.locator('[data-stat-card="owed"]').count() == 0  # nothing owed, no card
    assert not page_errors.uncaught, page_errors.uncaught
