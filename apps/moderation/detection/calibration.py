"""A corpus of frames that contain no nudity, and the nudity scorer's false positives on it.

The corpus is made, not downloaded: ffmpeg's pattern sources in many colours (among them the
radial gradients with a dark centre that the detector alone takes for breasts), gradients
in skin tones (the hard case for a skin-weighted score), and the photographs that installed
packages ship. `manage.py calibrate_nudity` prints the rates; a test keeps them at zero for
the patterns the demo catalogue uses.
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from apps.media.transcode import ffmpeg_exe
from apps.moderation.detection import nudity

SIZE = "360x640"
COLOURS = ("ff3366", "00d1b2", "ffd166", "06d6a0", "ef476f", "8ecae6", "3d2c8d", "ffffff")
DARK = ("1b1b3a", "102a43", "073b4c", "2b2d42", "023047", "000000")
SKIN = ("ffdbac", "f1c27d", "e0ac69", "c68642", "8d5524", "5c3a21", "3b2219", "f5c6a5")
PATTERNS = (
    "gradients=s={s}:r=24:speed=0.05:type=radial:c0=0x{dark}:c1=0x{a}:c2=0xffffff:"
    "nb_colors=3:seed={seed}",
    "gradients=s={s}:r=24:speed=0.03:c0=0x{a}:c1=0x{dark}:nb_colors=2:seed={seed}",
    "gradients=s={s}:r=24:type=circular:c0=0x{a}:c1=0x{b}:nb_colors=2:seed={seed}",
    "gradients=s={s}:r=24:type=spiral:c0=0x{a}:c1=0x{dark}:nb_colors=2:seed={seed}",
    "mandelbrot=s={s}:r=24:end_scale=0.05",
    "testsrc2=s={s}:r=24",
    "smptehdbars=s={s}:r=24",
    "zoneplate=s={s}:r=24:kt2=2:ky2=1",
    "cellauto=s={s}:r=24:rule=110",
)


@dataclass(frozen=True)
class Sample:
    kind: str  # patterns, skin-gradients, photos
    path: Path


def lavfi_frame(source: str, at: float, out: Path) -> Path:
    if not out.exists():
        subprocess.run(  # noqa: S603 - a fixed binary and arguments we build
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
             source, "-ss", f"{at:g}", "-frames:v", "1", "-vf", "scale=-2:480", "-q:v", "4",
             str(out)], check=True, timeout=60, capture_output=True)
    return out


def pattern_frames(directory: Path, *, seeds: int = 4) -> list[Sample]:
    """Every pattern in every colour pair, a few seeds (positions) and times each."""
    rng = random.Random(20261205)  # noqa: S311 - a repeatable corpus, not a secret
    samples = []
    for p_index, pattern in enumerate(PATTERNS):
        variants = seeds * 2 if "{a}" in pattern else 1
        for v in range(variants):
            source = pattern.format(s=SIZE, a=rng.choice(COLOURS), b=rng.choice(COLOURS),
                                    dark=rng.choice(DARK), seed=rng.randrange(1 << 16))
            for at in (0.5, 2.5):
                out = directory / f"pattern-{p_index}-{v}-{at:g}.jpg"
                samples.append(Sample("patterns", lavfi_frame(source, at, out)))
    return samples


def skin_gradient_frames(directory: Path, *, count: int = 24) -> list[Sample]:
    """Smooth gradients between skin tones: skin-coloured, yet no body in sight."""
    rng = random.Random(7)  # noqa: S311 - a repeatable corpus, not a secret
    samples = []
    for k in range(count):
        kind = ("linear", "radial", "circular", "spiral")[k % 4]
        source = (f"gradients=s={SIZE}:r=24:type={kind}:c0=0x{rng.choice(SKIN)}:"
                  f"c1=0x{rng.choice(SKIN + DARK)}:nb_colors=2:seed={k}")
        samples.append(Sample("skin-gradients",
                              lavfi_frame(source, 1, directory / f"skin-{k}.jpg")))
    return samples


def package_photos() -> list[Sample]:
    """Photographs shipped inside installed packages (landscapes, a flower, a temple)."""
    import sklearn
    import wagtail

    found: list[Path] = []
    for package, pattern in ((wagtail, "images/tests/image_files/*.jpg"),
                             (sklearn, "datasets/images/*.jpg")):
        found += sorted(Path(package.__file__).parent.glob(pattern))
    return [Sample("photos", path) for path in found]


def corpus(directory: Path) -> list[Sample]:
    directory.mkdir(parents=True, exist_ok=True)
    return pattern_frames(directory) + skin_gradient_frames(directory) + package_photos()


@dataclass(frozen=True)
class Rates:
    kind: str
    frames: int
    worst_raw: float
    worst: float
    over_raw: dict[float, int]  # threshold -> frames at or over it, detector alone
    over: dict[float, int]  # threshold -> frames at or over it, skin-weighted


def measure(samples: Iterable[Sample], thresholds: tuple[float, ...]) -> list[Rates]:
    by_kind: dict[str, list[tuple[float, float]]] = {}
    for sample in samples:
        finding = nudity.frame_finding(sample.path)
        by_kind.setdefault(sample.kind, []).append(
            (float(finding["explicit_raw"]), float(finding["explicit"])))
    return [
        Rates(kind, len(scores), max(r for r, _ in scores), max(s for _, s in scores),
              {t: sum(r >= t for r, _ in scores) for t in thresholds},
              {t: sum(s >= t for _, s in scores) for t in thresholds})
        for kind, scores in by_kind.items()
    ]
