"""Colour emoji in text overlays (apps.studio.textimage): rendered for real through the one
ffmpeg graph and checked by decoding the output, pixel by pixel: the emoji's part of the
text has colour of the emoji's hues where the layout puts it, the words stay white, RTL
text keeps its order; the layout of ZWJ sequences and skin tones; what the API accepts
now and what it still refuses in words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import ImageFont

from apps.studio import services
from apps.studio.document import Text, font_path, validate_document
from apps.studio.textimage import EMOJI_STRIKE, render, unrenderable
from tests.studio.conftest import frame_at

pytestmark = pytest.mark.django_db

SIZE = "360x640"
EMOJI_EM = 136 / EMOJI_STRIKE  # Noto Color Emoji's advance, in ems of the text


def hsv(pixels: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], ...]:
    """Hue (degrees), saturation (0-1) and value (0-255) of RGB pixels."""
    rgb = pixels.reshape(-1, 3).astype(float)
    high, low = rgb.max(axis=1), rgb.min(axis=1)
    spread = np.where(high > low, high - low, 1.0)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    hue = np.select([high == r, high == g], [(g - b) / spread % 6, (b - r) / spread + 2],
                    (r - g) / spread + 4) * 60
    sat = np.where(high > 0, (high - low) / np.maximum(high, 1), 0)
    return hue, sat, high


def colourful(pixels: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The hues of the clearly coloured pixels (saturated and not dark)."""
    hue, sat, value = hsv(pixels)
    return hue[(sat > 0.45) & (value > 90)]


def render_text(user: Any, source: Any, tmp_path: Path, name: str, **text: Any) -> Path:
    black = source("black", src="color=c=black", seconds=2.0, hz=None, size=SIZE)
    doc = validate_document({"version": 1, "clips": [
        {"asset_id": str(black.pk), "in_ms": 0, "out_ms": 2000}],
        "texts": [{"start_ms": 0, "end_ms": 1000, "x": 0.5, "y": 0.3, "size": 0.08,
                   "colour": "#ffffff", **text}]}, user=user)
    work = tmp_path / f"work-{name}"
    work.mkdir()
    out = tmp_path / f"{name}.mp4"
    services.render_document(doc, work=work, out=out, preview=False)
    return out


def columns(frame: np.ndarray[Any, Any], x0: float, x1: float) -> np.ndarray[Any, Any]:
    """The text's band (y 0.3 of the height, one line of 0.08 tall) between two x."""
    h = frame.shape[0]
    return frame[int(0.3 * h - 0.07 * h):int(0.3 * h + 0.07 * h), round(x0):round(x1)]


def test_hi_party_fire_renders_the_emoji_in_colour_where_the_layout_puts_them(
        user, source, tmp_path):
    out = render_text(user, source, tmp_path, "hi", text="Hi 🎉🔥")
    shown, after = frame_at(out, 0.5), frame_at(out, 1.5)
    h, w = shown.shape[:2]
    # where each part should be, from the fonts' own metrics (not from the renderer):
    # "Hi " in DejaVu Sans Bold, then two emoji of EMOJI_EM ems each, the line centred
    px = int(h * 0.08)
    words = ImageFont.truetype(str(font_path("sans-bold")), px).getlength("Hi ")
    emoji = px * EMOJI_EM
    left = w / 2 - (words + 2 * emoji) / 2
    hi = columns(shown, left, left + words - px * 0.3)
    party = columns(shown, left + words, left + words + emoji)
    fire = columns(shown, left + words + emoji, left + words + 2 * emoji)

    # the words: white letters, no colour
    assert (hi.min(axis=2) > 200).sum() > 150
    assert len(colourful(hi)) < 20
    # 🎉: many coloured pixels, of several hues (the yellow cone, the confetti)
    party_hues = colourful(party)
    assert len(party_hues) > 300
    assert ((party_hues > 35) & (party_hues < 65)).sum() > 50  # yellow
    assert ((party_hues > 180) | (party_hues < 15)).sum() > 30  # blue/pink/red confetti
    # 🔥: orange to yellow flames, almost nothing blue or green
    fire_hues = colourful(fire)
    assert len(fire_hues) > 300
    warm = ((fire_hues < 60) | (fire_hues > 340)).sum()
    assert warm / len(fire_hues) > 0.9
    # nothing coloured outside the text, and the text is gone after its end
    outside = shown.copy()
    outside[int(0.3 * h - 0.07 * h):int(0.3 * h + 0.07 * h)] = 0
    assert len(colourful(outside)) == 0
    assert len(colourful(after)) == 0
    assert after.max() < 40


