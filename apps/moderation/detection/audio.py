"""Audio fingerprints with Chromaprint (the bundled ffmpeg's `chromaprint` muxer, raw
32-bit sub-fingerprints, about 8 a second) and fuzzy matching: the bit error rate over the
best alignment of two fingerprints, so a re-encoded, trimmed or louder/quieter copy still
matches while unrelated audio sits near 0.5."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np

MODEL_VERSION = "chromaprint/ffmpeg-raw-v1"
ITEM_SECONDS = 4096 / 3 / 11025  # chromaprint's default: 4096-sample frames, 2/3 overlap
MAX_SECONDS = 180  # only the first three minutes are fingerprinted


class FingerprintError(Exception):
    pass


def fingerprint(path: Path, *, timeout: float = 120) -> bytes:
    """Raw little-endian uint32 sub-fingerprints of a file's first audio stream."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error",
           "-t", str(MAX_SECONDS), "-i", str(path), "-vn", "-ac", "1", "-f", "chromaprint",
           "-fp_format", "raw", "-"]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)  # noqa: S603
    except subprocess.TimeoutExpired as exc:
        raise FingerprintError("fingerprinting timed out") from exc
    if done.returncode != 0:
        raise FingerprintError(done.stderr.decode("utf-8", "replace")[-500:])
    usable = len(done.stdout) - len(done.stdout) % 4
    return done.stdout[:usable]


def _items(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype="<u4")


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


@dataclass(frozen=True)
class Alignment:
    ber: float  # bit error rate, 0 (identical) .. about 0.5 (unrelated)
    offset_s: float  # where the query starts within the reference
    overlap_s: float


def best_alignment(query: bytes, reference: bytes, *, min_overlap_s: float) -> Alignment | None:
    """The alignment with the lowest bit error rate among those overlapping at least
    `min_overlap_s` (None when the fingerprints are too short for that)."""
    q, r = _items(query), _items(reference)
    min_items = max(1, round(min_overlap_s / ITEM_SECONDS))
    if len(q) < min_items or len(r) < min_items:
        return None
    best: Alignment | None = None
    for offset in range(-(len(q) - min_items), len(r) - min_items + 1):
        qs, rs = q[max(0, -offset):], r[max(0, offset):]
        n = min(len(qs), len(rs))
        if n < min_items:
            continue
        errors = int(_POPCOUNT[np.bitwise_xor(qs[:n], rs[:n]).view(np.uint8)].sum(dtype=np.int64))
        ber = errors / (32 * n)
        if best is None or ber < best.ber:
            best = Alignment(round(ber, 4), round(offset * ITEM_SECONDS, 2),
                             round(n * ITEM_SECONDS, 2))
    return best
