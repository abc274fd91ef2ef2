"""Redis-backed throttles (the default cache is Redis). Writes are throttled per user (or
per IP for anonymous callers); reads only for anonymous callers.

Every throttle in the project derives from `CountedRateThrottle`. DRF asks each of a
view's throttles in turn, and a plain SimpleRateThrottle records the request as it allows
it: a request refused by the per-minute budget still spent the per-day one, so a retry
loop could lock an account out of every write for a day. Here a request is recorded in
each budget only once all of the view's throttles allow it, and all of a request's budgets
are judged and recorded in ONE Redis round trip (`_WINDOW_SCRIPT`, a Lua script over one
sorted set per budget: `_judge_all`). The window is DRF's sliding window: a budget of n
per d seconds allows a request when fewer than n requests it let through are younger than
d seconds; Retry-After is DRF's `wait` over the same window.

While Redis is unavailable (the cache's circuit breaker is open, or the script's one call
failed) reads are not throttled at all and writes are counted per process, in the cache's
in-memory stand-in (a list of times per budget, judged in Python): an outage costs neither
reads nor the write limits. Sign-up, log-in and password resets are allauth's
(ACCOUNT_RATE_LIMITS, on the same cache): counted per process too, with tighter budgets
meanwhile (apps.core.ratelimits), so an outage is no brute-force window."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module through the settings
    from rest_framework.request import Request
    from rest_framework.views import APIView

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_VERDICTS_ATTR = "_swipeme_throttle_verdicts"

# All of a request's budgets in one round trip, atomically (two concurrent requests cannot
# both take a budget's last slot, as they could with a read, then a write, of a list).
# Each budget is a sorted set of the times of the requests it let through (member: the time
# and a random tag; score: the time). KEYS: the budgets' sets; ARGV: now, the member, then
# per budget its duration and limit. Drops what left each window (score <= now - duration,
# as DRF's `history[-1] <= now - duration`), counts, and records the request in every
# budget only when all have room. Returns [1 when allowed else 0, then per budget its count
# before this request and its oldest time ('' when empty)].
_WINDOW_SCRIPT = """
local now = tonumber(ARGV[1])
local allowed = 1
local out = {0}
for i = 1, #KEYS do
  local duration = tonumber(ARGV[1 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - duration)
  local count = redis.call('ZCARD', KEYS[i])
  local first = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
  if count >= tonumber(ARGV[2 + 2 * i]) then allowed = 0 end
  out[#out + 1] = count
  out[#out + 1] = first[2] or ''
end
if allowed == 1 then
  for i = 1, #KEYS do
    redis.call('ZADD', KEYS[i], now, ARGV[2])
    redis.call('EXPIRE', KEYS[i], math.ceil(tonumber(ARGV[1 + 2 * i])))
  end
end
out[1] = allowed
return out
"""


@dataclass
class _Verdicts:
    view: APIView
    judged: dict[type[CountedRateThrottle], tuple[bool, CountedRateThrottle]]


class CountedRateThrottle(SimpleRateThrottle):
    """A SimpleRateThrottle that counts only the requests the view lets through."""

    # Parsed from the rate by SimpleRateThrottle.__init__ (None, and unread, without one).
    num_requests: int
    duration: int
    # The window as judged: requests in it before this one, and the oldest one's time.
    count: int = 0
    oldest: float | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        verdicts = _verdicts_for(request, view)
        if type(self) not in verdicts.judged:  # asked outside the view's own throttles
            return _judge_all(request, view, [self])[type(self)]
        allowed, judged = verdicts.judged[type(self)]
        self.key, self.now = judged.key, judged.now
        self.count, self.oldest = judged.count, judged.oldest
        return allowed

    def wait(self) -> float | None:
        """DRF's wait (its `history` is the window's `count` times, the last `oldest`)."""
        remaining = self.duration if self.oldest is None else \
            self.duration - (self.now - self.oldest)
        available = self.num_requests - self.count + 1
        return None if available <= 0 else remaining / float(available)

    def _prepare(self, request: Request, view: APIView) -> bool:
        """Sets the key and the time; whether this budget is to be judged at all."""
        self.key, self.history, self.now = None, [], self.timer()
        self.count, self.oldest = 0, None
        if self.rate is None:
            return False
        self.key = self.get_cache_key(request, view)
        return self.key is not None

    def _judge_list(self, store: Any) -> bool:
        """Whether the budget has room, from its list of times (newest first) in `store`:
        the stand-in while Redis is unavailable, or a cache other than Redis."""
        self.history = list(store.get(self.key, []))
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        self.count = len(self.history)
        self.oldest = self.history[-1] if self.history else None
        return bool(self.count < self.num_requests)

    def _record_list(self, store: Any) -> None:
        self.history.insert(0, self.now)
        store.set(self.key, self.history, self.duration)


def _judge_all(request: Request, view: APIView,
               throttles: list[CountedRateThrottle]) -> dict[type[CountedRateThrottle], bool]:
    """Judges `throttles` together and records the request in each only if every one
    allows it: one Redis round trip per cache (all of them share the default one)."""
    verdicts = {type(t): True for t in throttles}
    by_cache: dict[int, list[CountedRateThrottle]] = {}
    for throttle in throttles:
        if throttle._prepare(request, view):
            by_cache.setdefault(id(throttle.cache), []).append(throttle)
    for keyed in by_cache.values():
        cache = keyed[0].cache
        store = cache
        run_script = getattr(cache, "run_script", None)
        if run_script is not None:
            now = keyed[0].now
            args: list[Any] = [repr(now), f"{now!r}:{secrets.token_hex(6)}"]
            for throttle in keyed:
                throttle.now = now
                args += [throttle.duration, throttle.num_requests]
            result, from_redis = run_script(
                _WINDOW_SCRIPT, [window_key(t.key) for t in keyed], args)
            if from_redis:
                for i, throttle in enumerate(keyed):
                    throttle.count = int(result[1 + 2 * i])
                    oldest = result[2 + 2 * i]
                    throttle.oldest = float(oldest) if oldest else None
                    verdicts[type(throttle)] = throttle.count < throttle.num_requests
                continue
            if request.method in SAFE_METHODS:
                # Redis is unavailable: reads fail open (an outage must not cost reads)
                # and are not counted. Writes keep their budgets, in this process.
                for throttle in keyed:
                    throttle.key = None
                continue
            # A write met the outage: the breaker opens now, as the per-budget reads and
            # writes this script replaced (three or four calls) did within the request, so
            # the rest of the write takes its fallbacks at once: a task sent to a hung
            # broker (kombu has no socket timeout there) would otherwise wait indefinitely.
            breaker = getattr(cache, "breaker", None)
            if breaker is not None:
                breaker.open_now("the throttles' call failed")
            store = getattr(cache, "standin", cache)  # this process's stand-in
        judged = [throttle._judge_list(store) for throttle in keyed]
        for throttle, allowed in zip(keyed, judged, strict=True):
            verdicts[type(throttle)] = allowed
        if all(judged):
            for throttle in keyed:
                throttle._record_list(store)
    return verdicts


def window_key(key: str | None) -> str:
    """Where a budget's sorted set lives: beside the throttle's key, which held a pickled
    list of times in the previous version (a deploy must not meet one: WRONGTYPE)."""
    return f"{key}:window"


def recorded_requests(key: str) -> int:
    """How many requests the budget `key` (a throttle's cache key) holds in Redis now,
    including any past its window not yet dropped (operators and tests)."""
    from django.core.cache import cache

    found: int = cache.redis_client().zcard(  # type: ignore[attr-defined]
        cache.make_and_validate_key(window_key(key)))
    return found


def _verdicts_for(request: Request, view: APIView) -> _Verdicts:
    """Judges all of the view's throttles once per request (the first of them DRF asks
    triggers it) and records the request in each only if every one allowed it."""
    cached: _Verdicts | None = getattr(request, _VERDICTS_ATTR, None)
    if cached is not None and cached.view is view:
        return cached
    throttles: dict[type[CountedRateThrottle], CountedRateThrottle] = {}
    for throttle in view.get_throttles():
        if isinstance(throttle, CountedRateThrottle):
            throttles.setdefault(type(throttle), throttle)
    allowed = _judge_all(request, view, list(throttles.values()))
    verdicts = _Verdicts(view=view, judged={cls: (allowed[cls], throttle)
                                             for cls, throttle in throttles.items()})
    setattr(request, _VERDICTS_ATTR, verdicts)
    return verdicts
class _WriteThrottle(CountedRateThrottle):
    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if request.method in SAFE_METHODS:
            return None
        if request.user and request.user.is_authenticated:
            ident = str(request.user.pk)
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class BurstWriteThrottle(_WriteThrottle):
    scope = "write_burst"


class SustainedWriteThrottle(_WriteThrottle):
    scope = "write_sustained"


class AnonReadThrottle(CountedRateThrottle, AnonRateThrottle):
    scope = "anon_read"


class FollowThrottle(_WriteThrottle):
    """Follow spam is the classic abuse of a social graph; it gets its own budget."""

    scope = "follow"


class MessageSendThrottle(_WriteThrottle):
    """Direct messages: a chat is many small writes, so sends have a budget of their own
    (per minute) instead of the general write budgets."""

    scope = "dm_send"


class MessageSendDailyThrottle(_WriteThrottle):
    scope = "dm_send_daily"


class ConversationStartThrottle(_WriteThrottle):
    """Starting conversations (and groups) with many people is the spam pattern."""

    scope = "dm_start"


class PerCallerThrottle(CountedRateThrottle):
    """A budget of its own for every request to a view, per user or, signed out, per IP."""

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        user: Any = request.user
        ident = str(user.pk) if user and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
