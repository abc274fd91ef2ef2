"""The named colour presets ("filters") of the edit document: 3D LUTs in the .cube format,
shipped in `apps/studio/luts/` and applied with ffmpeg's `lut3d`. Each preset is a small
function of linear-ish RGB in [0, 1]; `manage.py studio_luts` writes the files from these
functions (a test checks the shipped files match them)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

LUT_DIR = Path(__file__).resolve().parent / "luts"
LUT_SIZE = 17  # 17³ points: the usual size for looks; lut3d interpolates between them

RGB = tuple[float, float, float]


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def _luma(r: float, g: float, b: float) -> float:
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _saturate(rgb: RGB, amount: float) -> RGB:
    y = _luma(*rgb)
    r, g, b = (y + (c - y) * amount for c in rgb)
    return r, g, b


def _warm(r: float, g: float, b: float) -> RGB:
    return r * 1.10 + 0.03, g * 1.02, b * 0.82


def _cool(r: float, g: float, b: float) -> RGB:
    return r * 0.84, g * 1.0, b * 1.10 + 0.04


def _mono(r: float, g: float, b: float) -> RGB:
    y = _luma(r, g, b)
    return y, y, y


def _vintage(r: float, g: float, b: float) -> RGB:
    # a soft sepia with lifted blacks
    sr = 0.393 * r + 0.769 * g + 0.189 * b
    sg = 0.349 * r + 0.686 * g + 0.168 * b
    sb = 0.272 * r + 0.534 * g + 0.131 * b
    mix = 0.7
    r, g, b = (c * (1 - mix) + s * mix for c, s in ((r, sr), (g, sg), (b, sb)))
    return 0.06 + r * 0.9, 0.05 + g * 0.9, 0.04 + b * 0.88


def _vivid(r: float, g: float, b: float) -> RGB:
    r, g, b = _saturate((r, g, b), 1.45)
    return tuple(0.5 + (c - 0.5) * 1.12 for c in (r, g, b))  # type: ignore[return-value]


def _faded(r: float, g: float, b: float) -> RGB:
    r, g, b = _saturate((r, g, b), 0.7)
    return 0.12 + r * 0.8, 0.12 + g * 0.8, 0.14 + b * 0.78


PRESETS: dict[str, Callable[[float, float, float], RGB]] = {
    "warm": _warm,
    "cool": _cool,
    "mono": _mono,
    "vintage": _vintage,
    "vivid": _vivid,
    "faded": _faded,
}


def lut_path(name: str) -> Path:
    return LUT_DIR / f"{name}.cube"


def cube_text(name: str, size: int = LUT_SIZE) -> str:
    """The preset as a .cube file (Adobe/Resolve format: red varies fastest)."""
    fn = PRESETS[name]
    lines = [f'TITLE "SwipeMe {name}"', f"LUT_3D_SIZE {size}"]
    step = 1.0 / (size - 1)
    for bi in range(size):
        for gi in range(size):
            for ri in range(size):
                out = fn(ri * step, gi * step, bi * step)
                lines.append(" ".join(f"{_clamp(c):.4f}" for c in out))
    return "\n".join(lines) + "\n"


def write_all() -> list[Path]:
    LUT_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for name in PRESETS:
        path = lut_path(name)
        path.write_text(cube_text(name))
        written.append(path)
    return written


# --- the editor's stage: the look as a colour matrix -------------------------------------
#
# Every preset above is an affine function of RGB before the clamp, so a 4x5 colour matrix
# (SVG's feColorMatrix, which the editor's stage applies to the <video> with CSS `filter`)
# reproduces it exactly where no channel clips; the shipped 17-point LUT interpolates the
# same function, so they agree to the LUT's rounding. The `eq` adjustments are an
# approximation: ffmpeg applies them to the YUV planes (brightness and contrast on the
# luma, limited range, saturation on the chroma); here the same operations on BT.601 luma
# in full-range RGB. tests/studio/test_stage_looks.py measures both against the render.

EQ_LUMA = (0.299, 0.587, 0.114)  # BT.601: eq works on the yuv420p planes
EQ_BRIGHTNESS_GAIN = 255 / 219  # a luma step of the limited range, in full-range RGB
EQ_CONTRAST_PIVOT = (128 - 16) / 219  # eq's contrast pivots on code 128 of the luma

Matrix = list[list[float]]  # 3 rows of (r, g, b, offset)


def preset_matrix(name: str) -> Matrix:
    """The preset's affine map, read off its function at black and the three primaries."""
    if name == "none":
        return [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]
    fn = PRESETS[name]
    zero = fn(0.0, 0.0, 0.0)
    cols = [fn(*(1.0 if j == i else 0.0 for j in range(3))) for i in range(3)]
    return [
        [cols[0][k] - zero[k], cols[1][k] - zero[k], cols[2][k] - zero[k], zero[k]]
        for k in range(3)
    ]


def adjust_matrix(brightness: float, contrast: float, saturation: float) -> Matrix:
    """`eq` as an RGB matrix: luma y' = (y - pivot) * contrast + pivot + brightness, the
    chroma (rgb - y) times saturation, so rgb' = s*rgb + (c - s)*y + offset."""
    shift = EQ_CONTRAST_PIVOT * (1 - contrast) + brightness * EQ_BRIGHTNESS_GAIN
    return [
        [
            saturation * (1.0 if j == k else 0.0) + (contrast - saturation) * EQ_LUMA[j]
            for j in range(3)
        ]
        + [shift]
        for k in range(3)
    ]


def _compose(after: Matrix, before: Matrix) -> Matrix:
    """The matrix of `after(before(rgb))`."""
    return [
        [
            sum(after[k][m] * before[m][j] for m in range(3)) + (after[k][3] if j == 3 else 0.0)
            for j in range(4)
        ]
        for k in range(3)
    ]


def stage_matrix(
    preset: str, brightness: float = 0.0, contrast: float = 1.0, saturation: float = 1.0
) -> list[float]:
    """The 20 values of an feColorMatrix (row-major 4x5, alpha kept) drawing the preset
    then the adjustments, as the render applies `lut3d` then `eq`."""
    m = _compose(adjust_matrix(brightness, contrast, saturation), preset_matrix(preset))
    rows = [[*row[:3], 0.0, row[3]] for row in m]
    return [round(v, 6) for row in [*rows, [0.0, 0.0, 0.0, 1.0, 0.0]] for v in row]


def apply_matrix(values: list[float], rgb: RGB) -> RGB:
    """What the stage draws for one pixel (as feColorMatrix, clamped)."""
    r, g, b = (
        _clamp(sum(values[5 * k + j] * c for j, c in enumerate(rgb)) + values[5 * k + 4])
        for k in range(3)
    )
    return r, g, b
