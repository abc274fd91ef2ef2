"""Colour emoji in the studio's text (apps.studio.textimage), in the real browser against the
real server and worker: "Hi 🎉🔥" on the stage is drawn by Chromium with Debian's Noto
Color Emoji (the same package the server renders with), in colour, right of the words;
the server's preview render has the same emoji in colour at the same place (decoded); a
text's font, colour, size and box picked in the editor reach the stage, the document and
the render.
Screenshots on a desktop (/tmp/shots-h4/)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
from django.conf import settings
from PIL import Image
from playwright.sync_api import Page, expect

from apps.studio.models import Preview
from tests.browser.conftest import DESKTOP, PageErrors, screenshot
from tests.factories import UserFactory
from tests.media.conftest import make_clip
from tests.studio.test_emoji_text import hsv

SHOTS = Path("/tmp/shots-h4")


def _coloured_columns(rgb: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], ...]:
    """The x of every clearly coloured pixel and of every white one."""
    _hue, sat, value = hsv(rgb)
    xs = np.tile(np.arange(rgb.shape[1]), rgb.shape[0])
    return xs[(sat > 0.45) & (value > 90)], xs[(sat < 0.15) & (value > 200)]


def test_emoji_in_text_are_coloured_on_the_stage_and_in_the_preview(
        logged_in_page: Callable[..., Page], tmp_path: Path, page_errors: PageErrors) -> None:
    me = UserFactory()
    page = logged_in_page(me, viewport=DESKTOP)
    page.goto("/upload")
    page.get_by_role("button", name="Edit several clips in the studio").click()
    expect(page.locator("[data-studio]")).to_have_attribute("data-ready", "true")
    # a black clip: the emoji are the only colour in the frame
    page.set_input_files("[data-studio-files]",
                         str(make_clip(tmp_path / "black.mp4", seconds=2, video_source="color")))
    expect(page.locator("[data-clip-status]")).to_have_text("Ready to edit.", timeout=120_000)
    page.fill("#studio-text", "Hi 🎉🔥")
    page.get_by_role("button", name="Add text").click()
    text = page.locator(".studio-text")
    expect(text).to_have_text("Hi 🎉🔥")
    SHOTS.mkdir(parents=True, exist_ok=True)

    # the stage: Chromium draws the emoji in colour, to the right of the white words
    on_stage = np.asarray(Image.open(io.BytesIO(text.screenshot())).convert("RGB"))
    coloured, white = _coloured_columns(on_stage)
    assert len(coloured) > 150
    assert len(white) > 30
    assert np.median(coloured) > np.median(white)

    # 😀 is in DejaVu too (black and white): the stage still takes it from the emoji font,
    # as the server does (its emoji presentation)
    page.fill("#studio-text", "😀")
    page.get_by_role("button", name="Add text").click()
    face = page.locator(".studio-text").nth(1)
    expect(face).to_have_text("😀")
    on_stage = np.asarray(Image.open(io.BytesIO(face.screenshot())).convert("RGB"))
    assert len(_coloured_columns(on_stage)[0]) > 100
    page.locator("[data-stage]").screenshot(path=str(SHOTS / "studio-emoji-stage-two.png"))
    page.get_by_role("button", name="Remove Text: 😀").click()
    # a second text styled in the editor: serif, yellow (the stage shows it so)
    page.fill("#studio-text", "Yo")
    page.get_by_role("button", name="Add text").click()
    styled = page.locator(".studio-text").nth(1)
    page.get_by_label("Text: Yo: font").select_option("serif")
    page.get_by_label("Text: Yo: colour").evaluate(
        "el => { el.value = '#ffff00'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    assert styled.evaluate("n => getComputedStyle(n).color") == "rgb(255, 255, 0)"
    assert "DejaVu Serif" in styled.evaluate("n => getComputedStyle(n).fontFamily")
    # large, with a box behind: larger than the first text on the stage, boxed
    page.get_by_label("Text: Yo: size").select_option(label="Large")
    page.get_by_label("Text: Yo: box behind").check()
    size_of = "n => parseFloat(getComputedStyle(n).fontSize)"
    assert styled.evaluate(size_of) > 1.4 * text.first.evaluate(size_of)
    assert styled.evaluate("n => getComputedStyle(n).backgroundColor") != "rgba(0, 0, 0, 0)"

    page.get_by_role("button", name="Preview").click()
    expect(page.locator("[data-result-video]")).to_be_visible(timeout=120_000)
    expect(page.locator("[data-studio-error]")).to_be_hidden()
    preview = Preview.objects.get(owner=me)
    placed, yo = preview.document["texts"]
    assert placed["text"] == "Hi 🎉🔥"
    assert (placed["font"], placed["colour"]) == ("sans-bold", "#ffffff")
    assert (yo["text"], yo["font"], yo["colour"]) == ("Yo", "serif", "#ffff00")
    assert (yo["size"], yo["background"]) == (0.09, "#000000a0")
    assert "background" not in placed
    with av.open(str(Path(settings.MEDIA_ROOT) / preview.file)) as container:
        frame = next(iter(container.decode(video=0))).to_ndarray(format="rgb24")
    h, w, _ = frame.shape
    band = frame[max(0, int((placed["y"] - 0.06) * h)):int((placed["y"] + 0.06) * h)]
    coloured, white = _coloured_columns(band)
    assert len(coloured) > 60
    assert np.median(coloured) > np.median(white)
    # the yellow text in its band, and nothing coloured anywhere else in the frame
    yellow = frame[int((yo["y"] - 0.05) * h):int((yo["y"] + 0.05) * h)].reshape(-1, 3).astype(int)
    assert ((yellow[:, 0] > 200) & (yellow[:, 1] > 200) & (yellow[:, 2] < 80)).sum() > 30
    rest = frame.copy()
    rest[max(0, int((placed["y"] - 0.06) * h)):int((placed["y"] + 0.06) * h)] = 0
    rest[int((yo["y"] - 0.05) * h):int((yo["y"] + 0.05) * h)] = 0
    assert len(_coloured_columns(rest)[0]) == 0
    Image.fromarray(frame).resize((w * 2, h * 2)).save(SHOTS / "studio-emoji-preview-frame.png")
    screenshot(page, "studio-emoji-desktop", full_page=False, copy_to=SHOTS)
    page.locator("[data-stage]").screenshot(path=str(SHOTS / "studio-emoji-stage.png"))
    assert not page_errors.uncaught
