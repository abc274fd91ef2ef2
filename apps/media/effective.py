"""The resolution a source's detail actually has: uploads are often upscaled (a 720p or 540p
clip exported at 1080p, an old clip, a screen recording doubled pixel for pixel), and a
rendition above that resolution buys bytes, not detail.

On a few frames of the source (luma at full size, `FRAMES` one second apart, taken by
`per_title.measure_sample` from the decode of its sample), for each ladder rung below the
source's short edge, each frame is taken down to that rung's size and back up, and the
detail the round trip loses is measured against the detail the frame has:

- **smooth** (an interpolating upscale: bicubic, bilinear, lanczos): down and up with
  lanczos. An upscaled frame has (almost) no energy above the coarse grid's Nyquist, so
  little is lost; a native frame loses its finest detail;
- **replicated** (a nearest-neighbour upscale, each pixel repeated k x k): down by block
  average, up by repetition, for a rung that divides the source's short edge: exact on
  repeated pixels (up to the source's compression noise).

Only *busy* tiles count (`TILE` pixels square, luma variance above `BUSY_VARIANCE`): a flat
area says nothing about resolution. A rung passes when the energy lost over all busy tiles
is a small share of their detail (variance) and stays small in 99 % of them
(`SMOOTH_LIMITS`, `REPLICATED_LIMITS`), so a small sharp region (a face, a line of text) in
a soft frame keeps the frame native. The effective edge is the smallest rung that passes;
frames without busy tiles, or that no rung passes, are native.

What it trades: a source whose detail really is soft everywhere (out of focus, heavily
denoised) is treated like an upscale of that size, and its rungs above it are left out
although the file was recorded there. Grain added after an upscale, or heavy compression
(x264 CRF 30: a 540 upscale is found at 720, a 720 one is native), hides an upscale: the
detector errs towards native. numpy and Pillow on three frames: deterministic for a clip,
about 0.15 s of CPU per 1080x1920 frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

from apps.media.transcode import LADDER

FRAMES = 3
TILE = 60
BUSY_VARIANCE = 4.0
# (energy lost over all busy tiles / their detail, the same in the `PERCENTILE`-th tile) at
# most, per test: upscaled sources measured 0.004-0.016 and 0.03-0.28 at their own size
# (x264 CRF 8-23), native ones 0.10-0.14 overall (sharp) or 0.37-0.64 in their sharp tiles
# (a soft background with a sharp face: 0.011 overall); replicated pixels round-trip exactly
SMOOTH_LIMITS = (0.02, 0.3)
REPLICATED_LIMITS = (0.01, 0.1)
PERCENTILE = 99
NATIVE, SMOOTH, REPLICATED = "native", "smooth", "replicated"


@dataclass(frozen=True)
class Effective:
    """`edge`: the short edge the detail lives on (the source's own when `kind` is native)."""

    edge: int
    kind: str


def _lost(frames: list[np.ndarray], rebuilt: list[np.ndarray]) -> tuple[float, float]:
    """Energy lost over all busy tiles / their detail, and its `PERCENTILE`-th per tile."""
    lost, detail = [], []
    for frame, back in zip(frames, rebuilt, strict=True):
        h, w = (frame.shape[0] // TILE) * TILE, (frame.shape[1] // TILE) * TILE
        shape = (h // TILE, TILE, w // TILE, TILE)
        variance = frame[:h, :w].reshape(shape).var(axis=(1, 3))
        error = ((frame[:h, :w] - back[:h, :w]) ** 2).reshape(shape).mean(axis=(1, 3))
        busy = variance > BUSY_VARIANCE
        lost.append(error[busy])
        detail.append(variance[busy])
    errors, variances = np.concatenate(lost), np.concatenate(detail)
    if not errors.size:
        return float("inf"), float("inf")
    return (float(errors.sum() / variances.sum()),
            float(np.percentile(errors / variances, PERCENTILE)))


def _smooth(frame: np.ndarray, edge: int) -> np.ndarray:
    h, w = frame.shape
    scale = edge / min(h, w)
    image = Image.fromarray(frame, "F")
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = image.resize(size, Image.Resampling.LANCZOS)
    return np.asarray(small.resize((w, h), Image.Resampling.LANCZOS))


def _replicated(frame: np.ndarray, k: int) -> np.ndarray:
    h, w = (frame.shape[0] // k) * k, (frame.shape[1] // k) * k
    blocks = frame[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3))
    back = frame.copy()
    back[:h, :w] = np.repeat(np.repeat(blocks, k, axis=0), k, axis=1)
    return back


def _passes(share: tuple[float, float], limits: tuple[float, float]) -> bool:
    return share[0] <= limits[0] and share[1] <= limits[1]


def detect(frames: list[np.ndarray]) -> Effective:
    """The effective resolution of luma frames (float32 arrays of one size)."""
    short = min(frames[0].shape)
    found = Effective(short, NATIVE)
    for edge in sorted((e for e in LADDER if e < short), reverse=True):
        if short % edge == 0 and _passes(
                _lost(frames, [_replicated(f, short // edge) for f in frames]),
                REPLICATED_LIMITS):
            found = Effective(edge, REPLICATED)
        elif _passes(_lost(frames, [_smooth(f, edge) for f in frames]), SMOOTH_LIMITS):
            found = Effective(edge, SMOOTH)
    return found


def read_pgm(data: bytes) -> np.ndarray:
    """An 8-bit PGM image (what ffmpeg's `pgm` encoder writes) as float32 luma."""
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", data)
    if header is None:
        raise ValueError("not an 8-bit PGM image")
    width, height = int(header[1]), int(header[2])
    pixels = data[header.end():header.end() + width * height]
    return np.frombuffer(pixels, np.uint8).reshape(height, width).astype(np.float32)
