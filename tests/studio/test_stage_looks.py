"""The editor's live look (apps.studio.luts.stage_matrix, drawn on the stage by an SVG
feColorMatrix): each preset's matrix against the preset's function and the shipped .cube
LUT on sample pixels, and the whole look (preset + eq adjustments) against what the render
makes of a flat colour (the adjustments are an approximation of eq's YUV arithmetic)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from rest_framework.test import APIClient

from apps.studio import luts
from tests.studio.conftest import frame_at, mean_rgb
from tests.studio.test_render import clip, render

SAMPLES: list[tuple[float, float, float]] = [
    (r / 255, g / 255, b / 255) for r, g, b in itertools.product((0, 40, 96, 160, 230), repeat=3)
]


def _cube(name: str) -> np.ndarray:
    """The shipped LUT as [b][g][r] -> rgb (red varies fastest in a .cube)."""
    rows = [line.split() for line in luts.lut_path(name).read_text().splitlines()]
    values = np.array(
        [[float(v) for v in row] for row in rows if len(row) == 3 and row[0][0].isdigit()]
    )
    n = luts.LUT_SIZE
    return values.reshape(n, n, n, 3)


def _trilinear(cube: np.ndarray, rgb: tuple[float, float, float]) -> tuple[np.ndarray, bool]:
    """The LUT at `rgb` as lut3d interpolates it, and whether a corner used was clipped."""
    n = cube.shape[0] - 1
    pos = [c * n for c in rgb]
    lo = [min(int(p), n - 1) for p in pos]
    f = [p - i for p, i in zip(pos, lo, strict=True)]
    out = np.zeros(3)
    clipped = False
    for dr, dg, db in itertools.product((0, 1), repeat=3):
        w = (f[0] if dr else 1 - f[0]) * (f[1] if dg else 1 - f[1]) * (f[2] if db else 1 - f[2])
        corner = cube[lo[2] + db, lo[1] + dg, lo[0] + dr]
        clipped |= bool(w > 0 and ((corner <= 0.0).any() or (corner >= 1.0).any()))
        out += w * corner
    return out, clipped


@pytest.mark.parametrize("name", list(luts.PRESETS))
def test_each_presets_matrix_is_its_function_and_its_lut(name):
    matrix = luts.stage_matrix(name)
    fn = luts.PRESETS[name]
    cube = _cube(name)
    compared = 0
    for rgb in SAMPLES:
        drawn: np.ndarray = np.array(list(luts.apply_matrix(matrix, rgb)))
        expected = np.clip(np.array(fn(*rgb)), 0, 1)
        assert np.abs(drawn - expected).max() < 1e-5, (name, rgb)
        lut, clipped = _trilinear(cube, rgb)
        if not clipped:  # where the LUT's corners clip, lut3d interpolates clipped values
            assert np.abs(drawn - lut).max() < 1e-3, (name, rgb)
            compared += 1
    assert compared >= 10  # vivid clips most of the cube's corners


def test_options_give_the_editor_every_look(auth_client: APIClient):
    body = auth_client.get("/api/v1/studio/options").json()
    assert set(body["looks"]) == {"none", *luts.PRESETS}
    assert body["looks"]["mono"] == luts.stage_matrix("mono")
    assert body["looks"]["none"] == [1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0]
    assert body["look_adjust"]["luma"] == list(luts.EQ_LUMA)


@pytest.mark.django_db
def test_the_stage_look_is_close_to_the_render(user, source, tmp_path: Path):
    flat = source("flat", src="color=c=0x7a6048", seconds=0.4, hz=None)
    base = (0x7A / 255, 0x60 / 255, 0x48 / 255)
    looks: list[tuple[str, str, float, float, float]] = [
        ("warm", "warm", 0.0, 1.15, 1.3),
        ("eq", "none", 0.1, 1.0, 0.6),
    ]
    for name, preset, brightness, contrast, saturation in looks:
        look: dict[str, object] = {
            "brightness": brightness,
            "contrast": contrast,
            "saturation": saturation,
        }
        if preset != "none":
            look["preset"] = preset
        out = render(user, tmp_path, clip(flat), filter=look, name=name)
        rendered = np.array(mean_rgb(frame_at(out, 0.2), (0.3, 0.3, 0.7, 0.7))) / 255
        matrix = luts.stage_matrix(preset, brightness, contrast, saturation)
        drawn: np.ndarray = np.array(list(luts.apply_matrix(matrix, base)))
        # within 6 % of full scale per channel: yuv420p rounding, limited range and eq's
        # YUV arithmetic against the RGB approximation
        assert np.abs(rendered - drawn).max() < 0.06, (name, rendered * 255, drawn * 255)
