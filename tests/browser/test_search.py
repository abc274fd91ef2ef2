"""The web search page (/search, issue 13) in headless Chromium against the real server and
its real search API (GET /api/v1/search, history, suggestions, trending), the index built
from committed rows:

- typing a few letters shows results as you type (prefix mode), without pressing Enter;
- Enter shows the full results, puts the search in the URL and in the viewer's history,
  and sends a "search" event; opening a result navigates to its real page and sends
  "search_click" with the result's position;
- recent searches: remove one, clear all (and the rows are gone);
- a blocked term shows the safety notice instead of results;
- the tabs switch (click and arrow keys), the URL follows;
- an Arabic display name renders right to left; a Japanese name is found;
- without JavaScript the GET form and the server-rendered results work;
- a failing API is said in words, with Try again;
- axe finds no contrast or serious violation in each state.
Screenshots (phone 390x844, desktop 1440x900) under var/artifacts/screenshots/search-*."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Request, Route, expect

from apps.accounts import services as account_services
from apps.accounts.models import User
from apps.content.models import Post
from apps.content.services import content_recount, post_create
from apps.moderation.detection.models import TermList
from apps.search.indexing.pipeline import rebuild
from apps.search.models import IndexOutbox, SearchHistory
from apps.search.services.history import record_search
from apps.search.tasks import drain_index_outbox
from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot
from tests.browser.test_layout_and_contrast import _assert_accessible
from tests.content.factories import LibrarySoundFactory, MediaAssetFactory
from tests.factories import UserFactory
from tests.feed.conftest import make_post
from tests.media.conftest import wait_for

SIZES = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]
OPTIONS = "#search-listbox [role='option']"
RESULTS = "#search-body .search-results a[data-result-type]"


@pytest.fixture(scope="module")
def catalogue(live_asgi_server: str) -> dict[str, Any]:
    viewer = UserFactory(username="searcher_h5")
    sofia = UserFactory(username="sofia_dances", display_name="Sofia Dances",
                        is_verified=True, followers_count=12_400)
    UserFactory(username="sofiane_cooks", display_name="Sofiane Cooks", followers_count=40)
    layla = UserFactory(username="layla_sings", display_name="ليلى تغني")
    kenji = UserFactory(username="kenji_tabi", display_name="山田健二の旅")
    sound = LibrarySoundFactory(title="Sofia Sunset", artist="The Night Owls")
    posts = [
        make_post(author=sofia, caption="Sofia sunset dance on the beach #sofia",
                  tags=("sofia",), sound=sound),
        make_post(author=sofia, caption="Sofia rehearsal before the show #sofia",
                  tags=("sofia",)),
        make_post(author=layla, caption="أغنية المساء مع ليلى"),
        make_post(author=kenji, caption="東京の夜景がきれい"),
    ]
    # more than one page of one word (the API's page is 20)
    posts += [make_post(author=kenji, caption=f"marathon training day {n}") for n in range(26)]
    TermList.objects.get_or_create(
        name="Search: test self-harm", purpose=TermList.Purpose.SEARCH_BLOCKED,
        defaults={"language": "", "policy": "self_harm", "terms": "kill myself\nselfharm"})
    content_recount()
    rebuild()
    # the server's first full search loads the caption-embedding model: not in a test's time
    with urllib.request.urlopen(f"{live_asgi_server}/api/v1/search?q=warm+up&tab=videos",
                                timeout=120) as response:
        assert response.status == 200
    return {"viewer": viewer, "sofia": sofia, "layla": layla, "kenji": kenji, "sound": sound,
            "posts": posts}


def _event_bodies(page: Page) -> list[dict[str, Any]]:
    """Collects every event the page POSTs to /api/v1/events (keepalive fetches included)."""
    seen: list[dict[str, Any]] = []

    def on_request(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/api/v1/events"):
            body = request.post_data or ""
            with contextlib.suppress(ValueError):
                seen.extend(json.loads(body).get("events", []))

    page.context.on("request", on_request)
    return seen


def _search_requests(page: Page) -> list[str]:
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url) if "/api/v1/search?" in r.url else None)
    return urls


def _until(page: Page, predicate: Callable[[], bool], what: str, seconds: float = 10) -> None:
    """Wait for something Playwright's events report (they are delivered only while the
    driver is called: a plain sleep would never see them)."""
    for _ in range(int(seconds * 10)):
        if predicate():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what}")


def _settled(page: Page) -> None:
    """The newest request has been answered (the panel is no longer busy)."""
    expect(page.locator("#search-panel")).not_to_have_attribute("aria-busy", "true")


def _type(page: Page, text: str) -> None:
    page.locator("#search-input").press_sequentially(text, delay=60)


def test_results_appear_as_you_type_then_enter_records_the_search_and_a_result_opens(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page],
        page_errors: PageErrors) -> None:
    viewer: User = catalogue["viewer"]
    SearchHistory.objects.filter(user=viewer).delete()
    page = logged_in_page(viewer)
    events = _event_bodies(page)
    requests = _search_requests(page)
    page.goto("/search")
    box = page.locator("#search-input")
    expect(box).to_be_focused()
    expect(box).to_have_attribute("role", "combobox")
    _type(page, "sofi")
    # results as you type: no Enter, still /search, the combobox's listbox shows them
    option = page.locator(OPTIONS, has_text="Sofia Dances")
    expect(option).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    assert page.url.endswith("/search")
    assert any("mode=prefix" in url for url in requests), requests
    assert not any("mode=full" in url for url in requests), requests
    # debounced: four keystrokes 60 ms apart are fewer than four prefix requests
    assert sum("mode=prefix" in url for url in requests) < 4, requests
    screenshot(page, "search-as-you-type-phone")
    # arrow keys move the choice; the input keeps focus and names the active option
    box.press("ArrowDown")
    active = box.get_attribute("aria-activedescendant")
    assert active
    expect(page.locator(f"#{active}")).to_have_attribute("aria-selected", "true")
    box.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")

    box.press_sequentially("a", delay=60)
    box.press("Enter")
    page.wait_for_url("**/search?q=sofia")
    first = page.locator(RESULTS).first
    expect(first).to_be_visible()
    assert any("mode=full" in url for url in requests), requests
    wait_for(lambda: SearchHistory.objects.filter(user=viewer, query="sofia").exists(),
             "the full search in the viewer's history", seconds=10)
    page.evaluate("() => window.swipemeSearch.telemetry.flush()")
    _until(page, lambda: any(e["type"] == "search" for e in events), "the search event")
    search_event = next(e for e in events if e["type"] == "search")
    assert search_event["data"]["query"] == "sofia"
    assert search_event["data"]["tab"] == "top"
    assert search_event["data"]["search_id"]
    assert search_event["data"]["result_count"] == page.locator(RESULTS).count()

    # Top leads with the account whose name starts with the query ("Sofia Dances")
    expect(first).to_have_attribute("href", "/@sofia_dances")
    # every result is a real link; opening one goes to its page and reports the click
    opened = page.locator(RESULTS).nth(2)  # after the account and the #sofia hashtag
    href = opened.get_attribute("href") or ""
    assert href.startswith("/@sofia_dances/video/"), href
    kind = opened.get_attribute("data-result-type")
    result_id = opened.get_attribute("data-result-id")
    opened.click()
    page.wait_for_url(f"**{href}")
    expect(page.locator("main")).to_contain_text("sofia_dances")
    _until(page, lambda: any(e["type"] == "search_click" for e in events),
           "the search_click event")
    click = next(e for e in events if e["type"] == "search_click")
    assert click["data"] == {"search_id": search_event["data"]["search_id"], "tab": "top",
                             "position": 2, "result_type": kind, "result_id": result_id}
    if kind == "video":
        assert click["post_id"] == result_id
    assert page_errors.uncaught == []


def test_a_post_published_now_is_found_through_the_real_outbox_drain(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page],
        live_asgi_server: str) -> None:
    """The catalogue above is indexed by a rebuild; this proves the everyday path: a change
    records its outbox row in its own transaction, the drain task (what the worker runs
    after the commit; nothing drains on commit in tests, settings.test) writes the index,
    and the server's next search sees it."""
    creator = UserFactory(username="heron_watch_h5")
    account_services.user_profile_update(user=creator, display_name="Heron Watcher")
    post = post_create(author=creator, asset_id=MediaAssetFactory(owner=creator).pk,
                       caption="a grey heron fishing at dawn")
    assert post.status == Post.Status.PUBLISHED
    waiting = set(IndexOutbox.objects.values_list("kind", "object_id"))
    assert {("video", post.pk), ("account", creator.pk)} <= waiting

    def found(tab: str) -> list[str]:
        with urllib.request.urlopen(f"{live_asgi_server}/api/v1/search?q=heron&tab={tab}",
                                    timeout=30) as response:
            return [item["id"] for item in json.load(response)["results"]]

    # not drained yet: the index does not have them
    assert found("videos") == []
    assert found("accounts") == []
    assert drain_index_outbox() >= 2
    assert not IndexOutbox.objects.filter(object_id__in=[post.pk, creator.pk]).exists()
    assert found("videos") == [str(post.pk)]
    assert found("accounts") == [str(creator.pk)]

    page = logged_in_page(catalogue["viewer"])
    page.goto("/search")
    _type(page, "hero")
    expect(page.locator(OPTIONS, has_text="Heron Watcher")).to_be_visible()
    page.locator("#search-input").press_sequentially("n", delay=60)
    page.locator("#search-input").press("Enter")
    page.wait_for_url("**/search?q=heron")
    page.get_by_role("tab", name="Videos").click()
    page.wait_for_url("**/search?q=heron&tab=videos")
    video = page.locator(RESULTS, has_text="a grey heron fishing at dawn")
    expect(video).to_have_attribute("href", f"/@heron_watch_h5/video/{post.pk}")
    screenshot(page, "search-drained-post-phone")
    video.click()
    page.wait_for_url(f"**/@heron_watch_h5/video/{post.pk}")


