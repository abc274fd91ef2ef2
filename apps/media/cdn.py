"""The CDN purge hook: public media URLs that must leave the edge now.

Public media files are cached `immutable` for a year under a versioned path
(`/api/v1/media/play/<asset>/p<version>-<mac>/...`, see `signing`). When the owner of the
version (content) moves it, the old URLs answer 404 at the origin and are no longer handed
out, and the playlists pointing at them live only seconds; what an edge already holds under
the old path is purged here: `<MEDIA_CDN_PURGE_METHOD> <MEDIA_CDN_PURGE_URL><prefix>` (by
default an HTTP PURGE, as Varnish, Fastly and nginx's cache purge take it; the prefix ends
in "/", a CDN that purges by prefix drops every file of that version). Without a purge URL
the retirement is only logged. See docs/media-pipeline.md."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request

from django.conf import settings
from django.db import transaction

from apps.core.outbox import enqueue_on_commit
from apps.media.playback import public_prefix

logger = logging.getLogger(__name__)

PURGE_TIMEOUT_SECONDS = 5


class PurgeError(Exception):
    """The CDN did not confirm the purge (retried by the task)."""


def asset_public_urls_retired(*, asset_id: int, version: int) -> None:
    """Called by content (inside its transaction) when an asset's public version `version`
    stops being valid. After the commit, logs and queues the purge of that version's URLs
    (the `media` queue retries a CDN that is down)."""
    from apps.media.tasks import purge_public_urls

    prefix = public_prefix(asset_id, version)

    def log() -> None:
        logger.info("media.public_urls_retired",
                    extra={"asset_id": asset_id, "version": version, "prefix": prefix,
                           "purge": bool(settings.MEDIA_CDN_PURGE_URL)})

    transaction.on_commit(log)
    if settings.MEDIA_CDN_PURGE_URL:
        # Through the task outbox: a purge lost to a broker outage would leave the edge
        # serving a post made private or removed for as long as it caches (a year).
        enqueue_on_commit(purge_public_urls, prefix)


def purge(prefix: str) -> int:
    """Ask the CDN to drop everything under `prefix` (a path). Returns the CDN's status;
    PurgeError when it is unreachable or answers an error (404 counts as done: nothing was
    cached)."""
    base = settings.MEDIA_CDN_PURGE_URL
    if not base:
        return 0
    if not base.startswith(("https://", "http://")):
        raise PurgeError("MEDIA_CDN_PURGE_URL must be an http(s) URL.")
    request = urllib.request.Request(  # noqa: S310 (an operator's http(s) URL, checked above)
        f"{base.rstrip('/')}{prefix}", method=settings.MEDIA_CDN_PURGE_METHOD)
    if settings.MEDIA_CDN_PURGE_TOKEN:
        request.add_header("Authorization", f"Bearer {settings.MEDIA_CDN_PURGE_TOKEN}")
    try:
        with urllib.request.urlopen(request, timeout=PURGE_TIMEOUT_SECONDS) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise PurgeError(f"CDN purge of {prefix} answered {exc.code}") from exc
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        raise PurgeError(f"CDN purge of {prefix} failed: {exc}") from exc
    logger.info("media.cdn_purged", extra={"prefix": prefix, "status": status})
    return status
