"""The feed when SwipeMe cannot be reached: the feed API answering 503 with Retry-After (a
restart, an outage) or the network failing. The page says "Can't reach SwipeMe" with a
countdown instead of showing an empty feed, retries on its own (the server's Retry-After,
else backoff), retries at once on "Retry now", and goes back to the feed when the API
answers again. Screenshots at phone and desktop sizes."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Route

from tests.browser.conftest import PHONE, screenshot

SHOTS = Path("/tmp/shots-h8")
DESKTOP_WIDE = {"width": 1440, "height": 900}
UNAVAILABLE = json.dumps({"error": {"code": "unavailable", "fields": {},
                                    "message": "SwipeMe is briefly unavailable; please retry "
                                               "shortly."}})


class FlakyFeed:
    """Routes the For You API: refused (503 + Retry-After, or a network error) while
    `failing`, the real server afterwards. Counts the calls."""

    def __init__(self, page: Page, *, network: bool = False, retry_after: str = "1") -> None:
        self.failing = True
        self.calls: list[float] = []
        self.network = network
        self.retry_after = retry_after
        page.route("**/api/v1/feed/for-you*", self.handle)

    def handle(self, route: Route) -> None:
        self.calls.append(time.monotonic())
        if not self.failing:
            route.continue_()
        elif self.network:
            route.abort("internetdisconnected")
        else:
            route.fulfill(status=503, body=UNAVAILABLE, content_type="application/json",
                          headers={"Retry-After": self.retry_after})


def _offline_shown(page: Page) -> None:
    banner = page.locator("#feed-offline")
    banner.wait_for(state="visible", timeout=10_000)
    assert "Can't reach SwipeMe" in banner.inner_text()
    assert "Retrying" in banner.inner_text()
    assert page.get_by_role("button", name="Retry now").is_visible()
    # not an empty feed with nothing said, and no other message underneath
    assert page.locator("#feed-status").is_hidden()


def _in_viewport(page: Page, selector: str) -> bool:
    return bool(page.evaluate("""(sel) => {
      const r = document.querySelector(sel).getBoundingClientRect();
      return r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight;
    }""", selector))


def _save(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, name), SHOTS / f"{name}.png")


def test_a_503_feed_says_cant_reach_retries_by_itself_and_recovers(
    new_context: Any,
) -> None:
    page = new_context(viewport=PHONE).new_page()
    feed = FlakyFeed(page, retry_after="1")
    page.goto("/")
    _offline_shown(page)
    assert _in_viewport(page, "#feed-offline")
    _save(page, "feed-offline-phone")

    # then: it retries on its own, about as often as Retry-After says
    deadline = time.monotonic() + 10
    while len(feed.calls) < 3 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert len(feed.calls) >= 3, feed.calls
    gaps = [b - a for a, b in zip(feed.calls, feed.calls[1:], strict=False)]
    assert all(gap >= 0.8 for gap in gaps), gaps  # it waited, it did not spin

    # "Retry now" tries at once
    before = len(feed.calls)
    page.get_by_role("button", name="Retry now").click()
    page.wait_for_timeout(300)
    assert len(feed.calls) == before + 1

    # when: the API answers again, the state goes away by itself
    feed.failing = False
    page.locator("#feed-offline").wait_for(state="hidden", timeout=10_000)
    page.locator("#feed-status").wait_for(state="visible")
    assert "No videos yet" in page.locator("#feed-status").inner_text()


def test_a_network_failure_shows_the_same_state_at_desktop_size(new_context: Any) -> None:
    page = new_context(viewport=DESKTOP_WIDE, touch=False).new_page()
    feed = FlakyFeed(page, network=True)
    page.goto("/")
    _offline_shown(page)
    assert _in_viewport(page, "#feed-offline")
    _save(page, "feed-offline-desktop")
    # no Retry-After to follow: backoff from one second, so a second try comes soon
    deadline = time.monotonic() + 8
    while len(feed.calls) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert len(feed.calls) >= 2
    feed.failing = False
    page.get_by_role("button", name="Retry now").click()
    page.locator("#feed-offline").wait_for(state="hidden", timeout=10_000)


FIRST_PAGE = json.dumps({
    "results": [{
        "id": "900000000000000001", "caption": "A clip already on screen", "entities": [],
        "author": {"id": "900000000000000002", "username": "on_screen"}, "sound": None,
        "counts": {"likes": 0, "comments": 0, "shares": 0, "favourites": 0}, "viewer": {},
        "media": {"duration_ms": 3000, "playback": {"hls": "/media/none/master.m3u8",
                                                   "mp4": "/media/none/video.mp4",
                                                   "poster": ""}},
    }],
    "next": "/api/v1/feed/for-you?cursor=more",
})


def test_with_videos_on_screen_the_next_page_is_retried_quietly(new_context: Any) -> None:
    """A failure while videos are already on screen does not cover them: the next page is
    fetched again in the background (backoff), and the state shows only for an empty feed."""
    page = new_context(viewport=PHONE).new_page()
    feed = FlakyFeed(page, retry_after="1")

    def first_page_then_refusals(route: Route) -> None:
        if "cursor=more" in route.request.url:
            feed.handle(route)
        else:
            route.fulfill(status=200, body=FIRST_PAGE, content_type="application/json")

    page.unroute("**/api/v1/feed/for-you*")
    page.route("**/api/v1/feed/for-you*", first_page_then_refusals)
    page.goto("/")
    page.locator('.feed-item[data-post-id="900000000000000001"]').wait_for()
    deadline = time.monotonic() + 10
    while len(feed.calls) < 3 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert len(feed.calls) >= 3, feed.calls  # the next page, tried again and again
    assert page.locator("#feed-offline").is_hidden()
    assert page.locator("#feed-status").is_hidden()
    _save(page, "feed-offline-quiet-phone")
