"""The catalogue in columns (post metadata as numpy arrays, one row a post) and the pools
drawn over it; `top_k`, the partial sort pools and candidate sets use."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np

from apps.feed import interactions

NEW_CREATOR_WINDOW = timedelta(days=14)
# Trending: engagement per hour of age with a gravity (older posts need more to stay up).
GRAVITY = 1.5
# A post's metadata as `Catalogue.from_tuples` reads it (`meta_rows`' keys, in this order).
COLUMNS = ("id", "author_id", "sound_id", "language", "published_at", "asset__duration_ms",
           "views_count", "likes_count", "comments_count", "shares_count",
           "favourites_count", "author__date_joined", "age_restricted", "author__country",
           "tags")


def _epoch(value: Any, default: float) -> float:
    """A row's time as epoch seconds: a datetime (ORM rows) or a number (raw SQL rows, which
    select the epoch so that psycopg need not build datetimes)."""
    if value is None:
        return default
    return float(value) if isinstance(value, int | float) else float(value.timestamp())


def _per_post(values: dict[int, float], post_ids: list[int], default: float) -> np.ndarray:
    """values[post] (default where absent) for each post, as float32 (the posts described
    outside the pools have no stats: no lookup per post then)."""
    if not values:
        return np.full(len(post_ids), default, dtype=np.float32)
    return np.fromiter((values.get(i, default) for i in post_ids), dtype=np.float32,
                       count=len(post_ids))


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
    # (n, len(interactions.TRENDING_WINDOWS)): engagement per trending window, narrowest
    # first; only while the pools are drawn (not carried in Redis nor by `take`).
    trend_windows: np.ndarray | None = None
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
        """From `meta_rows`-shaped dicts (META_FIELDS and `tags`)."""
        return cls.from_tuples([tuple(r.get(name) for name in COLUMNS) for r in rows],
                               stats=stats, now=now)

    @classmethod
    def from_tuples(cls, rows: list[tuple[Any, ...]], *, stats: interactions.PostStats,
                    now: float | None = None) -> Catalogue:
        """From rows whose values are in COLUMNS' order (`tags`: the hashtags in caption
        order, each once; any iterable of names)."""
        moment = now if now is not None else time.time()
        n = len(rows)
        if n:
            (id_, author, sound, language, published_at, duration_ms, views_count,
             likes_count, comments_count, shares_count, favourites_count, date_joined,
             age_restricted, country, tags) = zip(*rows, strict=True)
        else:
            (id_, author, sound, language, published_at, duration_ms, views_count,
             likes_count, comments_count, shares_count, favourites_count, date_joined,
             age_restricted, country, tags) = ((),) * len(COLUMNS)
        ids = np.fromiter(id_, dtype=np.int64, count=n)
        published = np.fromiter((_epoch(v, moment) for v in published_at),
                                dtype=np.float64, count=n)
        views = np.fromiter(views_count, dtype=np.float32, count=n)
        likes = np.fromiter(likes_count, dtype=np.float32, count=n)
        comments = np.fromiter(comments_count, dtype=np.float32, count=n)
        shares = np.fromiter(shares_count, dtype=np.float32, count=n)
        favs = np.fromiter(favourites_count, dtype=np.float32, count=n)
        id_list = ids.tolist()
        impressions = _per_post(stats.impressions, id_list, 0.0)
        completions = _per_post(stats.completions, id_list, 0.0)
        velocity = _per_post(stats.velocity, id_list, -1.0)
        age_h = np.maximum((moment - published) / 3600.0, 0.0)
        engagement = likes + 2 * comments + 3 * shares + 2 * favs + 0.05 * views
        heuristic = engagement / np.power(age_h + 2.0, GRAVITY)
        # The analytics velocity (time-decayed, from the event stream) leads; the counters'
        # engagement per age breaks ties and covers posts without events yet.
        trend = (np.maximum(velocity, 0.0) + 0.05 * heuristic).astype(np.float32)
        new_cutoff = moment - NEW_CREATOR_WINDOW.total_seconds()
        joined = np.fromiter((_epoch(v, 0.0) for v in date_joined), dtype=np.float64,
                             count=n)
        return cls(
            ids=ids,
            author=np.fromiter(author, dtype=np.int64, count=n),
            sound=np.fromiter((v or 0 for v in sound), dtype=np.int64, count=n),
            language=[(v or "").split("-")[0].lower() for v in language],
            published=published,
            duration=np.fromiter(((v or 15000) / 1000.0 for v in duration_ms),
                                 dtype=np.float32, count=n),
            views=views, likes=likes, comments=comments, shares=shares,
            impressions=impressions, completions=completions, trend=trend,
            new_creator=joined > new_cutoff,
            # lower-cased once here: pools, features and fatigue compare them many times
            hashtags=[tuple(t.lower() for t in (v or []) if t) for v in tags],
            restricted=np.fromiter((bool(v) for v in age_restricted), dtype=bool, count=n),
            country=[(v or "").upper() for v in country],
            trend_windows=np.array(
                [_per_post(stats.windows.get(name, {}), id_list, 0.0)
                 for name, _, _ in interactions.TRENDING_WINDOWS],
                dtype=np.float32).reshape(len(interactions.TRENDING_WINDOWS), n).T,
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
    trending_window: str = ""  # the trending window the pool was drawn from ("1h", ...)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k highest scores, best first (a partial sort: pools and candidate
    sets hold thousands, pages want a few)."""
    if len(scores) <= k:
        return np.argsort(-scores, kind="stable")
    best = np.argpartition(-scores, k)[:k]
    return best[np.argsort(-scores[best], kind="stable")]
