"""The caption editor page in headless Chromium (issue 16, captions): the author reaches it
from the post's page, fixes words and timings of an uploaded track, and is told in words
what is wrong before anything is sent; a save publishes a new version of the track.
Screenshots at phone 390x844 and desktop 1440x900 in /tmp/shots-h8/."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from apps.content.models import Post
from apps.media import services
from apps.media.models import CaptionTrack
from apps.studio.models import Edit
from tests.browser.conftest import DESKTOP, PageErrors, screenshot, seed_posts
from tests.factories import UserFactory

SHOTS = Path("/tmp/shots-h8")
VTT = (b"WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nHelo wrld\n\n"
       b"00:00:01.000 --> 00:00:02.000\nsecond line\n")


@pytest.fixture(scope="module")
def captioned(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, str]:
    creator = UserFactory(username="subtitler")
    [post_id] = seed_posts(tmp_path_factory.mktemp("caption-editor"), [creator], count=1,
                           captions=["Captions to fix"], ready=False)
    asset = Post.objects.select_related("asset").get(pk=int(post_id)).asset
    services.caption_track_upload(asset=asset, language="en", data=VTT)
    return creator, post_id


def _track() -> CaptionTrack:
    return CaptionTrack.objects.get(language="en")


def test_the_author_fixes_words_and_timings_and_is_told_what_is_wrong(
        captioned: tuple[object, str], logged_in_page: Callable[..., Page],
        page_errors: PageErrors) -> None:
    creator, post_id = captioned
    page = logged_in_page(creator)
    page.goto(f"/p/{post_id}/")
    page.get_by_role("link", name="Edit captions").click()
    expect(page.get_by_role("heading", name="Captions", exact=True)).to_be_visible()
    first = page.get_by_role("textbox", name="Caption 1 words")
    expect(first).to_have_value("Helo wrld")
    expect(page.get_by_role("textbox", name="Caption 2 words")).to_have_value("second line")
    expect(page.locator("[data-track-info]")).to_have_text("Version 1")
    screenshot(page, "caption-editor-phone", copy_to=SHOTS, full_page=True)

    # mistakes are refused in words before anything is sent, at the caption concerned
    page.get_by_role("textbox", name="Caption 2 start").fill("0:01.800")
    page.get_by_role("textbox", name="Caption 2 end").fill("0:01.200")
    page.get_by_role("textbox", name="Caption 1 start").fill("one second")
    page.get_by_role("button", name="Save captions").click()
    alert = page.locator("[data-error]")
    expect(alert).to_have_text(
        'Caption 1: the start "one second" is not a time; write it as 0:03.250 or 3.25. '
        "(2 captions need fixing.)")
    row2 = page.get_by_role("listitem", name="Caption 2")
    expect(row2.locator("[data-cue-error]")).to_have_text(
        "Caption 2: the end (0:01.200) must come after the start (0:01.800).")
    expect(page.get_by_role("textbox", name="Caption 2 end")).to_have_attribute(
        "aria-invalid", "true")
    expect(page.get_by_role("textbox", name="Caption 1 start")).to_be_focused()
    screenshot(page, "caption-editor-errors-phone", copy_to=SHOTS, full_page=True)
    assert _track().version == 1

    # fixed, a third caption added, saved: a new version viewers get
    page.get_by_role("textbox", name="Caption 1 start").fill("0")
    first.fill("Hello world")
    page.get_by_role("textbox", name="Caption 2 end").fill("2.1")
    page.get_by_role("button", name="Add a caption").click()
    page.get_by_role("textbox", name="Caption 3 start").fill("2.1")
    page.get_by_role("textbox", name="Caption 3 end").fill("2.4")
    page.get_by_role("textbox", name="Caption 3 words").fill("the end")
    page.get_by_role("button", name="Save captions").click()
    expect(page.locator("[data-status]")).to_have_text("Saved: version 2. Viewers see it now.")
    expect(page.locator("[data-error]")).to_be_hidden()
    track = _track()
    assert track.version == 2
    assert track.edited
    assert [(c["start_ms"], c["end_ms"], c["text"]) for c in track.cues] == [
        (0, 1000, "Hello world"), (1800, 2100, "second line"), (2100, 2400, "the end")]
    # the caption at the video's time is drawn under it, from the rows being edited
    page.evaluate("() => { const v = document.getElementById('captions-video');"
                  " v.currentTime = 0.5; }")
    expect(page.locator("[data-live-cue]")).to_have_text("Hello world")
    # ... and the published track is not drawn over the video as well
    assert page.evaluate("() => Array.from(document.getElementById('captions-video')"
                         ".textTracks).every((t) => t.mode !== 'showing')")

    assert not page_errors.uncaught, page_errors.uncaught
    assert not page_errors.failed_requests, page_errors.failed_requests


SHOWING_IN_FEED = """() => { const s = window.swipeme; const item = s && s.items[s.active];
  if (!item) return false;
  const t = Array.from(item.video.textTracks).find((t) => t.kind === 'subtitles');
  return !!t && t.mode === 'showing' && !!t.activeCues && t.activeCues.length > 0; }"""
FEED_MODES = """() => Array.from(window.swipeme.items[window.swipeme.active].video.textTracks)
  .filter((t) => t.kind === 'subtitles').map((t) => t.mode).join(',')"""


def test_the_feed_player_shows_the_captions_with_a_cc_button_remembered_per_viewer(
        captioned: tuple[object, str], logged_in_page: Callable[..., Page],
        page_errors: PageErrors) -> None:
    """The feed plays with hls.js light, which leaves subtitles out: the WebVTT the master
    playlist's SUBTITLES group names is added as a text track, shown under the CC button."""
    viewer = UserFactory(username="captionwatcher")
    page = logged_in_page(viewer)
    page.goto("/")
    toggle = page.locator("#feed-captions-toggle")
    expect(toggle).to_be_visible(timeout=30_000)
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(toggle).to_have_accessible_name("Captions")
    page.wait_for_function(SHOWING_IN_FEED, timeout=30_000)
    sound = page.locator("#sound-toggle").bounding_box()
    box = toggle.bounding_box()
    assert sound
    assert box
    assert box["x"] >= sound["x"] + sound["width"]  # beside the sound button, not over it
    assert abs(box["y"] - sound["y"]) < 2
    screenshot(page, "feed-captions-on-phone", copy_to=SHOTS)

    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    assert page.evaluate(FEED_MODES) == "hidden"
    # remembered on this device for this person (the post page's CC button reads it too)
    assert page.evaluate(f"() => localStorage.getItem('swipeme.captions:{viewer.pk}')") == "off"
    # the post page's CC button reads the same choice (For You shows a seen post no more)
    post_page = page.context.new_page()
    post_page.goto(f"/p/{captioned[1]}/")
    expect(post_page.locator("#captions-toggle")).to_be_visible(timeout=30_000)
    expect(post_page.locator("#captions-toggle")).to_have_attribute("aria-pressed", "false")

    # another person on a desktop: their own choice, on by default
    desktop = logged_in_page(UserFactory(username="captionwatcher2"), viewport=DESKTOP,
                             touch=False)
    desktop.goto("/")
    expect(desktop.locator("#feed-captions-toggle")).to_be_visible(timeout=30_000)
    expect(desktop.locator("#feed-captions-toggle")).to_have_attribute("aria-pressed", "true")
    desktop.wait_for_function(SHOWING_IN_FEED, timeout=30_000)
    screenshot(desktop, "feed-captions-on-desktop", copy_to=SHOTS)
    assert not page_errors.uncaught, page_errors.uncaught
    assert not page_errors.failed_requests, page_errors.failed_requests


