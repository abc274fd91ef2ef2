"""The looks test_render.py leaves out, rendered for real and decoded: every colour preset's
frame matches its LUT function (apps.studio.luts.PRESETS) within the encode's error, the
contrast adjustment, and the zoom transition (the outgoing clip grows from the centre while
it gives way, where a fade would only dim it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from apps.studio import luts, services
from apps.studio.document import validate_document
from tests.studio.conftest import frame_at, mean_rgb

pytestmark = pytest.mark.django_db


def render(user: Any, tmp_path: Path, name: str, *clips: dict[str, Any], **rest: Any) -> Path:
    doc = validate_document({"version": 1, "clips": list(clips), **rest}, user=user)
    work = tmp_path / f"work-{name}"
    work.mkdir()
    out = tmp_path / f"{name}.mp4"
    services.render_document(doc, work=work, out=out, preview=False)
    return out


def whole(asset: Any, **rest: Any) -> dict[str, Any]:
    return {"asset_id": str(asset.pk), "in_ms": 0, "out_ms": asset.duration_ms, **rest}


@pytest.mark.parametrize("preset", ["vintage", "vivid", "faded", "warm", "cool", "mono"])
def test_each_preset_gives_its_luts_colour(user, source, tmp_path, preset):
    colour = (0xC0, 0x50, 0x40)
    clip = source("c", src="color=c=0x{:02x}{:02x}{:02x}".format(*colour), seconds=1.0,
                  hz=None)
    plain = mean_rgb(frame_at(render(user, tmp_path, "plain", whole(clip)), 0.5))
    looked = mean_rgb(frame_at(render(user, tmp_path, preset, whole(clip),
                                      filter={"preset": preset}), 0.5))
    # the LUT's function applied to what the plain render decodes to (both went through
    # the same yuv420p encode), clamped as the .cube file is
    expected = [min(255.0, max(0.0, c * 255))
                for c in luts.PRESETS[preset](*(v / 255 for v in plain))]
    assert looked == pytest.approx(expected, abs=10), (plain, looked, expected)
    assert max(abs(a - b) for a, b in zip(looked, plain, strict=True)) > 12  # it did change


def test_contrast_spreads_dark_and_light_apart(user, source, tmp_path):
    dark = source("dark", src="color=c=0x505050", seconds=1.0, hz=None)
    light = source("light", src="color=c=0xb0b0b0", seconds=1.0, hz=None)
    before = [sum(mean_rgb(frame_at(render(user, tmp_path, f"p{i}", whole(a)), 0.5))) / 3
              for i, a in enumerate((dark, light))]
    after = [sum(mean_rgb(frame_at(render(user, tmp_path, f"c{i}", whole(a),
                                          filter={"contrast": 1.6}), 0.5))) / 3
             for i, a in enumerate((dark, light))]
    assert after[0] < before[0] - 15
    assert after[1] > before[1] + 15


def test_zoom_transition_grows_the_outgoing_clip_from_the_centre(user, source, tmp_path):
    # a white square in the middle of black, then black: zooming in, the square grows
    square = source("square", src="color=c=black", seconds=1.0, hz=None,
                    vf="drawbox=x=60:y=122:w=40:h=40:color=white:t=fill")
    black = source("black", src="color=c=black", seconds=1.0, hz=None)
    zoom = render(user, tmp_path, "zoom", whole(square),
                  whole(black, transition={"kind": "zoom", "duration_ms": 600}))
    fade = render(user, tmp_path, "fade", whole(square),
                  whole(black, transition={"kind": "fade", "duration_ms": 600}))

    def lit(frame: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return np.asarray(frame.max(axis=2) > 60)

    before = lit(frame_at(zoom, 0.2))
    assert 1300 < before.sum() < 1900  # the 40x40 square
    zoomed, faded = lit(frame_at(zoom, 0.62)), lit(frame_at(fade, 0.62))
    assert zoomed.sum() > 3 * before.sum()
    assert faded.sum() <= before.sum() * 1.1
    ys, xs = np.nonzero(zoomed)
    assert abs(xs.mean() - 80) < 6  # still centred
    assert abs(ys.mean() - 142) < 6
    assert not lit(frame_at(zoom, 0.95)).any()  # the black clip after the transition
