"""The service worker, served at the site's root (/sw.js) so its scope is every page."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET


@cache
def _script() -> bytes:
    return (settings.BASE_DIR / "static" / "sw.js").read_bytes()


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_script(), content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    # Browsers check for a new worker on navigation; a cached copy would delay fixes.
    response["Cache-Control"] = "no-cache"
    return response
