"""Issue 12, items 6, 7 and 12 in headless Chromium, phone (390x844) and desktop (1440x900):

- the bottom tab bar on phones (Home, Discover, Upload, Inbox, Profile; signed out Home,
  Discover, Log in) with the current tab marked, never over the feed's controls;
- the signed-in header in one row, clear of the feed tabs and the sound button;
- WCAG AA contrast: axe-core (npm, node_modules/axe-core) finds no colour-contrast and no
  serious or critical violation on the feed, a post, a profile, upload, settings and log-in;
  the white text laid over the video stays at 4.5:1 even over a white frame (measured on the
  screen's pixels: axe cannot judge text over a video);
- a quick touch flick moves exactly one video, and so does a slow drag.

Screenshots under var/artifacts/screenshots/."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import BrowserContext, Page, expect

from apps.accounts.models import User
from tests.browser.conftest import PHONE, PageErrors, screenshot, seed_posts
from tests.conftest import ROOT
from tests.factories import UserFactory

DESKTOP_WIDE = {"width": 1440, "height": 900}
SIZES = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP_WIDE, id="desktop")]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

ACTIVE_PLAYING = """() => {
  const s = window.swipeme;
  const item = s && s.items[s.active];
  return !!item && item.video.readyState >= 2 && item.video.currentTime > 0.2;
}"""


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    creators = [UserFactory(username=name) for name in ("tab_ana", "tab_bo", "tab_cy",
                                                        "tab_di")]
    ids = seed_posts(tmp_path_factory.mktemp("layout-clips"), creators, count=4, captions=[
        "A long caption to wrap over two lines on a phone #layout #contrast with @tab_bo",
        "Bars #retro", "Colours #rgb", "Card #tv"])
    return {"creators": creators, "post_ids": ids}


def _open_feed(page: Page, path: str = "/") -> None:
    page.goto(path)
    page.wait_for_function(ACTIVE_PLAYING, timeout=30_000)


def _box(page: Page, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not on screen"
    return _rect(box)


def _rect(box: Any) -> dict[str, float]:
    return {"x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"]}


def _overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def _tabs(page: Page) -> list[str]:
    return [str(t).strip() for t in page.locator("nav.tabbar a").all_inner_texts()]


def _current_tab(page: Page) -> list[str]:
    return [str(t).strip() for t in
            page.locator('nav.tabbar a[aria-current="page"]').all_inner_texts()]


# --- the tab bar and the header ---------------------------------------------------------


def test_the_phone_feed_has_a_tab_bar_below_its_controls_and_a_one_row_header(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page],
        page_errors: PageErrors) -> None:
    viewer = UserFactory(username="a_rather_long_username_x")
    page = logged_in_page(viewer)
    _open_feed(page)
    screenshot(page, "layout-feed-signed-in-phone")
    expect(page.locator("nav.tabbar")).to_be_visible()
    assert _tabs(page) == ["Home", "Discover", "Upload", "Inbox", "Profile"]
    assert _current_tab(page) == ["Home"]

    # the header is one row, and clear of the feed tabs and the sound button
    header = _box(page, "header.topbar")
    assert header["height"] <= 64
    for control in ("nav.feed-tabs", "#sound-toggle"):
        box = _box(page, control)
        assert box["y"] >= header["y"] + header["height"] - 4, control
        for link in page.locator("header.topbar nav a, header.topbar nav button").all():
            shown = link.bounding_box()
            if shown and link.is_visible():
                assert not _overlaps(_rect(shown), box), (control, link.inner_text())

    # the column ends where the tab bar begins: the active item's controls are above it
    bar = _box(page, "nav.tabbar")
    assert bar["y"] + bar["height"] == pytest.approx(PHONE["height"], abs=1)
    feed = _box(page, "#feed")
    assert feed["y"] + feed["height"] == pytest.approx(bar["y"], abs=1)
    active = '.feed-item[data-index="0"]'
    for control in (".progress", ".meta", ".rail", ".like"):
        box = _box(page, f"{active} {control}")
        assert box["y"] + box["height"] <= bar["y"] + 0.5, control
    # one item fills the column exactly (snap points line up with it)
    item = _box(page, active)
    assert item["height"] == pytest.approx(feed["height"], abs=1)

    # the tabs lead where they say
    page.locator("nav.tabbar").get_by_role("link", name="Profile").click()
    page.wait_for_url(f"**/@{viewer.username}")
    assert _current_tab(page) == ["Profile"]
    screenshot(page, "layout-profile-tabbar-phone")
    page.locator("nav.tabbar").get_by_role("link", name="Upload").click()
    page.wait_for_url("**/upload")
    assert _current_tab(page) == ["Upload"]
    screenshot(page, "layout-upload-tabbar-phone")
    page.locator("nav.tabbar").get_by_role("link", name="Inbox").click()
    page.wait_for_url("**/inbox")
    assert _current_tab(page) == ["Inbox"]
    screenshot(page, "layout-inbox-tabbar-phone")
    page.locator("nav.tabbar").get_by_role("link", name="Discover").click()
    page.wait_for_url("**/discover")
    assert _current_tab(page) == ["Discover"]
    expect(page.locator("a[href$='/tag/layout']").first).to_be_visible()
    screenshot(page, "layout-discover-tabbar-phone")
    # a page's end is not hidden under the bar: the document scrolls past it
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    bottom = page.evaluate("""() => { const els = [...document.querySelectorAll('main *')]
        .filter(e => e.getClientRects().length);
      return Math.max(...els.map(e => e.getBoundingClientRect().bottom)); }""")
    assert bottom <= _box(page, "nav.tabbar")["y"] + 0.5
    page.locator("nav.tabbar").get_by_role("link", name="Home").click()
    page.wait_for_url(lambda url: url.endswith("/"))
    assert _current_tab(page) == ["Home"]
    assert page_errors.uncaught == []


def test_signed_out_the_tab_bar_offers_home_discover_and_log_in(
        catalogue: dict[str, Any], page: Page) -> None:
    _open_feed(page)
    screenshot(page, "layout-feed-signed-out-phone")
    assert _tabs(page) == ["Home", "Discover", "Log in"]
    header = _box(page, "header.topbar")
    assert header["height"] <= 64
    page.locator("nav.tabbar").get_by_role("link", name="Log in").click()
    page.wait_for_url("**/accounts/login/**")
    assert _current_tab(page) == ["Log in"]
    screenshot(page, "layout-login-tabbar-phone")


def test_desktop_has_no_tab_bar_and_the_header_carries_the_links(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page],
        new_context: Callable[..., BrowserContext]) -> None:
    page = logged_in_page(UserFactory(), viewport=DESKTOP_WIDE, touch=False)
    _open_feed(page)
    screenshot(page, "layout-feed-signed-in-desktop")
    expect(page.locator("nav.tabbar")).to_be_hidden()
    nav = page.locator("header.topbar nav")
    for name in ("For You", "Following", "Discover", "Upload"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    assert _box(page, "header.topbar")["height"] <= 72
    # the sound button sits on the video, not in the window's corner far from it
    stage = page.evaluate("""() => {
      const r = window.swipeme.items[window.swipeme.active].video.closest('.stage')
        .getBoundingClientRect();
      return {x: r.x, y: r.y, width: r.width, height: r.height};
    }""")
    toggle = _box(page, "#sound-toggle")
    assert stage["x"] <= toggle["x"] <= stage["x"] + 40, (stage, toggle)
    assert stage["y"] <= toggle["y"] <= stage["y"] + 100, (stage, toggle)
    assert not _overlaps(toggle, _box(page, "header.topbar nav"))
    other = new_context(viewport=DESKTOP_WIDE, touch=False).new_page()
    _open_feed(other)
    screenshot(other, "layout-feed-signed-out-desktop")
    expect(other.locator("nav.tabbar")).to_be_hidden()


@pytest.mark.parametrize("viewport", SIZES)
def test_the_404_page_has_the_tab_bar_on_phones(
        new_context: Callable[..., BrowserContext], viewport: dict[str, int]) -> None:
    page = new_context(viewport=viewport).new_page()
    response = page.goto("/no/such/page/here")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="We couldn't find this page")).to_be_visible()
    screenshot(page, f"layout-404-{viewport['width']}")
    if viewport == PHONE:
        assert _tabs(page) == ["Home", "Discover", "Log in"]
        assert _current_tab(page) == []
    else:
        expect(page.locator("nav.tabbar")).to_be_hidden()


# --- contrast: axe-core, and the text over the video ------------------------------------


def _axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of WCAG 2 A/AA on the page as it is now."""
    assert AXE.exists(), "npm ci installs axe-core (package.json devDependencies)"
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate("""async () => {
      const r = await axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
      return {violations: r.violations.map(v => ({id: v.id, impact: v.impact,
        nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}))};
    }""")
    return list(result["violations"])


