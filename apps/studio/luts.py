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
