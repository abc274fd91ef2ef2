"""Nudity and sexual-content scores of sampled frames with NudeNet's detector (the ONNX
model shipped in the `nudenet` wheel), run directly with onnxruntime so that every label's
score is kept, not only the detections above NudeNet's own 0.2 cut-off.

The detector alone mistakes smooth radial gradients with a dark centre for exposed breasts
(0.75-0.87 on demo-catalogue patterns). A frame's explicit score is therefore the detector's
score weighed by two cues from the box the detector drew:
- skin: the share of skin-coloured pixels (YCrCb chrominance, which covers very light to very
  dark skin alike). A box with no skin in a colour frame keeps 30 % of its score; a grey-scale
  box (black-and-white footage, where colour says nothing) keeps all of it.
- detail: the variance of the Laplacian. Filmed bodies have outlines, texture and sensor noise
  (variance in the hundreds to thousands); a synthetic gradient has almost none (2-12).
`manage.py calibrate_nudity` measures the false positives on frames with no nudity."""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

MODEL_VERSION = "nudenet-3.4/320n+skin+detail-v1"
# Labels that make a frame sexual content; the covered ones are kept as evidence only.
EXPLICIT_LABELS = frozenset({
    "FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED", "FEMALE_BREAST_EXPOSED",
    "BUTTOCKS_EXPOSED", "ANUS_EXPOSED",
})
SUGGESTIVE_LABELS = frozenset({
    "FEMALE_GENITALIA_COVERED", "FEMALE_BREAST_COVERED", "BUTTOCKS_COVERED", "ANUS_COVERED",
})
_lock = threading.Lock()
# Skin in YCrCb (Chai & Ngan): chrominance only, so brightness (skin tone) does not matter.
SKIN_CR = (133, 173)
SKIN_CB = (77, 127)
SKIN_FLOOR = 0.3  # the factor of a box without skin
SKIN_FULL = 0.25  # the share of skin pixels at which the detector's score counts in full
GREY_SATURATION = 40  # HSV saturation (0..255) under which a pixel has no usable colour
DETAIL_FULL = 40.0  # Laplacian variance at which a box counts as filmed, not drawn


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


def _box(output: np.ndarray, anchor: int, size: int) -> tuple[int, int, int, int]:
    cx, cy, w, h = (float(v) for v in output[0:4, anchor])

    def clip(v: float) -> int:
        return int(max(0, min(size, v)))
    return clip(cx - w / 2), clip(cy - h / 2), clip(cx + w / 2), clip(cy + h / 2)


def skin_factor(rgb: np.ndarray) -> tuple[float, float]:
    """(factor, skin share) of an RGB region: how far a detection there can be believed."""
    import cv2

    if rgb.size == 0:
        return SKIN_FLOOR, 0.0
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    skin = ((ycc[..., 1] >= SKIN_CR[0]) & (ycc[..., 1] <= SKIN_CR[1])
            & (ycc[..., 2] >= SKIN_CB[0]) & (ycc[..., 2] <= SKIN_CB[1]))
    share = float(skin.mean())
    saturation = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[..., 1]
    if float((saturation > GREY_SATURATION).mean()) < 0.05:
        return 1.0, share  # grey-scale: colour cannot tell skin from anything else
    return min(1.0, SKIN_FLOOR + (1 - SKIN_FLOOR) * share / SKIN_FULL), share


def detail_factor(rgb: np.ndarray) -> tuple[float, float]:
    """(factor, Laplacian variance) of an RGB region: smooth drawn gradients score low."""
    import cv2

    if rgb.size == 0:
        return SKIN_FLOOR, 0.0
    variance = float(cv2.Laplacian(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())
    return min(1.0, SKIN_FLOOR + (1 - SKIN_FLOOR) * variance / DETAIL_FULL), variance


def _infer(path: Path) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """The detector's raw output (4 + labels, anchors) and the RGB image it saw."""
    import nudenet.nudenet as nn

    session, labels, size = _model()
    blob = nn._read_image(str(path), size)[0]
    with _lock:
        output = session.run(None, {session.get_inputs()[0].name: blob})[0]
    image = (np.asarray(blob)[0].transpose(1, 2, 0) * 255).round().astype(np.uint8)
    return np.asarray(output)[0], np.ascontiguousarray(image), labels, size


def frame_scores(path: Path) -> dict[str, float]:
    """Each label's highest score anywhere in the frame (0..1), as the detector gives it."""
    output, _image, labels, _size = _infer(path)
    per_label = output[4:, :].max(axis=1)
    return {label: round(float(score), 4) for label, score in zip(labels, per_label,
                                                                   strict=True)}


def frame_finding(path: Path) -> dict[str, Any]:
    """One frame: the detector's scores, and the explicit score weighed by skin in its box."""
    output, image, labels, size = _infer(path)
    per_label = output[4:, :].max(axis=1)
    scores = {label: round(float(score), 4)
              for label, score in zip(labels, per_label, strict=True)}
    explicit, raw = 0.0, 0.0
    best: dict[str, Any] = {}
    for index, label in enumerate(labels):
        if label not in EXPLICIT_LABELS:
            continue
        anchor = int(output[4 + index].argmax())
        score = float(output[4 + index, anchor])
        x0, y0, x1, y1 = _box(output, anchor, size)
        skin, share = skin_factor(image[y0:y1, x0:x1])
        detail, variance = detail_factor(image[y0:y1, x0:x1])
        factor = skin * detail
        raw = max(raw, score)
        if score * factor > explicit or not best:
            explicit = score * factor
            best = {"label": label, "score": round(score, 4), "box": [x0, y0, x1, y1],
                    "skin": round(share, 3), "detail": round(variance, 1),
                    "factor": round(factor, 3)}
    return {
        "frame": path.name,
        "explicit": round(explicit, 4),
        "explicit_raw": round(raw, 4),
        "explicit_box": best,
        "suggestive": max(scores.get(label, 0.0) for label in SUGGESTIVE_LABELS),
        "labels": {k: v for k, v in scores.items() if v >= 0.01},
    }


def scan_frames(paths: list[Path]) -> dict[str, Any]:
    """The post's score is its worst frame's explicit score."""
    frames = [frame_finding(path) for path in paths]
    explicit = [float(f["explicit"]) for f in frames]
    suggestive = [float(f["suggestive"]) for f in frames]
    return {
        "score": max(explicit, default=0.0),
        "suggestive": max(suggestive, default=0.0),
        "frames": frames,
    }
