"""The site's service worker at /sw.js (root scope: push needs it, and a scope holds one
worker): the push part (static/sw.js, apps.notifications) followed by the feed's offline
cache (static/sw_feed.js, issue 22), with the version in front. The version is a hash of
both scripts and of the feed's built files: a deploy that changes any of them changes the
script's bytes, so browsers install the new worker, whose activation deletes the caches
of the old version."""

from __future__ import annotations

import hashlib
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

PARTS = ("sw.js", "sw_feed.js")
# what the feed's shell is made of (static/dist is the build's output, see static/js/build.mjs)
SHELL_FILES = ("dist/feed.js", "css/feed.css", "css/site.css", "dist/hls.js")


@cache
def script() -> bytes:
    static = settings.BASE_DIR / "static"
    parts = [(static / name).read_bytes() for name in PARTS]
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    for name in SHELL_FILES:
        path = static / name
        digest.update(path.read_bytes() if path.is_file() else name.encode())
    for chunk in sorted((static / "dist" / "chunks").glob("*.js")):
        digest.update(chunk.name.encode())
    version = digest.hexdigest()[:16]
    head = f'const SWIPEME_SW_VERSION = "{version}";\n'.encode()
    return head + b"\n".join(parts)


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(script(), content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    # Browsers check for a new worker on navigation; a cached copy would delay a deploy.
    response["Cache-Control"] = "no-cache"
    return response
