"""Stages 1 and 2 (candidates, then the learned ranker or the heuristic), and the cache of
a viewer's last scoring for their next pages."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from apps.accounts.models import User
from apps.core import compiled_sql
from apps.feed import candidates, pools, ranking, scored_cache
from apps.feed.candidates import (
    SOURCES,
    CandidateSet,
    ViewerContext,
    coengaged_scores,
    eligible_unseen,
    generate,
    restrict,
    session_vector,
)
from apps.feed.pools import Catalogue
from apps.feed.serving.sources import (
    _cf_for,
    _cf_items,
    _cf_user,
    _describe,
    _followed_recent,
    _similar,
    forget_described,
)
from apps.feed.serving.viewer import _describe_positives

if TYPE_CHECKING:
    from apps.experiments.evaluation import Evaluation

logger = logging.getLogger(__name__)

PRE_RANK = 300


def _nothing_seen(post_ids: list[int]) -> set[int]:
    return set()


@dataclass
class Scored:
    cs: CandidateSet
    x: np.ndarray
    base: np.ndarray
    heads: dict[str, np.ndarray]
    scorer: str
    generated: int = 0  # candidates the sources proposed, before the seen filter
    dropped_seen: int = 0  # of those, seen or otherwise ineligible (never scored)


def score(p: pools.Pools, ctx: ViewerContext, *, model: ranking.LoadedModel | None,
          followed: Catalogue | None = None, similar: Catalogue | None = None,
          sims: dict[int, float] | None = None, degraded: list[str] | None = None,
          now: float | None = None, weights: dict[str, float] | None = None,
          seen: Callable[[list[int]], set[int]] | None = None,
          lookup: Callable[[list[int]], Catalogue | None] | None = None,
          learned: bool = True) -> Scored:
    """Stages 1 and 2, without I/O: candidates from the pools and the per-viewer extras,
    the seen and eligibility filter (`seen` answers which of the candidate ids the viewer
    has seen), then the learned ranker (or the heuristic) on what is left. The simulator
    and the offline bench in bench/ call this too. `lookup` describes posts outside the
    pools that a source proposed (serving: one query; the simulator: its catalogue).
    `learned=False`: the model's sources, the heuristic's order over every candidate (the
    offline bench's "candidates alone" stage)."""
    moment = now if now is not None else time.time()
    cf_items = None
    coengaged: dict[int, float] = {}
    coengaged_extra = None
    session = None
    if model is not None:
        ctx.cf_user = _cf_user(model, ctx)
        session = session_vector(model.cf_items, ctx.positives)
        if ctx.cf_user is not None or session is not None:
            cf_items = _cf_items(model, p)
        coengaged = coengaged_scores(model.coengaged, ctx.positives)
        outside = [pid for pid in coengaged if pid not in p.catalogue.index]
        if outside and lookup is not None:
            coengaged_extra = lookup(outside)
    # Only the eligible unseen proposals become candidates (the seen-sets are asked once,
    # about every proposal, before any candidate's metadata is gathered).
    cs = generate(p, ctx, followed=followed, similar=similar, similar_sims=sims,
                  cf_items=cf_items, coengaged=coengaged, coengaged_extra=coengaged_extra,
                  session=session, seen=seen if seen is not None else _nothing_seen)
    taken = cs.proposed if cs.proposed is not None else cs.cat.ids
    generated = len(taken)
    # A long scroll has seen most of what the sources propose: offer the pooled posts they
    # did not (a budget at a time), so the feed does not run dry while the pools have more.
    for _ in range(candidates.REFILL_ROUNDS):
        if seen is None or not generated or len(cs) >= candidates.REFILL_BELOW:
            break
        rows, bits = candidates.unproposed(p, taken, limit=candidates.CANDIDATE_BUDGET)
        if not len(rows):
            break
        more = candidates.pooled_candidates(p, rows, bits, ctx, cf_items=cf_items,
                                            session=session)
        generated += len(more)
        taken = np.concatenate([taken, more.cat.ids])
        more_seen = seen(more.cat.ids.tolist())
        cs = candidates.extend(cs, restrict(more, np.flatnonzero(
            eligible_unseen(more, ctx, more_seen))))
    dropped = generated - len(cs)
    if model is not None:
        _cf_for(cs, model, ctx, session=session)
    x = ranking.feature_matrix(cs, ctx, now=moment)
    ranked = np.ones(len(cs), dtype=bool)  # rows the learned ranker scores
    if model is not None and not learned:
        return Scored(cs, x, ranking.heuristic_scores(x), {}, "heuristic", generated, dropped)
    if model is not None and len(cs) > PRE_RANK:
        # Two-stage ranking: the cheap heuristic keeps the best few hundred candidates
        # for the learned ranker (its cost grows with rows scored, not with the pools).
        # The other exploration candidates stay, for the bandit's slots only: the bandit,
        # not the heuristic, decides about them, and the ranker need not score them.
        best = np.argpartition(-ranking.heuristic_scores(x), PRE_RANK)[:PRE_RANK]
        keep = np.union1d(best, np.flatnonzero(cs.src[:, SOURCES.index("explore")]))
        ranked = np.isin(keep, best)
        cs = restrict(cs, keep)
        x = x[keep]
    if model is not None:
        try:
            part, part_heads = model.score(x[ranked], weights)
            # Unranked exploration rows sit below every ranked one.
            floor = float(part.min(initial=0.0)) - 1e-3
            base = np.full(len(x), floor, dtype=np.float32)
            base[ranked] = part
            heads = {}
            for head, values in part_heads.items():
                heads[head] = np.zeros(len(x), dtype=np.float32)
                heads[head][ranked] = values
            return Scored(cs, x, base, heads, f"model v{model.version}", generated, dropped)
        except Exception:
            logger.exception("feed: ranker v%s failed; heuristic instead", model.version)
            if degraded is not None:
                degraded.append("model")
    return Scored(cs, x, ranking.heuristic_scores(x), {}, "heuristic", generated, dropped)


# Stages 1-2 of a viewer's last page (with what was degraded then), for their next pages.
_scored: scored_cache.ScoredCache[tuple[Scored, list[str]]] = scored_cache.ScoredCache()


def forget_scored() -> None:
    _scored.clear()
    compiled_sql.forget()
    forget_described()


def page_flags(viewer: User | None, session_id: str | None) -> Evaluation:
    """The page's one flag evaluation: the ranker's flags and the ad load are read from it,
    so the viewer's stored arms are read (one query, signed in, while an experiment runs)
    and each exposure logged once per page. Building it reads nothing."""
    from apps.experiments import evaluation as experiments

    return experiments.for_user(viewer, device_id=session_id or "")


def ranker_for(flags: Evaluation, active: ranking.LoadedModel | None) -> tuple[
        ranking.LoadedModel | None, dict[str, float] | None]:
    """The ranker and head weights for this viewer: the `feed.ranker` and `feed.weights`
    flags, which experiment arms may set (reading them logs the viewer's exposure). Unknown
    flags leave the active ranker and the configured weights. What the ranker proposes still
    goes through the gate and hydration after it (safety, minors, privacy)."""
    choice = flags.value("feed.ranker", "active")
    return (ranking.model_for(choice, active=active),
            ranking.weights_from(flags.value("feed.weights", None)))


def _score_for(viewer: User | None, ctx: ViewerContext, p: pools.Pools,
               model: ranking.LoadedModel | None, degraded: list[str], *,
               flags: Evaluation,
               seen: Callable[[list[int]], set[int]] | None = None) -> Scored:
    """Stages 1 and 2 with the per-viewer reads they need (`flags`: the page's evaluation;
    `seen`: the seen-sets, asked once about every candidate before scoring)."""
    model, weights = ranker_for(flags, model)
    _describe_positives(ctx, p.catalogue, p.stamp)
    followed = _followed_recent(viewer, ctx, p.stamp) if viewer is not None else None
    try:
        similar, sims = _similar(ctx, p.catalogue, p.stamp)
    except Exception:  # embeddings unavailable: no similarity source this time
        logger.exception("feed: similar-posts source failed")
        similar, sims = None, {}
        degraded.append("embeddings")
    return score(p, ctx, model=model, followed=followed, similar=similar, sims=sims,
                 degraded=degraded, weights=weights, seen=seen,
                 lookup=lambda ids: _describe(ids, p.stamp))
