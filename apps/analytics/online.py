"""Online features in Redis, written by the event consumer and read by the feed (through
`apps.analytics.selectors`). Everything here is rebuildable and approximate: if Redis is
down, writes are skipped (logged) and reads answer empty, so the feed degrades instead of
failing.

Keys (`<owner>` is `u:<user id>` for a signed-in viewer, `s:<session id>` otherwise):

- `analytics:seen:<owner>` (ZSET post id -> last event ms): posts shown to or watched by
  the viewer (impression, play_start, watch_progress, watch_end, skip, completion); the
  newest 1000, TTL 3 days (refreshed on write).
- `analytics:ni:<owner>:creator|sound|hashtag` (ZSET id -> ms): the creator, sound and
  hashtags of posts the viewer marked "not interested"; the newest 200, TTL 30 days.
- `analytics:vel:<metric>:<bucket>` (HASH post id -> count): events per post in a 5-minute
  bucket (`bucket` = epoch seconds // 300, by receipt time); metric one of imp, play, comp,
  like, share; TTL 2 hours.

Velocity over the last hour is the sum of the current bucket and the 11 before it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

import redis
from django.conf import settings

from apps.core import redis_health
from apps.core.redis_sets import members_among, members_among_any
from apps.events.log import redis_client

logger = logging.getLogger(__name__)

SEEN_KEEP = 1000
SEEN_TTL = 3 * 24 * 3600
NI_KEEP = 200
NI_TTL = 30 * 24 * 3600
VELOCITY_BUCKET_S = 300
VELOCITY_BUCKETS = 12
VELOCITY_TTL = 2 * 3600
VELOCITY_METRICS = ("imp", "play", "comp", "like", "share")
NI_KINDS = ("creator", "sound", "hashtag")


def owner_key(*, user_id: int | None, session_id: str | None) -> str | None:
    if user_id is not None:
        return f"u:{user_id}"
    if session_id:
        return f"s:{session_id}"
    return None


def seen_key(owner: str) -> str:
    return f"analytics:seen:{owner}"


def ni_key(owner: str, kind: str) -> str:
    return f"analytics:ni:{owner}:{kind}"


def velocity_key(metric: str, bucket: int) -> str:
    return f"analytics:vel:{metric}:{bucket}"


def velocity_bucket(epoch_ms: int) -> int:
    return epoch_ms // 1000 // VELOCITY_BUCKET_S


def write_client() -> redis.Redis:
    """For the consumer's writes: the event log's pool (longer timeouts)."""
    return redis_client()


@cache
def read_client() -> redis.Redis:
    """For the feed's reads: short timeouts, so a dead Redis costs milliseconds."""
    return redis_health.GuardedRedis.from_url(settings.REDIS_URL, decode_responses=True,
                                              max_connections=64,
                                              **redis_health.hot_path_options())


@dataclass
class FeatureUpdate:
    """What one consumer run adds to the online features (built in memory, written in one
    pipeline after the aggregates commit)."""

    seen: dict[str, dict[int, int]] = field(default_factory=dict)  # owner -> post -> ms
    not_interested: dict[tuple[str, str], dict[int, int]] = field(default_factory=dict)
    velocity: dict[tuple[str, int], dict[int, int]] = field(default_factory=dict)

    def add_seen(self, owner: str, post_id: int, ms: int) -> None:
        posts = self.seen.setdefault(owner, {})
        posts[post_id] = max(ms, posts.get(post_id, 0))

    def add_not_interested(self, owner: str, kind: str, ids: Iterable[int], ms: int) -> None:
        ids = list(ids)
        if not ids:  # a post without hashtags: no key (ZADD refuses an empty set)
            return
        bucket = self.not_interested.setdefault((owner, kind), {})
        for item in ids:
            bucket[item] = max(ms, bucket.get(item, 0))

    def add_velocity(self, metric: str, post_id: int, received_ms: int) -> None:
        counts = self.velocity.setdefault((metric, velocity_bucket(received_ms)), {})
        counts[post_id] = counts.get(post_id, 0) + 1

    def write(self, client: redis.Redis) -> None:
        with client.pipeline(transaction=False) as pipe:
            for owner, posts in self.seen.items():
                key = seen_key(owner)
                pipe.zadd(key, {str(p): ms for p, ms in posts.items()}, gt=True)
                pipe.zremrangebyrank(key, 0, -SEEN_KEEP - 1)
                pipe.expire(key, SEEN_TTL)
            for (owner, kind), items in self.not_interested.items():
                key = ni_key(owner, kind)
                pipe.zadd(key, {str(i): ms for i, ms in items.items()}, gt=True)
                pipe.zremrangebyrank(key, 0, -NI_KEEP - 1)
                pipe.expire(key, NI_TTL)
            for (metric, bucket), counts in self.velocity.items():
                key = velocity_key(metric, bucket)
                for post_id, n in counts.items():
                    pipe.hincrby(key, str(post_id), n)
                pipe.expire(key, VELOCITY_TTL)
            pipe.execute()


def read_seen(owner: str, limit: int) -> list[int]:
    members: list[str] = read_client().zrevrange(  # type: ignore[assignment]
        seen_key(owner), 0, max(0, limit - 1))
    return [int(m) for m in members]


def read_seen_among(owner: str, post_ids: Sequence[int]) -> set[int]:
    if not post_ids:
        return set()
    return members_among(read_client(), seen_key(owner), post_ids, kind="zset")


def read_seen_among_with(owner: str | None, post_ids: Sequence[int], own_set: str
                         ) -> set[int]:
    """`read_seen_among` and the members of the caller's set `own_set`, one round trip."""
    keys = [(own_set, "set")] + ([(seen_key(owner), "zset")] if owner is not None else [])
    return members_among_any(read_client(), keys, post_ids)


def read_not_interested(owner: str) -> dict[str, set[int]]:
    with read_client().pipeline(transaction=False) as pipe:
        for kind in NI_KINDS:
            pipe.zrange(ni_key(owner, kind), 0, -1)
        replies = pipe.execute()
    return {kind: {int(m) for m in members} for kind, members in zip(NI_KINDS, replies,
                                                                      strict=True)}


def read_velocity(post_ids: Sequence[int], now_ms: int | None = None
                  ) -> dict[int, dict[str, int]]:
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    current = velocity_bucket(now)
    buckets = range(current - VELOCITY_BUCKETS + 1, current + 1)
    fields = [str(p) for p in post_ids]
    out = {p: dict.fromkeys(VELOCITY_METRICS, 0) for p in post_ids}
    if not post_ids:
        return out
    with read_client().pipeline(transaction=False) as pipe:
        order: list[str] = []
        for metric in VELOCITY_METRICS:
            for bucket in buckets:
                pipe.hmget(velocity_key(metric, bucket), fields)
                order.append(metric)
        replies = pipe.execute()
    for metric, values in zip(order, replies, strict=True):
        for post_id, value in zip(post_ids, values, strict=True):
            if value is not None:
                out[post_id][metric] += int(value)
    return out
