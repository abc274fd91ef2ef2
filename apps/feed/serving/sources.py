"""The per-viewer candidate reads beyond the cached pools: followed creators' recent
posts, nearest neighbours of the taste vector, and the collaborative scores."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
from django.db import connection
from django.utils import timezone

from apps.accounts.models import User
from apps.content.models import Post
from apps.feed import interactions, pools, ranking
from apps.feed.candidates import CandidateSet, ViewerContext, concat, take
from apps.feed.pools import Catalogue
from apps.feed.scored_cache import ScoredCache
from apps.social.models import Follow

FOLLOWED_WINDOW = timedelta(days=7)
FOLLOWED_TAKE = 150
SIMILAR_NN = 100


# A viewer's followed creators' recent post ids, kept per process as a scrolling viewer's
# scored candidates are (the same cache, `SWIPEME_FEED_SCORED_TTL`): valid while the pools'
# stamp and the viewer's follows (read from the database on every scored page) are
# unchanged, so a like or a skip leaves them and a follow reads them again.
followed_ids: ScoredCache[list[int]] = ScoredCache()


def _followed_recent(viewer: User, ctx: ViewerContext, stamp: str = "") -> Catalogue | None:
    if not ctx.follows:
        return None
    key = str(viewer.pk) if stamp else None
    fingerprint = hash((stamp, frozenset(ctx.follows)))
    ids = followed_ids.get(key, fingerprint)
    if ids is None:
        # Candidates only: the safety rules run once, on the shortlist (`allowed`). The
        # ids only: their metadata comes from the process's described posts (`described`).
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT p.id FROM {Post._meta.db_table} p "  # noqa: S608 - the models' tables
                "WHERE p.status = %(published)s AND p.author_id IN (SELECT followee_id FROM "
                f"{Follow._meta.db_table} WHERE follower_id = %(viewer)s) "
                "AND p.published_at >= %(since)s ORDER BY p.id DESC LIMIT %(take)s",
                {"viewer": viewer.pk, "since": timezone.now() - FOLLOWED_WINDOW,
                 "take": FOLLOWED_TAKE, "published": Post.Status.PUBLISHED})
            ids = [int(row[0]) for row in cursor.fetchall()]
        followed_ids.put(key, fingerprint, ids)
    return _describe(ids, stamp) if ids else None


def _similar(ctx: ViewerContext, catalogue: Catalogue, stamp: str = "") -> tuple[
        Catalogue | None, dict[int, float]]:
    """Nearest neighbours of the viewer's taste vector over every embedded post (HNSW),
    beyond the pooled catalogue."""
    if ctx.profile is None:
        return None, {}
    sims = {pid: 1.0 - d for pid, d in pools.nearest_posts(ctx.profile, SIMILAR_NN)}
    outside = [pid for pid in sims if pid not in catalogue.index]
    if not outside:
        return None, sims
    return _describe(outside, stamp), sims


class StampedCache:
    """Posts outside the pools read by id (their metadata, their text vectors), kept per
    process while the pools' stamp is unchanged: they are then as fresh as the pooled
    posts (the reco task redraws the pools every minute). Only what the query found is
    kept (an unpublished post is asked again), and the safety gate still reads every
    shortlisted post's current state."""

    def __init__(self, fetch: Callable[[list[int]], dict[int, Any]],
                 kept: int = 20_000) -> None:
        self._fetch = fetch
        self._kept = kept
        self._items: dict[int, Any] = {}
        self._stamp = ""
        self._lock = threading.Lock()

    def get_many(self, post_ids: list[int], stamp: str) -> dict[int, Any]:
        """Post id -> value for those found (from memory, the rest in one fetch). An empty
        stamp (no pools) fetches them all."""
        if not stamp:
            return self._fetch(post_ids)
        with self._lock:
            if self._stamp != stamp or len(self._items) > self._kept:
                self._items = {}
                self._stamp = stamp
            items = self._items
        found = {pid: items[pid] for pid in post_ids if pid in items}
        missing = [pid for pid in post_ids if pid not in found]
        if missing:
            fresh = self._fetch(missing)
            with self._lock:
                if self._stamp == stamp:
                    self._items.update(fresh)
            found.update(fresh)
        return found

    def clear(self) -> None:
        with self._lock:
            self._items = {}
            self._stamp = ""


def _described(post_ids: list[int]) -> Catalogue:
    """The published posts among these, described (in the order PostgreSQL returns them)."""
    return Catalogue.from_tuples(pools.published_meta_tuples(post_ids),
                                 stats=interactions.PostStats())


