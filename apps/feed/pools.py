"""Cached candidate pools: a compact catalogue of recommendable posts (metadata as numpy
arrays, text embeddings as a matrix) and the global pools drawn from it: trending, fresh
and new creators (exploration), per language, per hashtag, per sound.

A reco task rebuilds the pools (`refresh`) and publishes them in Redis under a stamp; each
serving process keeps the decoded pools in memory and reloads when the stamp changes, so a
request does no catalogue work. Without Redis a process builds its own pools from the
database (the heuristic path) and keeps them for a minute."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.content.audience import protected_minor_author_q, recommendable_q
from apps.content.captions import entity_hashtags
from apps.content.models import Post
from apps.content.selectors import visible_to_q
from apps.feed import interactions, online
from apps.feed.models import EMBEDDING_DIM, PostEmbedding
from apps.media.models import MediaAsset
from apps.social.selectors import discoverable_q

logger = logging.getLogger(__name__)

TRENDING_SIZE = 2000
FRESH_SIZE = 1000
LANGUAGE_SIZE = 500
REGION_SIZE = 500
HASHTAG_SIZE = 200
SOUND_SIZE = 100
MAX_HASHTAG_POOLS = 1000
FRESH_WINDOW = timedelta(hours=48)
NEW_CREATOR_WINDOW = timedelta(days=14)
CATALOGUE_WINDOW = timedelta(days=90)
LOCAL_TTL = 60.0
STAMP_CHECK_EVERY = 5.0
# Trending: engagement per hour of age with a gravity (older posts need more to stay up).
GRAVITY = 1.5

META_FIELDS = ("id", "author_id", "sound_id", "language", "published_at", "asset__duration_ms",
               "views_count", "likes_count", "comments_count", "shares_count",
               "favourites_count", "author__date_joined", "age_restricted", "author__country")


def _epoch(value: Any, default: float) -> float:
    """A row's time as epoch seconds: a datetime (ORM rows) or a number (raw SQL rows, which
    select the epoch so that psycopg need not build datetimes)."""
    if value is None:
        return default
    return float(value) if isinstance(value, int | float) else float(value.timestamp())


@dataclass
class Catalogue:
    """Post metadata in columns. Row i describes post ids[i]."""

    ids: np.ndarray
    author: np.ndarray
    sound: np.ndarray
    language: list[str]
    published: np.ndarray  # epoch seconds
    duration: np.ndarray  # seconds
    views: np.ndarray
    likes: np.ndarray
    comments: np.ndarray
    shares: np.ndarray
    impressions: np.ndarray
    completions: np.ndarray
    trend: np.ndarray
    new_creator: np.ndarray  # bool
    hashtags: list[tuple[str, ...]]
    restricted: np.ndarray | None = None  # bool: age-restricted (adults only)
    vectors: np.ndarray | None = None  # (n, 384) float32, zero rows where missing
    country: list[str] = field(default_factory=list)  # author's country (ISO, upper) or ""
    _index: dict[int, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.restricted is None:
            self.restricted = np.zeros(len(self.ids), dtype=bool)
        if len(self.country) != len(self.ids):
            self.country = [""] * len(self.ids)

    @property
    def index(self) -> dict[int, int]:
        """Post id -> row, built on first use (most catalogues a request makes never ask)."""
        if self._index is None:
            self._index = {int(p): i for i, p in enumerate(self.ids.tolist())}
        return self._index

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def empty(cls) -> Catalogue:
        return cls.from_rows([], stats=interactions.PostStats())

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]], *, stats: interactions.PostStats,
                  now: float | None = None) -> Catalogue:
        moment = now if now is not None else time.time()
        n = len(rows)
        ids = np.fromiter((r["id"] for r in rows), dtype=np.int64, count=n)
        published = np.fromiter(
            (_epoch(r["published_at"], moment) for r in rows),
            dtype=np.float64, count=n)
        views = np.fromiter((r["views_count"] for r in rows), dtype=np.float32, count=n)
        likes = np.fromiter((r["likes_count"] for r in rows), dtype=np.float32, count=n)
        comments = np.fromiter((r["comments_count"] for r in rows), dtype=np.float32, count=n)
        shares = np.fromiter((r["shares_count"] for r in rows), dtype=np.float32, count=n)
        favs = np.fromiter((r["favourites_count"] for r in rows), dtype=np.float32, count=n)
        impressions = np.fromiter((stats.impressions.get(r["id"], 0.0) for r in rows),
                                  dtype=np.float32, count=n)
        completions = np.fromiter((stats.completions.get(r["id"], 0.0) for r in rows),
                                  dtype=np.float32, count=n)
        velocity = np.fromiter((stats.velocity.get(r["id"], -1.0) for r in rows),
                               dtype=np.float32, count=n)
        age_h = np.maximum((moment - published) / 3600.0, 0.0)
        engagement = likes + 2 * comments + 3 * shares + 2 * favs + 0.05 * views
        heuristic = engagement / np.power(age_h + 2.0, GRAVITY)
        # The analytics velocity (time-decayed, from the event stream) leads; the counters'
        # engagement per age breaks ties and covers posts without events yet.
        trend = (np.maximum(velocity, 0.0) + 0.05 * heuristic).astype(np.float32)
        new_cutoff = moment - NEW_CREATOR_WINDOW.total_seconds()
        joined = np.fromiter(
            (_epoch(r.get("author__date_joined"), 0.0)
             for r in rows), dtype=np.float64, count=n)
        return cls(
            ids=ids,
            author=np.fromiter((r["author_id"] for r in rows), dtype=np.int64, count=n),
            sound=np.fromiter((r["sound_id"] or 0 for r in rows), dtype=np.int64, count=n),
            language=[(r["language"] or "").split("-")[0].lower() for r in rows],
            published=published,
            duration=np.fromiter(((r["asset__duration_ms"] or 15000) / 1000.0 for r in rows),
                                 dtype=np.float32, count=n),
            views=views, likes=likes, comments=comments, shares=shares,
            impressions=impressions, completions=completions, trend=trend,
            new_creator=joined > new_cutoff,
            # lower-cased once here: pools, features and fatigue compare them many times
            hashtags=[tuple(t.lower() for t in (r.get("tags") or []) if t) for r in rows],
            restricted=np.fromiter((bool(r.get("age_restricted")) for r in rows), dtype=bool,
                                   count=n),
            country=[(r.get("author__country") or "").upper() for r in rows],
        )


@dataclass
class Pools:
    stamp: str
    catalogue: Catalogue
    trending: np.ndarray  # catalogue rows, best first
    fresh: np.ndarray
    by_language: dict[str, np.ndarray]
    by_hashtag: dict[str, np.ndarray]
    by_sound: dict[int, np.ndarray]
    loaded_at: float = 0.0
    by_region: dict[str, np.ndarray] = field(default_factory=dict)  # author's country


def recommendable_posts() -> QuerySet[Post]:
    """Posts a stranger may be recommended (the global pools): what a signed-out viewer may
    see and be recommended, plus age-restricted posts (flagged: only adults get them).
    Viewer-specific rules (blocks, mutes, minors, followers-only) are applied again at
    serving time on the page itself."""
    since = timezone.now() - CATALOGUE_WINDOW
    anyone = visible_to_q(None) & recommendable_q(None)
    adults = (Q(status=Post.Status.PUBLISHED, visibility=Post.Visibility.PUBLIC,
                author__is_private=False, limited_reach=False, age_restricted=True)
              & discoverable_q("author__") & ~protected_minor_author_q())
    return Post.objects.filter(anyone | adults, published_at__gte=since)


def meta_rows(posts: QuerySet[Post]) -> list[dict[str, Any]]:
    return list(posts.annotate(tags=ArrayAgg("post_hashtags__hashtag__name",
                                             filter=Q(post_hashtags__isnull=False),
                                             default=[]))
                .values(*META_FIELDS, "tags"))


def _meta_select() -> str:
    """META_FIELDS and the caption's entities as SQL (p: the post)."""
    columns = [f'p.{name} AS "{name}"' for name in META_FIELDS
               if "__" not in name and name != "published_at"]
    columns += ['EXTRACT(EPOCH FROM p.published_at)::float8 AS "published_at"',
                'a.duration_ms AS "asset__duration_ms"',
                'EXTRACT(EPOCH FROM u.date_joined)::float8 AS "author__date_joined"',
                'u.country AS "author__country"',
                "p.caption_entities::json AS caption_entities"]
    return (f"SELECT {', '.join(columns)} FROM {Post._meta.db_table} p "  # noqa: S608
            f"JOIN {MediaAsset._meta.db_table} a ON a.id = p.asset_id "
            f"JOIN {User._meta.db_table} u ON u.id = p.author_id")


