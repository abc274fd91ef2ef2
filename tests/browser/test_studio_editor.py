"""The studio on the upload page (issue 16, the web editor), in the real browser against the
real server and Celery worker: two clips uploaded (tus) and processed, a filmstrip of real
frames per clip, reordered, trimmed, a filter and a voice effect picked, text added and
dragged to its place; the server's preview render plays in a <video> and is the edit asked
for (decoded: its length is the trimmed total, its frames grey under the mono filter); text
the server refuses shows the server's words with the place in the edit it names; "Use this
video" renders the edit and the post form posts that upload. Screenshots on a phone and a
desktop (/tmp/shots-h11/)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import av
import pytest
from django.conf import settings
from playwright.sync_api import Page, Playwright, expect

from apps.content.models import Post
from apps.studio.models import EditVersion, Preview
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    PageErrors,
    log_in,
    screenshot,
)
from tests.browser.test_layout_and_contrast import _assert_accessible
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.factories import UserFactory
from tests.media.conftest import make_clip
from tests.studio.conftest import make_sticker, png_bytes

SHOTS = Path("/tmp/shots-h11")


def _set_range(page: Page, selector: str, value: int) -> None:
    page.locator(selector).evaluate(
        "(el, v) => { el.value = String(v);"
        " el.dispatchEvent(new Event('input', {bubbles: true})); }", value)


def _drag_to(page: Page, selector: str, fx: float, fy: float) -> None:
    """Drag an overlay with the mouse to the fraction (fx, fy) of the stage."""
    page.locator("[data-stage]").scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    stage = page.locator("[data-stage]").bounding_box()
    assert box
    assert stage
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(stage["x"] + stage["width"] * fx, stage["y"] + stage["height"] * fy, steps=8)
    page.mouse.up()


def _colour_spread(path: Path) -> float:
    """How far apart the channels of the middle frame's centre are (0: grey)."""
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    middle = frames[len(frames) // 2].astype(int)
    h, w, _ = middle.shape
    centre = middle[h // 3: 2 * h // 3, w // 4: 3 * w // 4]
    return float((centre.max(axis=2) - centre.min(axis=2)).mean())


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_two_clips_trimmed_filtered_with_text_previewed_and_posted(
        logged_in_page: Callable[..., Page], tmp_path: Path, page_errors: PageErrors,
        viewport: dict[str, int]) -> None:
    kind = "phone" if viewport == PHONE else "desktop"
    me = UserFactory()
    # axe-core is injected past the page's CSP (bypass_csp)
    page = logged_in_page(me, viewport=viewport, bypass_csp=True)
    page.goto("/upload")
    page.get_by_role("button", name="Edit several clips in the studio").click()
    studio = page.locator("[data-studio]")
    expect(studio).to_have_attribute("data-ready", "true")
    # the server's options fill the choices
    expect(page.locator("#studio-filter option[value=mono]")).to_have_count(1)
    expect(page.locator("#studio-voice option[value=robot]")).to_have_count(1)
    # the studio is the way to pick the video now: the single-file picker steps aside
    expect(page.locator("[data-dropzone]")).to_be_hidden()

    first = make_clip(tmp_path / "first.mp4", seconds=3, video_source="testsrc2")
    second = make_clip(tmp_path / "second.mp4", seconds=2, video_source="smptehdbars")
    page.set_input_files("[data-studio-files]", [str(first), str(second)])
    clips = page.locator("[data-clips] > li")
    expect(clips).to_have_count(2)
    # a filmstrip of real frames from each file, before the server has processed anything
    for i in range(2):
        expect(clips.nth(i).locator("[data-filmstrip] img")).to_have_count(8, timeout=30_000)
        src = clips.nth(i).locator("[data-filmstrip] img").first.get_attribute("src")
        assert (src or "").startswith("data:image/jpeg")
        # the first frame is the clip's picture, not the black Chromium draws for a seek to 0
        assert clips.nth(i).locator("[data-filmstrip] img").first.evaluate(
            """async img => { await img.decode();  // sampled once decoded, not while loading
                const c = document.createElement('canvas'); c.width = 8; c.height = 8;
                const g = c.getContext('2d'); g.drawImage(img, 0, 0, 8, 8);
                const d = g.getImageData(0, 0, 8, 8).data; let sum = 0;
                for (let k = 0; k < d.length; k += 4) sum += d[k] + d[k + 1] + d[k + 2];
                return sum / (d.length / 4) / 3 > 40; }""")
    # each clip uploaded and usable once the worker has checked it
    for i in range(2):
        expect(clips.nth(i).locator("[data-clip-status]")).to_have_text(
            "Ready to edit.", timeout=120_000)
    expect(page.locator("[data-total]")).to_have_text("2 clips · 5.0 s in all")

    # reorder: the second clip goes first
    clips.nth(1).get_by_role("button", name="Earlier").click()
    expect(clips.nth(0).locator("[data-select]")).to_have_text("1. second.mp4")
    expect(clips.nth(0).get_by_role("button", name="Earlier")).to_be_disabled()
    # trim: the first clip in the edit (second.mp4) keeps 0.5 to 1.5 s, the other 0 to 2 s
    _set_range(page, "[data-clips] > li:nth-child(1) [data-in]", 500)
    _set_range(page, "[data-clips] > li:nth-child(1) [data-out]", 1500)
    _set_range(page, "[data-clips] > li:nth-child(2) [data-out]", 2000)
    expect(page.locator("[data-total]")).to_have_text("2 clips · 3.0 s in all")
    expect(clips.nth(1).locator("[data-out-out]")).to_have_text("2.0 s")
    # the first clip comes from nothing: no transition to choose
    expect(clips.nth(0).locator("[data-transition-field]")).to_be_hidden()
    # the other plays at twice its speed and fades in over 0.5 s: 1 + 2 / 2 - 0.5 s
    clips.nth(1).get_by_label("Speed").select_option("2")
    clips.nth(1).get_by_label("From the previous clip").select_option("fade")
    expect(page.locator("[data-total]")).to_have_text("2 clips · 1.5 s in all")
    # the scrubber: the stage shows the moved clip at the trim point
    page.wait_for_function(  # the seek completes asynchronously (slower on a busy machine)
        "() => { const v = document.querySelector('[data-stage-video]');"
        " return v && Math.abs(v.currentTime - 2.0) < 0.05 && v.src.startsWith('blob:'); }",
        timeout=10_000)
    kept = clips.nth(1).locator("[data-kept]").evaluate("k => k.style.width")
    assert kept.startswith("66.6")

    page.select_option("#studio-filter", "mono")
    page.select_option("#studio-voice", "robot")
    page.fill("#studio-text", "Hello studio")
    page.get_by_role("button", name="Add text").click()
    text = page.locator(".studio-text")
    expect(text).to_have_text("Hello studio")
    # shown from the start to 1 s; a little brighter
    page.get_by_label("Text: Hello studio: to (seconds)").fill("1")
    page.get_by_label("Text: Hello studio: to (seconds)").dispatch_event("change")
    page.locator("[data-adjust=brightness]").evaluate(
        "el => { el.value = '0.1'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    _drag_to(page, ".studio-text", 0.5, 0.8)
    assert abs(float(text.get_attribute("data-y") or 0) - 0.8) < 0.03
    assert abs(float(text.get_attribute("data-x") or 0) - 0.5) < 0.03
    # the text is drawn inside the frame, not spilling out of it
    box, stage = text.bounding_box(), page.locator("[data-stage]").bounding_box()
    assert box
    assert stage
    assert box["x"] >= stage["x"]
    assert box["x"] + box["width"] <= stage["x"] + stage["width"]

    # a text neither the server's font nor its emoji font can draw (no CJK font here):
    # refused before rendering, in the server's words
    page.fill("#studio-text", "Wave 中")
    page.get_by_role("button", name="Add text").click()
    page.get_by_role("button", name="Preview").click()
    error = page.locator("[data-studio-error]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Text 2 · text:")
    expect(error).to_contain_text("中")
    assert not Preview.objects.filter(owner=me).exists()
    page.get_by_role("button", name="Remove Text: Wave 中").click()

    page.get_by_role("button", name="Preview").click()
    result = page.locator("[data-result-video]")
    expect(result).to_be_visible(timeout=120_000)
    expect(error).to_be_hidden()
    expect(page.locator("[data-studio-status]")).to_have_text("Preview ready (1.5 s).")
    page.wait_for_function(
        "() => document.querySelector('[data-result-video]').readyState >= 2", timeout=30_000)
    played = result.evaluate("v => v.duration")
    assert 1.3 < played < 1.8
    preview = Preview.objects.get(owner=me)
    doc = preview.document
    assert [(c["in_ms"], c["out_ms"], c["speed"]) for c in doc["clips"]] == [
        (500, 1500, 1.0), (0, 2000, 2.0)]
    assert doc["clips"][1]["transition"] == {"kind": "fade", "duration_ms": 500}
    assert doc["filter"]["preset"] == "mono"
    assert doc["voice"] == "robot"
    assert doc["texts"][0]["text"] == "Hello studio"
    assert abs(doc["texts"][0]["y"] - 0.8) < 0.03
    assert (doc["texts"][0]["start_ms"], doc["texts"][0]["end_ms"]) == (0, 1000)
    assert doc["filter"]["brightness"] == 0.1
    # the mono filter leaves grey frames (the bars of both clips are colourful)
    assert _colour_spread(Path(settings.MEDIA_ROOT) / preview.file) < 12
    SHOTS.mkdir(parents=True, exist_ok=True)
    screenshot(page, f"studio-preview-{kind}", full_page=True, copy_to=SHOTS)
    _assert_accessible(page, f"the studio ({kind})")

    if viewport == PHONE:
        assert not page_errors.uncaught
        return
    # use it: the edit renders into a new upload, which the post form posts
    page.get_by_role("button", name="Use this video").click()
    status = page.locator("[data-upload-status]")
    expect(status).to_have_attribute("data-asset-id", re.compile(r"^\d+$"),
                                     timeout=180_000)
    version = EditVersion.objects.get(edit__owner=me)
    assert version.state == EditVersion.State.RENDERED
    assert version.asset_id is not None
    assert status.get_attribute("data-asset-id") == str(version.asset_id)
    expect(page.locator("[data-file-name]")).to_have_text("Studio edit · 2 clips · 1.5 s")
    submit = page.locator("[data-submit]")
    expect(submit).to_be_enabled()
    page.fill("#caption", "Made in the studio")
    screenshot(page, f"studio-rendered-{kind}", full_page=True, copy_to=SHOTS)
    submit.click()
    expect(page.locator("[data-posted]")).to_be_visible(timeout=30_000)
    post = Post.objects.get(author=me)
    assert post.asset_id == version.asset_id
    assert not page_errors.uncaught


def _open_studio_with_clip(page: Page, clip: Path) -> None:
    page.goto("/upload")
    page.get_by_role("button", name="Edit several clips in the studio").click()
    expect(page.locator("[data-studio]")).to_have_attribute("data-ready", "true")
    page.set_input_files("[data-studio-files]", str(clip))
    expect(page.locator("[data-clip-status]")).to_have_text("Ready to edit.", timeout=120_000)


def test_a_sticker_dragged_from_the_library_lands_where_dropped(
        logged_in_page: Callable[..., Page], tmp_path: Path, page_errors: PageErrors) -> None:
    me = UserFactory()
    sticker = make_sticker("red square", png_bytes("red", "64x64"))
    page = logged_in_page(me, viewport=DESKTOP)
    # a black clip: the red sticker is the only colour in the frame
    _open_studio_with_clip(page, make_clip(tmp_path / "black.mp4", seconds=2, video_source="color"))
    choice = page.get_by_role("button", name="Add the sticker red square")
    expect(choice).to_be_visible()
    # the palette sits below the fold at this size; the frame stays in view (sticky)
    choice.scroll_into_view_if_needed()
    stage = page.locator("[data-stage]").bounding_box()
    source = choice.bounding_box()
    assert stage
    assert source
    page.mouse.move(source["x"] + source["width"] / 2, source["y"] + source["height"] / 2)
    page.mouse.down()
    page.mouse.move(stage["x"] + stage["width"] * 0.3, stage["y"] + stage["height"] * 0.3, steps=8)
    page.mouse.up()
    placed = page.locator(".studio-sticker")
    expect(placed).to_have_count(1)  # a drop adds one, not a second one for the click
    assert abs(float(placed.get_attribute("data-x") or 0) - 0.3) < 0.03
    assert abs(float(placed.get_attribute("data-y") or 0) - 0.3) < 0.03
    expect(page.locator("[data-overlays]")).to_contain_text("Sticker: red square")

    page.get_by_role("button", name="Preview").click()
    expect(page.locator("[data-result-video]")).to_be_visible(timeout=120_000)
    preview = Preview.objects.get(owner=me)
    placed_doc = preview.document["stickers"][0]
    assert placed_doc["sticker_id"] == str(sticker.pk)
    assert abs(placed_doc["x"] - 0.3) < 0.03
    with av.open(str(Path(settings.MEDIA_ROOT) / preview.file)) as container:
        frame = next(iter(container.decode(video=0))).to_ndarray(format="rgb24").astype(int)
    h, w, _ = frame.shape
    red = frame[int(0.3 * h), int(0.3 * w)]
    assert red[0] > 150 and red[1] < 80 and red[2] < 80  # noqa: PT018 - one pixel's colour
    assert frame[int(0.75 * h), int(0.75 * w)].max() < 40
    assert not page_errors.uncaught


def test_a_clip_recorded_with_the_camera_joins_the_edit(
        playwright_driver: Playwright, base_url: str, tmp_path: Path) -> None:
    """MediaRecorder with Chromium's fake camera (its own browser: the flags are launch
    options): the recording is uploaded like a picked file and becomes a usable clip."""
    me = UserFactory()
    chromium = playwright_driver.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
              "--use-fake-ui-for-media-stream"])
    try:
        context = chromium.new_context(base_url=base_url, viewport=PHONE)  # type: ignore[arg-type]
        context.grant_permissions(["camera", "microphone"])
        log_in(context, me, base_url)
        page = context.new_page()
        page.goto("/upload")
        page.get_by_role("button", name="Edit several clips in the studio").click()
        record = page.get_by_role("button", name="Record with the camera")
        expect(record).to_be_visible()
        record.click()
        stop = page.get_by_role("button", name="Stop recording")
        expect(stop).to_be_visible()
        page.wait_for_timeout(2500)
        stop.click()
        clip = page.locator("[data-clips] > li")
        expect(clip).to_have_count(1)
        expect(clip.locator("[data-select]")).to_have_text(re.compile(r"^1\. recording-.*\.webm$"))
        expect(clip.locator("[data-clip-status]")).to_have_text("Ready to edit.", timeout=120_000)
        # the server's duration sets the trim (a MediaRecorder WebM carries none)
        out = int(clip.locator("[data-out]").input_value())
        assert 1500 < out < 4000
        expect(page.get_by_role("button", name="Preview")).to_be_enabled()
    finally:
        chromium.close()


def test_a_clip_the_server_refuses_says_why_and_blocks_the_preview(
        logged_in_page: Callable[..., Page], tmp_path: Path) -> None:
    page = logged_in_page(UserFactory(), viewport=PHONE)
    page.goto("/upload")
    page.get_by_role("button", name="Edit several clips in the studio").click()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all " * 2000)
    page.set_input_files("[data-studio-files]", str(broken))
    status = page.locator("[data-clip-status]")
    expect(status).to_have_text(re.compile(r"^This clip can't be used: \S.*"), timeout=120_000)
    expect(status).to_have_class(re.compile(r"\berror\b"))
    expect(page.locator("[data-total]")).to_contain_text("remove the clips that cannot be used")
    expect(page.get_by_role("button", name="Preview")).to_be_disabled()
    page.get_by_role("button", name="Remove").click()
    expect(page.locator("[data-total]")).to_have_text("No clips yet.")


def _stage_rgb(page: Page, fx: float, fy: float) -> tuple[int, int, int]:
    """The colour the screen shows at a fraction of the stage (the live look included)."""
    import io

    from PIL import Image

    shot = Image.open(io.BytesIO(page.locator("[data-stage]").screenshot())).convert("RGB")
    r, g, b = shot.getpixel((int(shot.width * fx), int(shot.height * fy)))  # type: ignore[misc]
    return int(r), int(g), int(b)


def test_a_saved_draft_reopens_with_its_green_screen_and_live_filter(
        logged_in_page: Callable[..., Page], tmp_path: Path, page_errors: PageErrors) -> None:
    """Issue 16's gaps: the filter drawn live on the stage (the server's feColorMatrix of
    the LUT), the green-screen control reaching the render's chroma key, and a saved draft
    reopened at /upload?edit=<id> with its clips, trims, look, voice, texts and key, then
    changed in place and previewed."""
    from apps.media.models import MediaAsset
    from apps.studio import luts
    from apps.studio.models import Edit
    from tests.studio.conftest import clip_file, mean_rgb

    me = UserFactory()
    page = logged_in_page(me, viewport=DESKTOP)
    # a green screen with a red box in the middle
    screen = clip_file(tmp_path, "screen", source="color=c=0x00ff00", seconds=2.0,
                       size="180x320", vf="drawbox=x=iw/4:y=ih/4:w=iw/2:h=ih/2:color=red:t=fill")
    _open_studio_with_clip(page, screen)
    page.wait_for_function(
        "() => document.querySelector('[data-stage-video]').readyState >= 2", timeout=30_000)
    assert _stage_rgb(page, 0.5, 0.5)[0] > 180  # red, unfiltered

    # the filter, live: mono turns the red box grey on the stage, as the LUT does
    page.select_option("#studio-filter", "mono")
    stage_video = page.locator("[data-stage-video]")
    expect(stage_video).to_have_attribute("data-look", "mono")
    values = [float(v) for v in (page.locator("#studio-look feColorMatrix")
                                 .get_attribute("values") or "").split()]
    assert values == pytest.approx(luts.stage_matrix("mono"), abs=1e-5)
    grey = _stage_rgb(page, 0.5, 0.5)
    expected = [round(255 * c) for c in luts.PRESETS["mono"](1.0, 0.0, 0.0)]
    assert max(grey) - min(grey) < 12
    assert abs(grey[0] - expected[0]) < 20
    # an adjustment composes with it (the matrix the server documents)
    page.locator("[data-adjust=contrast]").evaluate(
        "el => { el.value = '1.2'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    values = [float(v) for v in (page.locator("#studio-look feColorMatrix")
                                 .get_attribute("values") or "").split()]
    assert values == pytest.approx(luts.stage_matrix("mono", 0.0, 1.2, 1.0), abs=1e-5)
    SHOTS.mkdir(parents=True, exist_ok=True)
    screenshot(page, "studio-live-filter", copy_to=SHOTS)

    # the green screen, a voice effect, a text and a trim
    page.get_by_label("Replace the screen's colour with a background").check()
    expect(page.locator("[data-chroma-fields]")).to_be_visible()
    page.locator("[data-chroma-similarity]").evaluate(
        "el => { el.value = '0.2'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    page.locator("[data-chroma-bg-colour]").evaluate(
        "el => { el.value = '#0000ff'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    page.select_option("#studio-voice", "echo")
    page.fill("#studio-text", "Saved text")
    page.get_by_role("button", name="Add text").click()
    page.get_by_label("Text: Saved text: size").select_option(label="Large")
    _set_range(page, "[data-clips] > li:nth-child(1) [data-out]", 1500)
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("[data-studio-status]")).to_have_text("Draft saved (version 1).")
    edit = Edit.objects.get(owner=me)
    expect(page.locator("[data-saved-edit] a")).to_have_attribute("href", f"/upload?edit={edit.pk}")
    assert page.url.endswith(f"/upload?edit={edit.pk}")
    saved = edit.versions.get().document
    assert saved["chroma_key"] == {"colour": "#00ff00", "similarity": 0.2, "blend": 0.05,
                                   "background_colour": "#0000ff"}
    assert (saved["filter"]["preset"], saved["filter"]["contrast"]) == ("mono", 1.2)
    screenshot(page, "studio-green-screen-saved", full_page=True, copy_to=SHOTS)

    # reopened later (the clip playable by then: the stage plays the server's MP4)
    asset_id = int(saved["clips"][0]["asset_id"])
    for _ in range(240):
        if MediaAsset.objects.filter(pk=asset_id, playable_at__isnull=False).exists():
            break
        page.wait_for_timeout(500)
    # from the upload page: the studio lists the saved edits; choosing it opens ?edit=<id>
    page.goto("/upload")
    page.get_by_role("button", name="Edit several clips in the studio").click()
    saved_edits = page.get_by_label("Continue a saved edit")
    expect(saved_edits.locator("option")).to_have_count(2)
    saved_edits.select_option(str(edit.pk))
    page.wait_for_url(f"**/upload?edit={edit.pk}")
    expect(page.locator("[data-studio]")).to_have_attribute("data-ready", "true")
    expect(page.locator("[data-studio-status]")).to_have_text(
        "Reopened your edit (version 1, draft): 1 clip, 1.5 s.")
    clip = page.locator("[data-clips] > li")
    expect(clip).to_have_count(1)
    expect(clip.locator("[data-clip-status]")).to_have_text("Ready to edit.")
    assert clip.locator("[data-out]").input_value() == "1500"
    expect(clip.locator("[data-filmstrip] img")).to_have_count(8, timeout=30_000)
    assert page.locator("#studio-filter").input_value() == "mono"
    assert page.locator("#studio-voice").input_value() == "echo"
    assert page.locator("[data-adjust=contrast]").input_value() == "1.2"
    expect(page.get_by_label("Replace the screen's colour with a background")).to_be_checked()
    assert page.locator("[data-chroma-similarity]").input_value() == "0.2"
    expect(page.locator(".studio-text")).to_have_text("Saved text")
    assert page.get_by_label("Text: Saved text: size").input_value() == "0.09"
    expect(stage_video).to_have_attribute("data-look", "mono")
    page.wait_for_function(
        "() => document.querySelector('[data-stage-video]').readyState >= 2", timeout=30_000)
    grey = _stage_rgb(page, 0.5, 0.5)
    assert max(grey) - min(grey) < 12  # the server's MP4, drawn through the live look
    screenshot(page, "studio-reopened", full_page=True, copy_to=SHOTS)

    # changed and saved again: the draft changes in place; the preview keys the screen
    page.select_option("#studio-filter", "none")
    expect(stage_video).to_have_attribute("data-look", "none")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("[data-studio-status]")).to_have_text("Draft saved (version 1).")
    assert Edit.objects.filter(owner=me).count() == 1
    assert edit.versions.get().document["filter"]["preset"] == "none"
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("[data-result-video]")).to_be_visible(timeout=120_000)
    preview = Preview.objects.get(owner=me)
    assert preview.document["chroma_key"]["background_colour"] == "#0000ff"
    with av.open(str(Path(settings.MEDIA_ROOT) / preview.file)) as container:
        frame = next(iter(container.decode(video=0))).to_ndarray(format="rgb24")
    corner = mean_rgb(frame, (0.0, 0.0, 0.15, 0.15))
    assert corner[2] > 180 and corner[1] < 60  # noqa: PT018 - the blue background
    middle = mean_rgb(frame, (0.4, 0.4, 0.6, 0.6))
    assert middle[0] > 180 and middle[2] < 60  # noqa: PT018 - the red box kept
    assert not page_errors.uncaught
