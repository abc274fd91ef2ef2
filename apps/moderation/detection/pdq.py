"""PDQ perceptual hashes of sampled frames and their Hamming-distance matching.

A small crop moves every feature of a frame, so each frame is hashed as it is and also
with its edges extended back out (a centred crop of up to about 8% then lands within the
usual distance of the original's hash); the best of the variants counts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pdqhash

MODEL_VERSION = "pdq/pdqhash-0.2"
PAD_FRACTIONS = (0.0, 0.0125, 0.025, 0.04)
HASH_BYTES = 32


def hash_image(rgb: np.ndarray) -> tuple[bytes, int]:
    bits, quality = pdqhash.compute(rgb)
    return np.packbits(bits.astype(np.uint8)).tobytes(), int(quality)


def _pad(rgb: np.ndarray, fraction: float) -> np.ndarray:
    if fraction <= 0:
        return rgb
    height, width = rgb.shape[:2]
    grow = fraction / (1 - 2 * fraction)
    dy, dx = round(height * grow), round(width * grow)
    return cv2.copyMakeBorder(rgb, dy, dy, dx, dx, cv2.BORDER_REPLICATE)


def read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"unreadable frame {path.name}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@dataclass(frozen=True)
class FrameHashes:
    frame: str
    quality: int
    variants: list[str]  # hex; the first is the frame as it is

    def as_json(self) -> dict[str, object]:
        return {"frame": self.frame, "quality": self.quality, "variants": self.variants}


def hash_frame(path: Path) -> FrameHashes:
    rgb = read_rgb(path)
    hashes = []
    quality = 0
    for fraction in PAD_FRACTIONS:
        digest, q = hash_image(_pad(rgb, fraction))
        quality = quality or q
        hashes.append(digest.hex())
    return FrameHashes(path.name, quality, hashes)


def parse_hex(value: str) -> bytes:
    """A 64-hex-digit PDQ hash, or ValueError."""
    text = value.strip().lower()
    if len(text) != 2 * HASH_BYTES:
        raise ValueError("a PDQ hash is 64 hex digits")
    return bytes.fromhex(text)


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint16)


def distances(queries: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Hamming distances, shape (len(queries), len(targets)), of (n, 32) uint8 arrays."""
    if not len(queries) or not len(targets):
        return np.zeros((len(queries), len(targets)), dtype=np.uint16)
    xor = np.bitwise_xor(queries[:, None, :], targets[None, :, :])
    return np.asarray(_POPCOUNT[xor].sum(axis=2))


def as_array(hexes: list[str]) -> np.ndarray:
    if not hexes:
        return np.zeros((0, HASH_BYTES), dtype=np.uint8)
    return np.frombuffer(b"".join(bytes.fromhex(h) for h in hexes),
                         dtype=np.uint8).reshape(-1, HASH_BYTES)
