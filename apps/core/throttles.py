"""Redis-backed throttles (the default cache is Redis). Writes are throttled per user (or
per IP for anonymous callers); reads only for anonymous callers.

Every throttle in the project derives from `CountedRateThrottle`. DRF asks each of a
view's throttles in turn, and a plain SimpleRateThrottle records the request as it allows
it: a request refused by the per-minute budget still spent the per-day one, so a retry
loop could lock an account out of every write for a day. Here a request is recorded in
each budget only once all of the view's throttles allow it. Cache access is confined to
`_judge` and `_record`.

While Redis is unavailable (the cache's circuit breaker is open) reads are not throttled at
all and writes are counted per process, in the cache's in-memory stand-in: an outage costs
neither reads nor the write limits. Sign-up, log-in and password resets are allauth's
(ACCOUNT_RATE_LIMITS, on the same cache): counted per process too, with tighter budgets
meanwhile (apps.core.ratelimits), so an outage is no brute-force window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module through the settings
    from rest_framework.request import Request
    from rest_framework.views import APIView

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_VERDICTS_ATTR = "_swipeme_throttle_verdicts"


@dataclass
class _Verdicts:
    view: APIView
    judged: dict[type[CountedRateThrottle], tuple[bool, CountedRateThrottle]]


class CountedRateThrottle(SimpleRateThrottle):
    """A SimpleRateThrottle that counts only the requests the view lets through."""

    # Parsed from the rate by SimpleRateThrottle.__init__ (None, and unread, without one).
    num_requests: int
    duration: int

    def allow_request(self, request: Request, view: APIView) -> bool:
        verdicts = _verdicts_for(request, view)
        if type(self) not in verdicts.judged:  # asked outside the view's own throttles
            allowed = self._judge(request, view)
            if allowed:
                self._record()
            return allowed
        allowed, judged = verdicts.judged[type(self)]
        self.key, self.history, self.now = judged.key, judged.history, judged.now
        return allowed

    def _judge(self, request: Request, view: APIView) -> bool:
        """Whether this budget has room for the request; reads the cache, writes nothing."""
        self.key, self.history, self.now = None, [], self.timer()
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        history, from_redis = _read(self.cache, self.key)
        if not from_redis and request.method in SAFE_METHODS:
            # Redis is unavailable: reads fail open (an outage must not cost reads), and
            # are not counted. Writes keep their budget, counted in this process's stand-in.
            self.key = None
            return True
        self.history = list(history)
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return bool(len(self.history) < self.num_requests)

    def _record(self) -> None:
        if self.key is None:
            return
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)


def _read(cache: Any, key: str) -> tuple[Any, bool]:
    """(the key's history, whether Redis answered). The default cache falls back to a
    per-process stand-in while Redis is unavailable (apps.core.cache_backend), and says so;
    any other cache is taken as authoritative."""
    get_from_redis = getattr(cache, "get_from_redis", None)
    if get_from_redis is None:
        return cache.get(key, []), True
    found: tuple[Any, bool] = get_from_redis(key, [])
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
    judged = {cls: (throttle._judge(request, view), throttle)
              for cls, throttle in throttles.items()}
    if all(allowed for allowed, _ in judged.values()):
        for _, throttle in judged.values():
            throttle._record()
    verdicts = _Verdicts(view=view, judged=judged)
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
