"""hls.js in `lowLatencyMode` plays the LL-HLS the packager writes, through the real serving
view (`/live/<id>/hls/...`: the visibility rule, the blocking playlist reload, the preload
hint's part held until written) in Debian's Chromium.

The frames carry the wall clock (tests/live/clock_pattern.py), read back from each decoded
frame: the player shows live frames, a second or two old, not a stale buffer. The encoder
feeds the packager directly (the ingest's own tests and the creator -> viewer test publish
through nginx-rtmp); bench/live_latency.py measures the whole path."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Request

from apps.live.llhls import Packager, fmp4_output_args, part_target_for, pump
from tests.conftest import ROOT
from tests.live.clock_pattern import WATCH_JS, ClockEncoder
from tests.live.conftest import wait_until
from tests.live.live_helpers import host, on_air

FPS = 30
WIDTH = 854
HLS_JS = ROOT / "node_modules" / "hls.js" / "dist" / "hls.min.js"
PLAYER = """<!doctype html><html><body style="margin:0;background:#000">
<video id="v" muted playsinline autoplay width="854" height="480"></video></body></html>"""


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module", autouse=True)
def async_unsafe_allowed() -> Iterator[None]:
    """Playwright's sync API runs an asyncio loop in this thread, which Django's async-safety
    check takes for an async context: the ORM is allowed in this module (as tests/browser's
    `browser_db` does), until after every test's database flush and idle checks."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def llhls_live(live_asgi_server: str) -> Iterator[tuple[int, Path]]:
    """A live on air (committed rows: the server is another process) whose 480p rendition
    the packager writes from a clock encoder."""
    live, _ = on_air(host())
    out = Path(settings.SWIPEME_LIVE_ROOT) / str(live.pk) / "480p"
    encoder = ClockEncoder(
        ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", str(FPS),
         "-keyint_min", str(FPS), "-sc_threshold", "0", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "64k", *fmp4_output_args(FPS), "pipe:1"],
        fps=FPS, width=WIDTH, seconds=90, stdout=subprocess.PIPE)
    assert encoder.proc.stdout is not None
    packager = Packager(out, part_target=part_target_for(FPS))
    thread = threading.Thread(target=pump, args=({encoder.proc.stdout.fileno(): packager},),
                              kwargs={"ended_on_eof": True}, daemon=True)
    thread.start()
    try:
        # the player starts once there is a playlist (a 404 on the first load is fatal to it)
        wait_until(lambda: (out / "index.m3u8").exists(), timeout=60, what="the playlist")
        yield int(live.pk), out
    finally:
        encoder.stop()
        thread.join(timeout=10)


def test_hls_js_low_latency_mode_plays_the_live_edge(llhls_live: tuple[int, Path],
                                                    browser: Browser,
                                                    live_asgi_server: str) -> None:
    live_id, _ = llhls_live
    base_url = live_asgi_server
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    uncaught: list[str] = []
    failed: list[str] = []
    page.on("pageerror", lambda exc: uncaught.append(str(exc)))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400
            else None)
    source = f"/live/{live_id}/hls/480p/index.m3u8"
    requests: list[Request] = []
    page.on("requestfinished", lambda request: requests.append(request))
    # A bare player on the site's origin (hls.js only, no app code): the protocol's figure.
    page.route("**/__llhls_player", lambda route: route.fulfill(
        status=200, content_type="text/html", body=PLAYER))
    page.goto(f"{base_url}/__llhls_player")
    page.add_script_tag(path=str(HLS_JS))
    page.evaluate("""(source) => {
      const video = document.getElementById('v');
      const hls = new Hls({lowLatencyMode: true});
      window.__hls = hls; window.__levels = [];
      hls.on(Hls.Events.LEVEL_UPDATED, (_e, data) => window.__levels.push({
        parts: data.details.partList ? data.details.partList.length : 0,
        canBlockReload: data.details.canBlockReload, partTarget: data.details.partTarget,
        holdBack: data.details.partHoldBack}));
      hls.on(Hls.Events.ERROR, (_e, data) => { if (data.fatal) window.__fatal = data.details; });
      hls.loadSource(source); hls.attachMedia(video);
    }""", source)
    video = page.locator("#v")
    page.evaluate(WATCH_JS, [video.element_handle(), WIDTH])
    page.wait_for_function("() => window.__latencies.length >= 60 || window.__fatal",
                           timeout=45_000)
    fatal = page.evaluate("() => window.__fatal || null")
    assert fatal is None, fatal
    latencies = page.evaluate("() => window.__latencies")
    state = page.evaluate("""() => ({t: document.getElementById('v').currentTime,
      paused: document.getElementById('v').paused, latency: window.__hls.latency,
      low: window.__hls.lowLatencyMode, levels: window.__levels,
      misreads: window.__misreads})""")

    # hls.js took the playlist as LL-HLS: parts listed, blocking reload, PART-TARGET 0.2 s
    assert state["low"] is True
    last = state["levels"][-1]
    assert last["parts"] > 0
    assert last["canBlockReload"] is True
    assert last["partTarget"] == pytest.approx(0.2)
    # ...and used it: blocking reloads answered, parts (the hinted ones too) fetched
    urls = [request.url for request in requests]
    blocking = [u for u in urls if "_HLS_msn=" in u and "_HLS_part=" in u]
    parts = [u for u in urls if re.search(r"/480p/s\d+\.\d+\.m4s", u)]
    assert len(blocking) >= 10, urls[-20:]
    assert len(parts) >= 10, urls[-20:]
    # playing live frames: the clock drawn in each frame reads back, a short while ago
    assert state["paused"] is False
    assert state["t"] > 1.5
    recent = latencies[-40:]
    print(f"glass-to-glass over the last {len(recent)} frames: median "  # noqa: T201
          f"{statistics.median(recent):.0f} ms, hls.js latency {state['latency']:.2f} s")
    assert all(0 < value < 10_000 for value in recent), recent
    # well under plain 1 s-segment HLS (3 segments held back); the goal (p50 <= 3 s) is
    # measured by bench/live_latency.py on a quieter machine than a test run
    assert statistics.median(recent) < 4_000, recent
    assert state["misreads"] < len(latencies)  # mostly clean frames
    assert not uncaught
    assert not failed
    context.close()