def test_recent_searches_remove_one_and_clear_all(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page]) -> None:
    viewer = UserFactory(username="forgetful_h5")
    for query in ("alpha dance", "beta sunset", "gamma cats"):
        record_search(viewer, query)
    page = logged_in_page(viewer, viewport=DESKTOP, touch=False)
    page.goto("/search")
    recent = page.locator("#search-recent")
    expect(recent.get_by_role("heading", name="Recent searches")).to_be_visible()
    expect(recent.locator("li")).to_have_count(3)
    # newest first, each a link that searches it again
    expect(recent.locator("li a").first).to_have_text("gamma cats")
    assert recent.locator("li a").first.get_attribute("href") == "/search?q=gamma+cats"
    screenshot(page, "search-empty-recent-desktop")

    recent.get_by_role("button", name="Remove “beta sunset” from recent searches").click()
    expect(recent.locator("li")).to_have_count(2)
    expect(recent).not_to_contain_text("beta sunset")
    wait_for(lambda: not SearchHistory.objects.filter(user=viewer, query="beta sunset").exists(),
             "the removed entry to be deleted", seconds=10)
    assert SearchHistory.objects.filter(user=viewer).count() == 2

    recent.get_by_role("button", name="Clear all").click()
    expect(recent).to_be_hidden()
    wait_for(lambda: not SearchHistory.objects.filter(user=viewer).exists(),
             "the history to be cleared", seconds=10)
    expect(page.locator("#search-input")).to_be_focused()
    page.reload()
    expect(page.locator("#search-trending")).to_be_visible()
    expect(page.locator("#search-recent")).to_be_hidden()


