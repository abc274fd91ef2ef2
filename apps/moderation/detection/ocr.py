"""On-screen text of an upload, read by OCR from the frames the scan already sampled
(`moderation_frames`: one a second, 480 px on the long edge; no second decode of the video).

Engine: RapidOCR (`rapidocr`, Apache-2.0; the PP-OCRv6 small detection and recognition ONNX
models it ships, Apache-2.0, run with onnxruntime on ONE thread). Chosen over Debian's
Tesseract by measurement on rendered frames (docs/benchmarks.md): Tesseract misread overlay
text on busy backgrounds and invented text on frames with none; PP-OCRv6 reads en, es, pt,
fr, de, tr and ja. It has no Arabic recogniser in the wheel, but its detector finds Arabic
lines (they come back unread or as noise): each such line is cut out of the frame and read by
Debian's Tesseract with its Arabic data (`tesseract-ocr-ara`, Apache-2.0), which reads a single
cut-out line well where it read whole frames badly. A reading counts only when it is mostly
Arabic letters at Tesseract's confidence >= `ARABIC_MIN_CONF` (docs/benchmarks.md).

OCR costs ~1 s of CPU a frame on the loaded CI box, so a post's scan reads few frames:
1. a cheap pre-filter (~2 ms a frame: Sobel edges closed into horizontal runs, the shape of
   lines of glyphs) scores every sampled frame and drops frames without text-like regions;
2. of the rest, at most `MAX_FRAMES`, spread over the clip (burned-in text usually stays on
   screen for seconds, so neighbouring frames repeat it);
3. reading stops once `CPU_BUDGET_S` of CPU is spent.
Lines below `MIN_SCORE` confidence are dropped; repeated lines are kept once."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

MAX_FRAMES = 3  # frames read a post
CPU_BUDGET_S = 4.0  # stop reading once this much CPU is spent on one post
MIN_SCORE = 0.6  # a recognised line's confidence below this is dropped
TEXT_LIKELY = 0.004  # pre-filter: share of the frame covered by text-like runs
DET_SIDE = 480  # the detector's input, long edge
MAX_TEXT = 1000  # characters of on-screen text kept
MAX_UNREAD = 3  # lines the detector found but PP-OCR could not read, tried as Arabic a frame
ARABIC_MIN_CONF = 60.0  # Tesseract's mean word confidence (0-100) for an Arabic reading
ARABIC_SHARE = 0.6  # of a reading's letters, at least this share Arabic script
_lock = threading.Lock()


def model_version() -> str:
    try:
        version = metadata.version("rapidocr")
    except metadata.PackageNotFoundError:  # pragma: no cover - the package is pinned
        version = "?"
    tesseract = _tesseract()
    arabic = f"+tesseract-{tesseract[1]}-ara" if tesseract else ""
    return f"rapidocr-{version}/PP-OCRv6-small+prefilter-v1{arabic}"


@cache
def _tesseract() -> tuple[str, str] | None:
    """(path, version) of Tesseract if it is installed with its Arabic data, else None."""
    exe = shutil.which("tesseract")
    if not exe:
        return None
    try:
        langs, version = (
            subprocess.run(  # noqa: S603 - a fixed binary and arguments
                [exe, flag], capture_output=True, text=True, timeout=10, check=False
            )
            for flag in ("--list-langs", "--version")
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if "ara" not in langs.stdout.split():
        return None
    words = (version.stdout or version.stderr).split()
    return exe, words[1] if len(words) > 1 else "?"


@cache
def _engine() -> Any:
    from rapidocr import RapidOCR  # loaded on first use: workers that never scan skip it

    return RapidOCR(
        params={
            "Global.log_level": "error",
            "Global.use_cls": False,  # overlay text is upright; the angle model costs time
            "Global.text_score": MIN_SCORE,
            # the frames are 480 px on the long edge: read them at that size (the default
            # upscales the short side to 736 px, ~3x the detector's CPU)
            "Det.limit_type": "max",
            "Det.limit_side_len": DET_SIDE,
            # workers share few CPUs: one frame at a time on one thread
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )


def text_likelihood(bgr: np.ndarray) -> float:
    """The share of the frame covered by text-like runs: strong vertical edges (glyph
    strokes) closed horizontally into bands 6-80 px high and at least twice as wide, with
    many edge pixels inside. 0 on smooth frames; a line of subtitles gives ~0.01-0.05."""
    import cv2

    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr
    edges = cv2.convertScaleAbs(cv2.Sobel(grey, cv2.CV_16S, 1, 0, ksize=3))
    _, strong = cv2.threshold(edges, 120, 255, cv2.THRESH_BINARY)
    runs = cv2.morphologyEx(
        strong, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 3))
    )
    runs = cv2.morphologyEx(runs, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 3)))
    count, _, stats, _ = cv2.connectedComponentsWithStats(runs, connectivity=8)
    covered = 0
    for x, y, w, h, area in stats[1:count]:
        if 6 <= h <= 80 and w >= 2 * h and w >= 16:
            inside = strong[y : y + h, x : x + w]
            if float(inside.mean()) / 255 >= 0.12 and area >= 0.35 * w * h:
                covered += int(area)
    return covered / float(grey.shape[0] * grey.shape[1])


def _picks(candidates: list[int], limit: int) -> list[int]:
    """At most `limit` of the candidate indices, spread evenly (first, middle, last...)."""
    if len(candidates) <= limit:
        return candidates
    step = (len(candidates) - 1) / max(1, limit - 1)
    return sorted({candidates[round(i * step)] for i in range(limit)})


def read_frame(bgr: np.ndarray) -> list[tuple[str, float]]:
    """The lines OCR reads on one frame, with their confidence (0-1): PP-OCR's, then the
    lines it detected but could not read, read as Arabic."""
    engine = _engine()
    with _lock:  # one session per process; onnxruntime runs are not reentrant here
        # the steps of `engine(bgr)` without its final filter, which drops the detected
        # lines PP-OCR could not read (the Arabic ones) with their cut-out images
        engine.update_params(use_det=True, use_cls=False, use_rec=True)
        image, record = engine.preprocess_img(engine.load_img(bgr))
        _det, _cls, rec, crops = engine.run_ocr_steps(image, record)
    lines: list[tuple[str, float]] = []
    unread: list[np.ndarray] = []
    for crop, text, score in zip(crops, rec.txts or (), rec.scores or (), strict=False):
        text = str(text).strip()
        if text and float(score) >= MIN_SCORE:
            lines.append((text, float(score)))
        elif len(unread) < MAX_UNREAD:
            unread.append(crop)
    for crop in unread:
        arabic = read_arabic_line(crop)
        if arabic is not None:
            lines.append(arabic)
    return lines


def arabic_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if "\u0600" <= c <= "\u06ff" or "\u0750" <= c <= "\u077f") / len(
        letters
    )


def _tesseract_line(exe: str, image: np.ndarray) -> tuple[str, float]:
    """One line image read by Tesseract's Arabic model: (text, mean word confidence)."""
    import cv2

    ok, png = cv2.imencode(".png", image)
    if not ok:
        return "", 0.0
    try:
        done = subprocess.run(  # noqa: S603 - a fixed binary and arguments
            [exe, "stdin", "stdout", "-l", "ara", "--psm", "7", "tsv"],
            input=png.tobytes(),
            capture_output=True,
            timeout=10,
            check=False,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},  # one core, like the ONNX models
        )
    except (OSError, subprocess.TimeoutExpired):
        return "", 0.0
    words: list[str] = []
    confidences: list[float] = []
    for row in done.stdout.decode("utf-8", "replace").splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) == 12 and cells[11].strip():
            try:
                confidence = float(cells[10])
            except ValueError:
                continue
            if confidence >= 0:
                words.append(cells[11].strip())
                confidences.append(confidence)
    if not words:
        return "", 0.0
    return " ".join(words), sum(confidences) / len(confidences)


