"""Coins and the gift sheet in headless Chromium: buy a pack on /coins with the local
provider's test card (the coins appear only once the worker delivered the provider's
webhook), then on a post send a gift (the balance drops, the creator's earnings rise) and a
tip, and read the refusal in words when the coins are short; a tip from the profile at
desktop size. Screenshots at 390x844 and 1440x900 in /tmp/shots-h3/."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import Page, expect

from apps.accounts.models import User
from apps.monetization import coin_selectors
from apps.payments.models import LedgerAccount
from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot
from tests.content.factories import PostFactory
from tests.factories import UserFactory

SHOTS = Path("/tmp/shots-h3")


def _adult() -> User:
    user: User = UserFactory(date_of_birth=date(1990, 1, 1),
                             date_joined=timezone.now() - timedelta(days=60))
    return user


def _fits(page: Page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth - innerWidth") <= 0


def _balance(user_id: int, kind: str) -> int:
    row = LedgerAccount.objects.filter(kind=kind, owner_id=user_id).first()
    return row.balance if row else 0


def test_buy_coins_then_gift_and_tip(logged_in_page: Callable[..., Page],
                                     page_errors: PageErrors) -> None:
    from tests.monetization.coin_helpers import catalogue

    catalogue()
    viewer, creator = _adult(), _adult()
    post = PostFactory(author=creator)

    page = logged_in_page(viewer, viewport=PHONE)
    page_errors.watch(page)
    page.goto("/coins")
    expect(page.locator("[data-coin-balance]")).to_have_text("0")
    page.get_by_role("button", name="350 Pouch $4.99").click()
    page.get_by_label("pm_card_ok").check()
    _fits(page)
    screenshot(page, "coins-390", copy_to=SHOTS, full_page=True)
    page.get_by_role("button", name="Buy").click()
    expect(page.locator("[data-buy-status]")).to_contain_text("350 coins were added",
                                                             timeout=60_000)
    expect(page.locator("[data-coin-balance]")).to_have_text("350")
    assert coin_selectors.wallet_balance(viewer.pk) == 350

    page.goto(f"/@{creator.username}/video/{post.pk}")
    page.get_by_role("button", name="Gift").click()
    sheet = page.locator("[data-gift-sheet]")
    expect(sheet).to_be_visible()
    expect(sheet.locator("[data-gift-balance]")).to_have_text("350")
    trophy = sheet.get_by_role("button", name="Trophy, 100 coins")
    # the default gifts have artwork: an emoji needs a font the device may lack
    expect(trophy.locator("img.gift-emoji")).to_have_attribute("src", re.compile(r"trophy"))
    box = trophy.bounding_box()
    assert box is not None
    assert box["height"] >= 44
    assert box["x"] + box["width"] <= PHONE["width"]
    _fits(page)
    screenshot(page, "gift-sheet-390", copy_to=SHOTS)
    trophy.click()
    expect(sheet.locator("[data-gift-status]")).to_have_text(
        f"🏆 Trophy sent to @{creator.username}.")
    expect(sheet.locator("[data-gift-balance]")).to_have_text("250")
    # the creator's share waits in clearing (the dispute window) before it is payable
    assert _balance(creator.pk, LedgerAccount.Kind.EARNINGS_CLEARING) == 500_000
    assert _balance(creator.pk, LedgerAccount.Kind.EARNINGS) == 0

    sheet.get_by_role("button", name="Star shower, 1000 coins").click()
    expect(sheet.locator("[data-gift-status]")).to_have_text(
        "You don't have enough coins for this. Buy more on the Coins page.")
    screenshot(page, "gift-sheet-refused-390", copy_to=SHOTS)
    sheet.get_by_label("Or tip coins").fill("0")
    sheet.get_by_role("button", name="Send tip").click()
    expect(sheet.locator("[data-gift-status]")).to_contain_text("whole number of coins")
    sheet.get_by_label("Or tip coins").fill("50")
    sheet.get_by_role("button", name="Send tip").click()
    expect(sheet.locator("[data-gift-balance]")).to_have_text("200")

    desk = logged_in_page(viewer, viewport=DESKTOP, touch=False)
    page_errors.watch(desk)
    desk.goto(f"/@{creator.username}")
    desk.get_by_role("button", name="Tip").click()
    tip_sheet = desk.locator("[data-gift-sheet]")
    expect(tip_sheet.locator("[data-gift-balance]")).to_have_text("200")
    tip_sheet.get_by_label("Coins to tip").fill("25")
    tip_sheet.get_by_role("button", name="Send tip").click()
    expect(tip_sheet.locator("[data-gift-status]")).to_have_text(
        f"A tip of 25 coins sent to @{creator.username}.")
    _fits(desk)
    screenshot(desk, "tip-sheet-1440", copy_to=SHOTS)
    desk.goto(f"/@{creator.username}/video/{post.pk}")
    desk.get_by_role("button", name="Gift").click()
    expect(desk.locator("[data-gift-sheet] [data-gift-balance]")).to_have_text("175")
    screenshot(desk, "gift-sheet-1440", copy_to=SHOTS)
    desk.goto("/coins")
    expect(desk.locator("[data-coin-history] li").first).to_contain_text(
        f"Tip to @{creator.username}")
    _fits(desk)
    screenshot(desk, "coins-1440", copy_to=SHOTS, full_page=True)
    expect(desk.locator("[data-coin-history] li").nth(2)).to_contain_text(
        f"Trophy gift to @{creator.username}")
    assert page_errors.uncaught == []