def test_a_blocked_term_shows_the_safety_notice_instead_of_results(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page]) -> None:
    page = logged_in_page(catalogue["viewer"])
    page.goto("/search")
    _type(page, "kill myself")
    notice = page.locator(".search-notice")
    expect(notice).to_be_visible()  # as you type already
    page.locator("#search-input").press("Enter")
    page.wait_for_url("**/search?q=kill+myself")
    expect(notice).to_be_visible()
    expect(notice.get_by_role("heading")).not_to_be_empty()
    expect(page.locator(RESULTS)).to_have_count(0)
    screenshot(page, "search-safety-notice-phone")
    # the server-rendered page says the same
    page.reload()
    expect(page.locator(".search-notice")).to_be_visible()
    expect(page.locator(RESULTS)).to_have_count(0)


def test_tabs_switch_by_click_and_arrow_keys(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page]) -> None:
    page = logged_in_page(catalogue["viewer"], viewport=DESKTOP, touch=False)
    page.goto("/search?q=sofia")
    tabs = page.get_by_role("tablist")
    expect(tabs.get_by_role("tab", name="Top")).to_have_attribute("aria-selected", "true")
    expect(page.locator(RESULTS).first).to_be_visible()

    tabs.get_by_role("tab", name="Accounts").click()
    page.wait_for_url("**/search?q=sofia&tab=accounts")
    _settled(page)
    expect(tabs.get_by_role("tab", name="Accounts")).to_have_attribute("aria-selected", "true")
    expect(page.locator(RESULTS, has_text="Sofia Dances")).to_be_visible()
    types = set(page.locator(RESULTS).evaluate_all("els => els.map(e => e.dataset.resultType)"))
    assert types == {"account"}

    tabs.get_by_role("tab", name="Accounts").press("ArrowRight")
    page.wait_for_url("**/search?q=sofia&tab=videos")
    _settled(page)
    expect(tabs.get_by_role("tab", name="Videos")).to_be_focused()
    expect(page.locator(f"{RESULTS}.result-card").first).to_be_visible()
    assert set(page.locator(RESULTS).evaluate_all(
        "els => els.map(e => e.dataset.resultType)")) == {"video"}
    screenshot(page, "search-videos-desktop")

    tabs.get_by_role("tab", name="Sounds").click()
    sound = page.locator(RESULTS, has_text="Sofia Sunset")
    expect(sound).to_have_attribute("href", f"/sound/{catalogue['sound'].pk}")

    tabs.get_by_role("tab", name="Hashtags").click()
    expect(page.locator(RESULTS, has_text="#sofia")).to_have_attribute(
        "href", "/tag/sofia")
    # back goes to the previous tab's results
    page.go_back()
    page.wait_for_url("**/search?q=sofia&tab=sounds")
    expect(tabs.get_by_role("tab", name="Sounds")).to_have_attribute("aria-selected", "true")
    expect(page.locator(RESULTS, has_text="Sofia Sunset")).to_be_visible()


