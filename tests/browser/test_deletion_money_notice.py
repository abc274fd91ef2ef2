"""The deletion page says, before the account is deleted, what happens to its money: coins
lost, unpaid earnings to pay out first (kept as unclaimed otherwise). Headless Chromium at
390x844 and 1440x900; screenshots in var/artifacts/screenshots/ (and /tmp/shots-h3/)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot

SHOTS = Path("/tmp/shots-h3")


@pytest.mark.parametrize("viewport", [pytest.param(PHONE, id="phone"),
                                      pytest.param(DESKTOP, id="desktop")])
def test_the_deletion_page_tells_coins_and_earnings_first(
        logged_in_page: Callable[..., Page], page_errors: PageErrors,
        viewport: dict[str, int]) -> None:
    from tests.monetization.coin_helpers import adult, buy, catalogue
    from tests.monetization.payout_helpers import tipped

    catalogue()
    creator = adult()
    tipped(creator)  # $11.20 of unpaid earnings
    buy(creator, coins=70)
    page = logged_in_page(creator, viewport=viewport)
    page.goto("/settings/data")
    notices = page.locator("[data-deletion-notices]")
    expect(notices).to_be_visible()
    expect(notices).to_contain_text("Before you delete it:")
    expect(notices).to_contain_text("You have 70 coins. Coins are lost when your account "
                                    "is deleted")
    expect(notices).to_contain_text("You have $11.20 of unpaid earnings. Request a payout "
                                    "first")
    # above the form that deletes
    form_box = page.locator("form[action$='/settings/delete']").bounding_box()
    box = notices.bounding_box()
    assert box is not None
    assert form_box is not None
    assert box["y"] + box["height"] <= form_box["y"]
    assert box["x"] + box["width"] <= viewport["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth - innerWidth") <= 0
    notices.scroll_into_view_if_needed()
    screenshot(page, f"deletion-money-notice-{viewport['width']}", copy_to=SHOTS)
    assert page_errors.uncaught == []
    assert page_errors.console == []
