"""Stage 2 of For You: score candidates.

`feature_matrix` is the one definition of the ranker's inputs, shared by training and
serving (no skew). The learned ranker has four heads — completion, expected watch
fraction, like, follow — combined by configurable weights (`SWIPEME_FEED_WEIGHTS`). When no
model is active (or it fails to load) the heuristic scores the same features."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import Any

import numpy as np
from django.conf import settings

from apps.feed.candidates import SOURCES, CandidateSet, ViewerContext

logger = logging.getLogger(__name__)

FEATURES = (
    *(f"src_{s}" for s in SOURCES),
    "log_views", "like_rate", "completion_rate", "log_age_h", "duration_s", "log_trend",
    "text_sim", "cf", "author_affinity", "tag_affinity", "sound_affinity", "interest_match",
    "lang_match", "follows_author", "new_creator", "region_match",
    # Personal signal from the retrieval embeddings (issue 21): the session vector (ALS
    # factors of the last positives) against the item's, and the co-engagement score.
    "session_sim", "coengaged",
)
HEADS = ("completion", "watch", "like", "follow")
DEFAULT_WEIGHTS = {"completion": 1.0, "watch": 1.0, "like": 0.6, "follow": 0.4}
# Trees of each LightGBM head used at serving (0: all). A head's first k trees are what
# training with k estimators gives; bench/reco_offline.py --trees judges a cut offline.
TREES = 0


def weights() -> dict[str, float]:
    configured = getattr(settings, "SWIPEME_FEED_WEIGHTS", None) or {}
    return {head: float(configured.get(head, DEFAULT_WEIGHTS[head])) for head in HEADS}


def _per_row_sum(lengths: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sums of `values` (one per hashtag, rows' hashtags flattened in order) per row."""
    rows = np.repeat(np.arange(len(lengths)), lengths)
    out: np.ndarray = np.bincount(rows, weights=values, minlength=len(lengths))
    return out


def feature_matrix(cs: CandidateSet, ctx: ViewerContext, *, now: float) -> np.ndarray:
    # Per-row Python loops cost more than the rest of stages 1-2 together on a thousand
    # candidates: the lookups run through map() and the sums per row through bincount.
    cat = cs.cat
    m = len(cat)
    age_h = np.maximum((now - cat.published) / 3600.0, 0.0)
    tags = cat.hashtags  # lower-cased by the catalogue
    n_pos = float(max(len(ctx.positives), 1))
    author_aff = np.fromiter(map(ctx.positive_authors.get, cat.author.tolist(), repeat(0)),
                             np.float32, count=m) / n_pos if ctx.positive_authors \
        else np.zeros(m)
    # A post without a sound (0) is never among the positives' sounds.
    sound_aff = np.fromiter(map(ctx.positive_sounds.get, cat.sound.tolist(), repeat(0)),
                            np.float32, count=m) / n_pos if ctx.positive_sounds \
        else np.zeros(m)
    flat_tags = list(chain.from_iterable(tags))
    lengths = np.fromiter(map(len, tags), np.int64, count=m)
    if ctx.positive_tags and n_pos > 0:
        counts = np.fromiter(map(ctx.positive_tags.get, flat_tags, repeat(0)), np.float64,
                             count=len(flat_tags))
        tag_aff = (_per_row_sum(lengths, counts) / n_pos).astype(np.float32)
    else:
        tag_aff = np.zeros(m, dtype=np.float32)
    if ctx.interest_tags:
        hits = np.fromiter(map(ctx.interest_tags.__contains__, flat_tags), np.float64,
                           count=len(flat_tags))
        interest = (_per_row_sum(lengths, hits) > 0).astype(np.float32)
    else:
        interest = np.zeros(m, dtype=np.float32)
    lang = (np.array(cat.language, dtype=object) == ctx.language).astype(np.float32) \
        if ctx.language and m else np.zeros(m, dtype=np.float32)
    follows = np.isin(cat.author, np.fromiter(ctx.follows, np.int64)).astype(np.float32) \
        if ctx.follows else np.zeros(m)
    region = (np.array(cat.country, dtype=object) == ctx.country).astype(np.float32) \
        if ctx.country and m else np.zeros(m, dtype=np.float32)
    cols = [
        cs.src.astype(np.float32),
        np.log1p(cat.views)[:, None],
        ((cat.likes + 1.0) / (cat.views + 20.0))[:, None],
        ((cat.completions + 1.0) / (cat.impressions + 3.0))[:, None],
        np.log1p(age_h)[:, None],
        cat.duration[:, None],
        np.log1p(cat.trend * 100.0)[:, None],
        cs.text_sim[:, None], cs.cf[:, None],
        np.asarray(author_aff, np.float32)[:, None], tag_aff[:, None],
        np.asarray(sound_aff, np.float32)[:, None], np.asarray(interest, np.float32)[:, None],
        lang[:, None], np.asarray(follows, np.float32)[:, None],
        cat.new_creator.astype(np.float32)[:, None],
        region[:, None],
        (cs.session_sim if cs.session_sim is not None else np.zeros(m, np.float32))[:, None],
        (cs.co if cs.co is not None else np.zeros(m, np.float32))[:, None],
    ]
    return np.hstack(cols).astype(np.float32)


