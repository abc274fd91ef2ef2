"""The studio's sound, cover frame and drag-to-reorder (issue 16, the web editor) in the real
browser against the real server and worker: two clips uploaded and processed, the second
dragged above the first by its handle, a cover time shown on the stage as that clip's
frame, a library sound with its volume and the clips' own volume; the document the
preview sends carries all of it, and the server accepts it. Screenshots at phone 390x844
and desktop 1440x900 in /tmp/shots-h8/."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from apps.media.models import MediaAsset
from tests.browser.conftest import DESKTOP, PageErrors, screenshot
from tests.content.factories import LibrarySoundFactory
from tests.factories import UserFactory
from tests.media.conftest import make_clip

SHOTS = Path("/tmp/shots-h8")


def _set_range(page: Page, selector: str, value: float) -> None:
    page.locator(selector).evaluate(
        "(el, v) => { el.value = String(v);"
        " el.dispatchEvent(new Event('input', {bubbles: true})); }", value)


def test_drag_to_reorder_the_cover_frame_and_the_sound_reach_the_document(
        logged_in_page: Callable[..., Page], tmp_path: Path, page_errors: PageErrors) -> None:
    sound = LibrarySoundFactory(title="Sunny day")
    me = UserFactory()
    page = logged_in_page(me)
    page.goto("/upload")
    page.get_by_role("button", name="Edit several clips in the studio").click()
    expect(page.locator("[data-studio]")).to_have_attribute("data-ready", "true")
    first = make_clip(tmp_path / "first.mp4", seconds=3, video_source="testsrc2")
    second = make_clip(tmp_path / "second.mp4", seconds=2, video_source="smptehdbars")
    page.set_input_files("[data-studio-files]", [str(first), str(second)])
    clips = page.locator("[data-clips] > li")
    for i in range(2):
        expect(clips.nth(i).locator("[data-clip-status]")).to_have_text(
            "Ready to edit.", timeout=120_000)

    # drag the second clip's handle above the first
    handle = clips.nth(1).locator("[data-drag]")
    handle.scroll_into_view_if_needed()
    grip, top = handle.bounding_box(), clips.nth(0).bounding_box()
    assert grip
    assert top
    page.mouse.move(grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2)
    page.mouse.down()
    page.mouse.move(grip["x"] + grip["width"] / 2, top["y"] + 5, steps=10)
    page.mouse.up()
    expect(clips.nth(0).locator("[data-select]")).to_have_text("1. second.mp4")
    expect(clips.nth(1).locator("[data-select]")).to_have_text("2. first.mp4")
    expect(page.locator("[data-studio-status]")).to_have_text("second.mp4 is now clip 1.")
    # on a phone the handle and the buttons leave the name room (it was a column of letters)
    name = clips.nth(0).locator("[data-select]").bounding_box()
    assert name
    assert name["width"] > 100
    assert name["height"] < 40

    # the cover at 2.5 s of the edit: first.mp4 (from 2 s on) at 0.5 s, shown on the stage
    expect(page.locator("#studio-cover")).to_have_attribute("max", "5000")
    _set_range(page, "#studio-cover", 2500)
    expect(page.get_by_text("Cover frame 2.5 s")).to_be_visible()
    expect(clips.nth(1)).to_have_attribute("aria-current", "true")
    page.wait_for_function("() => Math.abs(document.querySelector('[data-stage-video]')"
                           ".currentTime - 0.5) < 0.05")

    # a library sound at half volume over the clips' own audio at a quarter
    page.locator("#studio-sound").select_option(label="Sunny day · The Licensed (0:30)")
    _set_range(page, "[data-sound-volume]", 0.5)
    _set_range(page, "[data-original-volume]", 0.25)
    expect(page.get_by_label("Sound volume")).to_have_attribute("aria-valuetext", "50 %")
    expect(page.get_by_label("Clips' own audio")).to_have_attribute("aria-valuetext", "25 %")
    screenshot(page, "studio-sound-cover-phone", copy_to=SHOTS, full_page=True)

    with page.expect_response(lambda r: r.url.endswith("/api/v1/studio/previews")
                              and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Preview").click()
    response = answer.value
    assert response.status == 202, response.text()
    doc = json.loads(response.request.post_data or "{}")["document"]
    assert [c["out_ms"] for c in doc["clips"]] == [2000, 3000]  # second.mp4 first
    assert doc["cover_ms"] == 2500
    assert doc["sound"] == {"sound_id": str(sound.pk), "volume": 0.5, "start_ms": 0}
    assert doc["original_volume"] == 0.25
    page.set_viewport_size({"width": DESKTOP["width"], "height": DESKTOP["height"]})
    page.locator("[data-studio] h2").scroll_into_view_if_needed()
    screenshot(page, "studio-sound-cover-desktop", copy_to=SHOTS)
    # a render that mixed the sound in hands it to the post form (what "Use this video"
    # dispatches; here with one of the clips' uploads, to spare a render): the post credits
    # the sound, with no mix to choose (it is in the audio already)
    clip_asset = str(MediaAsset.objects.filter(owner=me).latest("id").pk)
    page.evaluate("""([asset, sound]) => document.dispatchEvent(new CustomEvent(
        'studio:rendered', {detail: {assetId: asset, coverMs: 0, name: 'Studio edit',
        soundId: sound}}))""", [clip_asset, str(sound.pk)])
    expect(page.locator("#sound")).to_have_value(str(sound.pk))
    expect(page.locator("[data-sound-mix]")).to_be_hidden()
    assert page.locator("#sound-mix").input_value() == "keep"
    # and locks the choice: another sound here would be mixed over the one in the video
    expect(page.locator("#sound")).to_be_disabled()
    expect(page.locator("[data-sound-locked]")).to_be_visible()
    screenshot(page, "studio-sound-locked-in-post-form", copy_to=SHOTS)
    assert not page_errors.uncaught, page_errors.uncaught
