"""Under DEBUG (`make run`) Django answers a missing page with its technical 404 (the URL
patterns, the settings hint); people trying the site should meet the site's own 404 page,
as in production. With DEBUG off Django already calls `handler404` itself."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import get_resolver

from apps.core.middleware import is_api_path


def _not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    # the project's handler404 (typed by django-stubs as taking no arguments: it takes these)
    handler: Callable[[HttpRequest, Exception], HttpResponse] = (
        get_resolver().resolve_error_handler(404))  # type: ignore[assignment]
    return handler(request, exception)


class StyledNotFoundUnderDebugMiddleware:
    """A 404 for a web page under DEBUG goes through `handler404`: for no matching URL (no
    view ran, so `resolver_match` is unset) and for a view that raised Http404. The API
    (/api/, /_allauth/) keeps its JSON errors (ApiErrorShapeMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (settings.DEBUG and response.status_code == 404 and not is_api_path(request.path)
                and getattr(request, "resolver_match", None) is None):
            return _not_found(request, Http404(request.path))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG and isinstance(exception, Http404) and not is_api_path(request.path):
            return _not_found(request, exception)
        return None
