"""The pages: For You (score, re-rank against the seen-sets, gate, hydrate, record) and
Following (the followed accounts' visible posts, newest first)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from apps.accounts.models import User
from apps.content.models import Post
from apps.content.selectors import visible_posts_for, without_muted_authors
from apps.core.ids import MAX_ID
from apps.feed import interactions, online, pools, ranking, rerank, scored_cache
from apps.feed.candidates import SOURCES, ViewerContext
from apps.feed.cursors import CARRY_AUTHORS, CARRY_IDS, FollowingCursor, ForYouCursor
from apps.feed.serving.gate import _run_compiled, allowed, hydrate
from apps.feed.serving.scoring import _score_for, _scored
from apps.feed.serving.viewer import viewer_context
from apps.social.models import Follow

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


def _primary_source(src_row: np.ndarray, slot: str) -> str:
    if slot == "explore":
        return "explore"
    names = {SOURCES[i] for i in np.flatnonzero(src_row).tolist()}
    for name in SOURCE_PRIORITY:
        if name in names:
            return name
    return "trending"


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
