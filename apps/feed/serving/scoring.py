"""Stages 1 and 2 (candidates, then the learned ranker or the heuristic), and the cache of
a viewer's last scoring for their next pages."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from apps.accounts.models import User
from apps.core import compiled_sql
from apps.feed import pools, ranking, scored_cache
from apps.feed.candidates import SOURCES, CandidateSet, ViewerContext, generate, take
from apps.feed.pools import Catalogue
from apps.feed.serving.sources import _cf_for, _cf_items, _cf_user, _followed_recent, _similar
from apps.feed.serving.viewer import _describe_positives

logger = logging.getLogger(__name__)

PRE_RANK = 300


@dataclass
class Scored:
    cs: CandidateSet
    x: np.ndarray
    base: np.ndarray
    heads: dict[str, np.ndarray]
    scorer: str


def score(p: pools.Pools, ctx: ViewerContext, *, model: ranking.LoadedModel | None,
          followed: Catalogue | None = None, similar: Catalogue | None = None,
          sims: dict[int, float] | None = None, degraded: list[str] | None = None,
          now: float | None = None) -> Scored:
    """Stages 1 and 2, without I/O: candidates from the pools and the per-viewer extras,
    then the learned ranker (or the heuristic). The simulator in bench/ calls this too."""
    moment = now if now is not None else time.time()
    cf_items = None
    if model is not None:
        ctx.cf_user = _cf_user(model, ctx)
        cf_items = _cf_items(model, p) if ctx.cf_user is not None else None
    cs = generate(p, ctx, followed=followed, similar=similar, similar_sims=sims,
                  cf_items=cf_items)
    if model is not None:
        _cf_for(cs, model, ctx)
    x = ranking.feature_matrix(cs, ctx, now=moment)
    ranked = np.ones(len(cs), dtype=bool)  # rows the learned ranker scores
    if model is not None and len(cs) > PRE_RANK:
        # Two-stage ranking: the cheap heuristic keeps the best few hundred candidates
        # for the learned ranker (its cost grows with rows scored, not with the pools).
        # The other exploration candidates stay, for the bandit's slots only: the bandit,
        # not the heuristic, decides about them, and the ranker need not score them.
        best = np.argpartition(-ranking.heuristic_scores(x), PRE_RANK)[:PRE_RANK]
        keep = np.union1d(best, np.flatnonzero(cs.src[:, SOURCES.index("explore")]))
        ranked = np.isin(keep, best)
        cs = CandidateSet(cat=take(cs.cat, keep), src=cs.src[keep],
                          text_sim=cs.text_sim[keep], cf=cs.cf[keep])
        x = x[keep]
    if model is not None:
        try:
            part, part_heads = model.score(x[ranked])
            # Unranked exploration rows sit below every ranked one.
            floor = float(part.min(initial=0.0)) - 1e-3
            base = np.full(len(x), floor, dtype=np.float32)
            base[ranked] = part
            heads = {}
            for head, values in part_heads.items():
                heads[head] = np.zeros(len(x), dtype=np.float32)
                heads[head][ranked] = values
            return Scored(cs, x, base, heads, f"model v{model.version}")
        except Exception:
            logger.exception("feed: ranker v%s failed; heuristic instead", model.version)
            if degraded is not None:
                degraded.append("model")
    return Scored(cs, x, ranking.heuristic_scores(x), {}, "heuristic")


# Stages 1-2 of a viewer's last page (with what was degraded then), for their next pages.
_scored: scored_cache.ScoredCache[tuple[Scored, list[str]]] = scored_cache.ScoredCache()


def forget_scored() -> None:
    _scored.clear()
    compiled_sql.forget()


def _score_for(viewer: User | None, ctx: ViewerContext, p: pools.Pools,
               model: ranking.LoadedModel | None, degraded: list[str]) -> Scored:
    """Stages 1 and 2 with the per-viewer reads they need."""
    _describe_positives(ctx, p.catalogue)
    followed = _followed_recent(viewer, ctx) if viewer is not None else None
    try:
        similar, sims = _similar(ctx, p.catalogue)
    except Exception:  # embeddings unavailable: no similarity source this time
        logger.exception("feed: similar-posts source failed")
        similar, sims = None, {}
        degraded.append("embeddings")
    return score(p, ctx, model=model, followed=followed, similar=similar, sims=sims,
                 degraded=degraded)
