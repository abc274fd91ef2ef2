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
from typing import Any

from django.db import connection
from django.utils import timezone

from apps.analytics import selectors as analytics
from apps.analytics.models import PostHourlyStats, UserPostStats
from apps.engagement.models import Favourite, Like
from apps.feed.models import NotInterested, UserInterests
from apps.social.models import Follow

logger = logging.getLogger(__name__)

RECENT_POSITIVES = 30
NOT_INTERESTED_READ = 200
# Trending: engagement per post-hour, decayed by the hour's age (half-life in hours).
VELOCITY_WINDOW = timedelta(hours=72)
VELOCITY_HALF_LIFE_H = 12.0
BANDIT_WINDOW = timedelta(days=7)
# Trending's windows, narrowest first (pools widen until one has enough posts), each with
# the half-life its engagement decays by.
TRENDING_WINDOWS = (("1h", timedelta(hours=1), 1.0), ("24h", timedelta(hours=24), 6.0),
                    ("7d", timedelta(days=7), 36.0))


@dataclass
class PostStats:
    impressions: dict[int, float] = field(default_factory=dict)
    completions: dict[int, float] = field(default_factory=dict)
    velocity: dict[int, float] = field(default_factory=dict)
    # Trending window name -> post id -> decayed engagement within that window.
    windows: dict[str, dict[int, float]] = field(default_factory=dict)


@dataclass
class Dislikes:
    creators: set[int] = field(default_factory=set)
    sounds: set[int] = field(default_factory=set)


def merge_positives(*, liked: list[int], completed: list[int], saved: list[int],
                    limit: int = RECENT_POSITIVES) -> list[int]:
    """Recent likes first, then completions, then saves; each post once."""
    out: dict[int, None] = {}
    for pid in [*liked, *completed, *saved]:
        out.setdefault(int(pid), None)
    return list(out)[:limit]


@dataclass
class ViewerRows:
    """What the database knows about a signed-in viewer, as the feed needs it."""

    follows: set[int] = field(default_factory=set)
    interests: list[str] = field(default_factory=list)
    # "not interested" from the endpoint: (post, author, sound, hashtags), newest first
    not_interested: list[tuple[int, int, int | None, list[str]]] = field(default_factory=list)
    disliked_posts: set[int] = field(default_factory=set)  # ... and from the event stream
    positives: list[int] = field(default_factory=list)


