"""Serving: For You (candidates → ranking → re-ranking → page) and Following.

A request reads the cached pools (in process memory), a handful of indexed rows about the
viewer, and at most one pgvector search; everything else is numpy. Each stage degrades on
its own: no Redis → no seen-set (the cursor still carries what this chain served) and
locally built pools; no model or a model that fails → the heuristic ranking; no
embeddings → no similarity source. The page still answers."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from django.db.models import BooleanField, Exists, OuterRef, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.utils import timezone

from apps.accounts.models import User
from apps.content.audience import may_see_age_restricted, recommendable_q
from apps.content.models import Post
from apps.content.selectors import for_display, visible_posts_for, without_muted_authors
from apps.core import compiled_sql
from apps.core.ids import MAX_ID
from apps.engagement.models import Favourite, Like
from apps.feed import interactions, online, pools, ranking, rerank, scored_cache
from apps.feed.candidates import SOURCES, CandidateSet, ViewerContext, generate, take
from apps.feed.cursors import CARRY_AUTHORS, CARRY_IDS, FollowingCursor, ForYouCursor
from apps.feed.pools import Catalogue
from apps.feed.topics import hashtags_for
from apps.social.models import Follow

logger = logging.getLogger(__name__)

FOLLOWED_WINDOW = timedelta(days=7)
FOLLOWED_TAKE = 150
MAX_FOLLOWS_READ = 5000
SIMILAR_NN = 100
PRE_RANK = 300
# Which source a post is credited to when several proposed it.
SOURCE_PRIORITY = ("followed", "similar", "collab", "sound_tag", "interest", "trending",
                   "language", "region", "explore")


@dataclass
class Page:
    posts: list[Post]
    reco: list[dict[str, Any]]
    next_cursor: str | None
    request_id: str
    degraded: list[str] = field(default_factory=list)


def _request_id() -> str:
    return secrets.token_hex(8)


# --- the viewer ------------------------------------------------------------------------------


def viewer_context(viewer: User | None, *, session_id: str | None = None) -> ViewerContext:
    """What the feed knows about the viewer. The positives are described (their authors,
    tags and taste vector) only when stages 1 and 2 run (`_score_for`)."""
    disliked = interactions.online_dislikes(user_id=viewer.pk if viewer else None,
                                            session_id=session_id)
    if viewer is None:
        ctx = ViewerContext(user_id=None)
        ctx.ni_authors.update(disliked.creators)
        ctx.ni_sounds.update(disliked.sounds)
        return ctx
    uid = int(viewer.pk)
    rows = interactions.viewer_rows(user_id=uid, max_follows=MAX_FOLLOWS_READ)
    ctx = ViewerContext(
        user_id=uid, adult=may_see_age_restricted(viewer),
        language=(viewer.language or "").split("-")[0].lower(), follows=rows.follows,
        country=(viewer.country or "").upper(),
        interest_tags=set(hashtags_for(rows.interests)), positives=rows.positives,
    )
    for post_id, author_id, sound_id, tags in rows.not_interested:
        ctx.ni_posts.add(post_id)
        ctx.ni_authors[author_id] += 1
        if sound_id:
            ctx.ni_sounds[sound_id] += 1
        for tag in tags:
            ctx.ni_tags[tag.lower()] += 1
    ctx.ni_posts |= rows.disliked_posts
    ctx.ni_authors.update(disliked.creators)
    ctx.ni_sounds.update(disliked.sounds)
    return ctx


def _describe_positives(ctx: ViewerContext, catalogue: Catalogue) -> None:
    """Authors, sounds, hashtags and the mean text embedding of what the viewer liked or
    completed (pooled posts from memory, the rest in one query each)."""
    if not ctx.positives:
        return
    vectors: list[np.ndarray] = []
    missing: list[int] = []
    for pid in ctx.positives:
        row = catalogue.index.get(pid)
        if row is None:
            missing.append(pid)
            continue
        ctx.positive_authors[int(catalogue.author[row])] += 1
        if catalogue.sound[row]:
            ctx.positive_sounds[int(catalogue.sound[row])] += 1
        for tag in catalogue.hashtags[row]:
            ctx.positive_tags[tag.lower()] += 1
        if catalogue.vectors is not None and catalogue.vectors[row].any():
            vectors.append(catalogue.vectors[row])
    if missing:
        for meta in pools.published_meta_rows("p.id = ANY(%(ids)s)", {"ids": missing}):
            ctx.positive_authors[int(meta["author_id"])] += 1
            if meta["sound_id"]:
                ctx.positive_sounds[int(meta["sound_id"])] += 1
            for tag in meta["tags"]:
                ctx.positive_tags[tag.lower()] += 1
        vectors.extend(pools.embeddings_of(missing).values())
    if vectors:
        mean = np.mean(np.vstack(vectors), axis=0)
        norm = float(np.linalg.norm(mean))
        if norm > 0:
            ctx.profile = (mean / norm).astype(np.float32)


# --- per-viewer candidate reads ----------------------------------------------------------------


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


# --- the page ---------------------------------------------------------------------------------


def _primary_source(src_row: np.ndarray, slot: str) -> str:
    if slot == "explore":
        return "explore"
    names = {SOURCES[i] for i in np.flatnonzero(src_row).tolist()}
    for name in SOURCE_PRIORITY:
        if name in names:
            return name
    return "trending"


def allowed(viewer: User | None, post_ids: list[int]) -> set[int]:
    """The safety gate, in SQL over the shortlist: visibility (removed, private, blocks),
    recommendation rules (limited reach, age-restricted for minors, protected minors),
    mutes."""
    if not post_ids:
        return set()

    def build(ids: Any) -> QuerySet[Any]:
        qs = visible_posts_for(viewer=viewer).filter(
            recommendable_q(viewer), pk__in=RawSQL("SELECT unnest(%s::bigint[])", (ids,)))
        return without_muted_authors(qs, viewer=viewer).values_list("pk", flat=True)

    return set(_run_compiled(viewer, ("gate",), build, post_ids))


def _run_compiled(viewer: User | None, kind: tuple[Any, ...],
                  build: Callable[[Any], QuerySet[Any]], value: Any) -> list[int]:
    """A viewer's statement, compiled once per viewer state (every field of their row, so
    whatever rule reads about them), day (age cut-offs) and kind: building these through
    the ORM cost more than running them, on every page. Relations (blocks, mutes,
    follows) are EXISTS subqueries, read when the statement runs."""
    fields = () if viewer is None else tuple(
        getattr(viewer, f.attname) for f in viewer._meta.concrete_fields)
    key = (kind, None if viewer is None else viewer.pk, repr(fields), timezone.localdate())
    return [int(pk) for pk in compiled_sql.run(key, build, value)]


def hydrate(viewer: User | None, post_ids: list[int]) -> dict[int, Post]:
    """The page's posts as the API shows them, with the viewer's flags. Only the few
    posts on the page (the gate ran on the shortlist); one still published."""
    qs = Post.objects.filter(pk__in=post_ids, status=Post.Status.PUBLISHED)
    return {post.pk: post for post in with_viewer_flags(for_display(qs), viewer)}


def with_viewer_flags(qs: QuerySet[Post], viewer: User | None) -> QuerySet[Post]:
    if viewer is None:
        false = Value(False, output_field=BooleanField())
        return qs.annotate(viewer_liked=false, viewer_favourited=false,
                           viewer_follows_author=false)
    return qs.annotate(
        viewer_liked=Exists(Like.objects.filter(user_id=viewer.pk, post_id=OuterRef("pk"))),
        viewer_favourited=Exists(Favourite.objects.filter(user_id=viewer.pk,
                                                          post_id=OuterRef("pk"))),
        viewer_follows_author=Exists(Follow.objects.filter(follower_id=viewer.pk,
                                                           followee_id=OuterRef("author_id"))),
    )


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


def _seen_among(key: str | None, ctx: ViewerContext, session_id: str | None,
                post_ids: list[int], degraded: list[str]) -> set[int]:
    """Of these posts, those served to the viewer (the feed's seen-set) or watched (the
    event stream's)."""
    seen = online.seen_among(key, post_ids)
    if seen is None:
        seen = set()
        if "redis" not in degraded:
            degraded.append("redis")
    return seen | interactions.seen_among(user_id=ctx.user_id, session_id=session_id,
                                          post_ids=post_ids)


def for_you(*, viewer: User | None, session_id: str | None, limit: int,
            cursor: ForYouCursor | None, rng: np.random.Generator | None = None) -> Page:
    started = time.time()
    request_id = _request_id()
    degraded: list[str] = []
    cursor = cursor or ForYouCursor()
    if viewer is None and not session_id:
        session_id = cursor.session or secrets.token_urlsafe(12)
    rng = rng or np.random.default_rng()

    p, shared = pools.current()
    if not shared:
        degraded.append("pools")
    ctx = viewer_context(viewer, session_id=session_id)
    ctx.exclude = set(cursor.served)
    key = online.viewer_key(user_id=ctx.user_id, session_id=session_id)

    model = ranking.active_model()
    fp = scored_cache.fingerprint(ctx, stamp=p.stamp,
                                  model_version=model.version if model else None)
    reused = _scored.get(key, fp)
    if reused is None:
        scored = _score_for(viewer, ctx, p, model, degraded)
        _scored.put(key, fp, (scored, list(degraded)))
    else:
        scored, was_degraded = reused
        degraded += [d for d in was_degraded if d not in degraded]
    cs, x, base, heads, scorer = scored.cs, scored.x, scored.base, scored.heads, scored.scorer

    adj = rerank.adjust(cs, base, ctx, seen=set(), now=started)
    # The seen-sets are asked only about the candidates that could make this page, and
    # about more only when most of those were seen.
    check = rerank.worth_checking(cs, adj, limit=limit, rng=rng)
    seen = _seen_among(key, ctx, session_id, cs.cat.ids[check].tolist(), degraded)
    if rerank.too_few_left(cs, adj, checked=check, seen=seen, limit=limit):
        more = np.setdiff1d(rerank.worth_checking(cs, adj, limit=limit, rng=rng, deep=True),
                            check)
        seen |= _seen_among(key, ctx, session_id, cs.cat.ids[more].tolist(), degraded)
        check = np.union1d(check, more)
    rerank.drop_unchecked_or_seen(cs, adj, checked=check, seen=seen)
    rows, draws = rerank.shortlist(cs, adj, limit=limit, rng=rng)
    safe = allowed(viewer, [int(cs.cat.ids[r]) for r in rows])
    safe_rows = [r for r in rows if int(cs.cat.ids[r]) in safe]
    page_rows = rerank.arrange(cs, adj, safe_rows, limit=limit, draws=draws,
                               recent_authors=cursor.authors)
    posts = hydrate(viewer, [int(cs.cat.ids[r]) for r, _ in page_rows])
    page_rows = [(r, info) for r, info in page_rows if int(cs.cat.ids[r]) in posts]

    out_posts: list[Post] = []
    reco: list[dict[str, Any]] = []
    explain: list[dict[str, Any]] = []
    offset = cursor.page * limit
    for i, (r, info) in enumerate(page_rows):
        pid = int(cs.cat.ids[r])
        source = _primary_source(cs.src[r], info["slot"])
        out_posts.append(posts[pid])
        reco.append({"source": source, "position": offset + i, "request_id": request_id})
        explain.append({
            "post_id": str(pid), "position": offset + i, "source": source,
            "sources": [SOURCES[j] for j in np.flatnonzero(cs.src[r]).tolist()],
            "scorer": scorer, "score": round(float(base[r]), 5),
            "heads": {h: round(float(v[r]), 4) for h, v in heads.items()},
            "features": {name: round(float(x[r, j]), 4)
                         for j, name in enumerate(ranking.FEATURES) if x[r, j]},
            "rerank": info, "degraded": degraded, "rescored": reused is None,
        })
    served_ids = [int(cs.cat.ids[r]) for r, _ in page_rows]
    online.record_page(key, post_ids=served_ids, explanations=explain, request_id=request_id)
    next_cursor = ForYouCursor(
        page=cursor.page + 1,
        served=(cursor.served + served_ids)[-CARRY_IDS:],
        authors=(cursor.authors + [int(cs.cat.author[r]) for r, _ in page_rows])
        [-CARRY_AUTHORS:],
        session=session_id if viewer is None and session_id else "",
    ).encode() if out_posts else None
    return Page(posts=out_posts, reco=reco, next_cursor=next_cursor, request_id=request_id,
                degraded=degraded)


# --- Following ----------------------------------------------------------------------------------


def following_posts(viewer: User) -> QuerySet[Post]:
    """Posts of the accounts the viewer follows that they may see, newest first. The
    followee list is a semi-join; Postgres walks `content_post_author_recent` per followee
    or the primary key backwards, whichever is cheaper (see docs/benchmarks.md)."""
    followees = Follow.objects.filter(follower_id=viewer.pk).values("followee_id")
    qs = visible_posts_for(viewer=viewer).filter(author_id__in=followees,
                                                 status=Post.Status.PUBLISHED)
    return without_muted_authors(qs, viewer=viewer).order_by("-id")


def following(*, viewer: User, limit: int, cursor: FollowingCursor | None) -> Page:
    request_id = _request_id()

    def build(before: Any) -> QuerySet[Any]:
        return following_posts(viewer).filter(pk__lt=RawSQL("%s::bigint", (before,))) \
            .values_list("pk", flat=True)[: limit + 1]

    ids = _run_compiled(viewer, ("following", limit), build,
                        cursor.before if cursor is not None else MAX_ID)
    more = len(ids) > limit
    ids = ids[:limit]
    found = hydrate(viewer, ids)
    rows = [found[pid] for pid in ids if pid in found]
    reco = [{"source": "following", "position": i, "request_id": request_id}
            for i in range(len(rows))]
    next_cursor = FollowingCursor(before=ids[-1]).encode() if more and ids else None
    return Page(posts=rows, reco=reco, next_cursor=next_cursor, request_id=request_id)