def test_rtl_text_keeps_its_order_with_the_emoji_on_its_left(user, source, tmp_path):
    # "שלום 🔥": Hebrew reads right to left, so the flame (after the word) is on the left
    out = render_text(user, source, tmp_path, "rtl", text="שלום 🔥")
    band = columns(frame_at(out, 0.5), 0, int(SIZE.split("x")[0]))
    _hue, sat, value = hsv(band)
    xs = np.tile(np.arange(band.shape[1]), band.shape[0])
    coloured = xs[(sat > 0.45) & (value > 90)]
    white = xs[(sat < 0.15) & (value > 200)]
    assert len(coloured) > 300
    assert len(white) > 150
    assert np.median(coloured) < np.median(white) - 40
    # the same words left to right: the flame on the right
    out = render_text(user, source, tmp_path, "ltr", text="Shalom 🔥")
    band = columns(frame_at(out, 0.5), 0, int(SIZE.split("x")[0]))
    _hue, sat, value = hsv(band)
    coloured = xs[(sat > 0.45) & (value > 90)]
    white = xs[(sat < 0.15) & (value > 200)]
    assert np.median(coloured) > np.median(white) + 40


def _text(words: str, **rest: Any) -> Text:
    return Text(**{"text": words, "font": "sans-bold", "size": 0.1, "colour": "#ffffff",
                   "background": None, "start_ms": 0, "end_ms": 1000, "x": 0.5, "y": 0.5,
                   **rest})


def test_zwj_sequences_and_skin_tones_are_one_glyph_each():
    path = font_path("sans-bold")
    one = render(_text("🎉"), path, 640).width
    family = render(_text("👨\u200d👩\u200d👧"), path, 640).width  # man, woman, girl, joined
    apart = render(_text("👨👩👧"), path, 640).width
    assert abs(family - one) <= 2
    assert apart >= 3 * one - 4
    # 👋🏽 is the medium skin tone's hand, one glyph, browner than the yellow 👋
    plain, toned = render(_text("👋"), path, 640), render(_text("👋🏽"), path, 640)
    assert abs(toned.width - plain.width) <= 2

    def mean_hue(image: Any) -> float:
        rgba = np.asarray(image)
        return float(np.median(colourful(rgba[rgba[..., 3] > 200][:, :3])))

    assert mean_hue(plain) > 38  # yellow
    assert mean_hue(toned) < 32  # brown
    # emoji only: as tall as a line of text, no box around
    only = np.asarray(render(_text("🔥"), path, 640))
    assert only[..., 3].max() == 255
    assert only[0, 0, 3] == 0


def test_a_coloured_box_and_the_texts_alpha_reach_the_image():
    path = font_path("sans-bold")
    boxed = np.asarray(render(_text("Hi 🔥", background="#0000ff"), path, 640))
    assert tuple(boxed[1, 1]) == (0, 0, 255, 255)
    faint = np.asarray(render(_text("🔥", colour="#ffffff80"), path, 640))
    assert 100 < faint[..., 3].max() < 140


def test_unrenderable_names_what_neither_font_draws():
    path = font_path("sans-bold")
    assert unrenderable(path, "Hi 🎉🔥 👨‍👩‍👧 👋🏽 🇫🇷 1️⃣ ❤️ ☺︎ שלום مرحبا") == []
    assert unrenderable(path, "hi 👋 中 \U0010fffd") == ["中", "\U0010fffd"]


def refused(response: Any, field: str) -> str:
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert body["code"] == "invalid_edit", body
    return str(body["fields"][field][0])


def test_the_api_accepts_emoji_and_refuses_what_cannot_be_drawn_in_words(auth_client, source):
    asset = source()

    def document(words: str) -> dict[str, Any]:
        return {"document": {"version": 1, "clips": [
            {"asset_id": str(asset.pk), "in_ms": 0, "out_ms": 2000}],
            "texts": [{"text": words, "start_ms": 0, "end_ms": 1000}]}}

    for words in ("Hi 🎉🔥", "🎉", "👨‍👩‍👧 👋🏽", "שלום 🎉 עולם"):
        response = auth_client.post("/api/v1/studio/validate", document(words), format="json")
        assert response.status_code == 200, (words, response.content)
        assert response.json()["document"]["texts"][0]["text"] == words
    message = refused(auth_client.post("/api/v1/studio/validate", document("hi 👋 中"),
                                       format="json"), "texts.0.text")
    assert message == ("The font 'sans-bold' and the emoji font cannot draw 中; remove or "
                       "replace them.")