_META_SQL: str | None = None


def published_meta_rows(where: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """`meta_rows` of published posts matching `where` (SQL over `p`, the post), with the
    hashtags taken from the caption's entities (no join), in one raw statement: For You
    reads candidates outside the pools on every page, where the ORM's query building cost
    more than PostgreSQL's work. The safety rules still run once, on the shortlist
    (serving's `allowed`)."""
    global _META_SQL
    if _META_SQL is None:
        _META_SQL = _meta_select()
    sql = f"{_META_SQL} WHERE p.status = %(published)s AND {where}"
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "published": Post.Status.PUBLISHED})
        names = [col.name for col in cursor.description or []]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    for row in rows:
        row["tags"] = entity_hashtags(row.pop("caption_entities"))
    return rows


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k highest scores, best first (a partial sort: pools and candidate
    sets hold thousands, pages want a few)."""
    if len(scores) <= k:
        return np.argsort(-scores, kind="stable")
    best = np.argpartition(-scores, k)[:k]
    return best[np.argsort(-scores[best], kind="stable")]


def _top(rows: np.ndarray, score: np.ndarray, size: int) -> np.ndarray:
    rows = rows.astype(np.int64)
    out: np.ndarray = rows[top_k(score[rows], size)]
    return out


def build() -> Pools:
    """Read the catalogue and draw the pools (the task's work; also the no-Redis path)."""
    now = time.time()
    rows = meta_rows(recommendable_posts())
    stats = interactions.post_stats([r["id"] for r in rows])
    return draw(Catalogue.from_rows(rows, stats=stats, now=now), now=now)


def draw(cat: Catalogue, *, now: float) -> Pools:
    """The pools over a catalogue, restricted to the rows some pool uses."""
    n = len(cat)
    all_rows = np.arange(n, dtype=np.int64)
    trending = _top(all_rows, cat.trend, TRENDING_SIZE)
    fresh_cut = now - FRESH_WINDOW.total_seconds()
    fresh_rows = all_rows[(cat.published >= fresh_cut) | cat.new_creator]
    fresh = _top(fresh_rows, cat.published.astype(np.float32), FRESH_SIZE)
    popularity = np.log1p(cat.views + 5 * cat.likes) + 0.5 * np.log1p(cat.trend * 100)
    by_lang: dict[str, list[int]] = defaultdict(list)
    by_region: dict[str, list[int]] = defaultdict(list)
    by_tag: dict[str, list[int]] = defaultdict(list)
    by_sound: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        if cat.language[i]:
            by_lang[cat.language[i]].append(i)
        if cat.country[i]:
            by_region[cat.country[i]].append(i)
        for tag in cat.hashtags[i]:
            by_tag[tag].append(i)
        if cat.sound[i]:
            by_sound[int(cat.sound[i])].append(i)
    biggest_tags = sorted(by_tag, key=lambda t: -len(by_tag[t]))[:MAX_HASHTAG_POOLS]
    biggest_sounds = sorted(by_sound, key=lambda s: -len(by_sound[s]))[:MAX_HASHTAG_POOLS]
    pools = Pools(
        stamp=f"{now:.3f}",
        catalogue=cat,
        trending=trending,
        fresh=fresh,
        by_language={k: _top(np.array(v), popularity, LANGUAGE_SIZE) for k, v in by_lang.items()},
        by_hashtag={k: _top(np.array(by_tag[k]), popularity, HASHTAG_SIZE) for k in biggest_tags},
        by_sound={k: _top(np.array(by_sound[k]), popularity, SOUND_SIZE)
                  for k in biggest_sounds},
        by_region={k: _top(np.array(v), popularity, REGION_SIZE) for k, v in by_region.items()},
    )
    keep = _pooled_rows(pools)
    return _restrict(pools, keep)


def _pooled_rows(pools: Pools) -> np.ndarray:
    parts = [pools.trending, pools.fresh, *pools.by_language.values(),
             *pools.by_region.values(),
             *pools.by_hashtag.values(), *pools.by_sound.values()]
    parts = [p for p in parts if len(p)]
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(parts))


