"""What the feed reads about people's behaviour, behind one small interface.

The event aggregates and online features belong to `apps.analytics` (per user x post
watch stats, per post hourly stats, Redis seen-sets, not-interested and velocity); likes
and favourites come from engagement, so a like counts at once even before its event is
aggregated. Every function is cheap (an indexed query or one Redis round trip) and never
raises for a missing online source: serving must still answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from apps.analytics import selectors as analytics
from apps.analytics.models import PostHourlyStats, UserPostStats
from apps.engagement.models import Favourite, Like

logger = logging.getLogger(__name__)

RECENT_POSITIVES = 30
NOT_INTERESTED_READ = 200
# Trending: engagement per post-hour, decayed by the hour's age (half-life in hours).
VELOCITY_WINDOW = timedelta(hours=72)
VELOCITY_HALF_LIFE_H = 12.0
BANDIT_WINDOW = timedelta(days=7)


@dataclass
class PostStats:
    impressions: dict[int, float] = field(default_factory=dict)
    completions: dict[int, float] = field(default_factory=dict)
    velocity: dict[int, float] = field(default_factory=dict)


@dataclass
class Dislikes:
    posts: set[int] = field(default_factory=set)
    creators: set[int] = field(default_factory=set)
    sounds: set[int] = field(default_factory=set)


def recent_positive_posts(*, user_id: int | None, limit: int = RECENT_POSITIVES) -> list[int]:
    """Posts the viewer recently completed, liked or saved, newest first."""
    if user_id is None:
        return []
    completed = analytics.completed_post_ids(user_id=user_id, limit=limit)
    liked = list(Like.objects.filter(user_id=user_id).order_by("-id")
                 .values_list("post_id", flat=True)[: limit // 2])
    saved = list(Favourite.objects.filter(user_id=user_id).order_by("-id")
                 .values_list("post_id", flat=True)[: limit // 4])
    out: dict[int, None] = {}
    for pid in [*liked, *completed, *saved]:
        out.setdefault(int(pid), None)
    return list(out)[:limit]


def seen_among(*, user_id: int | None, session_id: str | None,
               post_ids: list[int]) -> set[int]:
    """Posts the event stream says the viewer was shown or watched (empty without Redis)."""
    return analytics.seen_among(user_id=user_id, session_id=session_id, post_ids=post_ids)


def dislikes(*, user_id: int | None, session_id: str | None) -> Dislikes:
    """"Not interested" that came through the event stream (the immediate endpoint writes
    the feed's own table, read by serving)."""
    found = analytics.not_interested_for(user_id=user_id, session_id=session_id)
    out = Dislikes(creators=set(found.creators), sounds=set(found.sounds))
    if user_id is not None:
        out.posts = set(UserPostStats.objects.filter(user_id=user_id, not_interested=True)
                        .order_by("-last_event_at")
                        .values_list("post_id", flat=True)[:NOT_INTERESTED_READ])
    return out


def post_stats(post_ids: list[int]) -> PostStats:
    """Impressions and completions (the bandit's early completion rates) and a time-decayed
    engagement velocity (trending), from the hourly aggregates in one grouped query, plus
    the last hour's online counters."""
    stats = PostStats()
    if not post_ids:
        return stats
    now = timezone.now()
    table = PostHourlyStats._meta.db_table
    sql = f"""
        SELECT post_id,
               SUM(impressions) FILTER (WHERE hour >= %(bandit)s),
               SUM(completions) FILTER (WHERE hour >= %(bandit)s),
               SUM((completions + 0.2 * plays + 3 * likes + 5 * shares + 2 * comments
                    + 2 * favourites)
                   * power(0.5, EXTRACT(EPOCH FROM (%(now)s - hour)) / 3600.0 / %(hl)s))
                   FILTER (WHERE hour >= %(velocity)s)
        FROM {table}
        WHERE hour >= %(since)s AND post_id = ANY(%(ids)s)
        GROUP BY post_id
    """  # noqa: S608 - the table name is the model's
    since = min(now - BANDIT_WINDOW, now - VELOCITY_WINDOW)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"bandit": now - BANDIT_WINDOW, "velocity": now - VELOCITY_WINDOW,
                             "now": now, "hl": VELOCITY_HALF_LIFE_H, "since": since,
                             "ids": list(post_ids)})
        for pid, imp, comp, vel in cursor.fetchall():
            stats.impressions[int(pid)] = float(imp or 0)
            stats.completions[int(pid)] = float(comp or 0)
            stats.velocity[int(pid)] = float(vel or 0)
    # The current hour is not aggregated yet everywhere: add the online counters.
    for pid, v in analytics.post_velocity(list(stats.velocity) or post_ids[:5000]).items():
        live = v.completions + 0.2 * v.plays + 3 * v.likes + 5 * v.shares
        if live:
            stats.velocity[pid] = stats.velocity.get(pid, 0.0) + float(live)
    return stats