def read_arabic_line(crop: np.ndarray) -> tuple[str, float] | None:
    """A line PP-OCR detected but could not read, read as Arabic, or None. The cut-out line
    is enlarged 3x (Tesseract wants glyphs ~30 px high; these are ~12) and binarised three
    ways (Otsu; dark glyphs, as on a caption box; bright glyphs, as in outlined overlay
    text): the most confident Arabic reading wins."""
    import cv2

    tesseract = _tesseract()
    if tesseract is None or crop.size == 0 or min(crop.shape[:2]) < 6:
        return None
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    grey = cv2.resize(grey, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    _, otsu = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if otsu.mean() < 127:  # glyphs black on white, as Tesseract expects
        otsu = 255 - otsu
    dark = np.where(grey < 90, 0, 255).astype(np.uint8)
    bright = np.where(grey > 190, 0, 255).astype(np.uint8)
    best: tuple[str, float] | None = None
    for variant in (otsu, dark, bright):
        text, confidence = _tesseract_line(tesseract[0], variant)
        text = " ".join(text.replace("\u200f", "").replace("\u200e", "").split())
        if (
            confidence >= ARABIC_MIN_CONF
            and arabic_share(text) >= ARABIC_SHARE
            and (best is None or confidence > best[1] * 100)
        ):
            best = (text, round(confidence / 100, 3))
            if confidence >= 85:  # clear enough: the other ways would cost for nothing
                break
    return best


def cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (Tesseract runs as one)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def scan_frames(
    frames: list[Path], *, max_frames: int = MAX_FRAMES, budget_s: float = CPU_BUDGET_S
) -> dict[str, Any]:
    """On-screen text of the sampled frames: which were read, their lines, the text of the
    post (unique lines in order, cut to `MAX_TEXT`) and the CPU spent."""
    import cv2

    start = cpu_seconds()
    likely: list[tuple[int, float]] = []
    images: dict[int, np.ndarray] = {}
    for index, path in enumerate(frames):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"unreadable frame {path.name}")
        score = text_likelihood(bgr)
        if score >= TEXT_LIKELY:
            likely.append((index, score))
            images[index] = bgr
    prefilter_ms = round(1000 * (cpu_seconds() - start))
    read: list[dict[str, Any]] = []
    seen: dict[str, None] = {}
    skipped_budget = 0
    for index in _picks([i for i, _ in likely], max_frames):
        if cpu_seconds() - start >= budget_s:
            skipped_budget += 1
            continue
        lines = read_frame(images[index])
        read.append(
            {
                "frame": frames[index].name,
                "lines": [{"text": t[:200], "score": round(s, 3)} for t, s in lines],
            }
        )
        for text, _ in lines:
            seen.setdefault(" ".join(text.split()), None)
    text = "\n".join(seen)[:MAX_TEXT]
    return {
        "text": text,
        "frames": read,
        "sampled": len(frames),
        "text_likely": len(likely),
        "skipped_budget": skipped_budget,
        "prefilter_ms": prefilter_ms,
        "cpu_ms": round(1000 * (cpu_seconds() - start)),
    }
