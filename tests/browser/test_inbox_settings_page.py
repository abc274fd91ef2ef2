"""/inbox/settings in the real browser at 390x844 and 1440x900 (/tmp/shots-h13/): the
matrix fits the phone without sideways scrolling, every checkbox can be reached and named,
saving says so."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot
from tests.factories import UserFactory

SHOTS = Path("/tmp/shots-h13")


def _shot(page: Page, name: str) -> None:
    path = screenshot(page, name, full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


def test_the_settings_page_fits_and_saves(
        logged_in_page, page_errors: PageErrors) -> None:  # type: ignore[no-untyped-def]
    user = UserFactory(username="prefsperson")
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = logged_in_page(user, viewport=viewport, touch=viewport == PHONE)
        page.goto("/inbox")
        page.get_by_role("link", name="Settings").click()
        expect(page.get_by_role("heading", name="Notification settings")).to_be_visible()
        _shot(page, f"inbox-settings-{size}")
        # no sideways scroll: the matrix fits the phone
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        # the lesson of the first screenshot: "Quiet hours on" sits beside its checkbox
        # (the site's block labels had put the box on a line of its own, centred)
        quiet = page.get_by_role("checkbox", name="Quiet hours on").bounding_box()
        label = page.locator("label.check").bounding_box()
        assert quiet is not None
        assert label is not None
        assert label["height"] < 2 * quiet["height"] + 8, label
        assert quiet["x"] - label["x"] < 4, (quiet, label)
        box = page.get_by_role("checkbox", name="Likes on your videos: Push")
        expect(box).to_be_checked()
        box.uncheck()
        expect(page.get_by_role("checkbox", name="Account security: Push")).to_be_disabled()
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Your notification settings are saved.")).to_be_visible()
        expect(page.get_by_role("checkbox", name="Likes on your videos: Push")).not_to_be_checked()
        page.get_by_role("checkbox", name="Likes on your videos: Push").check()
        # the second save's round trip ends before the page closes: closing Chromium's
        # page while its form post is in flight hung page.close() (CI, 1 run in 3 here)
        with page.expect_navigation():
            page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Your notification settings are saved.")).to_be_visible()
        expect(page.get_by_role("checkbox", name="Likes on your videos: Push")).to_be_checked()
        page.close()
