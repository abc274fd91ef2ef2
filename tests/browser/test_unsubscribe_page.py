"""The digest's unsubscribe link in headless Chromium, signed out: the page asks in words,
the button unsubscribes, a broken link says so; and the digest e-mail's HTML part as a
mail client shows it. Screenshots at 390x844 and 1440x900."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from apps.notifications import selectors
from apps.notifications.digest import services as digests
from apps.notifications.digest.tokens import make_token
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.factories import UserFactory

SIZES = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]
SHOTS = Path("/tmp/shots-h10")


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, name, full_page=True), SHOTS / f"{name}.png")


def _fits(page: Page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth - innerWidth") <= 0


@pytest.mark.parametrize("viewport", SIZES)
def test_unsubscribe_signed_out_asks_then_confirms(
        new_context: Callable[..., BrowserContext], viewport: dict[str, int]) -> None:
    user = UserFactory()
    token = make_token(user_id=user.pk, list_name="digest")
    page = new_context(viewport=viewport).new_page()
    page.goto(f"/email/unsubscribe/{token}/")
    expect(page.get_by_role("heading",
                            name="Unsubscribe from the SwipeMe e-mail digest?")).to_be_visible()
    button = page.get_by_role("button", name="Unsubscribe")
    expect(button).to_be_visible()
    _fits(page)
    _shot(page, f"unsubscribe-ask-{viewport['width']}")
    assert selectors.digest_frequency(user.pk) == "weekly"
    button.click()
    expect(page.get_by_role("heading", name="You're unsubscribed")).to_be_visible()
    expect(page.get_by_text("You will no longer receive the SwipeMe e-mail digest")
           ).to_be_visible()
    _fits(page)
    _shot(page, f"unsubscribe-done-{viewport['width']}")
    assert selectors.digest_frequency(user.pk) == "off"

    response = page.goto(f"/email/unsubscribe/{token[:-3]}xyz/")
    assert response is not None
    assert response.status == 400
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    expect(page.get_by_text("Nothing was changed")).to_be_visible()
    _fits(page)
    _shot(page, f"unsubscribe-invalid-{viewport['width']}")


@pytest.mark.parametrize("viewport", SIZES)
def test_the_digest_email_reads_well(new_context: Callable[..., BrowserContext],
                                     viewport: dict[str, int]) -> None:
    user = UserFactory(username=f"maya{viewport['width']}")
    content = digests.DigestContent(total=3, lines=[
        digests.DigestLine("leo and 41 others liked your video", "",
                           digests.absolute("/p/1/")),
        digests.DigestLine("sam commented on your video",
                           "this is the best transition I have seen all week, how?",
                           digests.absolute("/p/1/")),
        digests.DigestLine("ana started following you", "", digests.absolute("/@ana")),
    ])
    message = digests.digest_message(user, content, frequency="weekly")
    html = str(message.alternatives[0][0])
    page = new_context(viewport=viewport).new_page()
    page.set_content(html)
    expect(page.get_by_role("link", name="leo and 41 others liked your video")).to_be_visible()
    expect(page.get_by_role("link", name="Open your inbox")).to_be_visible()
    expect(page.get_by_role("link", name="Unsubscribe from the digest")).to_be_visible()
    _fits(page)
    _shot(page, f"digest-email-{viewport['width']}")
