"""A like or a follow refused with 503 + Retry-After (the server recovering from an outage,
issue 24) is sent again by the web client after the wait, and lands: the viewer's tap is
not silently undone. Before, the button flipped back with nothing said and nothing saved."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, Route

from apps.engagement.models import Like
from apps.social.models import Follow
from tests.browser.conftest import DESKTOP, PageErrors, seed_posts
from tests.factories import UserFactory

ACTIVE_PLAYING = """() => {
  const s = window.swipeme;
  const item = s && s.items[s.active];
  return !!item && item.video.readyState >= 2 && item.video.currentTime > 0.2;
}"""
UNAVAILABLE = json.dumps({"error": {"code": "unavailable", "fields": {},
                                    "message": "SwipeMe is briefly unavailable; please retry "
                                               "shortly."}})


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return seed_posts(tmp_path_factory.mktemp("retry-clips"), [UserFactory()], count=1)


class RefusedTwice:
    """Routes one write URL: 503 + Retry-After: 1 the first two times, the server after."""

    def __init__(self, page: Page, pattern: str) -> None:
        self.calls: list[tuple[str, float]] = []
        page.route(pattern, self.handle)

    def handle(self, route: Route) -> None:
        self.calls.append((route.request.method, time.monotonic()))
        if len(self.calls) <= 2:
            route.fulfill(status=503, body=UNAVAILABLE, content_type="application/json",
                          headers={"Retry-After": "1"})
        else:
            route.continue_()


def _eventually(page: Page, predicate: Callable[[], bool], timeout: float = 15) -> bool:
    """Polls while letting Playwright run (the route handlers run only inside its calls)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        page.wait_for_timeout(200)
    return predicate()


def test_a_like_and_a_follow_refused_with_503_are_retried_and_saved(
        catalogue: list[str], logged_in_page: Callable[..., Page],
        page_errors: PageErrors) -> None:
    viewer = UserFactory()
    page = logged_in_page(viewer, viewport=DESKTOP, touch=False)
    likes = RefusedTwice(page, "**/api/v1/posts/*/like")
    follows = RefusedTwice(page, "**/api/v1/users/*/follow")
    page.goto("/")
    page.wait_for_function(ACTIVE_PLAYING, timeout=30_000)
    item = '.feed-item[data-index="0"]'
    post_id = int(page.evaluate("() => window.swipeme.items[0].post.id"))

    page.locator(f"{item} .like").click()
    assert _eventually(page, lambda: Like.objects.filter(user=viewer, post_id=post_id).exists())
    assert len(likes.calls) == 3  # two refusals, then the one that landed
    assert likes.calls[2][1] - likes.calls[1][1] >= 0.9  # after the server's Retry-After
    assert page.locator(f"{item} .like").get_attribute("aria-pressed") == "true"

    page.locator(f"{item} .follow").first.click()
    assert _eventually(page, lambda: Follow.objects.filter(follower=viewer).exists())
    assert len(follows.calls) == 3
    assert page_errors.uncaught == []