def _assert_accessible(page: Page, where: str) -> None:
    violations = _axe(page)
    bad = [v for v in violations
           if v["id"] == "color-contrast" or v["impact"] in ("serious", "critical")]
    assert bad == [], f"{where}: {bad}"


@pytest.mark.parametrize("viewport", SIZES)
def test_axe_finds_no_contrast_or_serious_violations(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page],
        new_context: Callable[..., BrowserContext], viewport: dict[str, int]) -> None:
    creator: User = catalogue["creators"][0]
    post_id = catalogue["post_ids"][0]
    touch = viewport == PHONE
    # the page's CSP allows no inline script: axe is injected past it (bypass_csp)
    anonymous = new_context(viewport=viewport, touch=touch, bypass_csp=True).new_page()
    _open_feed(anonymous)
    _assert_accessible(anonymous, "feed, signed out")
    anonymous.goto("/accounts/login/")
    _assert_accessible(anonymous, "log in")
    anonymous.goto(f"/@{creator.username}/video/{post_id}")
    _assert_accessible(anonymous, "post page, signed out")

    page = logged_in_page(UserFactory(username=f"axe_{viewport['width']}"),
                          viewport=viewport, touch=touch, bypass_csp=True)
    _open_feed(page)
    _assert_accessible(page, "feed, signed in")
    for path, where in ((f"/@{creator.username}/video/{post_id}", "post page"),
                        (f"/@{creator.username}", "profile"),
                        ("/upload", "upload"), ("/settings/", "settings"),
                        ("/settings/account", "settings: account"),
                        ("/discover", "discover"), ("/search", "search")):
        page.goto(path)
        page.wait_for_load_state("load")
        _assert_accessible(page, where)
        screenshot(page, f"axe-{where.replace(' ', '-').replace(':', '')}-{viewport['width']}")


