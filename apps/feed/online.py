"""The feed's Redis: seen-sets, cached candidate pools, impression explanations.

Everything here is rebuildable and optional: every function answers something sensible
(an empty set, None) when Redis is unreachable, and says so, so that serving degrades to
the heuristic feed instead of failing. The client has short timeouts for that reason and
its own URL (`SWIPEME_FEED_REDIS_URL`, default the project's Redis)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import Any

import redis
from django.conf import settings

from apps.core import redis_health
from apps.core.redis_sets import members_among

logger = logging.getLogger(__name__)

SEEN_TTL = 3 * 24 * 3600
EXPLAIN_TTL = 7 * 24 * 3600
EXPLAIN_KEEP = 300
POOLS_PREFIX = "feed:pools:v1"
# After a failure, do not try Redis again for this long (a dead Redis costs one timeout
# per process per interval, not one per request).
RETRY_AFTER = 5.0

_clients: dict[str, redis.Redis] = {}
_down_until: dict[str, float] = {}


def _pools_keys() -> tuple[str, str]:
    """Pools describe one database's posts: two databases sharing a Redis (dev and a bench,
    two test databases) must not serve each other's."""
    from django.db import connection

    name = connection.settings_dict["NAME"]
    return f"{POOLS_PREFIX}:{name}", f"{POOLS_PREFIX}:{name}:stamp"


def redis_url() -> str:
    return str(getattr(settings, "SWIPEME_FEED_REDIS_URL", "") or settings.REDIS_URL)


def client() -> redis.Redis | None:
    """The feed's Redis client, or None while it is known to be down."""
    url = redis_url()
    if _down_until.get(url, 0.0) > time.monotonic():
        return None
    found = _clients.get(url)
    if found is None:
        found = redis.Redis.from_url(url, decode_responses=True, max_connections=64,
                                     **redis_health.hot_path_options())
        _clients[url] = found
    return found


def mark_down(exc: Exception) -> None:
    logger.warning("feed redis unavailable: %s", exc)
    _down_until[redis_url()] = time.monotonic() + RETRY_AFTER


def reset() -> None:
    """Forget the down marks (tests, and a server that was fixed)."""
    _down_until.clear()


def viewer_key(*, user_id: int | None, session_id: str | None) -> str | None:
    if user_id is not None:
        return f"u:{user_id}"
    if session_id:
        return f"s:{session_id}"
    return None


def seen_key(key: str) -> str:
    return f"feed:seen:{key}"


def on_project_redis() -> bool:
    """Whether the feed's keys live on the project's Redis (no SWIPEME_FEED_REDIS_URL of
    their own) and it is not known to be down: then another app's read may ask one of
    them in its own round trip (the seen-sets: `serving.pages._seen_among`)."""
    return redis_url() == str(settings.REDIS_URL) and client() is not None


def seen_among(key: str | None, post_ids: list[int]) -> set[int] | None:
    """Which of these posts the viewer was already served or watched; None without Redis."""
    r = client()
    if r is None or key is None or not post_ids:
        return None if r is None else set()
    try:
        return members_among(r, seen_key(key), post_ids)
    except redis.RedisError as exc:
        mark_down(exc)
        return None


def record_page(key: str | None, *, post_ids: list[int], explanations: list[dict[str, Any]],
                request_id: str) -> bool:
    """After a page is served: its posts join the seen-set, and their explanations the
    viewer's explanation log (newest first, capped, with a TTL). One round trip."""
    r = client()
    if r is None or key is None or not post_ids:
        return False
    seen = seen_key(key)
    log = f"feed:explain:{key}"
    try:
        pipe = r.pipeline(transaction=False)
        pipe.sadd(seen, *[str(p) for p in post_ids])
        pipe.expire(seen, SEEN_TTL)
        stamp = int(time.time())
        pipe.lpush(log, *[json.dumps({**e, "request_id": request_id, "at": stamp},
                                     separators=(",", ":")) for e in reversed(explanations)])
        pipe.ltrim(log, 0, EXPLAIN_KEEP - 1)
        pipe.expire(log, EXPLAIN_TTL)
        pipe.execute()
    except redis.RedisError as exc:
        mark_down(exc)
        return False
    return True


def mark_seen(key: str | None, post_ids: Iterable[int]) -> None:
    r = client()
    ids = [str(p) for p in post_ids]
    if r is None or key is None or not ids:
        return
    try:
        pipe = r.pipeline(transaction=False)
        pipe.sadd(f"feed:seen:{key}", *ids)
        pipe.expire(f"feed:seen:{key}", SEEN_TTL)
        pipe.execute()
    except redis.RedisError as exc:
        mark_down(exc)


def explanations(key: str, *, post_id: int | None = None,
                 limit: int = EXPLAIN_KEEP) -> list[dict[str, Any]]:
    """The logged explanations of what a viewer was shown (newest first)."""
    r = client()
    if r is None:
        return []
    try:
        raw = r.lrange(f"feed:explain:{key}", 0, EXPLAIN_KEEP - 1)
    except redis.RedisError as exc:
        mark_down(exc)
        return []
    out = []
    for item in raw:
        entry = json.loads(item)
        if post_id is None or str(entry.get("post_id")) == str(post_id):
            out.append(entry)
        if len(out) >= limit:
            break
    return out


def store_pools(payload: str, stamp: str) -> bool:
    r = client()
    if r is None:
        return False
    try:
        key, stamp_key = _pools_keys()
        pipe = r.pipeline(transaction=True)
        pipe.set(key, payload, ex=24 * 3600)
        pipe.set(stamp_key, stamp, ex=24 * 3600)
        pipe.execute()
    except redis.RedisError as exc:
        mark_down(exc)
        return False
    return True


def pools_stamp() -> str | None:
    r = client()
    if r is None:
        return None
    try:
        value = r.get(_pools_keys()[1])
    except redis.RedisError as exc:
        mark_down(exc)
        return None
    return str(value) if value is not None else None


def load_pools() -> tuple[str, str] | None:
    r = client()
    if r is None:
        return None
    try:
        key, stamp_key = _pools_keys()
        stamp, payload = r.mget(stamp_key, key)
    except redis.RedisError as exc:
        mark_down(exc)
        return None
    if stamp is None or payload is None:
        return None
    return str(stamp), str(payload)
