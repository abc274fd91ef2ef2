"""Creator analytics in headless Chromium (issue 16), against the real server and worker:
the page's uPlot charts render with data (views per day, followers gained and lost, the
chosen post's retention per second, drawn pixels and not an empty canvas), the audience
shows a country of 10 viewers and hides one of 9 (and an "Other" of 9), earnings say "Not
available yet", nothing overflows a phone; a viewer who opens the video from the creator's
profile is counted as a "Your profile" play by the post page's own telemetry; someone
else is refused the creator's post; axe finds no contrast or serious violation. Screenshots at
phone 390x844 and desktop 1440x900."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from rest_framework.test import APIClient

from apps.analytics import services
from apps.analytics.models import CreatorDailyStats
from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot, seed_posts
from tests.browser.test_layout_and_contrast import _assert_accessible
from tests.events.helpers import event, now_ms
from tests.factories import UserFactory
from tests.media.conftest import wait_for

SHOTS = Path(os.environ.get("SWIPEME_SHOTS_DIR", "/tmp/shots-h8"))
CLIP_SECONDS = 6.0
# How many pixels of a chart's canvas are painted in a series colour (not background,
# grid or axis): a chart that drew nothing, or only its axes, has none.
PAINTED = """(node) => {
  const canvas = node.querySelector('canvas');
  if (!canvas) return 0;
  const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
    const cyan = g > 150 && b > 150 && r < 120, pink = r > 180 && g < 120,
      green = g > 160 && r < 120 && b < 160;
    if (a > 0 && (cyan || pink || green)) n++;
  }
  return n;
}"""


# The share of the canvas's columns holding a painted pixel: one day's bars are narrow,
# and days without follows draw nothing (no zero-height outline along the axis).
COLUMNS = """(node) => {
  const canvas = node.querySelector('canvas');
  const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  const used = new Set();
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
    if ((r > 180 && g < 120) || (g > 160 && r < 120 && b < 160)) used.add((i / 4) % canvas.width);
  }
  return used.size / canvas.width;
}"""


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    creator = UserFactory(username="studio_maker")
    [post_id] = seed_posts(tmp_path_factory.mktemp("analytics-clips"), [creator],
                           captions=["Harbour lights at dusk"], seconds=CLIP_SECONDS)
    # 10 viewers in France and 9 in Germany watch through the events API (the consumer
    # makes their per-user rows, the audience's source); they follow, one unfollows
    duration = int(CLIP_SECONDS * 1000)
    t0 = now_ms() - 60_000
    viewers = ([UserFactory(country="FR") for _ in range(10)]
               + [UserFactory(country="DE") for _ in range(9)])
    for i, viewer in enumerate(viewers):
        client = APIClient()
        client.force_authenticate(viewer)
        watched = duration * (i + 1) // len(viewers)
        events = [
            event("play_start", post_id=post_id, ts=t0, session_id=f"s{i}",
                  source=("for_you", "search", "sound")[i % 3]),
            event("watch_end", post_id=post_id, ts=t0, session_id=f"s{i}", watched_ms=watched,
                  duration_ms=duration),
            event("follow", ts=t0, session_id=f"s{i}", creator_id=str(creator.pk)),
        ]
        if i == 0:
            events.append(event("unfollow", ts=t0, session_id=f"s{i}",
                                creator_id=str(creator.pk)))
        response = client.post("/api/v1/events", {"events": events}, format="json")
        assert response.status_code == 200, response.content
    services.events_consume(consumer="browser-test")
    return {"creator": creator, "post_id": post_id, "viewers": viewers}


def _open(logged_in_page: Callable[..., Page], user: Any, viewport: dict[str, int],
          path: str = "/studio/analytics", **options: Any) -> Page:
    page = logged_in_page(user, viewport=viewport, touch=viewport is PHONE, **options)
    page.goto(path)
    return page


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_the_charts_render_with_data_and_small_audiences_stay_hidden(
        studio: dict[str, Any], logged_in_page: Callable[..., Page], page_errors: PageErrors,
        name: str, viewport: dict[str, int]) -> None:
    # the page's CSP allows no inline script: axe is injected past it (bypass_csp)
    page = _open(logged_in_page, studio["creator"], viewport, bypass_csp=True)

    views = page.locator('[data-chart="views"]')
    followers = page.locator('[data-chart="followers"]')
    retention = page.locator('[data-chart="retention"]')
    for chart in (views, followers, retention):
        expect(chart).to_have_attribute("data-ready", "true")
    assert views.get_attribute("data-points") == "7"
    # one point per second of the clip, 0 to its end
    assert retention.get_attribute("data-points") == str(int(CLIP_SECONDS) + 1)
    for chart in (views, followers, retention):
        assert chart.evaluate(PAINTED) > 50, chart.get_attribute("data-chart")
        box = chart.bounding_box()
        assert box is not None
        assert box["height"] >= 150

    assert followers.evaluate(COLUMNS) < 0.15

    expect(page.locator('[data-stat="views"]')).to_have_text("19")
    expect(page.locator('[data-stat="followers"]')).to_have_text("+18")
    expect(page.locator('[data-stat="earnings"]')).to_have_text("$0.00")
    expect(page.locator("[data-earnings]")).to_contain_text("You earned $0.00")
    sources = page.locator("[data-sources] li")
    expect(sources).to_have_count(3)
    expect(page.locator('[data-source="for_you"]')).to_contain_text("For You feed")
    # the bars are readable on a phone too (there, under their label at full width)
    bar = page.locator('[data-source="for_you"] .bar').bounding_box()
    row = page.locator('[data-source="for_you"]').bounding_box()
    assert bar is not None
    assert row is not None
    assert bar["width"] >= row["width"] * (0.9 if viewport is PHONE else 0.4)

    # the audience: France (10) shown by name, Germany (9) not, nor an "Other" of 9
    countries = page.locator("[data-audience-countries] li")
    expect(countries).to_have_count(1)
    expect(countries.first).to_contain_text("France")
    expect(countries.first).to_contain_text("52.6 %")
    expect(page.locator("[data-audience]")).not_to_contain_text("Germany")
    expect(page.locator('[data-audience-countries] [data-key="other"]')).to_have_count(0)
    expect(page.locator('[data-audience-ages] [data-key="25-34"]')).to_contain_text("100.0 %")

    # nothing wider than the screen (the post picker scrolls inside itself)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    screenshot(page, f"creator-analytics-{name}", full_page=True, copy_to=SHOTS)
    _assert_accessible(page, f"creator analytics, {name}")
    assert page_errors.uncaught == []
    assert page_errors.console == []


def test_a_play_opened_from_the_profile_counts_as_a_profile_view(
        studio: dict[str, Any], logged_in_page: Callable[..., Page]) -> None:
    creator, post_id = studio["creator"], studio["post_id"]
    viewer = UserFactory(country="FR")
    page = logged_in_page(viewer, viewport=PHONE)
    page.goto(f"/@{creator.username}")
    page.locator(f'a[href$="/video/{post_id}"]').first.click()
    page.wait_for_function("""() => { const v = document.getElementById('post-player');
        return !!v && v.readyState >= 2 && v.currentTime > 1.2; }""")
    page.goto("/")  # leaving ends the play (pagehide): watch_end goes out with it

    def counted() -> bool:
        services.events_consume(consumer="browser-test")
        return sum(CreatorDailyStats.objects.filter(creator_id=creator.pk)
                   .values_list("views_profile", flat=True)) == 1

    wait_for(counted, "the profile play to reach the aggregates", seconds=30)
    page = _open(logged_in_page, creator, DESKTOP)
    expect(page.locator('[data-source="profile"]')).to_contain_text("Your profile")


def test_following_and_unfollowing_from_the_profile_reach_the_creator_s_followers(
        logged_in_page: Callable[..., Page]) -> None:
    creator = UserFactory(username="followed_maker")
    page = logged_in_page(UserFactory(), viewport=PHONE)
    page.goto(f"/@{creator.username}")
    page.get_by_role("button", name="Follow", exact=True).click()
    page.get_by_role("button", name=f"Following @{creator.username}: unfollow").click()
    expect(page.get_by_role("button", name="Follow", exact=True)).to_be_visible()

    def counted() -> bool:
        services.events_consume(consumer="browser-test")
        return list(CreatorDailyStats.objects.filter(creator_id=creator.pk).values_list(
            "followers_gained", "followers_lost")) == [(1, 1)]

    wait_for(counted, "the follow and the unfollow to reach the aggregates", seconds=30)


def test_someone_else_cannot_open_the_creator_s_post_analytics(
        studio: dict[str, Any], logged_in_page: Callable[..., Page], page: Page) -> None:
    other = _open(logged_in_page, studio["viewers"][0], DESKTOP,
                  f"/studio/analytics?post={studio['post_id']}")
    expect(other.locator("h1")).not_to_have_text("Analytics")
    assert "Harbour lights" not in other.content()

    response = page.goto("/studio/analytics")
    assert response is not None
    assert "/accounts/login/" in page.url