def test_the_editor_on_a_desktop_and_someone_elses_post(
        captioned: tuple[object, str], logged_in_page: Callable[..., Page],
        page_errors: PageErrors) -> None:
    """Last in the module: its burn-in switches the post to a video without the track."""
    creator, post_id = captioned
    page = logged_in_page(creator, viewport=DESKTOP, touch=False)
    page.goto(f"/studio/captions/{post_id}")
    expect(page.get_by_role("textbox", name="Caption 1 words")).to_be_visible(timeout=15_000)
    video, rows = page.locator("#captions-video").bounding_box(), \
        page.locator("[data-cues]").bounding_box()
    assert video
    assert rows
    assert video["x"] + video["width"] <= rows["x"]  # side by side on a wide screen
    screenshot(page, "caption-editor-desktop", copy_to=SHOTS)
    stranger = logged_in_page(UserFactory(username="notthecreator"))
    response = stranger.goto(f"/studio/captions/{post_id}")
    assert response is not None
    assert response.status == 404

    # burned into the picture: a studio edit of the post with the saved captions, rendered
    # and switched in once checked (tests/studio: the switch and the pixels)
    page.get_by_role("textbox", name="Caption 3 words").fill("unsaved change")
    page.get_by_role("button", name="Burn captions into the video").click()
    status = page.locator("[data-burn-status]")
    expect(status).to_have_text("Save your changes first: the saved captions are burned in.")
    page.get_by_role("textbox", name="Caption 3 words").fill("the end")
    page.get_by_role("button", name="Burn captions into the video").click()
    expect(status).to_have_text(re.compile(r"^(Rendering the video with the captions…|Rendered\."
                                           r" Your post switches to it once it is processed "
                                           r"and checked\.|Done: .*)$"), timeout=15_000)
    edit = Edit.objects.get(post_id=int(post_id))
    burned = edit.versions.get().document["burned_captions"]
    assert [c["text"] for c in burned["cues"]] == ["Hello world", "second line", "the end"]
    status.scroll_into_view_if_needed()
    screenshot(page, "caption-editor-burning-desktop", copy_to=SHOTS)
    assert not page_errors.uncaught, page_errors.uncaught
