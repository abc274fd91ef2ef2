"""Per-recipient, per-channel push budgets (token buckets in Redis) and what a message
already did (so a retried delivery neither pays twice nor sends twice).

A bucket holds SWIPEME_PUSH_PER_HOUR tokens and refills at that rate per hour, by Redis's
own clock (one script: read, refill, take, write). A message takes one token per channel
once: its charge marker lives a day, so a retry of the same message is free. Redis is a
hot-path dependency behind the project's breaker (apps.core.redis_health): with Redis
unavailable the caller sends nothing rather than wait or send without a budget.
"""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings

from apps.core import redis_health

CHANNELS = ("webpush", "mobile")
MARKER_TTL = 24 * 3600
BUCKET_TTL = 2 * 3600  # a full bucket needs no row: one hour refills it

_TAKE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
local capacity = tonumber(ARGV[1])
local per_second = capacity / 3600.0
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local tokens = tonumber(redis.call('HGET', KEYS[1], 't'))
local stamp = tonumber(redis.call('HGET', KEYS[1], 'ts'))
if tokens == nil or stamp == nil then tokens = capacity; stamp = now end
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * per_second)
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
  redis.call('SET', KEYS[2], '1', 'EX', tonumber(ARGV[2]))
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return taken
"""


@cache
def redis_client() -> redis.Redis:
    """Short timeouts, behind the default breaker: a hung Redis costs one timeout, then
    nothing while the breaker is open."""
    return redis_health.GuardedRedis.from_url(settings.REDIS_URL, decode_responses=True,
                                              **redis_health.hot_path_options())


def bucket_key(user_id: int, channel: str) -> str:
    return f"notif:push:bucket:{user_id}:{channel}"


def take(*, user_id: int, channel: str, message_key: str) -> bool:
    """Whether the message may go out on the channel (takes a token the first time).
    Raises redis.RedisError when Redis is unavailable."""
    if channel not in CHANNELS:
        raise ValueError(channel)
    charged = f"notif:push:charged:{message_key}:{user_id}:{channel}"
    answer = redis_client().eval(_TAKE, 2, bucket_key(user_id, channel), charged,
                                 settings.SWIPEME_PUSH_PER_HOUR, MARKER_TTL, BUCKET_TTL)
    return bool(answer)


def _sent_key(user_id: int, message_key: str) -> str:
    return f"notif:push:sent:{message_key}:{user_id}"


def already_sent(*, user_id: int, message_key: str) -> set[str]:
    """The targets this message already reached (a retried delivery skips them)."""
    members = redis_client().smembers(_sent_key(user_id, message_key))
    return {str(member) for member in members}  # type: ignore[union-attr]


def mark_sent(*, user_id: int, message_key: str, targets: list[str]) -> None:
    if not targets:
        return
    key = _sent_key(user_id, message_key)
    pipe = redis_client().pipeline()
    pipe.sadd(key, *targets)
    pipe.expire(key, MARKER_TTL)
    pipe.execute()