def _restrict(pools: Pools, keep: np.ndarray) -> Pools:
    """Keep only the catalogue rows some pool uses, renumbering the pools."""
    cat = pools.catalogue
    remap = np.full(len(cat), -1, dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    small = Catalogue(
        ids=cat.ids[keep], author=cat.author[keep], sound=cat.sound[keep],
        language=[cat.language[i] for i in keep.tolist()], published=cat.published[keep],
        duration=cat.duration[keep], views=cat.views[keep], likes=cat.likes[keep],
        comments=cat.comments[keep], shares=cat.shares[keep],
        impressions=cat.impressions[keep], completions=cat.completions[keep],
        trend=cat.trend[keep], new_creator=cat.new_creator[keep],
        hashtags=[cat.hashtags[i] for i in keep.tolist()],
        restricted=cat.restricted[keep] if cat.restricted is not None else None,
        country=[cat.country[i] for i in keep.tolist()],
    )
    return Pools(
        stamp=pools.stamp, catalogue=small, trending=remap[pools.trending],
        fresh=remap[pools.fresh],
        by_language={k: remap[v] for k, v in pools.by_language.items()},
        by_hashtag={k: remap[v] for k, v in pools.by_hashtag.items()},
        by_sound={k: remap[v] for k, v in pools.by_sound.items()},
        by_region={k: remap[v] for k, v in pools.by_region.items()},
    )


# --- (de)serialisation for Redis -------------------------------------------------------------


def dumps(pools: Pools) -> str:
    cat = pools.catalogue
    body = {
        "ids": cat.ids.tolist(), "author": cat.author.tolist(), "sound": cat.sound.tolist(),
        "language": cat.language, "published": cat.published.tolist(),
        "duration": cat.duration.tolist(), "views": cat.views.tolist(),
        "likes": cat.likes.tolist(), "comments": cat.comments.tolist(),
        "shares": cat.shares.tolist(), "impressions": cat.impressions.tolist(),
        "completions": cat.completions.tolist(), "trend": cat.trend.tolist(),
        "new_creator": cat.new_creator.astype(int).tolist(),
        "hashtags": [list(h) for h in cat.hashtags],
        "restricted": (cat.restricted.astype(int).tolist() if cat.restricted is not None
                       else [0] * len(cat)),
        "trending": pools.trending.tolist(), "fresh": pools.fresh.tolist(),
        "by_language": {k: v.tolist() for k, v in pools.by_language.items()},
        "by_hashtag": {k: v.tolist() for k, v in pools.by_hashtag.items()},
        "by_sound": {str(k): v.tolist() for k, v in pools.by_sound.items()},
        "country": cat.country, "by_region": {k: v.tolist() for k, v in pools.by_region.items()},
    }
    return json.dumps(body, separators=(",", ":"))


def loads(stamp: str, payload: str) -> Pools:
    b = json.loads(payload)
    f32 = np.float32
    cat = Catalogue(
        ids=np.array(b["ids"], dtype=np.int64), author=np.array(b["author"], dtype=np.int64),
        sound=np.array(b["sound"], dtype=np.int64), language=b["language"],
        published=np.array(b["published"], dtype=np.float64),
        duration=np.array(b["duration"], dtype=f32), views=np.array(b["views"], dtype=f32),
        likes=np.array(b["likes"], dtype=f32), comments=np.array(b["comments"], dtype=f32),
        shares=np.array(b["shares"], dtype=f32),
        impressions=np.array(b["impressions"], dtype=f32),
        completions=np.array(b["completions"], dtype=f32),
        trend=np.array(b["trend"], dtype=f32),
        new_creator=np.array(b["new_creator"], dtype=bool),
        hashtags=[tuple(h) for h in b["hashtags"]],
        restricted=np.array(b["restricted"], dtype=bool),
        country=b.get("country") or [],
    )
    i64 = np.int64
    return Pools(
        stamp=stamp, catalogue=cat, trending=np.array(b["trending"], dtype=i64),
        fresh=np.array(b["fresh"], dtype=i64),
        by_language={k: np.array(v, dtype=i64) for k, v in b["by_language"].items()},
        by_hashtag={k: np.array(v, dtype=i64) for k, v in b["by_hashtag"].items()},
        by_sound={int(k): np.array(v, dtype=i64) for k, v in b["by_sound"].items()},
        by_region={k: np.array(v, dtype=i64) for k, v in b.get("by_region", {}).items()},
    )


def embeddings_of(post_ids: list[int]) -> dict[int, np.ndarray]:
    """The posts' text embeddings (those that have one)."""
    if not post_ids:
        return {}
    # real[] is decoded by psycopg in C (the vector's text form would be parsed in Python).
    table = PostEmbedding._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT post_id, vector::real[] FROM {table} "  # noqa: S608
                       "WHERE post_id = ANY(%s)", [post_ids])
        return {int(pid): np.asarray(vec, dtype=np.float32) for pid, vec in cursor.fetchall()}


