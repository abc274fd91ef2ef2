"""What the feed reads about people's behaviour, behind one small interface.

The event aggregates and online features belong to `apps.analytics`; until a signal is
available there the feed reads the nearest thing it has (likes and favourites from
engagement). Every function is cheap (one indexed query or none) and never raises for a
missing source: serving must still answer."""

from __future__ import annotations

from dataclasses import dataclass, field

from apps.engagement.models import Favourite, Like

RECENT_POSITIVES = 30


@dataclass
class PostStats:
    impressions: dict[int, float] = field(default_factory=dict)
    completions: dict[int, float] = field(default_factory=dict)
    velocity: dict[int, float] = field(default_factory=dict)


def recent_positive_posts(*, user_id: int | None, session_id: str | None = None,
                          limit: int = RECENT_POSITIVES) -> list[int]:
    """Posts the viewer recently completed, liked or saved, newest first."""
    if user_id is None:
        return []
    liked = list(Like.objects.filter(user_id=user_id).order_by("-id")
                 .values_list("post_id", flat=True)[:limit])
    saved = list(Favourite.objects.filter(user_id=user_id).order_by("-id")
                 .values_list("post_id", flat=True)[: limit // 2])
    out: dict[int, None] = {}
    for pid in [*liked, *saved]:
        out.setdefault(int(pid), None)
    return list(out)[:limit]


def post_stats(post_ids: list[int]) -> PostStats:
    """Impressions, completions and engagement velocity per post (the pool task reads it
    for trending and for the bandit's early completion rates)."""
    return PostStats()
