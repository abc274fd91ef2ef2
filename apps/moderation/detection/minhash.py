"""MinHash signatures of texts for near-duplicate search (copy-paste campaigns).

A text is folded (case, accents, look-alikes, leetspeak: `text.tokens`), stripped of
links, tags and mentions (what a campaign varies per account), and cut into character
5-shingles of its words joined by one space. 64 hash functions ((a·h + b) mod 2^61-1 over
a 64-bit blake2b of each shingle) give the signature; the share of equal positions
estimates the Jaccard similarity of two texts' shingle sets. Locality-sensitive bands (16
of 4 rows) make the look-up an index search: two texts of Jaccard 0.7 share a band with
probability 1 - (1 - 0.7^4)^16 ≈ 0.99, of 0.3 with ≈ 0.12 (then the signature decides)."""

from __future__ import annotations

import hashlib
import re

from apps.moderation.detection import text

PERMUTATIONS = 64
BANDS = 16
ROWS = PERMUTATIONS // BANDS
SHINGLE = 5
MIN_CHARS = 20  # shorter folded texts ("nice video!!") are never campaign material
_PRIME = (1 << 61) - 1
# fixed: stored signatures must stay comparable across processes and releases
_PARAMS = [
    (
        int.from_bytes(hashlib.blake2b(f"a{i}".encode(), digest_size=8).digest(), "little")
        % (_PRIME - 1)
        + 1,
        int.from_bytes(hashlib.blake2b(f"b{i}".encode(), digest_size=8).digest(), "little")
        % _PRIME,
    )
    for i in range(PERMUTATIONS)
]
_TAGS = re.compile(r"[#@][\w.]+")


def normalised(content: str) -> str:
    stripped = _TAGS.sub(" ", text._URL.sub(" ", text.clean(content)))
    return " ".join(text.tokens(stripped))


def _h64(shingle: str) -> int:
    return int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "little")


def signature(content: str) -> list[int] | None:
    """The text's MinHash signature (64 non-negative ints < 2^61), None if too short.
    Plain integers (exact, no overflow): ~64 x shingles multiplications, ~1 ms a comment."""
    flat = normalised(content)
    if len(flat) < MIN_CHARS:
        return None
    hashes = [_h64(flat[i : i + SHINGLE]) for i in range(len(flat) - SHINGLE + 1)]
    hashes = list(dict.fromkeys(hashes))[:2000]
    return [min((a * h + b) % _PRIME for h in hashes) for a, b in _PARAMS]


def bands(sig: list[int]) -> list[int]:
    """One signed 64-bit key per band (band index and its rows hashed)."""
    out = []
    for b in range(BANDS):
        rows = sig[b * ROWS : (b + 1) * ROWS]
        digest = hashlib.blake2b(f"{b}:{rows}".encode(), digest_size=8).digest()
        out.append(int.from_bytes(digest, "little", signed=True))
    return out


def similarity(a: list[int], b: list[int]) -> float:
    if len(a) != len(b) or not a:
        return 0.0
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)
