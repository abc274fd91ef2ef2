"""Captions burned into the picture (the document's `burned_captions`, drawn by Pillow like
the text overlays, apps.studio.burn: a Debian DejaVu font and colour emoji): rendered for
real and checked by decoding frames (the words' pixels in the bottom band while a cue
lasts, nothing elsewhere, nothing after it; emoji in colour), the pictures' timing and
wrapping, refused in words before rendering when a cue runs past the edit or neither font
draws a character, and the words drawn as they are (braces are no markup)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from apps.studio import burn, services
from apps.studio.document import BurnedCaptions, BurnedCue, validate_document
from apps.studio.graph import Canvas
from tests.studio.conftest import frame_at

pytestmark = pytest.mark.django_db

GREY = "color=c=gray"


def _render(user: Any, tmp_path: Path, asset: Any, name: str, **rest: Any) -> Path:
    doc = validate_document({"version": 2, "clips": [
        {"asset_id": str(asset.pk), "in_ms": 0, "out_ms": asset.duration_ms}], **rest},
        user=user)
    work = tmp_path / f"work-{name}"
    work.mkdir()
    out = tmp_path / f"{name}.mp4"
    services.render_document(doc, work=work, out=out, preview=False)
    return out


def test_burned_captions_are_drawn_in_the_bottom_band_while_each_cue_lasts(
        user: Any, source: Any, tmp_path: Path) -> None:
    grey = source("grey", src=GREY, seconds=2.0, hz=None)
    plain = _render(user, tmp_path, grey, "plain")
    burned = _render(user, tmp_path, grey, "burned", burned_captions={"cues": [
        {"start_ms": 0, "end_ms": 900, "text": "HELLO THERE"},
        {"start_ms": 1100, "end_ms": 1600, "text": "{\\i1}two\nlines"}]})
    before = frame_at(plain, 0.5).astype(int)
    shown = frame_at(burned, 0.5)
    h, w = shown.shape[:2]
    changed = abs(shown.astype(int) - before).max(axis=2) > 60
    bottom = changed[int(0.75 * h):, :]
    assert bottom.sum() > 200  # the letters and their outline
    assert changed[: int(0.75 * h), :].sum() == 0  # nothing above the bottom band
    band = shown[int(0.75 * h):, :]
    assert (band.min(axis=2) > 220).sum() > 100  # white letters
    assert (band.max(axis=2) < 40).sum() > 100  # their black outline
    # centred: as much of the words left of the middle as right of it
    cols = np.nonzero(bottom.any(axis=0))[0]
    assert abs((cols.min() + cols.max()) / 2 - w / 2) < w * 0.05
    # between the cues, nothing
    assert (abs(frame_at(burned, 1.0).astype(int) - before).max(axis=2) > 60).sum() == 0
    # the second cue: two lines (the newline), its braces drawn, not read as italics
    second = abs(frame_at(burned, 1.3).astype(int) - before).max(axis=2) > 60
    rows = np.nonzero(second.any(axis=1))[0]
    assert rows.min() > 0.7 * h
    assert rows.max() - rows.min() > 0.08 * h  # two lines' height


def test_emoji_in_burned_captions_are_drawn_in_colour(
        user: Any, source: Any, tmp_path: Path) -> None:
    grey = source("grey", src=GREY, seconds=1.0, hz=None)
    plain = frame_at(_render(user, tmp_path, grey, "plain"), 0.5).astype(int)
    shown = frame_at(_render(user, tmp_path, grey, "emoji", burned_captions={"cues": [
        {"start_ms": 0, "end_ms": 1000, "text": "Hi 🎉🔥"}]}), 0.5).astype(int)
    h = shown.shape[0]
    changed = abs(shown - plain).max(axis=2) > 60
    assert changed[: int(0.75 * h), :].sum() == 0  # only in the bottom band
    band = shown[int(0.75 * h):, :]
    assert (band.min(axis=2) > 220).sum() > 20  # the white words
    # the emoji's colours: strongly saturated pixels (grey words and outline have none)
    saturated = (band.max(axis=2) - band.min(axis=2)) > 120
    assert saturated.sum() > 30
    warm = band[saturated]
    assert (warm[:, 0] > warm[:, 2]).mean() > 0.5  # confetti yellow and the flame: warm


def test_the_cue_pictures_play_in_time_and_wrap_to_the_frame(tmp_path: Path) -> None:
    captions = BurnedCaptions(cues=[
        BurnedCue(start_ms=0, end_ms=1000, text="a {\\b1} c"),
        BurnedCue(start_ms=500, end_ms=1500, text="second"),
        BurnedCue(start_ms=3000, end_ms=61_234, text=" ".join(["words"] * 30))],
        font="serif", size=0.05)
    playlist = burn.write_images(captions, Canvas(360, 640), tmp_path, 62_000)
    lines = playlist.read_text().splitlines()
    assert lines[0] == "ffconcat version 1.0"
    files = [line.split(" ", 1)[1] for line in lines if line.startswith("file ")]
    durations = [float(line.split()[1]) for line in lines if line.startswith("duration ")]
    # a, a+second, second, nothing, the long one, nothing (the last listed twice)
    assert durations == [0.5, 0.5, 0.5, 1.5, 58.234, 0.766]
    assert files[3] == files[5] == files[6]  # the same empty picture
    assert len(set(files)) == 5
    pictures = [Image.open(tmp_path / "burned" / name) for name in files]
    assert all(p.size == (360, 640) for p in pictures)
    assert pictures[3].getbbox() is None  # nothing drawn between cues
    # both cues at once stack up: taller than either alone
    def box(picture: Image.Image) -> tuple[int, int, int, int]:
        drawn = picture.getbbox()
        assert drawn is not None
        return drawn

    heights = [box(p)[3] - box(p)[1] for p in (pictures[0], pictures[1], pictures[2])]
    assert heights[1] > max(heights[0], heights[2]) * 1.5
    # the long cue wraps inside the side margins, in several lines, above the bottom margin
    left, top, right, bottom = box(pictures[4])
    assert left >= 360 * 0.06 - 2
    assert right <= 360 * 0.94 + 2
    assert bottom - top > 3 * 640 * 0.05
    assert bottom <= 640 * (1 - burn.BOTTOM_MARGIN) + 1


@pytest.mark.parametrize(("cue", "field", "words"), [
    ({"start_ms": 1500, "end_ms": 2500, "text": "late"}, "burned_captions.cues.0.end_ms",
     "Past the end of the edit (2000 ms)."),
    ({"start_ms": 500, "end_ms": 400, "text": "back"}, "burned_captions.cues.0.end_ms",
     "Must be after start_ms."),
    ({"start_ms": 0, "end_ms": 400, "text": "hi 中"}, "burned_captions.cues.0.text",
     "The font 'sans-bold' and the emoji font cannot draw 中; remove or replace them."),
])
def test_cues_the_render_cannot_draw_are_refused_in_words(
        auth_client: Any, source: Any, cue: dict[str, Any], field: str, words: str) -> None:
    asset = source("clip", seconds=2.0, hz=None)
    response = auth_client.post("/api/v1/studio/validate", {"document": {
        "version": 2, "clips": [{"asset_id": str(asset.pk), "in_ms": 0, "out_ms": 2000}],
        "burned_captions": {"cues": [cue]}}}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_edit"
    assert error["fields"][field] == [words]


def test_a_valid_document_keeps_its_captions(auth_client: Any, source: Any) -> None:
    asset = source("clip", seconds=2.0, hz=None)
    response = auth_client.post("/api/v1/studio/validate", {"document": {
        "version": 2, "clips": [{"asset_id": str(asset.pk), "in_ms": 0, "out_ms": 2000}],
        "burned_captions": {"cues": [{"start_ms": 0, "end_ms": 800, "text": " hi "}]}}},
        format="json")
    assert response.status_code == 200, response.content
    assert response.json()["document"]["burned_captions"] == {
        "cues": [{"start_ms": 0, "end_ms": 800, "text": "hi"}], "font": "sans-bold",
        "size": 0.05}
