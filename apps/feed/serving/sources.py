"""The per-viewer candidate reads beyond the cached pools: followed creators' recent
posts, nearest neighbours of the taste vector, and the collaborative scores."""

from __future__ import annotations

import threading
from datetime import timedelta

import numpy as np
from django.utils import timezone

from apps.accounts.models import User
from apps.feed import interactions, pools, ranking
from apps.feed.candidates import CandidateSet, ViewerContext
from apps.feed.pools import Catalogue
from apps.social.models import Follow

FOLLOWED_WINDOW = timedelta(days=7)
FOLLOWED_TAKE = 150
SIMILAR_NN = 100


def _followed_recent(viewer: User, ctx: ViewerContext) -> Catalogue | None:
    if not ctx.follows:
        return None
    # Candidates only: the safety rules run once, on the shortlist (`allowed`).
    rows = pools.published_meta_rows(
        f"p.author_id IN (SELECT followee_id FROM {Follow._meta.db_table} "  # noqa: S608
        "WHERE follower_id = %(viewer)s) AND p.published_at >= %(since)s "
        "ORDER BY p.id DESC LIMIT %(take)s",
        {"viewer": viewer.pk, "since": timezone.now() - FOLLOWED_WINDOW,
         "take": FOLLOWED_TAKE})
    return Catalogue.from_rows(rows, stats=interactions.PostStats()) if rows else None


def _similar(ctx: ViewerContext, catalogue: Catalogue) -> tuple[Catalogue | None,
                                                                 dict[int, float]]:
    """Nearest neighbours of the viewer's taste vector over every embedded post (HNSW),
    beyond the pooled catalogue."""
    if ctx.profile is None:
        return None, {}
    sims = {pid: 1.0 - d for pid, d in pools.nearest_posts(ctx.profile, SIMILAR_NN)}
    outside = [pid for pid in sims if pid not in catalogue.index]
    if not outside:
        return None, sims
    rows = pools.published_meta_rows("p.id = ANY(%(ids)s)", {"ids": outside})
    return (Catalogue.from_rows(rows, stats=interactions.PostStats()) if rows else None), sims


_cf_cache: dict[tuple[str, int], np.ndarray] = {}
_cf_lock = threading.Lock()


def _cf_items(model: ranking.LoadedModel, p: pools.Pools) -> np.ndarray:
    key = (p.stamp, model.version)
    found = _cf_cache.get(key)
    if found is None:
        with _cf_lock:
            found = model.cf_matrix(p.catalogue.ids)
            _cf_cache.clear()
            _cf_cache[key] = found
    return found


def _cf_user(model: ranking.LoadedModel, ctx: ViewerContext) -> np.ndarray | None:
    if ctx.user_id is not None and ctx.user_id in model.cf_users:
        return model.cf_users[ctx.user_id]
    items = [model.cf_items[p] for p in ctx.positives if p in model.cf_items]
    return np.mean(np.vstack(items), axis=0).astype(np.float32) if items else None


def _cf_for(cs: CandidateSet, model: ranking.LoadedModel, ctx: ViewerContext) -> None:
    """Collaborative score for candidates that came from outside the pools."""
    if ctx.cf_user is None:
        return
    for i, pid in enumerate(cs.cat.ids.tolist()):
        if cs.cf[i] == 0.0 and pid in model.cf_items:
            cs.cf[i] = float(model.cf_items[pid] @ ctx.cf_user)