class DescribedPosts:
    """Posts outside the pools described (`published_meta_tuples` → a Catalogue's columns)
    once per pools stamp, in one growing catalogue: a page takes its rows by id instead of
    building a catalogue from rows (a Python loop per row) for its followed, similar and
    co-engaged extras. As fresh as the pooled posts (the reco task redraws the pools every
    minute); their time-dependent columns (trend, new creator) are those of the moment
    they were first described, as the pools' are of the moment they were drawn. Only
    published posts are kept; the safety gate still reads every shortlisted post's
    current state."""

    def __init__(self, kept: int = 20_000) -> None:
        self._kept = kept
        self._cat = Catalogue.empty()
        self._index: dict[int, int] = {}
        self._stamp = ""
        self._lock = threading.Lock()

    def rows(self, post_ids: list[int], stamp: str) -> tuple[Catalogue, list[int]]:
        """The catalogue holding these posts and their rows in it, in the order asked
        (unpublished ones absent). An empty stamp (no pools) describes them afresh."""
        if not stamp:
            cat = _described(list(dict.fromkeys(post_ids)))
            return cat, [cat.index[pid] for pid in post_ids if pid in cat.index]
        with self._lock:
            if self._stamp != stamp or len(self._cat) > self._kept:
                self._cat, self._index, self._stamp = Catalogue.empty(), {}, stamp
            cat, index = self._cat, self._index
        missing = [pid for pid in dict.fromkeys(post_ids) if pid not in index]
        if missing:
            fresh = _described(missing)
            with self._lock:
                if self._stamp == stamp:
                    # Into the shared catalogue (another request may have added some).
                    self._cat, self._index = _merged(self._cat, self._index, fresh)
                    cat, index = self._cat, self._index
                else:  # the stamp moved meanwhile: answer from a private copy
                    cat, index = _merged(cat, index, fresh)
        return cat, [index[pid] for pid in post_ids if pid in index]

    def catalogue(self, post_ids: list[int], stamp: str) -> Catalogue | None:
        cat, rows = self.rows(post_ids, stamp)
        return take(cat, np.asarray(rows, dtype=np.int64), vectors=False) if rows else None

    def clear(self) -> None:
        with self._lock:
            self._cat, self._index, self._stamp = Catalogue.empty(), {}, ""


def _merged(cat: Catalogue, index: dict[int, int], fresh: Catalogue) -> tuple[
        Catalogue, dict[int, int]]:
    """`cat` with `fresh`'s posts it lacks appended, and its index (new objects: readers
    holding the old pair keep a consistent one)."""
    new = [i for i, pid in enumerate(fresh.ids.tolist()) if pid not in index]
    if not new:
        return cat, index
    base = len(cat)
    merged = concat(cat, take(fresh, np.asarray(new, dtype=np.int64), vectors=False))
    return merged, {**index, **{int(fresh.ids[i]): base + j for j, i in enumerate(new)}}


described = DescribedPosts()
vectors = StampedCache(pools.embeddings_of)


def forget_described() -> None:
    described.clear()
    vectors.clear()
    followed_ids.clear()


def _describe(post_ids: list[int], stamp: str = "") -> Catalogue | None:
    """Posts a source proposed from outside the pools, described (published ones only; the
    gate judges the shortlist later): from memory while the pools are unchanged, the rest
    in one query."""
    return described.catalogue(post_ids, stamp)


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


def _cf_for(cs: CandidateSet, model: ranking.LoadedModel, ctx: ViewerContext, *,
            session: np.ndarray | None = None) -> None:
    """Collaborative and session scores for candidates that came from outside the pools."""
    if ctx.cf_user is None and session is None:
        return
    # Only rows still without a score (the pooled ones were scored by one matrix product).
    need = np.zeros(len(cs), dtype=bool)
    if ctx.cf_user is not None:
        need |= cs.cf == 0.0
    if session is not None and cs.session_sim is not None:
        need |= cs.session_sim == 0.0
    rows = np.flatnonzero(need)
    for i, pid in zip(rows.tolist(), cs.cat.ids[rows].tolist(), strict=True):
        vec = model.cf_items.get(pid)
        if vec is None:
            continue
        if ctx.cf_user is not None and cs.cf[i] == 0.0:
            cs.cf[i] = float(vec @ ctx.cf_user)
        if session is not None and cs.session_sim is not None and cs.session_sim[i] == 0.0:
            cs.session_sim[i] = float(vec @ session)
