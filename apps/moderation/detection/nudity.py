"""Nudity and sexual-content scores of sampled frames with NudeNet's detector (the ONNX
model shipped in the `nudenet` wheel), run directly with onnxruntime so that every label's
score is kept, not only the detections above NudeNet's own 0.2 cut-off."""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

MODEL_VERSION = "nudenet-3.4/320n"
# Labels that make a frame sexual content; the covered ones are kept as evidence only.
EXPLICIT_LABELS = frozenset({
    "FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED", "FEMALE_BREAST_EXPOSED",
    "BUTTOCKS_EXPOSED", "ANUS_EXPOSED",
})
SUGGESTIVE_LABELS = frozenset({
    "FEMALE_GENITALIA_COVERED", "FEMALE_BREAST_COVERED", "BUTTOCKS_COVERED", "ANUS_COVERED",
})
_lock = threading.Lock()


@cache
def _model() -> tuple[Any, list[str], int]:
    import nudenet.nudenet as nn
    import onnxruntime  # loaded on first use: workers that never scan do not pay for it

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # workers share few CPUs; one frame at a time is enough
    options.inter_op_num_threads = 1
    path = Path(nn.__file__).parent / "320n.onnx"
    session = onnxruntime.InferenceSession(str(path), sess_options=options,
                                           providers=["CPUExecutionProvider"])
    labels = list(getattr(nn, "__labels"))
    return session, labels, 320


def frame_scores(path: Path) -> dict[str, float]:
    """Each label's highest score anywhere in the frame (0..1)."""
    import nudenet.nudenet as nn

    session, labels, size = _model()
    blob = nn._read_image(str(path), size)[0]
    with _lock:
        output = session.run(None, {session.get_inputs()[0].name: blob})[0]
    # (1, 4 + labels, anchors): box, then one score per label for every anchor
    per_label = np.asarray(output)[0, 4:, :].max(axis=1)
    return {label: round(float(score), 4) for label, score in zip(labels, per_label,
                                                                   strict=True)}


def scan_frames(paths: list[Path]) -> dict[str, Any]:
    """The post's score is its worst frame's explicit score."""
    frames: list[dict[str, Any]] = []
    for path in paths:
        scores = frame_scores(path)
        frames.append({
            "frame": path.name,
            "explicit": max(scores.get(label, 0.0) for label in EXPLICIT_LABELS),
            "suggestive": max(scores.get(label, 0.0) for label in SUGGESTIVE_LABELS),
            "labels": {k: v for k, v in scores.items() if v >= 0.01},
        })
    explicit = [float(f["explicit"]) for f in frames]
    suggestive = [float(f["suggestive"]) for f in frames]
    return {
        "score": max(explicit, default=0.0),
        "suggestive": max(suggestive, default=0.0),
        "frames": frames,
    }