def test_arabic_names_read_right_to_left_and_japanese_is_found(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page]) -> None:
    page = logged_in_page(catalogue["viewer"])
    page.goto("/search?q=layla&tab=accounts")
    name = page.locator(RESULTS, has_text="ليلى تغني").locator(".result-title [dir='auto']")
    expect(name).to_have_text("ليلى تغني")
    assert name.evaluate("el => el.matches(':dir(rtl)')")
    # the handle beside it stays left to right
    handle = page.locator(RESULTS, has_text="ليلى تغني").locator(".result-sub [dir='ltr']")
    assert handle.evaluate("el => el.matches(':dir(ltr)')")
    screenshot(page, "search-arabic-phone")
    # typed in Arabic script, as you type
    page.goto("/search")
    _type(page, "ليلى")
    expect(page.locator(OPTIONS, has_text="ليلى تغني")).to_be_visible()
    # the box itself follows the text's direction
    assert page.locator("#search-input").evaluate("el => el.matches(':dir(rtl)')")
    # Japanese (no spaces between words)
    page.goto("/search?q=" + "山田&tab=accounts")
    expect(page.locator(RESULTS, has_text="山田健二の旅")).to_be_visible()


def test_without_javascript_the_form_and_server_results_work(
        catalogue: dict[str, Any], new_context: Callable[..., BrowserContext]) -> None:
    page = new_context(java_script_enabled=False).new_page()
    page.goto("/discover")
    page.get_by_role("search").get_by_role("searchbox").fill("sofia")
    page.get_by_role("search").get_by_role("button", name="Search").click()
    page.wait_for_url("**/search?q=sofia")
    expect(page.locator(RESULTS).first).to_be_visible()
    page.get_by_role("tab", name="Accounts").click()
    page.wait_for_url("**/search?q=sofia&tab=accounts")
    expect(page.locator(RESULTS, has_text="Sofia Dances")).to_have_attribute(
        "href", "/@sofia_dances")
    page.get_by_role("tab", name="Sounds").click()
    page.wait_for_url("**/search?q=sofia&tab=sounds")
    expect(page.locator(RESULTS, has_text="Sofia Sunset")).to_be_visible()
    page.goto("/search?q=zzqqxxnothing")
    expect(page.get_by_role("heading", name="No results for “zzqqxxnothing”")).to_be_visible()


