"""The money path in headless Chromium, end to end on the real server, worker and local
payment provider: a fan buys coins on /coins (credited when the provider's webhook comes)
and sends gifts on a creator's video; the creator sees the earnings on /studio/earnings
(chart drawn), verifies their identity and files a W-9 on /settings/payouts, finance staff
verify the identity in the admin; while the gifts' share is still clearing the payout is
refused with the day it clears, then the clearing task runs as on that day and the creator
requests a payout (held on the ledger at once) and reads "Paid" once the provider confirms;
the balance and "paid out" follow.
Screenshots at 390x844 and 1440x900 in /tmp/shots-h5/."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, date, timedelta
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import Page, expect

from apps.accounts.models import User
from apps.monetization.models import KycProfile, PayoutRequest
from apps.monetization.services.clearing import clearing_days, release_due
from apps.payments.models import LedgerAccount
from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot
from tests.content.factories import PostFactory
from tests.factories import UserFactory

SHOTS = Path("/tmp/shots-h5")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 256


def _adult(**kwargs: object) -> User:
    return UserFactory(date_of_birth=date(1990, 1, 1),
                       date_joined=timezone.now() - timedelta(days=60), **kwargs)


def _fits(page: Page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth - innerWidth") <= 0


def _earned(user_id: int, kind: str = "earnings") -> int:
    row = LedgerAccount.objects.filter(kind=kind, owner_id=user_id).first()
    return row.balance if row else 0


def _reload_until(page: Page, selector: str, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        page.reload()
        if text in page.locator(selector).inner_text() or time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)
    expect(page.locator(selector)).to_contain_text(text)


def test_buy_gift_earn_and_get_paid(logged_in_page: Callable[..., Page],
                                    page_errors: PageErrors, tmp_path: Path) -> None:
    from tests.monetization.coin_helpers import catalogue

    catalogue()
    fan, creator = _adult(), _adult(username="maya_makes")
    post = PostFactory(author=creator)

    # the fan buys coins; they arrive with the provider's webhook (through the worker)
    fan_page = logged_in_page(fan, viewport=PHONE)
    page_errors.watch(fan_page)
    fan_page.goto("/coins")
    fan_page.locator("[data-pack-coins=\"7000\"]").click()
    fan_page.get_by_label("pm_card_ok").check()
    fan_page.get_by_role("button", name="Buy").click()
    expect(fan_page.locator("[data-coin-balance]")).to_have_text(re.compile(r"^7,?000$"),
                                                                 timeout=60_000)
    # two Star showers on the creator's video: 2,000 coins = $20 gross, $10 to the creator
    fan_page.goto(f"/@{creator.username}/video/{post.pk}")
    for left in ("6", "5"):
        fan_page.get_by_role("button", name="Gift").click()
        sheet = fan_page.locator("[data-gift-sheet]")
        sheet.get_by_role("button", name="Star shower, 1000 coins").click()
        expect(sheet.locator("[data-gift-balance]")).to_have_text(re.compile(rf"^{left},?000$"))
        fan_page.keyboard.press("Escape")
    # the creator's share waits in clearing (the gifts' clearing period), not payable yet
    assert _earned(creator.pk, "earnings_clearing") == 10_000_000
    assert _earned(creator.pk) == 0
    clears = (timezone.now() + timedelta(days=clearing_days("gift"))).astimezone(UTC).date()

    # the creator's earnings page: available, clearing and the day it clears, pending
    # payout, the day's bar by source, the way to get paid
    page = logged_in_page(creator, viewport=PHONE)
    page_errors.watch(page)
    page.goto("/studio/earnings?period=7d")
    expect(page.locator('[data-stat="available"]')).to_have_text("$0.00")
    expect(page.locator('[data-stat="clearing"]')).to_have_text("$10.00")
    expect(page.locator("[data-clearing-next]")).to_have_text(
        f"$10.00 available on {clears.day} {clears:%b %Y}")
    expect(page.locator('[data-stat="pending"]')).to_have_text("$0.00")
    chart = page.locator('[data-chart="earnings"]')
    expect(chart).to_have_attribute("data-ready", "true")
    assert chart.get_attribute("data-points") == "7"  # one bar slot per day of the period
    legend = page.locator(".u-legend").inner_text()
    assert "Time" not in legend
    assert "Gifts" in legend
    expect(page.locator('[data-source="gift"]')).to_contain_text("$10.00")
    _fits(page)
    screenshot(page, "earnings-390", copy_to=SHOTS, full_page=True)

    # /settings/payouts: each requirement in words; upload and submit an identity document
    page.get_by_role("link", name="Get paid").click()
    expect(page.locator("[data-kyc-words]")).to_contain_text("Not verified yet.")
    expect(page.locator("[data-payout-refusal]")).to_have_text(
        "Verify your identity first: upload an identity document and submit it for review.")
    document = tmp_path / "passport.png"
    document.write_bytes(PNG)
    upload = page.locator("[data-kyc-upload]")
    upload.get_by_label("Document").select_option("passport")
    upload.get_by_label("Photo or scan").set_input_files(str(document))
    upload.get_by_role("button", name="Add document").click()
    expect(page.locator(".messages")).to_contain_text("Document added.")
    submit = page.locator("[data-kyc-submit]")
    submit.get_by_label("Full legal name").fill("Maya Lopez")
    submit.get_by_label("Country that issued the document").select_option("US")
    submit.get_by_role("button", name="Submit for review").click()
    expect(page.locator("[data-kyc-words]")).to_contain_text("Submitted.")
    _fits(page)
    screenshot(page, "payouts-submitted-390", copy_to=SHOTS, full_page=True)

    # finance staff verify it in the admin (audited), the creator is told
    staff = UserFactory(is_staff=True, is_superuser=True)
    admin = logged_in_page(staff, viewport=DESKTOP, touch=False)
    admin.goto("/django-admin/monetization/kycprofile/?state__exact=submitted")
    admin.check(f"input[name='_selected_action'][value='{creator.pk}']")
    admin.select_option("select[name='action']", "verify")
    admin.click("button[name='index']")
    expect(admin.locator(".messagelist")).to_contain_text("Verified: 1.")
    assert KycProfile.objects.get(user=creator).state == "verified"

    # a W-9 with a bad TIN is refused on the field; a good one is filed (shown masked)
    page.reload()
    expect(page.locator("[data-kyc-words]")).to_contain_text("Verified.")
    expect(page.locator("[data-payout-refusal]")).to_have_text(
        "Put a tax form on file first (a W-9, or a W-8BEN if you are not a US person).")
    page.get_by_text("W-9 (US person)").click()
    w9 = page.locator('[data-tax-form="w9"]')
    for label, value in (("Legal name", "Maya Lopez"), ("Address", "1 Main Street"),
                         ("City", "Springfield"), ("State", "IL"), ("ZIP code", "62704"),
                         ("Number", "000-12-3456"),
                         ("Signature (type your legal name)", "Maya Lopez")):
        w9.get_by_label(label, exact=True).fill(value)
    w9.get_by_label("Under penalties of perjury", exact=False).check()
    w9.get_by_role("button", name="File W-9").click()
    expect(page.locator('[data-tax-form="w9"] .field-errors')).to_contain_text(
        "Not a valid SSN or ITIN")
    w9 = page.locator('[data-tax-form="w9"]')
    w9.get_by_label("Number", exact=True).fill("123-45-6789")
    w9.get_by_label("Under penalties of perjury", exact=False).check()
    w9.get_by_role("button", name="File W-9").click()
    expect(page.locator("[data-tax-on-file]")).to_contain_text("SSN or ITIN ending 6789")
    assert "123-45-6789" not in page.content()

    # everything else is in order, but the money is still clearing: refused with the day
    expect(page.locator("[data-payout-refusal]")).to_have_text(
        "Only $0.00 is available now: $10.00 of your earnings is still clearing (new "
        "earnings wait a few days in case a payment is disputed). You can ask for $10.00 "
        f"from {clears.day} {clears:%B %Y}.")
    expect(page.locator("[data-payout-clearing]")).to_contain_text("$10.00 clearing")
    assert not PayoutRequest.objects.filter(user=creator).exists()
    # the clearing task (beat) as it runs once the period has passed: the share is payable
    assert release_due(now=timezone.now() + timedelta(days=clearing_days("gift"), hours=1)) == 2
    assert release_due(now=timezone.now() + timedelta(days=365)) == 0  # released once
    assert (_earned(creator.pk), _earned(creator.pk, "earnings_clearing")) == (10_000_000, 0)
    page.reload()
    expect(page.locator("[data-payout-available]")).to_have_text("$10.00")

    # the payout: held at once, paid when the provider confirms (the worker delivers it)
    form = page.locator("[data-payout-form]")
    form.get_by_label("Amount (US dollars)").fill("10.00")
    form.get_by_label("Payout account").fill("acct_maya")
    form.get_by_role("button", name="Request payout").click()
    expect(page.locator(".messages")).to_contain_text("Payout of $10.00 requested")
    _reload_until(page, "[data-payout-list] li", "Paid")
    expect(page.locator("[data-payout-available]")).to_have_text("$0.00")
    payout = PayoutRequest.objects.get(user=creator)
    assert payout.state == "paid"
    assert _earned(creator.pk) == 0
    expect(page.locator("[data-payout-refusal]")).to_contain_text("one payout a day")
    _fits(page)
    screenshot(page, "payouts-paid-390", copy_to=SHOTS, full_page=True)

    desk = logged_in_page(creator, viewport=DESKTOP, touch=False)
    page_errors.watch(desk)
    desk.goto("/settings/payouts")
    _fits(desk)
    screenshot(desk, "payouts-paid-1440", copy_to=SHOTS, full_page=True)
    desk.goto("/studio/earnings?period=7d")
    expect(desk.locator('[data-stat="paid"]')).to_have_text("$10.00")
    expect(desk.locator('[data-stat="available"]')).to_have_text("$0.00")
    expect(desk.locator('[data-chart="earnings"]')).to_have_attribute("data-ready", "true")
    screenshot(desk, "earnings-1440", copy_to=SHOTS, full_page=True)
    desk.goto("/studio/analytics")
    expect(desk.locator('[data-stat="earnings"]')).to_have_text("$10.00")
    assert page_errors.uncaught == []
