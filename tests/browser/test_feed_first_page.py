"""The feed's first page comes with the HTML (apps/web/views.py): the page starts from it
without asking the API, and the next page is still asked for as the viewer moves on."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from tests.content.factories import PostFactory
from tests.factories import UserFactory

FEED_REQUESTS = """() => performance.getEntriesByType('resource')
  .filter((r) => r.name.includes('/api/v1/feed/')).map((r) => r.name)"""


@pytest.fixture(scope="module")
def posts(browser_db: Any) -> list[Any]:
    # no media to play: the items and the paging are what is looked at
    return [PostFactory(author=UserFactory()) for _ in range(7)]


def test_the_first_page_comes_with_the_html_and_the_next_is_asked_for(
    posts: list[Any], page: Page
) -> None:
    page.goto("/")
    page.wait_for_function("() => window.swipeme && window.swipeme.items.length === 5")
    assert page.evaluate(FEED_REQUESTS) == []  # the first page was in the HTML
    session = page.evaluate("() => window.swipeme.telemetry.sessionId")
    assert {c["name"]: c["value"] for c in page.context.cookies()}["feed_session"] == session
    for _ in range(3):
        page.evaluate("() => window.swipeme.go(1)")
    page.wait_for_function("() => window.swipeme.items.length === 7")
    (asked,) = page.evaluate(FEED_REQUESTS)
    assert "cursor=" in asked
    assert f"session_id={session}" in asked
    shown = page.evaluate("() => window.swipeme.items.map((item) => item.post.id)")
    assert sorted(shown) == sorted(str(p.pk) for p in posts)
