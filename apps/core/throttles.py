"""Redis-backed throttles (the default cache is Redis). Writes are throttled per user (or
per IP for anonymous callers); reads only for anonymous callers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module through the settings
    from rest_framework.request import Request
    from rest_framework.views import APIView

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class _WriteThrottle(SimpleRateThrottle):
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


class AnonReadThrottle(AnonRateThrottle):
    scope = "anon_read"


class FollowThrottle(_WriteThrottle):
    """Follow spam is the classic abuse of a social graph; it gets its own budget."""

    scope = "follow"
