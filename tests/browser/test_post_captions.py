"""The captions toggle on the post page in headless Chromium (issue 16, captions): a post
processed by the real pipeline gets a WebVTT track; its master playlist's SUBTITLES group
reaches the player (hls.js), the cue is shown over the video, and the CC button hides and
shows it. Screenshots at phone 390x844 and desktop 1440x900."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from apps.content.models import Post
from apps.media import services
from tests.browser.conftest import PageErrors, screenshot, seed_posts
from tests.factories import UserFactory

SHOTS = Path("/tmp/shots-h10")
WIDE = {"width": 1440, "height": 900}
VTT = b"WEBVTT\n\n00:00:00.000 --> 00:00:02.400\nHello from the captions\n"
SHOWING = """() => { const v = document.getElementById('post-player');
  const t = Array.from(v.textTracks).find((t) => t.kind === 'subtitles');
  return !!t && t.mode === 'showing' && !!t.activeCues && t.activeCues.length > 0
    && t.activeCues[0].text === 'Hello from the captions'; }"""
MODE = """() => Array.from(document.getElementById('post-player').textTracks)
  .filter((t) => t.kind === 'subtitles').map((t) => t.mode).join(',')"""


@pytest.fixture(scope="module")
def captioned(tmp_path_factory: pytest.TempPathFactory) -> str:
    creator = UserFactory(username="captioner")
    [post_id] = seed_posts(tmp_path_factory.mktemp("caption-clips"), [creator], count=1,
                           captions=["With subtitles"])
    asset = Post.objects.select_related("asset").get(pk=int(post_id)).asset
    services.caption_track_upload(asset=asset, language="en", data=VTT)
    return post_id


@pytest.mark.parametrize("viewport", [None, WIDE], ids=["phone", "desktop"])
def test_the_captions_toggle_shows_and_hides_the_track(
        captioned: str, new_context: Callable[..., BrowserContext],
        page_errors: PageErrors, viewport: Any) -> None:
    context = new_context(viewport=viewport) if viewport else new_context()
    page = context.new_page()
    page.goto(f"/p/{captioned}/")

    toggle = page.locator("#captions-toggle")
    expect(toggle).to_be_visible(timeout=30_000)
    page.wait_for_function(SHOWING, timeout=30_000)
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(toggle).to_have_accessible_name("Captions")
    # the button sits inside the video's box, clear of the native controls at the bottom
    box, video = toggle.bounding_box(), page.locator("#post-player").bounding_box()
    assert box
    assert video
    assert box["y"] < video["y"] + video["height"] / 3
    assert box["x"] + box["width"] <= video["x"] + video["width"]
    assert box["width"] >= 44
    assert box["height"] >= 44
    name = "phone" if viewport is None else "desktop"
    screenshot(page, f"post-captions-on-{name}", copy_to=SHOTS)

    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    assert page.evaluate(MODE) == "hidden"
    screenshot(page, f"post-captions-off-{name}", copy_to=SHOTS)
    # the choice is remembered for the next video
    page.reload()
    expect(page.locator("#captions-toggle")).to_be_visible(timeout=30_000)
    expect(page.locator("#captions-toggle")).to_have_attribute("aria-pressed", "false")
    page.locator("#captions-toggle").click()
    page.wait_for_function(SHOWING, timeout=30_000)
    assert not page_errors.uncaught, page_errors.uncaught
    assert not page_errors.failed_requests, page_errors.failed_requests
