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
            trend_windows=np.array(
                [[stats.windows.get(name, {}).get(r["id"], 0.0) for r in rows]
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
