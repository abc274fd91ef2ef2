"""The pages: For You (score, re-rank against the seen-sets, gate, hydrate, record) and
Following (the followed accounts' visible posts, newest first)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from apps.accounts.models import User
from apps.content.models import Post
from apps.content.selectors import visible_posts_for, without_muted_authors
from apps.core.ids import MAX_ID
from apps.feed import hooks, interactions, online, pools, ranking, rerank, scored_cache
from apps.feed.candidates import SOURCES, ViewerContext
from apps.feed.cursors import CARRY_AUTHORS, CARRY_IDS, FollowingCursor, ForYouCursor
from apps.feed.serving.gate import _run_compiled, allowed, hydrate
from apps.feed.serving.scoring import _score_for, _scored, page_flags
from apps.feed.serving.viewer import viewer_context
from apps.social.models import Follow

if TYPE_CHECKING:
    from apps.experiments.evaluation import Evaluation

# Which source a post is credited to when several proposed it.
SOURCE_PRIORITY = ("followed", "similar", "coengaged", "session", "collab", "sound_tag",
                   "interest", "trending", "language", "region", "explore")


@dataclass
class Page:
    posts: list[Post]
    reco: list[dict[str, Any]]
    next_cursor: str | None
    request_id: str
    degraded: list[str] = field(default_factory=list)
    # Ad items to insert (feed.hooks.ad_slots): (before posts[i], the API item).
    ads: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


@dataclass(frozen=True)
class ClientHints:
    """What the request says about where and on what the viewer is (for ad targeting)."""

    country: str = ""
    language: str = ""
    device: str = ""
    region: str = ""  # ISO 3166-2 ("US-CA")


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
    event stream's): both sets asked in one round trip when they share the project's
    Redis (each page asks about every candidate: ~1,100 ids)."""
    if key is not None and post_ids and online.on_project_redis():
        both = interactions.seen_among_with(user_id=ctx.user_id, session_id=session_id,
                                            post_ids=post_ids, own_set=online.seen_key(key))
        if both is not None:
            return both
        # As a failed read of the feed's own set: the page degrades and the feed's other
        # Redis work waits out the retry delay.
        online.mark_down(ConnectionError("the seen-sets did not answer"))
        if "redis" not in degraded:
            degraded.append("redis")
        return set()
    seen = online.seen_among(key, post_ids)
    if seen is None:
        seen = set()
        if "redis" not in degraded:
            degraded.append("redis")
    return seen | interactions.seen_among(user_id=ctx.user_id, session_id=session_id,
                                          post_ids=post_ids)


def _hashtags(post: Post) -> tuple[str, ...]:
    return tuple(str(e.get("name", "")) for e in (post.caption_entities or [])
                 if isinstance(e, dict) and e.get("type") == "hashtag")


def _fill_ads(viewer: User | None, session_id: str | None, posts: list[Post],
              cursor: ForYouCursor, offset: int, request_id: str,
              hints: ClientHints | None, flags: Evaluation) -> hooks.AdSlotAnswer | None:
    if not posts or not len(hooks.ad_slots):
        return None
    hints = hints or ClientHints()
    return hooks.fill_ad_slots(hooks.AdSlotRequest(
        user=viewer, session_id=session_id,
        posts=tuple(hooks.AdSlotPost(post_id=p.pk, sensitive=bool(p.age_restricted),
                                     hashtags=_hashtags(p)) for p in posts),
        since_last_ad=cursor.ad_since, gap=cursor.ad_gap, position_offset=offset,
        request_id=request_id, country=hints.country, language=hints.language,
        device=hints.device, region=hints.region, flags=flags))


def for_you(*, viewer: User | None, session_id: str | None, limit: int,
            cursor: ForYouCursor | None, rng: np.random.Generator | None = None,
            hints: ClientHints | None = None) -> Page:
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
    flags = page_flags(viewer, session_id)  # the ranker's flags and the ad load's
    if reused is None:
        scored = _score_for(
            viewer, ctx, p, model, degraded, flags=flags,
            seen=lambda ids: _seen_among(key, ctx, session_id, ids, degraded))
        _scored.put(key, fp, (scored, list(degraded)))
    else:
        scored, was_degraded = reused
        degraded += [d for d in was_degraded if d not in degraded]
    cs, x, base, heads, scorer = scored.cs, scored.x, scored.base, scored.heads, scored.scorer

    adj = rerank.adjust(cs, base, ctx, seen=set(), now=started)

    def seen_now(ids: list[int]) -> set[int]:
        # Scored just now: stage 1 asked the seen-sets about every candidate and kept only
        # the unseen, so asking again about the same posts in this request answers nothing.
        if reused is None:
            return set()
        return _seen_among(key, ctx, session_id, ids, degraded)

    # The seen-sets are asked only about the candidates that could make this page, and
    # about more only when most of those were seen.
    check = rerank.worth_checking(cs, adj, limit=limit, rng=rng)
    seen = seen_now(cs.cat.ids[check].tolist())
    if rerank.too_few_left(cs, adj, checked=check, seen=seen, limit=limit):
        more = np.setdiff1d(rerank.worth_checking(cs, adj, limit=limit, rng=rng, deep=True),
                            check)
        seen |= seen_now(cs.cat.ids[more].tolist())
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
    ads = _fill_ads(viewer, session_id, out_posts, cursor, offset, request_id, hints, flags)
    next_cursor = ForYouCursor(
        page=cursor.page + 1,
        served=(cursor.served + served_ids)[-CARRY_IDS:],
        authors=(cursor.authors + [int(cs.cat.author[r]) for r, _ in page_rows])
        [-CARRY_AUTHORS:],
        session=session_id if viewer is None and session_id else "",
        ad_since=ads.since_last_ad if ads else cursor.ad_since + len(out_posts),
        ad_gap=ads.gap if ads else cursor.ad_gap,
    ).encode() if out_posts else None
    return Page(posts=out_posts, reco=reco, next_cursor=next_cursor, request_id=request_id,
                degraded=degraded, ads=list(ads.ads) if ads else [])


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

    def build(who: User, before: Any) -> QuerySet[Any]:
        return following_posts(who).filter(pk__lt=RawSQL("%s::bigint", (before,))) \
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