def test_more_results_load_on_scrolling_with_the_cursor(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page]) -> None:
    page = logged_in_page(catalogue["viewer"])
    requests = _search_requests(page)
    page.goto("/search?q=marathon&tab=videos")
    cards = page.locator(RESULTS)
    expect(cards).to_have_count(20)
    page.locator("[data-more]").scroll_into_view_if_needed()
    expect(cards).to_have_count(26)
    assert any("cursor=" in url for url in requests), requests
    hrefs = cards.evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert len(set(hrefs)) == 26
    positions = cards.evaluate_all("els => els.map(e => Number(e.dataset.position))")
    assert positions == list(range(26))
    expect(page.locator("[data-more]")).to_have_count(0)  # the last page: nothing more


def test_a_failing_search_is_said_in_words_and_retried(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page]) -> None:
    page = logged_in_page(catalogue["viewer"])
    failing = {"on": True}

    def handle(route: Route) -> None:
        if failing["on"] and "mode=full" in route.request.url:
            route.fulfill(status=500, content_type="application/json",
                          body='{"error": {"code": "error", "message": "x", "fields": {}}}')
        else:
            route.continue_()

    page.route("**/api/v1/search?*", handle)
    page.goto("/search")
    page.locator("#search-input").fill("sofia")
    page.locator("#search-input").press("Enter")
    alert = page.locator("#search-body [role='alert']")
    expect(alert).to_contain_text("Search isn't working right now")
    failing["on"] = False
    alert.get_by_role("button", name="Try again").click()
    expect(page.locator(RESULTS).first).to_be_visible()
    expect(alert).to_have_count(0)


def test_a_late_answer_to_an_older_query_is_not_shown(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page]) -> None:
    """The answer for "sofia" arrives after the one for "layla" was shown: it is dropped."""
    page = logged_in_page(catalogue["viewer"])
    held: list[Route] = []

    def handle(route: Route) -> None:
        if "q=sofia" in route.request.url and "mode=prefix" in route.request.url:
            held.append(route)  # answered later, after the newer query's answer
        else:
            route.continue_()

    page.route("**/api/v1/search?*", handle)
    page.goto("/search")
    box = page.locator("#search-input")
    box.fill("sofia")
    _until(page, lambda: bool(held), "the held request")
    box.fill("layla")
    expect(page.locator(OPTIONS, has_text="ليلى تغني")).to_be_visible()
    for route in held:
        # the browser already aborted it (that is the point): continuing may raise
        with contextlib.suppress(Exception):
            route.continue_()
    page.wait_for_timeout(500)
    expect(page.locator(OPTIONS, has_text="Sofia Dances")).to_have_count(0)
    expect(page.locator(OPTIONS, has_text="ليلى تغني")).to_be_visible()