def viewer_rows(*, user_id: int, max_follows: int = 5000,
                not_interested: int = NOT_INTERESTED_READ,
                positives: int = RECENT_POSITIVES) -> ViewerRows:
    """What the social graph, engagement, analytics' aggregates (the same reads as
    `analytics.selectors.completed_post_ids`) and the feed's own tables say about the
    viewer, in one statement: this runs on every For You page, where seven ORM queries
    cost more in Python than in PostgreSQL. Each part is an indexed, limited read. (jsonb
    comes back as text on Django's connections; `json` is decoded by psycopg.)"""
    sql = f"""
        SELECT
          ARRAY(SELECT followee_id FROM {Follow._meta.db_table}
                WHERE follower_id = %(u)s LIMIT %(follows)s),
          (SELECT interests::json FROM {UserInterests._meta.db_table} WHERE user_id = %(u)s),
          (SELECT COALESCE(json_agg(json_build_array(post_id, author_id, sound_id, hashtags)
                                    ORDER BY id DESC), '[]')
           FROM (SELECT id, post_id, author_id, sound_id, hashtags
                 FROM {NotInterested._meta.db_table} WHERE user_id = %(u)s
                 ORDER BY id DESC LIMIT %(ni)s) ni),
          ARRAY(SELECT post_id FROM {UserPostStats._meta.db_table}
                WHERE user_id = %(u)s AND not_interested
                ORDER BY last_event_at DESC LIMIT %(ni)s),
          ARRAY(SELECT post_id FROM {UserPostStats._meta.db_table}
                WHERE user_id = %(u)s AND (completed OR liked)
                ORDER BY last_event_at DESC LIMIT %(pos)s),
          ARRAY(SELECT post_id FROM {Like._meta.db_table} WHERE user_id = %(u)s
                ORDER BY id DESC LIMIT %(liked)s),
          ARRAY(SELECT post_id FROM {Favourite._meta.db_table} WHERE user_id = %(u)s
                ORDER BY id DESC LIMIT %(saved)s)
    """  # noqa: S608 - table names are the models'
    with connection.cursor() as cursor:
        cursor.execute(sql, {"u": user_id, "follows": max_follows, "ni": not_interested,
                             "pos": positives, "liked": positives // 2,
                             "saved": positives // 4})
        follows, interests, ni_rows, disliked, completed, liked, saved = cursor.fetchone()
    return ViewerRows(
        follows={int(v) for v in follows},
        interests=[str(t) for t in interests or []],
        not_interested=[(int(p), int(a), int(sd) if sd else None,
                         [str(t) for t in tags or []]) for p, a, sd, tags in ni_rows],
        disliked_posts={int(v) for v in disliked},
        positives=merge_positives(liked=liked, completed=completed, saved=saved,
                                  limit=positives),
    )


def online_dislikes(*, user_id: int | None, session_id: str | None) -> Dislikes:
    """"Not interested" creators and sounds from the online features (Redis)."""
    found = analytics.not_interested_for(user_id=user_id, session_id=session_id)
    return Dislikes(creators=set(found.creators), sounds=set(found.sounds))


def seen_among(*, user_id: int | None, session_id: str | None,
               post_ids: list[int]) -> set[int]:
    """Posts the event stream says the viewer was shown or watched (empty without Redis)."""
    return analytics.seen_among(user_id=user_id, session_id=session_id, post_ids=post_ids)


def seen_among_with(*, user_id: int | None, session_id: str | None, post_ids: list[int],
                    own_set: str) -> set[int] | None:
    """`seen_among` and the feed's own seen-set `own_set` (on the project's Redis) in one
    round trip: the posts in either; None if Redis is unavailable."""
    return analytics.seen_among_with(user_id=user_id, session_id=session_id,
                                     post_ids=post_ids, own_set=own_set)


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
                   FILTER (WHERE hour >= %(velocity)s),
               {{windows}}
        FROM {table}
        WHERE hour >= %(since)s AND post_id = ANY(%(ids)s)
        GROUP BY post_id
    """  # noqa: S608 - the table name is the model's
    # An hour bucket counts in a window when it ends inside it (the last hour's bucket
    # starts up to an hour before now).
    windows = ",\n               ".join(
        f"SUM({_ENGAGEMENT} * power(0.5, EXTRACT(EPOCH FROM (%(now)s - hour)) / 3600.0 "
        f"/ %(hl_{name})s)) FILTER (WHERE hour > %(since_{name})s)"
        for name, _, _ in TRENDING_WINDOWS)
    sql = sql.format(windows=windows)
    since = min(now - BANDIT_WINDOW, now - VELOCITY_WINDOW,
                *(now - span - timedelta(hours=1) for _, span, _ in TRENDING_WINDOWS))
    params: dict[str, Any] = {
        "bandit": now - BANDIT_WINDOW, "velocity": now - VELOCITY_WINDOW, "now": now,
        "hl": VELOCITY_HALF_LIFE_H, "since": since, "ids": list(post_ids)}
    for name, span, half_life in TRENDING_WINDOWS:
        params[f"since_{name}"] = now - span - timedelta(hours=1)
        params[f"hl_{name}"] = half_life
        stats.windows[name] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for pid, imp, comp, vel, *per_window in cursor.fetchall():
            stats.impressions[int(pid)] = float(imp or 0)
            stats.completions[int(pid)] = float(comp or 0)
            stats.velocity[int(pid)] = float(vel or 0)
            for (name, _, _), value in zip(TRENDING_WINDOWS, per_window, strict=True):
                if value:
                    stats.windows[name][int(pid)] = float(value)
    # The current hour is not aggregated yet everywhere: add the online counters (they
    # count in every trending window).
    for pid, v in analytics.post_velocity(list(stats.velocity) or post_ids[:5000]).items():
        live = v.completions + 0.2 * v.plays + 3 * v.likes + 5 * v.shares
        if live:
            stats.velocity[pid] = stats.velocity.get(pid, 0.0) + float(live)
            for name, _, _ in TRENDING_WINDOWS:
                stats.windows[name][pid] = stats.windows[name].get(pid, 0.0) + float(live)
    return stats


_ENGAGEMENT = ("(completions + 0.2 * plays + 3 * likes + 5 * shares + 2 * comments "
               "+ 2 * favourites)")
