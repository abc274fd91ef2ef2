"""The ads delivery's Redis client: the project's Redis behind the "default" breaker, with
the hot path's short timeouts (docs/architecture.md, "When Redis fails"). A hung Redis
costs one timeout, then nothing while the breaker is open: the caller serves no ads and the
feed still serves its posts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import redis
from django.conf import settings

from apps.core import redis_health


@cache
def client() -> redis.Redis:
    return redis_health.GuardedRedis.from_url(
        settings.REDIS_URL, decode_responses=True, **redis_health.hot_path_options()
    )


_scripts: dict[str, Any] = {}


def script(name: str, source: str) -> Any:
    """A registered Lua script (EVALSHA, loaded on first use), run with `client=`."""
    found = _scripts.get(name)
    if found is None:
        found = _scripts[name] = client().register_script(source)
    return found


def run_scripts(
    calls: Sequence[tuple[Any, list[str], list[Any]]],
    *,
    before: Callable[[Any], int] | None = None,
) -> list[Any]:
    """Several registered scripts (`script()`'s objects, with their keys and arguments) in
    one round trip: EVALSHA each in a pipeline without MULTI (their keys may sit in
    different cluster slots). A script Redis does not know (restarted, flushed) is run
    again on its own, which loads it; another error raises (redis.RedisError).
    `before(pipe)` may queue commands ahead of the scripts (returning how many): they ride
    along, their answers and errors are not the caller's."""
    pipe = client().pipeline(transaction=False)
    skip = before(pipe) if before is not None else 0
    for found, keys, args in calls:
        pipe.evalsha(found.sha, len(keys), *keys, *args)
    results = pipe.execute(raise_on_error=False)[skip:]
    out: list[Any] = []
    for (found, keys, args), result in zip(calls, results, strict=True):
        if isinstance(result, redis.exceptions.NoScriptError):
            result = found(keys=keys, args=args, client=client())
        elif isinstance(result, Exception):
            raise result
        out.append(result)
    return out


def forget() -> None:
    """A new client next time (tests that point REDIS_URL elsewhere)."""
    client.cache_clear()
    _scripts.clear()
