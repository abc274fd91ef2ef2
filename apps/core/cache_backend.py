"""The default cache: Redis behind a circuit breaker, with a per-process stand-in.

Everything that uses `django.core.cache.cache` (our throttles, allauth's rate limits and
its locks, upload leases, heartbeats, third-party caches) keeps working while Redis is hung
or dead: each operation asks the breaker (apps.core.redis_health) and, when Redis is
unavailable, is served by a LocMemCache of this process instead. So a rate limit becomes a
per-process limit, a cached value a miss, a lease a per-process lease; nothing waits more
than one short socket timeout and nothing raises. Sessions do not live here (they are in
PostgreSQL: a session deleted at log-out during an outage must not come back from Redis).

When Redis answers again the stand-in is emptied, so a later outage starts clean.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from apps.core import redis_health

T = TypeVar("T")


class ResilientRedisCache(RedisCache):
    breaker_name = "default"

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        standin_params = {k: v for k, v in params.items()
                          if k in ("TIMEOUT", "KEY_PREFIX", "VERSION", "KEY_FUNCTION")}
        self._standin = LocMemCache(f"redis-standin-{id(self)}",
                                    {**standin_params, "OPTIONS": {"MAX_ENTRIES": 10000}})
        self._standin_used = False
        self._standin_lock = threading.Lock()

    @property
    def breaker(self) -> redis_health.CircuitBreaker:
        return redis_health.breaker(self.breaker_name)

    def _call(self, op: Callable[[], T], fallback: Callable[[], T]) -> tuple[T, bool]:
        """(result, served by Redis)."""
        try:
            with self.breaker.guard():
                result = op()
        except redis_health.OUTAGE_ERRORS:
            self._standin_used = True
            return fallback(), False
        if self._standin_used:
            with self._standin_lock:
                if self._standin_used:
                    self._standin_used = False
                    self._standin.clear()
        return result, True

    def get_from_redis(self, key: str, default: Any = None, version: int | None = None
                       ) -> tuple[Any, bool]:
        """`get`, also saying whether Redis answered (False: this process's stand-in did)."""
        return self._call(lambda: RedisCache.get(self, key, default, version),
                          lambda: self._standin.get(key, default, version))

    def run_script(self, script: str, keys: list[str], args: list[Any]) -> tuple[Any, bool]:
        """Run the Lua `script` on Redis in one round trip (EVALSHA; EVAL when Redis does
        not know it yet, e.g. after a restart) over `keys` made by the cache's key function:
        (its result, True), or (None, False) while Redis is unavailable: the stand-in cannot
        run Lua, the caller takes its own fallback."""
        made = [self.make_and_validate_key(key) for key in keys]
        sha = _script_sha(script)

        def op() -> Any:
            client = self._script_client()
            try:
                return client.evalsha(sha, len(made), *made, *args)
            except redis.exceptions.NoScriptError:
                return client.eval(script, len(made), *made, *args)

        return self._call(op, lambda: None)

    def _script_client(self) -> redis.Redis:
        """One client object for `run_script` (Django's client makes a `redis.Redis` per
        operation: ~70 us of CPU each, mostly copying its response callbacks; throttled
        endpoints run a script on every request). It shares Django's connection pool, so
        connections and reconnection are as for every other operation."""
        client: redis.Redis | None = self.__dict__.get("_script_client_obj")
        if client is None:
            client = self.__dict__["_script_client_obj"] = self._cache.get_client(write=True)
        return client

    def redis_client(self) -> redis.Redis:
        """A client of the cache's Redis itself (no breaker, no stand-in: operators, tests)."""
        client: redis.Redis = self._cache.get_client(write=True)
        return client

    @property
    def standin(self) -> LocMemCache:
        """This process's stand-in (what serves while Redis is unavailable)."""
        return self._standin

    def ping(self) -> bool:
        """Whether Redis itself answers now (never the stand-in); through the breaker."""
        answered, _ = self._call(lambda: bool(self._cache.get_client(write=True).ping()),
                                 lambda: False)
        return answered

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        return self.get_from_redis(key, default, version)[0]

    def add(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT,
            version: int | None = None) -> bool:
        return self._call(lambda: RedisCache.add(self, key, value, timeout, version),
                          lambda: self._standin.add(key, value, timeout, version))[0]

    def set(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT,
            version: int | None = None) -> None:
        self._call(lambda: RedisCache.set(self, key, value, timeout, version),
                   lambda: self._standin.set(key, value, timeout, version))

    def touch(self, key: str, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._call(lambda: RedisCache.touch(self, key, timeout, version),
                          lambda: self._standin.touch(key, timeout, version))[0]

    def delete(self, key: str, version: int | None = None) -> bool:
        return self._call(lambda: RedisCache.delete(self, key, version),
                          lambda: self._standin.delete(key, version))[0]

    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        keys = list(keys)
        return self._call(lambda: RedisCache.get_many(self, keys, version),
                          lambda: self._standin.get_many(keys, version))[0]

    def get_many_from_redis(self, keys: Any, version: int | None = None
                            ) -> tuple[dict[str, Any], bool]:
        """`get_many`, also saying whether Redis answered (False: this process's stand-in)."""
        keys = list(keys)
        return self._call(lambda: RedisCache.get_many(self, keys, version),
                          lambda: self._standin.get_many(keys, version))

    def has_key(self, key: str, version: int | None = None) -> bool:
        return self._call(lambda: RedisCache.has_key(self, key, version),
                          lambda: self._standin.has_key(key, version))[0]

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        return self._call(lambda: RedisCache.incr(self, key, delta, version),
                          lambda: self._standin.incr(key, delta, version))[0]

    def set_many(self, data: dict[str, Any], timeout: Any = DEFAULT_TIMEOUT,
                 version: int | None = None) -> list[str]:
        return self._call(lambda: RedisCache.set_many(self, data, timeout, version),
                          lambda: self._standin.set_many(data, timeout, version))[0]

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        keys = list(keys)
        self._call(lambda: RedisCache.delete_many(self, keys, version),
                   lambda: self._standin.delete_many(keys, version))

    def clear(self) -> None:
        self._standin.clear()
        self._call(lambda: RedisCache.clear(self), lambda: None)


_shas: dict[str, str] = {}


def _script_sha(script: str) -> str:
    """The script's SHA1, as Redis names it (EVALSHA)."""
    found = _shas.get(script)
    if found is None:
        found = _shas[script] = hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest()
    return found
