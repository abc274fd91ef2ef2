"""Under DEBUG (`make run`) Django answers a missing page with its technical 404 (the URL
patterns, the settings hint) and a crash with its technical 500 (the traceback); people
trying the site should meet the site's own 404 and 500 pages, as in production, while the
traceback goes to the terminal's log. With DEBUG off Django calls the handlers itself.
`SWIPEME_DEBUG_TECHNICAL_500=1` brings the technical 500 page back for debugging."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import get_resolver

from apps.core.errors import is_database_outage
from apps.core.middleware import is_api_path
from apps.core.redis_health import is_outage

logger = logging.getLogger("django.request")
# Django answers these itself (400, 403) with or without DEBUG; outages have their own 503.
_ANSWERED_ELSEWHERE = (Http404, PermissionDenied, SuspiciousOperation, BadRequest)


def _not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    # the project's handler404 (typed by django-stubs as taking no arguments: it takes these)
    handler: Callable[[HttpRequest, Exception], HttpResponse] = (
        get_resolver().resolve_error_handler(404))  # type: ignore[assignment]
    return handler(request, exception)


def _server_error(request: HttpRequest) -> HttpResponse:
    handler: Callable[[HttpRequest], HttpResponse] = (
        get_resolver().resolve_error_handler(500))  # type: ignore[assignment]
    return handler(request)


class StyledErrorPagesUnderDebugMiddleware:
    """A 404 for a web page under DEBUG goes through `handler404`: for no matching URL (no
    view ran, so `resolver_match` is unset) and for a view that raised Http404; a crash goes
    through `handler500`. The API (/api/, /_allauth/) keeps its JSON errors
    (ApiErrorShapeMiddleware), outages their 503s."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (settings.DEBUG and response.status_code == 404 and not is_api_path(request.path)
                and getattr(request, "resolver_match", None) is None):
            return _not_found(request, Http404(request.path))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not settings.DEBUG or is_api_path(request.path):
            return None
        if isinstance(exception, Http404):
            return _not_found(request, exception)
        if (isinstance(exception, _ANSWERED_ELSEWHERE) or is_database_outage(exception)
                or is_outage(exception) or os.environ.get("SWIPEME_DEBUG_TECHNICAL_500")):
            return None
        logger.error("Internal Server Error: %s", request.path, exc_info=exception,
                     extra={"status_code": 500, "request": request})
        return _server_error(request)
