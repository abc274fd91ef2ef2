"""Search finds lives on air (issue 18), in headless Chromium against the real server: a
phone viewer types a host's name, sees the live as they type (Top) with its LIVE badge,
switches to the LIVE tab (drawn by static/js/search), opens the result and lands on the
live's player page. A followers-only live is not offered to a stranger. Screenshots:
var/artifacts/screenshots/search-live-*."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from apps.accounts.models import User
from apps.live.models import LiveStream
from apps.search.indexing.pipeline import rebuild
from tests.browser.conftest import DESKTOP, PageErrors, screenshot
from tests.factories import UserFactory

RESULTS = "#search-body .search-results a[data-result-type]"
OPTIONS = "#search-listbox [role='option']"


@pytest.fixture(scope="module", autouse=True)
def built_index(live_asgi_server: str) -> None:
    """The index built (else the page says "Search is getting ready" instead of results);
    lives themselves are never indexed."""
    rebuild()


def on_air(host: User, title: str, audience: str = "everyone") -> LiveStream:
    return LiveStream.objects.create(host=host, title=title, audience=audience,
                                     state=LiveStream.State.LIVE,
                                     started_at=timezone.now() - timedelta(minutes=3))


def test_a_viewer_finds_a_live_in_search_and_opens_it(
        logged_in_page: Callable[..., Page], page_errors: PageErrors) -> None:
    viewer = UserFactory(username="livesearcher")
    host = UserFactory(username="ceramics_rosa", display_name="Rosa Ceramics")
    live = on_air(host, "Throwing bowls on the wheel")
    hidden_host = UserFactory(username="ceramics_secret", display_name="Secret Ceramics")
    on_air(hidden_host, "Followers only glazing", audience="followers")

    page = logged_in_page(viewer)
    page.goto("/search")
    box = page.locator("#search-input")
    box.press_sequentially("ceramics", delay=40)
    option = page.locator(OPTIONS, has_text="Throwing bowls on the wheel")
    expect(option).to_be_visible()
    expect(option).to_have_attribute("href", f"/live/{live.pk}")
    expect(page.locator(OPTIONS, has_text="Followers only glazing")).to_have_count(0)
    box.press("Enter")
    page.wait_for_url("**/search?q=ceramics")

    tabs = page.get_by_role("tablist")
    tabs.get_by_role("tab", name="LIVE").click()
    page.wait_for_url("**/search?q=ceramics&tab=live")
    result = page.locator(RESULTS, has_text="Throwing bowls on the wheel")
    expect(result).to_be_visible()
    expect(result).to_have_attribute("href", f"/live/{live.pk}")
    expect(result.locator(".live-badge")).to_have_text("LIVE")
    expect(result).to_contain_text("@ceramics_rosa")
    expect(page.locator(RESULTS)).to_have_count(1)  # not the followers-only one
    screenshot(page, "search-live-tab-phone")

    result.click()
    page.wait_for_url(f"**/live/{live.pk}")
    expect(page.locator("main")).to_contain_text("Throwing bowls on the wheel")
    assert page_errors.uncaught == []


def test_the_server_rendered_live_tab_on_a_desktop(
        logged_in_page: Callable[..., Page]) -> None:
    viewer = UserFactory(username="deskviewer")
    host = UserFactory(username="chess_nadia", display_name="Nadia plays chess")
    live = on_air(host, "Blitz with viewers")
    page = logged_in_page(viewer, viewport=DESKTOP, touch=False)
    page.goto("/search?q=chess&tab=live")
    result = page.locator(RESULTS).first
    expect(result).to_have_attribute("href", f"/live/{live.pk}")
    expect(result).to_contain_text("Nadia plays chess")
    screenshot(page, "search-live-tab-desktop")