_F = {name: i for i, name in enumerate(FEATURES)}


def heuristic_scores(x: np.ndarray) -> np.ndarray:
    """A hand-weighted blend of the same features: the fallback ranking."""
    # Personal signals (what the viewer completed, liked, picked, follows) outweigh global
    # popularity, which is capped by its logarithm.
    scores: np.ndarray = (
        2.0 * x[:, _F["completion_rate"]]
        + 4.0 * x[:, _F["like_rate"]]
        + 0.25 * x[:, _F["log_trend"]]
        + 4.0 * x[:, _F["tag_affinity"]]
        + 2.0 * x[:, _F["author_affinity"]]
        + 1.0 * x[:, _F["sound_affinity"]]
        + 3.5 * x[:, _F["interest_match"]]
        + 1.5 * x[:, _F["follows_author"]]
        + 0.5 * x[:, _F["lang_match"]]
        + 0.3 * x[:, _F["region_match"]]
        + 2.0 * x[:, _F["text_sim"]]
        + 0.5 * np.tanh(x[:, _F["cf"]])
        + 0.4 * np.exp(-x[:, _F["log_age_h"]] / 3.0)
    ).astype(np.float32)
    return scores


@dataclass
class LoadedModel:
    version: int
    heads: dict[str, Any]  # head name -> fitted estimator (predict_proba / predict)
    feature_names: list[str]
    cf_items: dict[int, np.ndarray]  # post id -> item factors
    cf_users: dict[int, np.ndarray]  # user id -> user factors
    factors: int
    # Post id -> (co-engaged post ids, similarities), best first (artefacts before issue
    # 21 have none: the source then proposes nothing).
    coengaged: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # Head name -> the head's trees compiled to machine code (apps.feed.compiled_trees:
    # all LightGBM heads or none; the same outputs, ~10x cheaper on a page's rows).
    compiled: dict[str, Callable[[np.ndarray], np.ndarray]] = field(default_factory=dict)

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """`x` has every column of FEATURES; the model reads the ones it was trained on."""
        x = x[:, [_F[name] for name in self.feature_names]]
        out: dict[str, np.ndarray] = {}
        compiled = self.compiled if not TREES else {}
        for head, est in self.heads.items():
            booster = getattr(est, "booster_", None)
            if head in compiled:
                values = compiled[head](x)
            elif booster is not None:
                # The LightGBM booster itself: for a few hundred rows the sklearn wrapper's
                # input checks cost more than the trees. A binary classifier's booster
                # gives P(class 1), what predict_proba's second column is.
                values = booster.predict(x, num_threads=1, num_iteration=TREES or None)
            elif head == "watch":
                values = est.predict(x)
            else:
                values = est.predict_proba(x)[:, 1]
            if head == "watch":
                values = np.clip(values, 0.0, 3.0)
            out[head] = np.asarray(values, dtype=np.float32)
        return out

    def score(self, x: np.ndarray, w: dict[str, float] | None = None) -> tuple[
            np.ndarray, dict[str, np.ndarray]]:
        w = w or weights()
        heads = self.predict(x)
        total = np.zeros(len(x), dtype=np.float32)
        for head, values in heads.items():
            total += w.get(head, 0.0) * values
        return total, heads

    def cf_matrix(self, ids: np.ndarray) -> np.ndarray:
        mat = np.zeros((len(ids), self.factors), dtype=np.float32)
        for i, pid in enumerate(ids.tolist()):
            vec = self.cf_items.get(pid)
            if vec is not None:
                mat[i] = vec
        return mat