def _lum(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


WHITE_FRAME = """() => {
  const style = document.createElement('style');
  style.id = 'white-frame';
  // the worst case for white text: every frame white (video and poster hidden)
  style.textContent = `.stage { background: #fff !important; }
    .stage video, .stage .poster { visibility: hidden !important; }`;
  document.head.append(style);
}"""
HIDE_TEXT = """(sel) => { for (const el of document.querySelectorAll(`${sel}, ${sel} *`)) {
  el.dataset.wasColor = el.style.color; el.style.setProperty('color', 'transparent', 'important');
  el.style.setProperty('text-shadow', 'none', 'important'); } }"""


@pytest.mark.parametrize("viewport", SIZES)
def test_text_over_the_video_reads_at_4_5_to_1_even_over_a_white_frame(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page],
        viewport: dict[str, int]) -> None:
    page = logged_in_page(UserFactory(), viewport=viewport, touch=viewport == PHONE)
    _open_feed(page)
    page.evaluate("() => window.swipeme.items[window.swipeme.active].video.pause()")
    page.evaluate(WHITE_FRAME)
    active = '.feed-item[data-index="0"]'
    texts = [f"{active} .author-name", f"{active} .feed-caption", f"{active} .sound-name span",
             f"{active} .rail-button .count", "header.topbar .brand", "header.topbar nav a",
             "header.topbar nav button"]
    if viewport == PHONE:
        texts += ["nav.feed-tabs a"]
    screenshot(page, f"contrast-white-frame-{viewport['width']}")
    # the colour of each text (opaque white or near it) against the brightest pixel behind
    # it, taken with the text itself made transparent
    boxes: list[tuple[str, dict[str, float], tuple[int, int, int]]] = []
    for selector in texts:
        for el in page.locator(selector).all():
            if not el.is_visible():
                continue
            # the box of the text itself (a pill's padding and rounded corners left out)
            box = el.evaluate("""e => { const r = document.createRange(); r.selectNodeContents(e);
              const b = r.getBoundingClientRect();
              return {x: b.x, y: b.y, width: b.width, height: b.height}; }""")
            color = el.evaluate("e => getComputedStyle(e).color")
            parts = [float(p) for p in color[color.index("(") + 1:-1].split(",")]
            alpha = parts[3] if len(parts) == 4 else 1.0
            assert alpha == 1.0, f"{selector} is translucent ({color})"
            boxes.append((selector, box, (int(parts[0]), int(parts[1]), int(parts[2]))))
    assert len(boxes) >= 6
    for selector in {selector for selector, _, _ in boxes}:
        page.evaluate(HIDE_TEXT, selector)
    shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    for selector, box, rgb in boxes:
        x0, y0 = max(0, int(box["x"])), max(0, int(box["y"]))
        x1 = min(shot.width, int(box["x"] + box["width"]))
        y1 = min(shot.height, int(box["y"] + box["height"]))
        region = shot.crop((x0, y0, x1, y1))
        pixels: list[tuple[int, int, int]] = list(region.getdata())  # type: ignore[arg-type]
        brightest = max(_lum(p) for p in pixels)
        darkest_text = _lum(rgb)
        if darkest_text < brightest:
            continue  # dark text: not laid over the video (a button's own background)
        ratio = (darkest_text + 0.05) / (brightest + 0.05)
        assert ratio >= 4.5, f"{selector} {box}: {ratio:.2f}:1 over a white frame"


