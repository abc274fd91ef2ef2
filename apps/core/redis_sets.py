"""Membership of many ids in one Redis set or sorted set, in one round trip.

SMISMEMBER/ZMSCORE answer one reply item per id, and redis-py encodes every argument and
parses every reply item in Python: for the few hundred ids a feed page asks about, that
cost more than Redis's work. These scripts take the ids as one comma-separated argument
and return only the members (usually few). `members_among_any` asks several sets (or
sorted sets) of one Redis in the same round trip, the ids parsed once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

_SCRIPTS = {
    "set": """
        local out = {}
        for id in string.gmatch(ARGV[1], '[^,]+') do
          if redis.call('SISMEMBER', KEYS[1], id) == 1 then out[#out + 1] = id end
        end
        return out
    """,
    "zset": """
        local out = {}
        for id in string.gmatch(ARGV[1], '[^,]+') do
          if redis.call('ZSCORE', KEYS[1], id) then out[#out + 1] = id end
        end
        return out
    """,
}
_SCRIPTS["any"] = """
    local out = {}
    for id in string.gmatch(ARGV[1], '[^,]+') do
      for i = 1, #KEYS do
        local hit
        if ARGV[i + 1] == 'zset' then
          hit = redis.call('ZSCORE', KEYS[i], id)
        else
          hit = redis.call('SISMEMBER', KEYS[i], id) == 1
        end
        if hit then
          out[#out + 1] = id
          break
        end
      end
    end
    return out
"""
_registered: dict[str, Any] = {}  # kind -> redis-py Script (run on the caller's client)


def members_among(client: redis.Redis, key: str, ids: Sequence[int], *,
                  kind: str = "set") -> set[int]:
    """Which of `ids` are members of the set (or sorted set) at `key`. Raises
    redis.RedisError like any command."""
    if not ids:
        return set()
    script = _registered.get(kind)
    if script is None:
        script = client.register_script(_SCRIPTS[kind])  # EVALSHA, loaded on first use
        _registered[kind] = script
    found = script(keys=[key], args=[",".join(map(str, ids))], client=client)
    return {int(member) for member in found}


def members_among_any(client: redis.Redis, keys: Sequence[tuple[str, str]],
                      ids: Sequence[int]) -> set[int]:
    """Which of `ids` are members of any of the sets or sorted sets `keys` ((key, "set" or
    "zset") each, on this client's Redis), in one round trip. Raises redis.RedisError like
    any command."""
    if not ids or not keys:
        return set()
    for _, kind in keys:
        if kind not in ("set", "zset"):
            raise ValueError(f"unknown kind {kind!r}")
    script = _registered.get("any")
    if script is None:
        script = client.register_script(_SCRIPTS["any"])
        _registered["any"] = script
    found = script(keys=[key for key, _ in keys],
                   args=[",".join(map(str, ids)), *(kind for _, kind in keys)], client=client)
    return {int(member) for member in found}
