"""The swipe feed in headless Chromium, against the real server and worker: posts are real
uploads processed by the pipeline (one catalogue for the module), the page plays them with
hls.js, and every action goes through the public APIs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from apps.accounts.models import User
from apps.comments.models import Comment
from apps.engagement.models import Like
from apps.events.log import STREAM_KEY, LoggedBatch, redis_client
from apps.social.models import Follow
from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot, seed_posts
from tests.factories import UserFactory
from tests.media.conftest import wait_for

ACTIVE_PLAYING = """() => {
  const s = window.swipeme;
  const item = s && s.items[s.active];
  return !!item && item.video.readyState >= 2 && item.video.currentTime > 0.2;
}"""
# A video element holds a decoder while it has a source (a src, or a MediaSource that hls.js
# attached through a blob: src) or is still loading one.
DECODERS = """() => [...document.querySelectorAll('video')]
  .filter(v => v.hasAttribute('src') || v.srcObject || v.readyState > 0
               || v.networkState !== HTMLMediaElement.NETWORK_EMPTY).length"""


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # one post per creator: the feed's diversity rules would space out a creator's posts
    creators = [UserFactory(username=name) for name in ("maker_ana", "maker_bo", "maker_cy",
                                                        "maker_di")]
    ids = seed_posts(tmp_path_factory.mktemp("feed-clips"), creators, count=4, captions=[
        "Morning light #sunrise with @maker_bo", "Bars and tones #retro",
        "Primary colours #rgb", "Test card #retro #tv"])
    return {"creators": creators, "post_ids": ids}


def _open_feed(page: Page, path: str = "/") -> None:
    page.goto(path)
    page.wait_for_function(ACTIVE_PLAYING, timeout=30_000)


def _active(page: Page) -> int:
    return int(page.evaluate("() => window.swipeme.active"))


def _active_post(page: Page) -> str:
    return str(page.evaluate("() => window.swipeme.items[window.swipeme.active].post.id"))


def _item(page: Page, index: int | None = None) -> str:
    index = _active(page) if index is None else index
    return f'.feed-item[data-index="{index}"]'


def _scroll_top(page: Page) -> float:
    return float(page.evaluate("() => document.getElementById('feed').scrollTop"))


def _wait_liked(page: Page, liked: bool) -> None:
    page.wait_for_function(
        "([sel, want]) => document.querySelector(sel).getAttribute('aria-pressed') === want",
        arg=[f"{_item(page)} .like", "true" if liked else "false"])


def _logged_stream_events() -> list[dict[str, Any]]:
    rows: Any = redis_client().xrange(STREAM_KEY)
    return [{**event, "user_id": batch.user_id} for _id, fields in rows
            for batch in [LoggedBatch.from_json(fields["b"])] for event in batch.events]


def test_signed_out_visitors_see_for_you_play_and_get_a_sign_up_prompt(
        catalogue: dict[str, Any], page: Page, page_errors: PageErrors) -> None:
    _open_feed(page)
    state = page.evaluate("""() => {
      const v = window.swipeme.items[0].video;
      return {items: window.swipeme.items.length, muted: v.muted, paused: v.paused,
              loop: v.loop, time: v.currentTime, ready: v.readyState};
    }""")
    assert state["items"] >= 2
    assert state["ready"] >= 2
    assert state["time"] > 0
    assert not state["paused"]
    # autoplay starts muted; looping
    assert state["muted"]
    assert state["loop"]
    poster_shown = page.evaluate(
        "() => getComputedStyle(document.querySelector('.feed-item .poster')).display")
    assert poster_shown != "none"
    screenshot(page, "feed-for-you-signed-out-phone")
    assert page_errors.failed_requests == []

    # the first interaction turns the sound on (and a tap does not pause then)
    page.locator(f"{_item(page, 0)} .tap-layer").click()
    page.wait_for_timeout(400)
    assert page.evaluate("() => window.swipeme.items[0].video.muted") is False
    assert page.evaluate("() => window.swipeme.items[0].video.paused") is False
    assert page.locator("#sound-toggle").get_attribute("aria-pressed") == "true"

    # actions ask a signed-out visitor to sign up
    page.locator(f"{_item(page, 0)} .like").click()
    prompt = page.locator("#signup-prompt")
    prompt.wait_for(state="visible")
    assert prompt.get_by_role("link", name="Sign up").is_visible()
    page.wait_for_timeout(300)  # the sheet has finished rising
    screenshot(page, "feed-sign-up-prompt")
    assert Like.objects.count() == 0
    assert page_errors.uncaught == []


def test_keys_and_wheel_move_exactly_one_item_and_at_most_two_videos_decode(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page],
        page_errors: PageErrors) -> None:
    page = logged_in_page(UserFactory(), viewport=DESKTOP, touch=False)
    _open_feed(page)
    screenshot(page, "feed-for-you-desktop")
    height = page.evaluate("() => document.getElementById('feed').clientHeight")

    # the next video is preloaded while the first plays: manifest and a first segment
    page.wait_for_function("() => window.swipeme.items[1].player.attached"
                           " && window.swipeme.items[1].video.buffered.length > 0")
    assert page.evaluate(DECODERS) <= 2
    # ... and parked, paused, on its decoded first frame, with the clock just short of the
    # second frame (30 fps clips: due 33 ms after the first), so that motion starts at once
    page.wait_for_function("() => window.swipeme.items[1].player.parkedAt != null")
    parked = page.evaluate("""() => { const p = window.swipeme.items[1].player;
      return {first: p.firstFrameTime, time: p.video.currentTime, paused: p.video.paused,
              ready: p.video.readyState}; }""")
    assert parked["paused"]
    assert parked["ready"] >= 2
    assert parked["first"] + 0.02 < parked["time"] < parked["first"] + 1 / 30

    page.keyboard.press("ArrowDown")
    page.wait_for_function("() => window.swipeme.active === 1")
    page.wait_for_function(ACTIVE_PLAYING)
    # the swipe's first frame was a new one, after the parked frame, and it was measured
    swiped = page.evaluate("() => window.swipeme.metrics.find(m => m.index === 1)")
    assert swiped["preloaded"]
    assert swiped["frame_ready"]
    assert swiped["frame"]["from"] == pytest.approx(parked["time"], abs=0.001)
    assert swiped["frame"]["media_time"] > swiped["frame"]["from"]
    assert swiped["since_input_ms"] is not None
    page.wait_for_timeout(600)  # a smooth scroll has settled; nothing moved further
    assert _active(page) == 1
    assert _scroll_top(page) == pytest.approx(height, abs=2)
    assert page.evaluate("() => window.swipeme.items[0].video.paused")

    # a trackpad-like burst of small wheel deltas is one move, not several (once a third
    # item is there to move to: on a loaded machine the next page may still be on its way,
    # and a gesture with nowhere to go is rightly spent on nothing)
    page.wait_for_function("() => window.swipeme.items.length > 2")
    feed = page.locator("#feed").bounding_box()
    assert feed is not None
    page.mouse.move(feed["x"] + feed["width"] / 2, feed["y"] + feed["height"] / 2)
    # The burst is sent back to back (each wheel call waits for the page's acknowledgement):
    # with a sleep between events, a stall of the test process on a loaded machine left a gap
    # longer than the gesture's 180 ms quiet period after the column had settled, which the
    # page rightly takes for a second gesture (the likely cause of a CI timeout below: its log
    # was cut before the page's state; one burst moving two items was reproduced earlier).
    for _ in range(12):
        page.mouse.wheel(0, 25)
    try:
        page.wait_for_function("() => window.swipeme.active === 2")
    except Exception as error:  # say what the page was doing (twice seen on a loaded machine)
        state = page.evaluate("""() => ({active: window.swipeme.active,
          items: window.swipeme.items.length, top: document.getElementById('feed').scrollTop,
          under: document.elementFromPoint(innerWidth / 2, innerHeight / 2)?.outerHTML
            .slice(0, 200), moves: window.swipemeMoves})""")
        raise AssertionError(f"the wheel burst did not move to item 2: {state}") from error
    page.wait_for_timeout(700)
    assert _active(page) == 2, page.evaluate("() => window.swipemeMoves")
    assert _scroll_top(page) == pytest.approx(2 * height, abs=2)
    page.wait_for_function(ACTIVE_PLAYING)

    # scrolled-away videos have released their decoders and buffers
    assert page.evaluate(DECODERS) <= 2
    released = page.evaluate("""() => {
      const v = window.swipeme.items[0].video;
      return !v.hasAttribute('src') && v.readyState === 0 && v.buffered.length === 0
        && v.networkState === HTMLMediaElement.NETWORK_EMPTY
        && !window.swipeme.items[0].player.hls;
    }""")
    assert released

    # and back up one
    page.keyboard.press("ArrowUp")
    page.wait_for_function("() => window.swipeme.active === 1")
    page.wait_for_function(ACTIVE_PLAYING)
    assert page.evaluate(DECODERS) <= 2
    assert page_errors.uncaught == []


@pytest.fixture
def viewer_page(catalogue: dict[str, Any],
                logged_in_page: Callable[..., Page]) -> tuple[User, Page]:
    viewer = UserFactory()
    page = logged_in_page(viewer, viewport=DESKTOP, touch=False)
    _open_feed(page)
    return viewer, page


def test_like_with_the_button_and_with_a_double_tap(viewer_page: tuple[User, Page],
                                                    page_errors: PageErrors) -> None:
    viewer, page = viewer_page
    post_id = _active_post(page)
    like = page.locator(f"{_item(page)} .like")
    like.click()
    _wait_liked(page, True)
    assert like.locator(".count").inner_text() == "1"
    page.wait_for_timeout(300)
    assert Like.objects.filter(user=viewer, post_id=int(post_id)).exists()

    like.click()  # unlike
    _wait_liked(page, False)
    page.wait_for_timeout(300)
    assert not Like.objects.filter(user=viewer, post_id=int(post_id)).exists()

    # double-tap on the video likes (with a heart) and does not pause it
    page.locator(f"{_item(page)} .tap-layer").dblclick()
    page.locator(f"{_item(page)} .hearts .heart").first.wait_for(state="attached")
    screenshot(page, "feed-double-tap-heart")
    _wait_liked(page, True)
    page.wait_for_timeout(300)
    assert Like.objects.filter(user=viewer, post_id=int(post_id)).exists()
    assert page.evaluate("() => window.swipeme.items[window.swipeme.active].video.paused") is False

    # a single tap pauses, another resumes
    page.locator(f"{_item(page)} .tap-layer").click()
    page.wait_for_function("() => window.swipeme.items[window.swipeme.active].video.paused")
    page.locator(f"{_item(page)} .tap-layer").click()
    page.wait_for_function("() => !window.swipeme.items[window.swipeme.active].video.paused")
    assert page_errors.uncaught == []


def test_comment_and_reply_in_the_drawer(viewer_page: tuple[User, Page], api_client: Any,
                                         page_errors: PageErrors) -> None:
    viewer, page = viewer_page
    post_id = _active_post(page)
    author = page.evaluate("() => window.swipeme.items[window.swipeme.active].post.author.username")
    creator = User.objects.get(username=author)
    # the creator's own comment, pinned: it comes first with a badge
    api_client.force_authenticate(creator)
    made = api_client.post(f"/api/v1/posts/{post_id}/comments",
                           {"text": "Thanks for watching @maker_ana"}, format="json")
    assert made.status_code == 201, made.content
    pinned = api_client.post(f"/api/v1/comments/{made.json()['id']}/pin")
    assert pinned.status_code in (200, 201, 204), pinned.content

    page.locator(f"{_item(page)} .comment").click()
    drawer = page.locator("#comments-drawer")
    drawer.wait_for(state="visible")
    first = drawer.locator(".comment-list > .comment").first
    first.wait_for()
    assert "Pinned" in first.inner_text()
    assert first.locator("a.mention").get_attribute("href") == "/@maker_ana"

    drawer.get_by_label("Add a comment").fill("Great clip #retro")
    drawer.get_by_role("button", name="Post").click()
    mine = drawer.locator(".comment-list > .comment", has_text="Great clip")
    mine.wait_for()
    mine.get_by_role("button", name=f"Reply to @{viewer.username}").click()
    assert drawer.locator(".replying").is_visible()
    field = drawer.get_by_label("Add a comment")
    assert field.input_value().startswith(f"@{viewer.username} ")
    field.press("End")
    field.type("and a reply")
    field.press("Enter")
    reply = mine.locator(".replies .comment", has_text="and a reply")
    reply.wait_for()
    page.wait_for_timeout(300)  # the sheet has finished rising
    screenshot(page, "feed-comments-drawer")

    top = Comment.objects.get(post_id=int(post_id), author=viewer, parent__isnull=True)
    assert top.text == "Great clip #retro"
    answer = Comment.objects.get(post_id=int(post_id), author=viewer, parent=top)
    assert answer.text.endswith("and a reply")
    # the page counted the post's comments when it loaded (before the creator's), plus ours
    assert page.locator(f"{_item(page)} .comment .count").inner_text() == "2"
    page.keyboard.press("Escape")
    drawer.wait_for(state="hidden")
    assert page_errors.uncaught == []


def test_follow_from_the_rail_then_the_following_tab(viewer_page: tuple[User, Page],
                                                     page_errors: PageErrors) -> None:
    viewer, page = viewer_page
    author = page.evaluate("() => window.swipeme.items[window.swipeme.active].post.author.username")
    follow = page.get_by_role("button", name=f"Follow @{author}").first
    follow.click()
    page.get_by_role("button", name=f"Unfollow @{author}").first.wait_for()
    # the button turns at once; the request lands a moment later (slower on a busy machine)
    wait_for(lambda: Follow.objects.filter(follower=viewer, followee__username=author).exists(),
             "the follow to be stored", seconds=15)

    page.goto("/following")
    page.wait_for_function(ACTIVE_PLAYING, timeout=30_000)
    authors = page.evaluate("() => window.swipeme.items.map(i => i.post.author.username)")
    assert authors
    assert set(authors) == {author}
    screenshot(page, "feed-following-desktop")
    assert page_errors.uncaught == []


def test_events_arrive_batched_and_with_a_beacon_on_page_hide(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page],
        page_errors: PageErrors) -> None:
    viewer = UserFactory()
    page = logged_in_page(viewer)
    _open_feed(page)
    first = _active_post(page)
    page.wait_for_timeout(1500)
    page.locator(f"{_item(page)} .like").click()
    page.keyboard.press("ArrowDown")
    page.wait_for_function("() => window.swipeme.active === 1")
    page.wait_for_function(ACTIVE_PLAYING)
    second = _active_post(page)
    # a periodic flush (fetch), then leaving the page sends the rest with sendBeacon
    page.evaluate("() => window.swipeme.telemetry.flush()")
    page.wait_for_timeout(500)
    page.goto("about:blank")
    page.wait_for_timeout(1000)

    events = [e for e in _logged_stream_events() if e["user_id"] == viewer.pk]
    kinds = {(e["type"], str(e["post_id"])) for e in events}
    assert {("impression", first), ("play_start", first), ("like", first),
            ("impression", second), ("play_start", second)} <= kinds
    ends = {e["type"] for e in events if str(e["post_id"]) == first} & {"watch_end", "skip"}
    assert ends == {"watch_end"}
    watch_end = next(e for e in events if e["type"] == "watch_end" and str(e["post_id"]) == first)
    assert watch_end["data"]["watched_ms"] >= 1000
    assert watch_end["data"]["duration_ms"] > 0
    qoe = next(e for e in events if e["type"] == "qoe" and str(e["post_id"]) == first)
    assert qoe["data"]["ttff_ms"] >= 0
    assert "rebuffer_count" in qoe["data"]
    assert "bitrate_kbps" in qoe["data"]
    assert qoe["data"]["rung"] in (240, 360, 540, 720, 1080)  # the QoE page's breakdown
    # the second play ended when the page was hidden: its watch_end came by beacon
    assert any(e["type"] in ("watch_end", "skip") and str(e["post_id"]) == second for e in events)
    assert page_errors.uncaught == []
    json.dumps(events)  # the log holds plain JSON


def test_leaving_the_feed_by_a_link_delivers_everything_still_queued(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page],
        page_errors: PageErrors) -> None:
    """Issue 12: what is queued when the viewer follows a link away — the play that ends on
    pagehide, and a backlog the connection could not send — reaches the server, in requests
    that outlive the page (more than one batch of them)."""
    viewer = UserFactory()
    page = logged_in_page(viewer)
    _open_feed(page)
    # from here on nothing is sent on the timer: only leaving the page can send the queue
    page.evaluate("() => clearInterval(window.swipeme.telemetry.timer)")
    page.evaluate("() => window.swipeme.telemetry.flush()")
    first = _active_post(page)
    # the connection drops for a while: batches fail and stay queued
    page.route("**/api/v1/events", lambda route: route.abort("internetdisconnected"))
    page.locator(f"{_item(page)} .like").click()
    page.keyboard.press("ArrowDown")
    page.wait_for_function("() => window.swipeme.active === 1")
    page.wait_for_function(ACTIVE_PLAYING)
    second = _active_post(page)
    page.wait_for_timeout(1500)  # a play over a second ends with watch_end, not skip
    page.evaluate("""async (postId) => {
      const t = window.swipeme.telemetry;
      for (let i = 0; i < 300; i++) t.track("impression", postId);
      await t.flush();
    }""", second)
    queued = page.evaluate("() => window.swipeme.telemetry.queue.map(e => e.id)")
    assert len(queued) > 300  # six batches and more: a backlog from the lost connection
    page.unroute("**/api/v1/events")  # back online, and the viewer leaves by a link
    with page.expect_navigation():
        # on a phone the profile link is the tab bar's (the header keeps one row)
        page.locator("nav.tabbar").get_by_role("link", name="Profile").click()
    page.wait_for_load_state()

    def arrived() -> list[dict[str, Any]]:
        return [e for e in _logged_stream_events() if e["user_id"] == viewer.pk]

    def complete(events: list[dict[str, Any]]) -> bool:
        return set(queued) <= {e["id"] for e in events} and any(
            e["type"] == "watch_end" and str(e["post_id"]) == second for e in events)

    deadline = time.monotonic() + 10
    while not complete(arrived()) and time.monotonic() < deadline:
        time.sleep(0.2)
    events = arrived()
    missing = set(queued) - {e["id"] for e in events}
    assert not missing, f"{len(missing)} of {len(queued)} queued events never arrived"
    kinds = {(e["type"], str(e["post_id"])) for e in events}
    assert {("like", first), ("play_start", second)} <= kinds
    assert ("watch_end", second) in kinds  # tracked on pagehide: only the last batch has it
    assert page_errors.uncaught == []


def test_a_backlog_beyond_the_keepalive_budget_sends_what_fits_and_keeps_the_rest(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page]) -> None:
    """The browser refuses keepalive bodies over 64 KiB in flight: hiding the page with a
    full queue (1,000 events, offline for long) sends what fits, keeps the rest queued for
    when the page comes back, and never spins."""
    viewer = UserFactory()
    page = logged_in_page(viewer)
    _open_feed(page)
    page.evaluate("() => clearInterval(window.swipeme.telemetry.timer)")
    post = _active_post(page)
    page.route("**/api/v1/events", lambda route: route.abort("internetdisconnected"))
    page.evaluate("""async (postId) => {
      const t = window.swipeme.telemetry;
      for (let i = 0; i < 1100; i++) t.track("impression", postId);
      await new Promise((resolve) => setTimeout(resolve, 500));  // the failed sends requeue
    }""", post)
    page.unroute("**/api/v1/events")
    queued = set(page.evaluate("() => window.swipeme.telemetry.queue.map(e => e.id)"))
    assert len(queued) == 1000  # the queue keeps the newest 1,000
    kept = set(page.evaluate("""() => {
      const t = window.swipeme.telemetry;
      t.flushAll();
      return t.queue.map(e => e.id);
    }"""))
    assert kept < queued  # at least a batch went, and the call returned
    sent = queued - kept
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        arrived = {e["id"] for e in _logged_stream_events() if e["user_id"] == viewer.pk}
        if sent <= arrived:
            break
        time.sleep(0.2)
    assert sent <= arrived  # whatever left the queue reached the server
    assert not (kept & arrived)


def test_keyboard_only_use_reaches_every_control_by_its_label(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page], tmp_path: Path) -> None:
    page = logged_in_page(UserFactory(), viewport=DESKTOP, touch=False)
    _open_feed(page)
    item = page.locator(_item(page))
    for name in ("Follow @", "Like", "Comments", "Add to favourites", "Share", "More options",
                 "Seek"):
        assert item.get_by_label(name, exact=False).count() >= 1, name
    item.get_by_role("button", name="Share").focus()
    page.keyboard.press("Enter")
    sheet = page.locator("#share-sheet")
    sheet.wait_for(state="visible")
    page.wait_for_timeout(300)  # the sheet has finished rising
    screenshot(page, "feed-share-sheet")
    page.keyboard.press("Escape")
    item.get_by_role("button", name="More options").click()
    menu = page.locator("#more-menu")
    menu.wait_for(state="visible")
    assert menu.get_by_role("menuitem", name="Not interested").is_visible()
    page.wait_for_timeout(300)  # the sheet has finished rising
    screenshot(page, "feed-more-menu")


# --- watch_progress: the heartbeat during a play ---------------------------------------------

def test_watch_progress_heartbeat_reaches_the_log_and_the_aggregates(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page],
        page_errors: PageErrors) -> None:
    from apps.analytics import services as analytics
    from apps.analytics.models import UserPostStats

    viewer = UserFactory()
    page = logged_in_page(viewer)
    _open_feed(page)
    first = _active_post(page)
    # the clips last 2.5 s: a heartbeat after 5 s of playback means two loops went by
    page.wait_for_function("() => window.swipeme.items[0].player.watchedMs() > 5300",
                           timeout=30_000)
    # paused time is not watch time
    page.locator(f"{_item(page)} .tap-layer").click()  # the first tap turns the sound on
    page.wait_for_timeout(400)
    page.locator(f"{_item(page)} .tap-layer").click()
    page.wait_for_function("() => window.swipeme.items[window.swipeme.active].video.paused")
    watched_now = "() => window.swipeme.items[window.swipeme.active].player.watchedMs()"
    paused_at = page.evaluate(watched_now)
    page.wait_for_timeout(1200)
    assert page.evaluate(watched_now) == paused_at
    page.locator(f"{_item(page)} .tap-layer").click()
    page.wait_for_function("() => !window.swipeme.items[window.swipeme.active].video.paused")
    page.wait_for_timeout(500)
    page.keyboard.press("ArrowDown")  # leaving the video: a last heartbeat and watch_end
    page.wait_for_function("() => window.swipeme.active === 1")
    page.evaluate("() => window.swipeme.telemetry.flush()")
    page.wait_for_timeout(800)

    events = [e for e in _logged_stream_events()
              if e["user_id"] == viewer.pk and str(e["post_id"]) == first]
    beats = [e["data"] for e in events if e["type"] == "watch_progress"]
    end = next(e["data"] for e in events if e["type"] == "watch_end")
    assert len(beats) >= 2, beats  # the periodic one(s), then the one on leaving
    assert beats[0]["watched_ms"] >= 5000
    assert beats[-1] == end
    duration = end["duration_ms"]
    assert 2000 <= duration <= 3000  # the 2.5 s clip
    # cumulative (never decreasing), and consistent with the loops and the position
    watched = [b["watched_ms"] for b in beats]
    assert watched == sorted(watched)
    assert end["watched_ms"] >= paused_at
    assert end["loops"] >= 2
    played_through = end["loops"] * duration + end["position_ms"]
    assert abs(end["watched_ms"] - played_through) < 400

    # the analytics consumer applies them: the furthest completion and the watch time
    analytics.events_consume(consumer="browser-test")
    stats = UserPostStats.objects.get(user_id=viewer.pk, post_id=int(first))
    assert stats.watch_ms == end["watched_ms"]
    assert stats.max_completion == 1.0  # it looped
    assert stats.loops == end["loops"]
    assert page_errors.uncaught == []


# --- touch swipes, the progress bar, the rail's collections and the menu ---------------------

def _touch_swipe(page: Page, *, up: bool, x: float = 150) -> None:
    """A flick: one finger moves over 45% of the screen's height in 80 ms and lifts
    (Chromium's own touch input, over CDP). The events carry their own timestamps, so the
    browser sees the flick's speed however slowly the protocol delivers them on a busy
    machine; the snap then carries the feed on by momentum, as on a phone."""
    cdp = page.context.new_cdp_session(page)
    height = page.viewport_size["height"] if page.viewport_size else 844
    start, end = (height * 0.75, height * 0.3) if up else (height * 0.3, height * 0.75)
    t0 = time.time()
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "timestamp": t0,
                                          "touchPoints": [{"x": x, "y": start}]})
    steps = 5
    for step in range(1, steps + 1):
        y = start + (end - start) * step / steps
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "timestamp": t0 + 0.016 * step,
                                              "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": [],
                                          "timestamp": t0 + 0.016 * (steps + 1)})
    cdp.detach()


def _settled(page: Page, index: int) -> None:
    """The feed has come to rest on item `index`, and that item plays."""
    page.wait_for_function(
        """n => { const f = document.getElementById('feed');
                  return window.swipeme.active === n
                    && Math.abs(f.scrollTop - n * f.clientHeight) < 2; }""", arg=index)
    page.wait_for_function(ACTIVE_PLAYING)


def test_touch_swipes_move_exactly_one_item_each_way(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page],
        page_errors: PageErrors) -> None:
    viewer = UserFactory()
    page = logged_in_page(viewer)  # phone-sized, with touch
    _open_feed(page)
    assert page.evaluate("() => window.swipeme.items.length") >= 3
    height = page.evaluate("() => document.getElementById('feed').clientHeight")
    ids = page.evaluate("() => window.swipeme.items.map(i => i.post.id)")

    _touch_swipe(page, up=True)
    _settled(page, 1)
    page.wait_for_timeout(500)  # nothing moves further once the snap is over
    assert _active(page) == 1
    assert _scroll_top(page) == pytest.approx(height, abs=2)
    assert page.evaluate("() => window.swipeme.items[0].video.paused")
    screenshot(page, "feed-touch-swiped-phone")

    _touch_swipe(page, up=True)
    _settled(page, 2)
    _touch_swipe(page, up=False)
    _settled(page, 1)
    page.wait_for_timeout(500)
    assert _active(page) == 1
    assert _scroll_top(page) == pytest.approx(height, abs=2)

    # the server heard of each item the swipes showed
    page.evaluate("() => window.swipeme.telemetry.flush()")
    page.wait_for_timeout(800)
    seen = [str(e["post_id"]) for e in _logged_stream_events()
            if e["user_id"] == viewer.pk and e["type"] == "impression"]
    assert seen == [ids[0], ids[1], ids[2], ids[1]]
    assert page_errors.uncaught == []


def test_dragging_the_progress_bar_seeks_and_previews_the_storyboard(
        viewer_page: tuple[User, Page], page_errors: PageErrors) -> None:
    _viewer, page = viewer_page
    bar = page.locator(f"{_item(page)} .progress")
    box = bar.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.1, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=4)
    page.mouse.move(box["x"] + box["width"] * 0.75, y, steps=4)
    preview = page.locator(f"{_item(page)} .progress-preview")
    preview.wait_for(state="visible")
    # the storyboard sprite's frame for about 75% of the video, above the bar
    style = page.evaluate("""sel => { const p = document.querySelector(sel);
      return {image: p.style.backgroundImage, position: p.style.backgroundPosition,
              width: p.offsetWidth, height: p.offsetHeight}; }""",
                          f"{_item(page)} .progress-preview")
    assert "storyboard" in style["image"]
    assert style["width"] > 20
    assert style["height"] > 20
    assert style["position"] not in ("", "0px 0px", "-0px -0px")  # not the first frame
    assert "dragging" in str(bar.get_attribute("class"))
    # the bar follows the pointer, not the playback, while dragging
    page.wait_for_timeout(300)
    fill = page.evaluate("sel => document.querySelector(sel).style.transform",
                         f"{_item(page)} .progress-fill")
    assert fill.startswith("scaleX(0.7"), fill
    screenshot(page, "feed-progress-drag-preview")
    page.mouse.up()
    preview.wait_for(state="hidden")
    position = page.evaluate("""() => { const v = window.swipeme.items[window.swipeme.active].video;
                                        return v.currentTime / v.duration; }""")
    assert 0.7 <= position <= 0.95
    assert page.evaluate("() => window.swipeme.items[window.swipeme.active].video.paused") is False
    # dragging was neither a swipe nor a tap
    assert _active(page) == 0
    # the storyboard the preview showed is the one the server published for the post
    meta = page.evaluate("() => window.swipeme.items[0].post.media.playback.storyboard")
    assert meta
    assert meta["image"] in style["image"]
    assert page_errors.uncaught == []


def test_favourite_into_a_new_collection_from_the_rail(
        viewer_page: tuple[User, Page], page_errors: PageErrors) -> None:
    from apps.engagement.models import Collection, Favourite

    viewer, page = viewer_page
    post_id = _active_post(page)
    page.locator(f"{_item(page)} .favourite").click()
    sheet = page.locator("#collections-sheet")
    sheet.wait_for(state="visible")
    sheet.get_by_label("New collection").fill("Test cards")
    sheet.get_by_role("button", name="Create").click()
    sheet.wait_for(state="hidden")
    page.wait_for_function(
        "sel => document.querySelector(sel).getAttribute('aria-pressed') === 'true'",
        arg=f"{_item(page)} .favourite")
    page.wait_for_timeout(300)
    collection = Collection.objects.get(owner=viewer, name="Test cards")
    favourite = Favourite.objects.get(user=viewer, post_id=int(post_id))
    assert favourite.collection_id == collection.pk

    # the next video goes into the same collection, picked from the list
    page.keyboard.press("ArrowDown")
    page.wait_for_function("() => window.swipeme.active === 1")
    second = _active_post(page)
    page.locator(f"{_item(page)} .favourite").click()
    sheet.wait_for(state="visible")
    pick = sheet.get_by_role("button", name="Test cards (1)")
    pick.wait_for()
    page.wait_for_timeout(300)  # the sheet has finished rising
    screenshot(page, "feed-collections-sheet")
    pick.click()
    sheet.wait_for(state="hidden")
    page.wait_for_timeout(300)
    assert Favourite.objects.get(user=viewer, post_id=int(second)).collection_id == collection.pk
    assert page_errors.uncaught == []


def test_not_interested_from_the_menu_removes_the_post(
        viewer_page: tuple[User, Page], page_errors: PageErrors) -> None:
    from apps.feed.models import NotInterested

    viewer, page = viewer_page
    post_id = _active_post(page)
    count = page.evaluate("() => window.swipeme.items.length")
    page.locator(f"{_item(page)} .more").click()
    menu = page.locator("#more-menu")
    menu.wait_for(state="visible")
    menu.get_by_role("menuitem", name="Not interested").click()
    menu.wait_for(state="hidden")
    page.wait_for_function("n => window.swipeme.items.length === n - 1", arg=count)
    page.wait_for_function(ACTIVE_PLAYING)
    ids = page.evaluate("() => window.swipeme.items.map(i => i.post.id)")
    assert post_id not in ids
    assert page.locator(f'.feed-item[data-post-id="{post_id}"]').count() == 0
    # the item now on screen is the one that followed, and it is the active one
    assert _active(page) == 0
    assert _scroll_top(page) == pytest.approx(0, abs=2)
    assert page.evaluate("() => window.swipeme.items[0].el.dataset.index") == "0"
    screenshot(page, "feed-after-not-interested")

    page.wait_for_timeout(300)
    assert NotInterested.objects.filter(user=viewer, post_id=int(post_id)).exists()
    # and the feed's next pages leave it out (asked as the page asks, with its session)
    served = page.evaluate("""async () => {
      const url = new URL(document.getElementById('feed').dataset.source, location.origin);
      url.searchParams.set('limit', '20');
      const r = await fetch(url, {credentials: 'same-origin'});
      return r.ok ? (await r.json()).results.map(p => p.id) : null; }""")
    assert served is not None
    assert post_id not in served
    assert page_errors.uncaught == []


def test_report_from_the_menu_with_a_reason(viewer_page: tuple[User, Page],
                                             page_errors: PageErrors) -> None:
    from apps.moderation.models import Case, Report

    viewer, page = viewer_page
    post_id = _active_post(page)
    page.locator(f"{_item(page)} .more").click()
    menu = page.locator("#more-menu")
    menu.wait_for(state="visible")
    menu.get_by_role("menuitem", name="Report").click()
    # the menu gives way to the shared report dialog (lib/report.js)
    dialog = page.locator("#report-dialog")
    dialog.wait_for(state="visible")
    assert dialog.get_by_role("heading", name="Report this video").is_visible()
    # every reason links its community guidelines page
    dialog.get_by_label("Spam, scams and fake engagement").check()
    rule = dialog.locator("a.rule-link").first.get_attribute("href") or ""
    assert rule.startswith("/pages/community-guidelines/")
    page.wait_for_timeout(300)  # the sheet has finished rising
    screenshot(page, "feed-report-form")
    dialog.get_by_role("button", name="Send report").click()
    dialog.get_by_text("Thanks for telling us. We will review this video.").wait_for()

    report = Report.objects.get(reporter=viewer, target_type="post", target_id=int(post_id))
    assert report.policy == "spam_scam"
    assert report.outcome == Report.Outcome.PENDING
    case = Case.objects.get(pk=report.case_id)
    assert (case.target_type, case.target_id, case.status) == ("post", int(post_id), "open")
    dialog.get_by_role("button", name="Done").click()
    # the same viewer cannot pile on: a second report is refused and said so
    page.locator(f"{_item(page)} .more").click()
    menu.get_by_role("menuitem", name="Report").click()
    dialog.get_by_label("Something else").check()
    dialog.get_by_role("button", name="Send report").click()
    dialog.get_by_text("You have already reported this; we are looking at it.").wait_for()
    assert Report.objects.filter(reporter=viewer, target_id=int(post_id)).count() == 1
    page.keyboard.press("Escape")
    assert page_errors.uncaught == []


# The worker's media cache holds the post's start playlist, an init and its first segment.
MEDIA_CACHED = """async (assetPath) => {
  const name = (await caches.keys()).find((n) => n.startsWith("swipeme-media-"));
  if (!name) return false;
  const urls = (await (await caches.open(name)).keys()).map((r) => r.url)
    .filter((u) => u.includes(assetPath));
  return urls.some((u) => u.endsWith("/index.m3u8"))
    && urls.some((u) => /\\/init[^/]*\\.mp4$/.test(u))
    && urls.some((u) => /\\/seg_[^/]*0000\\.m4s$/.test(u));
}"""
# The media cache's bytes (its files' bodies), per asset, and the worker's index (bytes ever
# stored, the budget).
MEDIA_USAGE = """async () => {
  const name = (await caches.keys()).find((n) => n.startsWith("swipeme-media-"));
  const out = {bytes: 0, assets: {}, written: 0, budget: null};
  if (!name) return out;
  const cache = await caches.open(name);
  for (const request of await cache.keys()) {
    const response = await cache.match(request);
    if (!response) continue;  // evicted meanwhile
    if (new URL(request.url).pathname === "/__swipeme/media-index") {
      const index = await response.json();
      out.written = index.written;
      out.budget = index.budget;
      continue;
    }
    const size = (await response.blob()).size;
    const asset = new URL(request.url).pathname.split("/media/play/")[1].split("/")[0];
    out.bytes += size;
    out.assets[asset] = (out.assets[asset] || 0) + size;
  }
  return out;
}"""
ASSET = "() => window.swipeme.items[window.swipeme.active].post.media.playback.start.playlist"


def _asset(page: Page) -> str:
    return str(page.evaluate(ASSET)).split("/media/play/")[1].split("/")[0]


def _asset_at(page: Page, index: int) -> str:
    playlist = page.evaluate(
        "(i) => window.swipeme.items[i].post.media.playback.start.playlist", index)
    return str(playlist).split("/media/play/")[1].split("/")[0]


def _pause_at(page: Page, seconds: float) -> None:
    """Pause the active video at `seconds` (seeked): where the page is left."""
    page.evaluate("""(t) => new Promise((done) => {
      const v = window.swipeme.items[window.swipeme.active].video;
      v.pause();
      v.addEventListener("seeked", () => done(), {once: true});
      v.currentTime = t;
    })""", seconds)


def test_reopened_the_feed_resumes_the_last_post_and_offline_plays_it_from_the_cache(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page]) -> None:
    """Issue 22: the service worker (/sw.js, static/sw_feed.js) keeps the shell and the
    media it served within a byte budget (the least recently used posts go first, whole),
    the page keeps the last post and where its play was (feed/resume.js): a reload resumes
    that post first from that position, and a reload with the network gone serves the page
    from the worker and plays the post from its cache."""
    viewer = UserFactory()
    page = logged_in_page(viewer, viewport=PHONE)
    _open_feed(page)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.keyboard.press("ArrowDown")
    page.wait_for_function(f"() => window.swipeme.active === 1 && ({ACTIVE_PLAYING})()")
    first_cached = _asset(page)
    played = [_asset_at(page, 0), first_cached]

    # the byte budget: lowered to a little more than one post's files, then two more posts
    # played (the session stored more bytes than the budget): the cache stays under it, the
    # least recently used post went whole, the one on screen kept what it starts from
    page.wait_for_function(MEDIA_CACHED, arg=first_cached)
    before = page.evaluate(MEDIA_USAGE)
    budget = int(max(before["assets"].values()) * 1.3)
    page.evaluate("(bytes) => navigator.serviceWorker.controller.postMessage("
                  "{type: 'swipeme-media-budget', bytes})", budget)
    page.wait_for_function(f"async () => ({MEDIA_USAGE})().then((u) => u.budget === {budget})")
    for index in (2, 3):
        page.keyboard.press("ArrowDown")
        page.wait_for_function(
            f"() => window.swipeme.active === {index} && ({ACTIVE_PLAYING})()")
        played.append(_asset(page))
    last = _active_post(page)
    playing = _asset(page)
    page.wait_for_function(MEDIA_CACHED, arg=f"/media/play/{playing}/")
    page.wait_for_timeout(500)  # the worker has stored what the player fetched
    after = page.evaluate(MEDIA_USAGE)
    if after["written"] <= budget:
        # The first visit's early fetches (the head's preloads, the next items' buffers) can
        # go out before the worker controls the page, so it may have stored less than the
        # budget (CI: 347,573 bytes written against 349,152): lowered again, below what it
        # stored and above what the post on screen needs, the eviction runs all the same.
        budget = max(after["assets"].get(playing, 0), after["written"] - 1)
        page.evaluate("(bytes) => navigator.serviceWorker.controller.postMessage("
                      "{type: 'swipeme-media-budget', bytes})", budget)
        page.wait_for_function(
            f"async () => ({MEDIA_USAGE})().then((u) => u.budget === {budget})")
        after = page.evaluate(MEDIA_USAGE)
    assert after["written"] > budget  # this session stored more than the budget holds
    assert 0 < after["bytes"] <= budget
    # A post swiped away from may come back in part (the page rewinds the previous post to
    # its first frame for a swipe back, which fetches its first segment again, before or
    # after the eviction: CI saw both), so the test asks that an earlier post went whole.
    assert set(played[:-1]) - set(after["assets"]), (played, after["assets"])
    assert playing in after["assets"]

    # left paused 1.3 s in: reopened, that post first, from there (the server said it may
    # still be shown)
    _pause_at(page, 1.3)
    page.reload()
    page.wait_for_function(ACTIVE_PLAYING, timeout=30_000)
    assert page.evaluate("() => [window.swipeme.active, window.swipeme.items[0].post.id]") \
        == [0, last]
    started = page.evaluate("() => window.swipeme.metrics.find((m) => m.index === 0).frame")
    assert started["from"] == pytest.approx(1.3, abs=0.01)
    # The first frame shown is 1.3 s in, or the first frame of the segment holding 1.3 s
    # (segments: 1 s, then 2 s) when the frame is drawn before the seek lands (1.04 on a
    # busy clean-clone run): never the post's start.
    assert 0.95 <= started["media_time"] <= 1.55, started
    screenshot(page, "feed-resumed-at-position")
    # played under the worker's control: its playlist, init and first segment are kept
    playlist = str(page.evaluate("() => window.swipeme.items[0].post.media.playback.start"
                                 ".playlist"))
    asset_path = playlist.split("/hls/")[0]
    page.wait_for_function(MEDIA_CACHED, arg=asset_path)

    # left within the first second: the next opening starts the post from the beginning
    _pause_at(page, 0.5)
    page.context.set_offline(True)
    try:
        response = page.reload()
        assert response is not None
        assert response.from_service_worker
        page.wait_for_function(ACTIVE_PLAYING, timeout=30_000)
        state = page.evaluate("""() => ({active: window.swipeme.active,
            ids: window.swipeme.items.map((i) => i.post.id), online: navigator.onLine})""")
        # the kept post alone (the feed's API is out of reach), playing from the cache
        assert state == {"active": 0, "ids": [last], "online": False}
        started = page.evaluate("() => window.swipeme.metrics.find((m) => m.index === 0).frame")
        assert started["from"] < 0.1
        # and it came from the cache: through the worker, the network is out of reach too
        assert page.evaluate("(u) => fetch(u + '?uncached=1').then(() => 'network', "
                             "() => 'offline')", playlist) == "offline"
        assert page.get_by_role("status").filter(
            has_text="Offline: playing what this device kept").is_visible()
        screenshot(page, "feed-offline-reload-resumed")
    finally:
        page.context.set_offline(False)

    # the viewer blocked its author since: reopened online, the server refuses the post, so
    # it is not resumed, and the record is gone (or holds the post shown instead)
    from apps.content.models import Post
    from apps.social import services as social

    social.block_create(blocker=viewer, blocked=Post.objects.get(pk=int(last)).author)
    page.reload()
    page.wait_for_function("""(last) => {
      const kept = JSON.parse(localStorage.getItem("swipeme.resume") || "null");
      return !kept || kept.post.id !== last;
    }""", arg=last)
    assert last not in page.evaluate("() => window.swipeme.items.map((i) => i.post.id)")