# --- touch: a quick flick and a slow drag move one item ---------------------------------


def _touch_swipe(page: Page, *, dy: float, duration_ms: float, steps: int,
                 hold_ms: float = 0) -> None:
    """A real touch gesture through Chromium's input pipeline (CDP Input.dispatchTouchEvent):
    down, `steps` moves over `duration_ms`, `hold_ms` at rest, up. dy < 0 swipes up (to the
    next video). Each event carries its own timestamp, so the gesture's speed is the one
    asked for even when a busy machine delivers the events late (without timestamps a
    "quick" flick can arrive as a slow drag, and then rightly springs back)."""
    cdp = page.context.new_cdp_session(page)
    x = PHONE["width"] * 0.3
    y0 = PHONE["height"] * (0.7 if dy < 0 else 0.2)
    t0 = time.time()

    def send(kind: str, y: float | None, at_ms: float) -> None:
        points = [] if y is None else [{"x": x, "y": y, "id": 1}]
        cdp.send("Input.dispatchTouchEvent",
                 {"type": kind, "touchPoints": points, "timestamp": t0 + at_ms / 1000})

    send("touchStart", y0, 0)
    for step in range(1, steps + 1):
        time.sleep(duration_ms / steps / 1000)
        send("touchMove", y0 + dy * step / steps, duration_ms * step / steps)
    if hold_ms:
        time.sleep(hold_ms / 1000)
        send("touchMove", y0 + dy, duration_ms + hold_ms)
    send("touchEnd", None, duration_ms + hold_ms + 1)
    cdp.detach()


def _settled(page: Page) -> tuple[int, float, float]:
    """(active index, scrollTop, item height) once the column has stopped moving."""
    page.wait_for_function("""() => new Promise(resolve => {
      const feed = document.getElementById('feed');
      let last = feed.scrollTop, still = 0;
      const tick = () => {
        if (Math.abs(feed.scrollTop - last) < 0.5) still += 1; else still = 0;
        last = feed.scrollTop;
        if (still >= 12) resolve(true); else requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    })""")
    state = page.evaluate("""() => ({active: window.swipeme.active,
      top: document.getElementById('feed').scrollTop,
      height: document.getElementById('feed').clientHeight})""")
    return int(state["active"]), float(state["top"]), float(state["height"])


def test_a_quick_flick_and_a_slow_drag_each_move_exactly_one_video(
        catalogue: dict[str, Any], page: Page, page_errors: PageErrors) -> None:
    _open_feed(page)
    # a flick: 160 px in 80 ms (the gesture that snapped back)
    _touch_swipe(page, dy=-160, duration_ms=80, steps=5)
    active, top, height = _settled(page)
    assert (active, round(top)) == (1, round(height))
    page.wait_for_function(ACTIVE_PLAYING)
    # a faster, longer flick still moves one video (scroll-snap-stop: always)
    _touch_swipe(page, dy=-300, duration_ms=60, steps=4)
    active, top, height = _settled(page)
    assert (active, round(top)) == (2, round(height * 2))
    # a quick flick down: one back
    _touch_swipe(page, dy=140, duration_ms=70, steps=4)
    active, top, height = _settled(page)
    assert (active, round(top)) == (1, round(height))
    # a very hard flick: its momentum carries Chromium's snap two items on (snap-stop holds
    # for a drag, not for a fling); the feed brings it back to the next one
    _touch_swipe(page, dy=-600, duration_ms=50, steps=4)
    active, top, height = _settled(page)
    assert (active, round(top)) == (2, round(height * 2))
    _touch_swipe(page, dy=height * 0.6, duration_ms=900, steps=30, hold_ms=200)
    active, top, height = _settled(page)
    assert (active, round(top)) == (1, round(height))
    # a slow drag past half the height, held, released at rest: one video on
    _touch_swipe(page, dy=-height * 0.6, duration_ms=900, steps=30, hold_ms=200)
    active, top, height = _settled(page)
    assert (active, round(top)) == (2, round(height * 2))
    # a short slow drag, held, springs back to where it was
    _touch_swipe(page, dy=height * 0.2, duration_ms=700, steps=20, hold_ms=200)
    active, top, height = _settled(page)
    assert (active, round(top)) == (2, round(height * 2))
    page.wait_for_function(ACTIVE_PLAYING)
    assert page_errors.uncaught == []