def nearest_posts(vector: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k posts whose text embedding is closest to `vector` by cosine distance (the HNSW
    index), with the distance. The vector goes as text: building the ORM expression cost
    more than the search."""
    literal = "[" + ",".join(map(str, vector.astype(np.float32).tolist())) + "]"
    table = PostEmbedding._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT post_id, vector <=> %s::vector AS d FROM {table} "  # noqa: S608
                       "ORDER BY d LIMIT %s", [literal, k])
        return [(int(pid), float(d)) for pid, d in cursor.fetchall()]


def attach_vectors(pools: Pools) -> None:
    """Load the pooled posts' text embeddings into one matrix (zero rows where missing)."""
    cat = pools.catalogue
    matrix = np.zeros((len(cat), EMBEDDING_DIM), dtype=np.float32)
    for pid, vec in embeddings_of(cat.ids.tolist()).items():
        matrix[cat.index[pid]] = vec
    cat.vectors = matrix


# --- the per-process cache -------------------------------------------------------------------

_lock = threading.Lock()
_current: Pools | None = None
_checked_at = 0.0


def refresh() -> Pools:
    """Rebuild and publish (the reco task)."""
    pools = build()
    online.store_pools(dumps(pools), pools.stamp)
    return pools


def current() -> tuple[Pools, bool]:
    """The pools this process serves from, and whether they came from the shared cache
    (False: built locally because Redis or the published pools were unavailable)."""
    global _current, _checked_at
    now = time.monotonic()
    cached = _current
    if cached is not None and now - _checked_at < STAMP_CHECK_EVERY:
        return cached, cached.stamp != "local"
    with _lock:
        cached = _current
        if cached is not None and time.monotonic() - _checked_at < STAMP_CHECK_EVERY:
            return cached, cached.stamp != "local"
        stamp = online.pools_stamp()
        if stamp is not None and cached is not None and cached.stamp == stamp:
            _checked_at = time.monotonic()
            return cached, True
        if stamp is not None and cached is not None and cached.stamp != "local":
            # Newer pools were published: keep serving these while a thread loads them,
            # so no request pays for the reload.
            _reload_in_background()
            _checked_at = time.monotonic()
            return cached, True
        loaded = online.load_pools() if stamp is not None else None
        if loaded is not None:
            pools = loads(*loaded)
            attach_vectors(pools)
            shared = True
        elif cached is not None and cached.stamp == "local" \
                and time.monotonic() - cached.loaded_at < LOCAL_TTL:
            _checked_at = time.monotonic()
            return cached, False
        else:
            pools = build()
            attach_vectors(pools)
            if online.store_pools(dumps(pools), pools.stamp):
                shared = True
            else:
                pools.stamp = "local"
                shared = False
        pools.loaded_at = time.monotonic()
        _current = pools
        _checked_at = time.monotonic()
        return pools, shared


_reloading = threading.Event()


def _reload_in_background() -> None:
    if _reloading.is_set():
        return
    _reloading.set()

    def work() -> None:
        global _current, _checked_at
        try:
            loaded = online.load_pools()
            if loaded is None:
                return
            fresh = loads(*loaded)
            attach_vectors(fresh)
            fresh.loaded_at = time.monotonic()
            with _lock:
                _current = fresh
                _checked_at = time.monotonic()
        except Exception:  # the old pools keep serving; the next check tries again
            logger.exception("feed: reloading the pools failed")
        finally:
            connection.close()
            _reloading.clear()

    threading.Thread(target=work, name="feed-pools-reload", daemon=True).start()


def forget() -> None:
    """Drop this process's pools (tests; after a catalogue change that must show at once)."""
    global _current, _checked_at
    with _lock:
        _current = None
        _checked_at = 0.0


LN2 = math.log(2)
