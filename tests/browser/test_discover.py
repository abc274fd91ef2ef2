"""The Discover page (/discover, issue 13) in headless Chromium, phone (390x844) and desktop
(1440x900), on real processed posts and trending computed from real events:

- trending searches link to /search?q=...; trending hashtags show their top video covers
  (loaded images, each a link to its post), a private account's post never among them;
- on a phone the covers are a row that swipes sideways inside the page (the page itself
  never scrolls sideways), on a desktop six across; rising sounds and suggested creators;
- the tab bar stays Home, Discover, Upload, Inbox, Profile with Discover current;
- axe finds no contrast or serious violation.
Screenshots under var/artifacts/screenshots/discover-*."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from playwright.sync_api import Page, expect
from rest_framework.test import APIClient

from apps.content.models import Post
from apps.search.services import trending
from tests.browser.conftest import DESKTOP, PHONE, screenshot, seed_posts
from tests.browser.test_layout_and_contrast import _assert_accessible
from tests.events.helpers import URL as EVENTS_URL
from tests.events.helpers import event
from tests.factories import UserFactory
from tests.feed.conftest import make_post

SIZES = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]
# the first test also waits for the module's four clips to be transcoded on a shared machine
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    creators = [UserFactory(username="disc_skater", display_name="Skate Queen",
                            is_verified=True, followers_count=12_400),
                UserFactory(username="disc_cook", display_name="Chef Ana",
                            followers_count=310)]
    ids = seed_posts(tmp_path_factory.mktemp("discover-clips"), creators, count=4, seconds=1.5,
                     captions=[
                         "Kickflip at sunset #skate #sunset", "Night session #skate",
                         "Skate then pancakes #skate #cooking", "Pancakes #cooking"])
    for rank, post_id in enumerate(ids):
        Post.objects.filter(pk=int(post_id)).update(views_count=1000 - rank)
    hidden_author = UserFactory(username="disc_private", is_private=True,
                                followers_count=99_000)
    hidden = make_post(author=hidden_author, tags=("skate",), views_count=10**6)
    searchers = [UserFactory(username=f"disc_searcher{n}") for n in range(3)]
    for n, person in enumerate(searchers):
        client = APIClient()
        client.force_authenticate(person)
        response = client.post(EVENTS_URL, {"events": [
            event("search", search_id=f"d{n}", query="Skate Tricks", tab="top",
                  result_count=4, session_id=f"disc-{n}")]}, format="json")
        assert response.status_code == 200
    with override_settings(SEARCH_TRENDING_MIN_USERS=3):
        trending.events_consume()
        trending.trending_compute()
    return {"creators": creators, "post_ids": ids, "hidden": hidden,
            "viewer": UserFactory(username="disc_viewer")}


def _tag_block(page: Page, name: str) -> Any:
    return page.locator("article.discover-tag",
                        has=page.locator(f'a.discover-tag-name[href="/tag/{name}"]'))


@pytest.mark.parametrize("viewport", SIZES)
def test_discover_shows_trending_with_covers_sounds_and_creators(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page],
        viewport: dict[str, int]) -> None:
    phone = viewport == PHONE
    page = logged_in_page(catalogue["viewer"], viewport=viewport, touch=phone,
                          bypass_csp=True)
    page.goto("/discover")
    skate = _tag_block(page, "skate")
    covers = skate.locator(".cover-strip img")
    expect(covers).to_have_count(3)
    page.wait_for_function("""() => [...document.querySelectorAll('.cover-strip img')]
        .every(img => img.complete && img.naturalWidth > 0)""")
    label = "phone" if phone else "desktop"
    screenshot(page, f"discover-{label}")
    screenshot(page, f"discover-{label}-full", full_page=True)

    # the most viewed first; the private account's post is not among them
    links = skate.locator(".cover-strip a").evaluate_all("els => els.map(a => a.pathname)")
    ids = catalogue["post_ids"]
    assert links == [f"/@disc_skater/video/{ids[0]}", f"/@disc_cook/video/{ids[1]}",
                     f"/@disc_skater/video/{ids[2]}"]
    assert str(catalogue["hidden"].pk) not in page.content()
    expect(skate.get_by_text("3 videos")).to_be_visible()
    expect(_tag_block(page, "cooking").locator(".cover-strip img")).to_have_count(2)

    # trending searches from the events, as links to the search page
    chip = page.locator("ol.trending-searches a")
    expect(chip).to_have_count(1)
    expect(chip).to_have_text("1skate tricks")
    assert chip.get_attribute("href") == "/search?q=skate%20tricks"

    # rising sounds and suggested creators (never the private account, never oneself)
    sounds = page.locator(".sound-list a")
    assert sounds.count() >= 1
    creators = page.locator(".creator-card")
    expect(creators.first).to_contain_text("Skate Queen")
    # the name is shown whole (it wraps rather than being cut), the avatar has its initial
    name = creators.first.locator(".creator-name")
    assert name.evaluate("el => el.scrollHeight <= el.clientHeight + 1 "
                         "&& el.scrollWidth <= el.clientWidth + 1")
    expect(creators.first.locator(".avatar")).to_have_text("S")
    names = " ".join(creators.all_inner_texts())
    assert "disc_private" not in names
    assert "disc_viewer" not in names

    # the page never scrolls sideways; the covers sit in one row
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    boxes = [covers.nth(i).bounding_box() for i in range(3)]
    assert all(box is not None for box in boxes)
    tops = {round(box["y"]) for box in boxes if box}
    assert len(tops) == 1, "the covers are one row"
    strip = skate.locator(".cover-strip")
    if phone:
        # tiles about a third of the width: a swipeable row, clipped inside the page
        width = boxes[0]["width"] if boxes[0] else 0
        assert 90 <= width <= 130
        tabs = [t.strip() for t in page.locator("nav.tabbar a").all_inner_texts()]
        assert tabs == ["Home", "Discover", "Upload", "Inbox", "Profile"]
        expect(page.locator('nav.tabbar a[aria-current="page"]')).to_have_text("Discover")
    else:
        # six columns across the page's column
        strip_box = strip.bounding_box()
        assert strip_box is not None
        width = boxes[0]["width"] if boxes[0] else 0
        assert width == pytest.approx((strip_box["width"] - 5 * 10) / 6, abs=2)
    _assert_accessible(page, f"discover, {label}")

    # a cover opens its post; a trending search opens the search page
    skate.locator(".cover-strip a").first.click()
    page.wait_for_url(f"**/@disc_skater/video/{ids[0]}")
    page.go_back()
    page.locator("ol.trending-searches a").click()
    page.wait_for_url("**/search?q=skate%20tricks")


def test_signed_out_discover_has_the_same_sections(catalogue: dict[str, Any],
                                                   new_context: Callable[..., Any]) -> None:
    page = new_context(viewport=PHONE).new_page()
    page.goto("/discover")
    for heading in ("Trending searches", "Trending hashtags", "Rising sounds",
                    "Suggested creators"):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(_tag_block(page, "skate").locator(".cover-strip img")).to_have_count(3)
    tabs = [t.strip() for t in page.locator("nav.tabbar a").all_inner_texts()]
    assert tabs == ["Home", "Discover", "Log in"]
