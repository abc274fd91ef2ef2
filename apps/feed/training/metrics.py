"""Offline metrics: AUC, NDCG@10 per user, recall@50 among sampled candidates, for the
ranker and the popularity and chronological baselines."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from apps.feed.pools import Catalogue
from apps.feed.ranking import weights
from apps.feed.training.dataset import (
    Dataset,
    candidate_set,
    context_for,
    model_columns,
    with_history_counters,
)
from apps.feed.training.fitting import combined
from apps.feed.training.history import Events, History

RECALL_USERS = 400
RECALL_NEGATIVES = 400


def _ndcg_at(scores: np.ndarray, gains: np.ndarray, k: int = 10) -> float:
    order = np.argsort(-scores, kind="stable")[:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float((gains[order] * discounts[: len(order)]).sum())
    ideal = np.sort(gains)[::-1][:k]
    idcg = float((ideal * discounts[: len(ideal)]).sum())
    return dcg / idcg if idcg > 0 else float("nan")


def ndcg_by_user(users: np.ndarray, scores: np.ndarray, gains: np.ndarray, k: int = 10) -> float:
    out = []
    for u in np.unique(users):
        mask = users == u
        if mask.sum() < 2:
            continue
        value = _ndcg_at(scores[mask], gains[mask], k)
        if not np.isnan(value):
            out.append(value)
    return float(np.mean(out)) if out else float("nan")


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(roc_auc_score(labels, scores))


@dataclass
class Scorers:
    """The three policies compared offline, as functions of (dataset, catalogue)."""

    heads: dict[str, Any]
    popularity: dict[int, float]
    published: dict[int, float]


def evaluate(ds: Dataset, scorers: Scorers, *, recall_sets: dict[str, Any] | None = None,
             w: dict[str, float] | None = None) -> dict[str, dict[str, float]]:
    w = w or weights()
    gains = np.minimum(ds.labels["watch"], 1.0) + ds.labels["like"]
    policy_scores = {
        "ranker": combined(scorers.heads, ds.x, w),
        "popularity": np.array([scorers.popularity.get(int(p), 0.0) for p in ds.post]),
        "chronological": np.array([scorers.published.get(int(p), 0.0) for p in ds.post]),
    }
    out: dict[str, dict[str, float]] = {}
    for name, s in policy_scores.items():
        out[name] = {"auc_completion": auc(ds.labels["completion"], s),
                     "ndcg@10": ndcg_by_user(ds.user, s, gains)}
    if recall_sets:
        for name, value in recall_sets.items():
            out[name]["recall@50"] = value
    return out


def recall_at_50(ev_test: Events, cat: Catalogue, hist: History, heads: dict[str, Any], *,
                 follows: dict[int, set[int]], now: float, rng: np.random.Generator,
                 w: dict[str, float]) -> dict[str, float]:
    """Per sampled test user: their completed posts plus random posts of the held-out
    period's catalogue (posts someone was shown then: sampling never-shown posts would
    reward popularity for mere exposure) that they did not complete, ranked by each
    policy; the share of their completions in the top 50."""
    from apps.feed.ranking import feature_matrix

    at_cut = with_history_counters(cat, hist)
    cols = model_columns()
    positives: dict[int, set[int]] = defaultdict(set)
    for u, p, c in zip(ev_test.user.tolist(), ev_test.post.tolist(),
                       ev_test.completed.tolist(), strict=True):
        if c and p in at_cut.index:
            positives[u].add(p)
    users = [u for u in positives if positives[u]]
    rng.shuffle(users)
    hits = {"ranker": [], "popularity": [], "chronological": []}  # type: dict[str, list[float]]
    shown = np.array(sorted({at_cut.index[p] for p in ev_test.post.tolist()
                             if p in at_cut.index}), dtype=np.int64)
    pop = at_cut.views + 3 * at_cut.likes
    for u in users[:RECALL_USERS]:
        pos_rows = [at_cut.index[p] for p in positives[u]]
        neg = rng.choice(shown, size=min(RECALL_NEGATIVES, len(shown)), replace=False)
        rows = np.unique(np.concatenate([np.array(pos_rows, np.int64), neg]))
        is_pos = np.isin(at_cut.ids[rows], np.fromiter(positives[u], np.int64))
        ctx = context_for(u, hist, at_cut, follows=follows.get(u, set()))
        cs = candidate_set(at_cut, rows, ctx, hist)
        x = feature_matrix(cs, ctx, now=now)[:, cols]
        for name, s in (("ranker", combined(heads, x, w)),
                        ("popularity", pop[rows] + 1e-6 * rng.random(len(rows))),
                        ("chronological", at_cut.published[rows])):
            top = np.argsort(-s, kind="stable")[:50]
            hits[name].append(float(is_pos[top].sum()) / float(is_pos.sum()))
    return {k: float(np.mean(v)) if v else float("nan") for k, v in hits.items()}
