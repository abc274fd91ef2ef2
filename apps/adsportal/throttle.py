"""Every write of the portal (a form POST) is throttled per signed-in user: a fixed window
counted in the shared cache (Redis), so every web process counts together. Past the budget
the person gets the page back with a 429 and words saying to wait, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# (requests, seconds): generous for a person filling forms, tight for a script.
DEFAULT_LIMIT = (60, 60)
ESTIMATE_LIMIT = (120, 60)
THROTTLED_WORDS = "You're doing that too often. Wait a minute and try again."


def _limit() -> tuple[int, int]:
    configured = getattr(settings, "SWIPEME_ADSPORTAL_WRITE_LIMIT", None)
    return tuple(configured) if configured else DEFAULT_LIMIT  # type: ignore[return-value]


def allow_write(user_id: int) -> bool:
    limit, window = _limit()
    return _count(f"adsportal:writes:{user_id}:{window}", limit, window)


def allow_estimate(user_id: int) -> bool:
    """The live estimate: a request per pause in typing, so a budget of its own."""
    limit, window = ESTIMATE_LIMIT
    return _count(f"adsportal:estimates:{user_id}:{window}", limit, window)


def _count(key: str, limit: int, window: int) -> bool:
    cache.add(key, 0, timeout=window)
    try:
        done = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        done = 1
    return int(done) <= limit


def throttled_writes(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """POSTs past the user's budget answer 429 with the reason; reads are not counted."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if (
            request.method == "POST"
            and request.user.is_authenticated
            and not allow_write(int(request.user.pk))
        ):
            return render(
                request, "adsportal/throttled.html", {"message": THROTTLED_WORDS}, status=429
            )
        return view(request, *args, **kwargs)

    return wrapper