@pytest.mark.parametrize("viewport", SIZES)
def test_each_state_looks_right_and_passes_axe(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page],
        viewport: dict[str, int]) -> None:
    viewer = UserFactory(username=f"looker_{viewport['width']}")
    record_search(viewer, "sofia sunset")
    page = logged_in_page(viewer, viewport=viewport, touch=viewport == PHONE, bypass_csp=True)
    size = "phone" if viewport == PHONE else "desktop"
    page.goto("/search")
    expect(page.locator("#search-recent li")).to_have_count(1)
    screenshot(page, f"search-empty-{size}")
    _assert_accessible(page, "search: empty box")
    _type(page, "sof")
    expect(page.locator(OPTIONS).first).to_be_visible()
    screenshot(page, f"search-typing-{size}")
    _assert_accessible(page, "search: as you type")
    _type(page, "ia")
    page.locator("#search-input").press("Enter")
    for tab in ("top", "accounts", "videos", "sounds", "hashtags"):
        if tab != "top":
            page.get_by_role("tab", name=tab.title()).click()
        _settled(page)
        expect(page.locator(RESULTS).first).to_be_visible()
        kinds = set(page.locator(RESULTS).evaluate_all("els => els.map(e => e.dataset.resultType)"))
        assert tab == "top" or kinds == {tab.removesuffix("s")}, (tab, kinds)
        screenshot(page, f"search-{tab}-{size}")
        _assert_accessible(page, f"search: {tab}")
        # nothing wider than the screen (long names and captions are cut, not overflowing)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
    page.goto("/search?q=selfharm")
    expect(page.locator(".search-notice")).to_be_visible()
    screenshot(page, f"search-notice-{size}")
    _assert_accessible(page, "search: safety notice")
    page.goto("/search?q=zzqqxxnothing")
    screenshot(page, f"search-no-results-{size}")
    _assert_accessible(page, "search: no results")
    if viewport == PHONE:
        # the phone's tab bar stays Home, Discover, Upload, Inbox, Profile; search is Discover's
        tabs = [t.strip() for t in page.locator("nav.tabbar a").all_inner_texts()]
        assert tabs == ["Home", "Discover", "Upload", "Inbox", "Profile"]
        expect(page.locator('nav.tabbar a[aria-current="page"]')).to_have_text("Discover")
    else:
        page.goto("/discover")
        header = page.locator("header.topbar form[role='search']")
        header.get_by_role("searchbox").fill("sofia")
        header.get_by_role("searchbox").press("Enter")
        page.wait_for_url("**/search?q=sofia")
        expect(page.locator(RESULTS).first).to_be_visible()


@pytest.mark.parametrize("width", [800, 1000, 1440])
def test_the_header_search_box_keeps_the_header_in_one_row(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page], width: int) -> None:
    viewer = UserFactory(username=f"header_{width}")
    page = logged_in_page(viewer, viewport={"width": width, "height": 900}, touch=False)
    page.goto("/discover")
    screenshot(page, f"search-header-{width}")
    header = page.locator("header.topbar").bounding_box()
    assert header is not None
    assert header["height"] <= 72, header  # the nav beside it never wraps to a second row
    form = page.locator("header.topbar form[role='search']")
    if width < 1000:
        # narrower screens search from Discover: its page starts with the box
        expect(form).to_be_hidden()
        box = page.locator("main form[role='search']").get_by_role("searchbox")
    else:
        box = form.get_by_role("searchbox")
        assert (box.bounding_box() or {"width": 0})["width"] >= 120
    box.fill("sofia")
    box.press("Enter")
    page.wait_for_url("**/search?q=sofia")
    expect(page.locator(RESULTS).first).to_be_visible()
