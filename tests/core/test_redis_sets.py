"""One-round-trip membership of many ids, against the real test Redis."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings

from apps.core.redis_sets import members_among, members_among_any


@pytest.fixture
def r() -> redis.Redis:
    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    client.delete("t:set", "t:zset", "t:set2")
    return client


def test_members_of_a_set_and_of_a_sorted_set(r: redis.Redis) -> None:
    big = 2**62 + 7  # snowflake-sized ids survive the round trip exactly
    r.sadd("t:set", 1, 3, big)
    r.zadd("t:zset", {"2": 10, "3": 0, str(big): 5})
    ids = [*range(1, 500), big]
    assert members_among(r, "t:set", ids) == {1, 3, big}
    assert members_among(r, "t:zset", ids, kind="zset") == {2, 3, big}
    assert members_among(r, "t:set", [4, 5]) == set()
    assert members_among(r, "t:missing", ids) == set()
    assert members_among(r, "t:set", []) == set()


def test_members_of_any_of_several_sets_in_one_round_trip(r: redis.Redis) -> None:
    big = 2**62 + 7
    r.sadd("t:set", 1, 3)
    r.sadd("t:set2", 4)
    r.zadd("t:zset", {"2": 10, "3": 0, str(big): 5})
    ids = [*range(1, 500), big]
    both = [("t:set", "set"), ("t:zset", "zset")]
    assert members_among_any(r, both, ids) == \
        members_among(r, "t:set", ids) | members_among(r, "t:zset", ids, kind="zset") \
        == {1, 2, 3, big}
    assert members_among_any(r, [*both, ("t:set2", "set")], ids) == {1, 2, 3, 4, big}
    assert members_among_any(r, [("t:missing", "zset"), ("t:set2", "set")], ids) == {4}
    assert members_among_any(r, both, [5, 6]) == set()
    assert members_among_any(r, both, []) == set() == members_among_any(r, [], ids)
    with pytest.raises(ValueError):
        members_among_any(r, [("t:set", "list")], ids)


def test_a_dead_redis_raises_like_any_command() -> None:
    dead = redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2)
    with pytest.raises(redis.RedisError):
        members_among(dead, "t:set", [1, 2])
    with pytest.raises(redis.RedisError):
        members_among_any(dead, [("t:set", "set")], [1, 2])
