"""Is Redis usable right now? A process-local circuit breaker per Redis use.

Redis is a cache and a coordinator here, never the record: a hung or dead Redis must cost
speed or freshness, not availability. Every hot-path Redis client has short timeouts
(SWIPEME_REDIS_SOCKET_TIMEOUT / SWIPEME_REDIS_CONNECT_TIMEOUT, tens of milliseconds), and
asks its breaker before each call:

- closed: calls go through; `failure_threshold` failures in a row open it;
- open: for `open_seconds` nobody calls Redis, callers take their fallback at once;
- then one caller (the probe) may try; its success closes the breaker, its failure opens
  it again. Other callers keep the fallback while the probe is out.

Process-local (each web process finds out for itself, within one timeout), thread-safe and
cheap (a lock and a clock read). The Celery broker and the channel layer keep their own,
longer timeouts: they are not on a request's hot path.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import kombu.exceptions
import redis
import redis.client
from django.conf import settings

logger = logging.getLogger(__name__)

# What a refused request tells the client to wait (seconds): about one breaker cycle.
RETRY_AFTER_SECONDS = 5

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"

# The errors that mean "Redis is not there" (refused, reset, hung past the timeout), as
# opposed to a bad command (ResponseError), which is a bug and must stay loud.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    redis.ConnectionError, redis.TimeoutError, ConnectionError, TimeoutError,
    kombu.exceptions.OperationalError,  # Celery could not reach the broker (Redis)
)


class RedisUnavailable(redis.ConnectionError):
    """Raised instead of calling Redis while its breaker is open (a redis.ConnectionError,
    so every `except redis.RedisError` fallback already handles it)."""


def is_outage(exc: BaseException) -> bool:
    return isinstance(exc, OUTAGE_ERRORS)


class CircuitBreaker:
    def __init__(self, name: str, *, failure_threshold: int, open_seconds: float) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.open_seconds = open_seconds
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_until = 0.0
        self._probing = False
        self.last_error = ""

    @property
    def state(self) -> str:
        with self._lock:
            if self._failures < self.failure_threshold:
                return CLOSED
            if self._probing or time.monotonic() >= self._opened_until:
                return HALF_OPEN
            return OPEN

    def allow(self) -> bool:
        """Whether the caller may call Redis now (False: take the fallback)."""
        with self._lock:
            if self._failures < self.failure_threshold:
                return True
            if self._probing or time.monotonic() < self._opened_until:
                return False
            self._probing = True  # this caller is the probe
            return True

    def success(self) -> None:
        with self._lock:
            if self._failures >= self.failure_threshold:
                logger.warning("redis %s is back; breaker closed", self.name)
            self._failures = 0
            self._probing = False
            self.last_error = ""

    def failure(self, exc: BaseException) -> None:
        with self._lock:
            was_open = self._failures >= self.failure_threshold
            self._failures += 1
            self._probing = False
            self.last_error = type(exc).__name__
            if self._failures >= self.failure_threshold:
                self._opened_until = time.monotonic() + self.open_seconds
                if not was_open:
                    logger.error("redis %s unavailable (%s); breaker open for %.0f s",
                                 self.name, exc, self.open_seconds)

    def open_now(self, reason: str) -> None:
        """Open the breaker now, as `failure_threshold` failures in a row would (no-op when
        it is open already): for a caller whose failed call tells that the rest of its
        request would meet the same outage (the throttles, apps.core.throttles)."""
        with self._lock:
            if self._failures >= self.failure_threshold:  # open, or its probe is out
                return
            self._failures = self.failure_threshold
            self._probing = False
            self._opened_until = time.monotonic() + self.open_seconds
            self.last_error = reason
        logger.error("redis %s unavailable (%s); breaker open for %.0f s",
                     self.name, reason, self.open_seconds)

    def reset(self) -> None:
        with self._lock:
            self._failures = 0
            self._probing = False
            self._opened_until = 0.0
            self.last_error = ""

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Wraps one Redis call: raises RedisUnavailable without calling while open, and
        records the call's outcome (only outage errors count as failures)."""
        if not self.allow():
            raise RedisUnavailable(f"redis {self.name}: circuit open")
        try:
            yield
        except BaseException as exc:
            if is_outage(exc):
                self.failure(exc)
            else:
                self.success()  # Redis answered (with an error of ours)
            raise
        self.success()


class GuardedPipeline(redis.client.Pipeline):
    breaker_name = "default"

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        with breaker(self.breaker_name).guard():
            result: list[Any] = super().execute(raise_on_error)
        return result


class GuardedRedis(redis.Redis):
    """A redis-py client whose every command and pipeline goes through the "default"
    breaker (the project's Redis): while it is open a call raises RedisUnavailable (a
    redis.ConnectionError) at once instead of waiting for a socket timeout."""

    breaker_name = "default"

    def execute_command(self, *args: Any, **options: Any) -> Any:
        with breaker(self.breaker_name).guard():
            return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> GuardedPipeline:
        return GuardedPipeline(self.connection_pool, self.response_callbacks, transaction,
                               shard_hint)


_breakers: dict[str, CircuitBreaker] = {}
_registry_lock = threading.Lock()


def breaker(name: str = "default") -> CircuitBreaker:
    """The process's breaker for one Redis use ("default": the cache and what shares it)."""
    found = _breakers.get(name)
    if found is None:
        with _registry_lock:
            found = _breakers.setdefault(name, CircuitBreaker(
                name,
                failure_threshold=settings.SWIPEME_REDIS_BREAKER_FAILURES,
                open_seconds=settings.SWIPEME_REDIS_BREAKER_OPEN_SECONDS,
            ))
    return found


def reset_all() -> None:
    """Close every breaker (tests)."""
    for found in list(_breakers.values()):
        found.reset()


def hot_path_options() -> dict[str, float]:
    """Socket options for a client on a request's hot path."""
    return {
        "socket_timeout": settings.SWIPEME_REDIS_SOCKET_TIMEOUT,
        "socket_connect_timeout": settings.SWIPEME_REDIS_CONNECT_TIMEOUT,
    }
