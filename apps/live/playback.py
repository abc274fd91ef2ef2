"""HLS playback: `GET /live/<id>/hls/<path>` serves a live's playlists and media segments
from SWIPEME_LIVE_ROOT to whoever may see the live (`selectors.live_for`, THE visibility
rule: a 404 in the error shape otherwise, as for an unknown live).

An async view: waiting (the LL-HLS blocking reload) holds no thread. Only the HLS files
are reachable: `index.m3u8` (the master) and `<rendition>/...` files ending .m3u8, .mp4 or
.m4s, each path component plain (letters, digits, `_-.`, not starting with a dot), so no
path leaves the live's directory and the recording, frames and state files are not served.
Playlists are `no-cache` (they change every segment); segments and init files never change
once written: `immutable`, `private` (each answer depends on who asks).

`GET /live/<id>/cover` serves the live's cover (private storage, `live.storage`) by the same
rule: a followers-only live's cover is its followers'; anyone else gets the same 404 as for
an unknown live."""

from __future__ import annotations

import asyncio
import mimetypes
import re
from pathlib import Path

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from apps.core.errors import ApplicationError, NotFoundError, error_response
from apps.live import selectors
from apps.live.llhls import blocking

_RENDITION = re.compile(r"^[0-9]{2,4}p$")
_COMPONENT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$")
CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".mp4": "video/mp4",
                 ".m4s": "video/iso.segment"}
NOT_FOUND = "This part of the live isn't available."
PLAYLIST_CACHE = "private, no-cache"
SEGMENT_CACHE = "private, max-age=86400, immutable"


def hls_file(live_id: int, path: str) -> Path | None:
    """The file a playback path names, or None when the path is not an HLS file's."""
    parts = path.split("/")
    if path == "index.m3u8":
        return Path(settings.SWIPEME_LIVE_ROOT) / str(live_id) / path
    if not 2 <= len(parts) <= 3 or not _RENDITION.match(parts[0]):
        return None
    if not all(_COMPONENT.match(part) for part in parts):
        return None
    if Path(parts[-1]).suffix not in CONTENT_TYPES:
        return None
    return Path(settings.SWIPEME_LIVE_ROOT) / str(live_id) / Path(*parts)


def _not_found(message: str = NOT_FOUND) -> HttpResponse:
    return error_response(NotFoundError(message))


def _visible(user: object, live_id: str) -> int:
    return int(selectors.live_for(user, live_id).pk)  # type: ignore[arg-type]


async def hls(request: HttpRequest, live_id: str, path: str) -> HttpResponse:
    user = await request.auser()
    try:
        pk = await sync_to_async(_visible)(user, live_id)
    except NotFoundError as exc:
        return _not_found(exc.message)
    target = hls_file(pk, path)
    if target is None:
        return _not_found()
    if target.suffix == ".m3u8" and target.parent.name != str(pk):
        # A media playlist: LL-HLS blocking reload (H3, apps.live.llhls.blocking).
        try:
            msn, part = blocking.blocking_params(request.GET)
            text = await blocking.playlist_when_ready(target, msn, part)
        except blocking.BlockingReloadError as exc:
            return error_response(ApplicationError(exc.args[0], code="hls_request"))
        if text is None:
            return _not_found()
        body = text.encode()
    else:
        if blocking.is_hinted_part(target.name):  # the preload hint's part: held until written
            await blocking.part_when_ready(target, target.parent / "index.m3u8")
        try:
            body = await asyncio.to_thread(target.read_bytes)
        except OSError:
            return _not_found()
    response = HttpResponse(body, content_type=CONTENT_TYPES[target.suffix])
    response["Cache-Control"] = PLAYLIST_CACHE if target.suffix == ".m3u8" else SEGMENT_CACHE
    response["X-Content-Type-Options"] = "nosniff"
    return response


COVER_NOT_FOUND = "This live has no cover."
COVER_CACHE = "private, max-age=300"  # the URL's `v` changes with the cover


@require_safe
def cover(request: HttpRequest, live_id: str) -> HttpResponse | FileResponse:
    """The live's cover to whoever may see the live (`selectors.live_for`), else a 404."""
    try:
        live = selectors.live_for(request.user, live_id)  # type: ignore[arg-type]
    except NotFoundError as exc:
        return _not_found(exc.message)
    name = str(live.cover.name or "")
    if not name:
        return _not_found(COVER_NOT_FOUND)
    try:
        handle = live.cover.storage.open(name, "rb")
    except OSError:
        return _not_found(COVER_NOT_FOUND)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = COVER_CACHE
    response["X-Content-Type-Options"] = "nosniff"
    return response
