"""A live's viewers and counters in Redis (approximate by design; PostgreSQL keeps what the
stats need, written by `services.stats_record`).

Keys per live (`swipeme:live:<id>:...`), all expiring a day after their last write:
- `viewers`: sorted set of the chat connections (channel names) watching, scored by when
  the entry lapses; each process's room refreshes its connections every
  PRESENCE_REFRESH_SECONDS, so a crashed worker's viewers drop out within PRESENCE_TTL.
  The viewer count is the entries not lapsed (one person with two tabs counts twice).
- `uniq`: a HyperLogLog of who watched (`unique_member`: user ids; for a signed-out
  viewer the device, from the `feed_session` cookie the player page sets, so reconnects and
  reloads of one device count once; without a cookie, the connection).
- `stats`: hash of `peak`, `watch` (viewer-seconds, integrated by the room's ticker),
  `likes` (total taps).
- `likes:new`, `joins`, `joins:n`: what the next tick tells the room (taps since, and the
  first few names of who joined since and how many).
- `ticker`: which process's room runs the live's tick (a lease, SET NX PX).

Every read and write goes through the Redis breaker: an outage costs the count (0 shown),
never a request."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping
from functools import cache

import redis
from django.conf import settings

from apps.core import redis_health
from apps.feed.api.serializers import SESSION_ID_PATTERN
from apps.feed.api.views import SESSION_COOKIE as FEED_SESSION_COOKIE

logger = logging.getLogger(__name__)

PRESENCE_TTL_SECONDS = 60
PRESENCE_REFRESH_SECONDS = 20
KEY_TTL_SECONDS = 24 * 3600
JOIN_NAMES = 3  # "maya, sam, lee and 12 others joined"


def key(live_id: int, name: str) -> str:
    return f"swipeme:live:{live_id}:{name}"


# The signed-out device id is the feed's (its `feed_session` cookie and id pattern: one
# device id for a signed-out visitor); the live player page sets it when it is missing.
DEVICE_COOKIE = FEED_SESSION_COOKIE
_DEVICE_ID = re.compile(SESSION_ID_PATTERN)


def device_id(cookies: Mapping[str, str]) -> str | None:
    """The signed-out viewer's device id from the request's cookies (None if absent or
    malformed)."""
    value = cookies.get(DEVICE_COOKIE, "")
    return value if _DEVICE_ID.match(value) else None


def unique_member(*, user_id: int | None, cookies: Mapping[str, str], connection: str) -> str:
    """Who a socket is in the live's unique viewers: the account; signed out, the device
    (`d:` + its id), so one device reconnecting counts once; with no device id, the
    connection itself (counted per connection, as before)."""
    if user_id is not None:
        return str(user_id)
    device = device_id(cookies)
    return f"d:{device}" if device is not None else connection


@cache
def _redis() -> redis.Redis:
    return redis_health.GuardedRedis.from_url(settings.REDIS_URL, decode_responses=True,
                                              **redis_health.hot_path_options())


def client() -> redis.Redis:
    return _redis()


def viewer_counts(live_ids: Iterable[int]) -> dict[int, int]:
    """The approximate number watching each live now (one round trip; 0 while Redis is
    unavailable)."""
    ids = list(dict.fromkeys(int(i) for i in live_ids))
    if not ids:
        return {}
    now = time.time()
    try:
        pipe = _redis().pipeline(transaction=False)
        for live_id in ids:
            pipe.zcount(key(live_id, "viewers"), now, "+inf")
        counts = pipe.execute()
    except redis_health.OUTAGE_ERRORS as exc:
        logger.info("live: viewer count unknown, Redis unavailable (%s)", exc)
        return dict.fromkeys(ids, 0)
    return {live_id: int(n) for live_id, n in zip(ids, counts, strict=True)}


def viewer_count(live_id: int) -> int:
    return viewer_counts([live_id])[int(live_id)]


def counters(live_id: int) -> dict[str, int]:
    """What Redis counted for the stats: peak, unique, watch (seconds), likes."""
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.hgetall(key(live_id, "stats"))
        pipe.pfcount(key(live_id, "uniq"))
        stats, unique = pipe.execute()
    except redis_health.OUTAGE_ERRORS as exc:
        logger.info("live: counters unknown, Redis unavailable (%s)", exc)
        return {}
    return {"peak": int(float(stats.get("peak") or 0)), "unique": int(unique or 0),
            "watch": int(float(stats.get("watch") or 0)),
            "likes": int(float(stats.get("likes") or 0))}


def likes_add(live_id: int, taps: int) -> None:
    """Taps on the heart: counted now, told to the room by the next tick."""
    pipe = _redis().pipeline(transaction=False)
    pipe.incrby(key(live_id, "likes:new"), taps)
    pipe.hincrby(key(live_id, "stats"), "likes", taps)
    for name in ("likes:new", "stats"):
        pipe.expire(key(live_id, name), KEY_TTL_SECONDS)
    pipe.execute()


def forget(live_id: int) -> None:
    """The live ended and its stats are written: its keys go."""
    try:
        _redis().delete(*(key(live_id, name) for name in (
            "viewers", "uniq", "stats", "likes:new", "joins", "joins:n", "ticker")))
    except redis_health.OUTAGE_ERRORS as exc:
        logger.info("live: keys left to expire (%s)", exc)

