"""Stage 2 of For You: score candidates.

`feature_matrix` is the one definition of the ranker's inputs, shared by training and
serving (no skew). The learned ranker has four heads — completion, expected watch
fraction, like, follow — combined by configurable weights (`SWIPEME_FEED_WEIGHTS`). When no
model is active (or it fails to load) the heuristic scores the same features."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
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
)
HEADS = ("completion", "watch", "like", "follow")
DEFAULT_WEIGHTS = {"completion": 1.0, "watch": 1.0, "like": 0.6, "follow": 0.4}


def weights() -> dict[str, float]:
    configured = getattr(settings, "SWIPEME_FEED_WEIGHTS", None) or {}
    return {head: float(configured.get(head, DEFAULT_WEIGHTS[head])) for head in HEADS}


def _affinity(items: list[tuple[str, ...]] | np.ndarray, counter: Any,
              total: float) -> np.ndarray:
    if not counter or total <= 0:
        return np.zeros(len(items), dtype=np.float32)
    return np.array([sum(counter.get(t, 0) for t in row) / total for row in items],
                    dtype=np.float32)


def feature_matrix(cs: CandidateSet, ctx: ViewerContext, *, now: float) -> np.ndarray:
    cat = cs.cat
    m = len(cat)
    age_h = np.maximum((now - cat.published) / 3600.0, 0.0)
    tags = cat.hashtags  # lower-cased by the catalogue
    n_pos = float(max(len(ctx.positives), 1))
    author_aff = np.array([ctx.positive_authors.get(int(a), 0) for a in cat.author.tolist()],
                          dtype=np.float32) / n_pos if ctx.positive_authors else np.zeros(m)
    sound_aff = np.array([ctx.positive_sounds.get(int(s), 0) if s else 0
                          for s in cat.sound.tolist()],
                         dtype=np.float32) / n_pos if ctx.positive_sounds else np.zeros(m)
    tag_aff = _affinity(tags, ctx.positive_tags, n_pos)
    interest = np.array([any(t in ctx.interest_tags for t in row) for row in tags],
                        dtype=np.float32) if ctx.interest_tags else np.zeros(m)
    lang = np.array([bool(ctx.language) and lg == ctx.language for lg in cat.language],
                    dtype=np.float32)
    follows = np.isin(cat.author, np.fromiter(ctx.follows, np.int64)).astype(np.float32) \
        if ctx.follows else np.zeros(m)
    region = np.array([c == ctx.country for c in cat.country],
                      dtype=np.float32) if ctx.country else np.zeros(m, dtype=np.float32)
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

    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """`x` has every column of FEATURES; the model reads the ones it was trained on."""
        x = x[:, [_F[name] for name in self.feature_names]]
        out: dict[str, np.ndarray] = {}
        for head, est in self.heads.items():
            booster = getattr(est, "booster_", None)
            if booster is not None:
                # The LightGBM booster itself: for a few hundred rows the sklearn wrapper's
                # input checks cost more than the trees. A binary classifier's booster
                # gives P(class 1), what predict_proba's second column is.
                values = booster.predict(x, num_threads=1)
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
