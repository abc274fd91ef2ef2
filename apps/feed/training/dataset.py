"""Training rows: each event's candidate features at its time, from the history before it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from apps.feed.artifacts import MODEL_FEATURES
from apps.feed.candidates import (
    SOURCES,
    CandidateSet,
    ViewerContext,
    coengaged_scores,
    session_vector,
    take,
)
from apps.feed.pools import Catalogue
from apps.feed.ranking import FEATURES, HEADS
from apps.feed.training.history import Events, History


def with_history_counters(cat: Catalogue, hist: History) -> Catalogue:
    """The catalogue as it looked at the cut: counters from the history only."""
    ids = cat.ids.tolist()
    f32 = np.float32
    out = take(cat, np.arange(len(cat)))
    out.views = np.array([hist.plays.get(p, 0.0) for p in ids], dtype=f32)
    out.likes = np.array([hist.likes.get(p, 0.0) for p in ids], dtype=f32)
    out.impressions = np.array([hist.impressions.get(p, 0.0) for p in ids], dtype=f32)
    out.completions = np.array([hist.completions.get(p, 0.0) for p in ids], dtype=f32)
    out.trend = np.array([hist.recent.get(p, 0.0) for p in ids], dtype=f32)
    out.comments = np.zeros(len(ids), dtype=f32)
    out.shares = np.zeros(len(ids), dtype=f32)
    return out


def context_for(user: int, hist: History, cat: Catalogue, *, follows: set[int],
                language: str = "", country: str = "",
                interest_tags: set[str] | None = None, keep: int = 30) -> ViewerContext:
    """The same context serving builds (serving.viewer_context), from a history."""
    ctx = ViewerContext(user_id=user, language=language, country=country, follows=follows,
                        interest_tags=interest_tags or set())
    ctx.positives = list(reversed(hist.positives.get(user, [])[-keep:]))
    vectors = []
    for pid in ctx.positives:
        row = cat.index.get(pid)
        if row is None:
            continue
        ctx.positive_authors[int(cat.author[row])] += 1
        if cat.sound[row]:
            ctx.positive_sounds[int(cat.sound[row])] += 1
        for tag in cat.hashtags[row]:
            ctx.positive_tags[tag.lower()] += 1
        if cat.vectors is not None and cat.vectors[row].any():
            vectors.append(cat.vectors[row])
    if vectors:
        mean = np.mean(np.vstack(vectors), axis=0)
        norm = float(np.linalg.norm(mean))
        if norm > 0:
            ctx.profile = (mean / norm).astype(np.float32)
    ctx.cf_user = hist.cf_users.get(user)
    if ctx.cf_user is None:
        items = [hist.cf_items[p] for p in ctx.positives if p in hist.cf_items]
        if items:
            ctx.cf_user = np.mean(np.vstack(items), axis=0).astype(np.float32)
    return ctx


def candidate_set(cat: Catalogue, rows: np.ndarray, ctx: ViewerContext,
                  hist: History) -> CandidateSet:
    sub = take(cat, rows)
    text_sim = (sub.vectors @ ctx.profile).astype(np.float32) \
        if ctx.profile is not None and sub.vectors is not None else np.zeros(len(rows), np.float32)
    cf = np.zeros(len(rows), dtype=np.float32)
    if ctx.cf_user is not None:
        for i, pid in enumerate(sub.ids.tolist()):
            vec = hist.cf_items.get(pid)
            if vec is not None:
                cf[i] = float(vec @ ctx.cf_user)
    src = np.zeros((len(rows), len(SOURCES)), dtype=np.uint8)
    # The personal features serving computes (candidates.generate), from the history.
    session = session_vector(hist.cf_items, ctx.positives)
    session_sim = np.zeros(len(rows), dtype=np.float32)
    if session is not None:
        for i, pid in enumerate(sub.ids.tolist()):
            vec = hist.cf_items.get(pid)
            if vec is not None:
                session_sim[i] = float(vec @ session)
    co_scores = coengaged_scores(hist.coengaged, ctx.positives)
    co = np.array([co_scores.get(p, 0.0) for p in sub.ids.tolist()], dtype=np.float32)
    return CandidateSet(cat=sub, src=src, text_sim=text_sim, cf=cf, session_sim=session_sim,
                        co=co)


def model_columns() -> list[int]:
    return [FEATURES.index(f) for f in MODEL_FEATURES]


@dataclass
class Dataset:
    x: np.ndarray
    user: np.ndarray
    post: np.ndarray
    labels: dict[str, np.ndarray]
    now: float


def build_dataset(ev: Events, cat: Catalogue, hist: History, *, now: float,
                  follows: dict[int, set[int]], languages: dict[int, str] | None = None,
                  countries: dict[int, str] | None = None) -> Dataset:
    """Feature rows for the events `ev`, with features from `hist` (same code as serving)."""
    from apps.feed.ranking import feature_matrix

    at_cut = with_history_counters(cat, hist)
    cols = model_columns()
    keep = np.array([p in at_cut.index for p in ev.post.tolist()], dtype=bool)
    ev = ev.select(keep)
    xs: list[np.ndarray] = []
    order: list[np.ndarray] = []
    by_user: dict[int, list[int]] = defaultdict(list)
    for i, u in enumerate(ev.user.tolist()):
        by_user[u].append(i)
    for u, idx in by_user.items():
        ctx = context_for(u, hist, at_cut, follows=follows.get(u, set()),
                          language=(languages or {}).get(u, ""),
                          country=(countries or {}).get(u, ""))
        rows = np.array([at_cut.index[int(p)] for p in ev.post[idx].tolist()], dtype=np.int64)
        cs = candidate_set(at_cut, rows, ctx, hist)
        xs.append(feature_matrix(cs, ctx, now=now)[:, cols])
        order.append(np.array(idx, dtype=np.int64))
    if not xs:
        empty = np.zeros((0, len(cols)), np.float32)
        return Dataset(empty, np.zeros(0, np.int64), np.zeros(0, np.int64),
                       {h: np.zeros(0) for h in HEADS}, now)
    perm = np.concatenate(order)
    x = np.vstack(xs)
    return Dataset(
        x=x, user=ev.user[perm], post=ev.post[perm], now=now,
        labels={"completion": ev.completed[perm].astype(np.int8),
                "watch": np.minimum(ev.watch[perm], 3.0).astype(np.float32),
                "like": ev.liked[perm].astype(np.int8),
                "follow": ev.followed[perm].astype(np.int8)},
    )