# --- the active model, cached per process ---------------------------------------------------

_lock = threading.Lock()
_model: LoadedModel | None = None
_model_key: tuple[int, int] | None = None  # (row id, version)
_checked_at = 0.0
CHECK_EVERY = 10.0


def active_model() -> LoadedModel | None:
    """The active ranker, loaded once per process and reloaded when staff activate another
    version (checked every few seconds). None when no model is active or it cannot load."""
    global _model, _model_key, _checked_at
    if time.monotonic() - _checked_at < CHECK_EVERY:
        return _model
    with _lock:
        if time.monotonic() - _checked_at < CHECK_EVERY:
            return _model
        from apps.feed.models import RankerModel

        row = RankerModel.objects.filter(is_active=True).values("id", "version",
                                                                 "artifact").first()
        _checked_at = time.monotonic()
        if row is None:
            _model, _model_key = None, None
            return None
        key = (int(row["id"]), int(row["version"]))
        if key == _model_key:
            return _model
        try:
            from apps.feed.artifacts import load_artifact

            _model = load_artifact(str(row["artifact"]), version=key[1])
            _model_key = key
        except Exception:  # a missing or corrupt file: serve the heuristic, say so
            logger.exception("feed: cannot load ranker v%s", key[1])
            _model, _model_key = None, None
        return _model


def forget_model() -> None:
    global _model, _model_key, _checked_at
    with _lock:
        _model, _model_key, _checked_at = None, None, 0.0
        _versions.clear()


# --- a ranker named by a flag or an experiment arm (feed.ranker) ------------------------------

_versions: dict[int, LoadedModel | None] = {}
MAX_VERSIONS_KEPT = 3


def _model_version(version: int) -> LoadedModel | None:
    """A trained version by number (kept loaded: a few per process); None if absent."""
    if version in _versions:
        return _versions[version]
    from apps.feed.artifacts import load_artifact
    from apps.feed.models import RankerModel

    row = RankerModel.objects.filter(version=version).values("artifact").first()
    loaded = None
    if row is not None:
        try:
            loaded = load_artifact(str(row["artifact"]), version=version)
        except Exception:  # a missing or corrupt file: the caller serves the active one
            logger.exception("feed: cannot load ranker v%s", version)
    with _lock:
        while len(_versions) >= MAX_VERSIONS_KEPT:
            _versions.pop(next(iter(_versions)))
        _versions[version] = loaded
    return loaded


def model_for(choice: object, *, active: LoadedModel | None) -> LoadedModel | None:
    """The ranker the `feed.ranker` flag names: "active" (the staff-activated version),
    "heuristic" (no learned model), or "v<N>" (that trained version; the active one when it
    cannot load)."""
    if choice == "heuristic":
        return None
    if isinstance(choice, str) and choice[:1] == "v" and choice[1:].isdigit():
        if active is not None and active.version == int(choice[1:]):
            return active
        return _model_version(int(choice[1:])) or active
    return active


def weights_from(value: object) -> dict[str, float] | None:
    """The heads' weights the `feed.weights` flag sets ({"like": 0.8, ...}, the others at
    their configured value); None (the configured weights) for anything else."""
    if not isinstance(value, dict) or not value:
        return None
    base = weights()
    for head, weight in value.items():
        if head in base and isinstance(weight, int | float) and not isinstance(weight, bool):
            base[head] = float(weight)
    return base
