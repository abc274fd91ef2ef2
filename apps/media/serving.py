"""Serving media files the way a CDN origin must: byte ranges (206, Accept-Ranges,
Content-Range, 416), strong ETags with conditional requests, exact content types, and
cache lifetimes by kind (immutable segments, short-lived playlists)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.http import http_date

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".vtt": "text/vtt; charset=utf-8",
    ".json": "application/json",
}
CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def content_type_for(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix, "application/octet-stream")


def etag_for(path: Path) -> str:
    stat = path.stat()
    return f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'


def parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(first, last) for one satisfiable range; None to ignore the header (not a single
    byte range: serve the whole file); "unsatisfiable" for a 416."""
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # suffix range: the last N bytes
        length = int(last_text)
        if length == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last_text and last < first:
        return None  # syntactically invalid: ignored (RFC 9110 14.1.1)
    if first >= size:
        return "unsatisfiable"
    return first, min(last, size - 1)


def _read(path: Path, first: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(first)
        remaining = length
        while remaining > 0:
            data = handle.read(min(CHUNK, remaining))
            if not data:
                return
            remaining -= len(data)
            yield data


def _common_headers(etag: str, cache_control: str) -> dict[str, str]:
    return {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Cache-Control": cache_control,
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "Content-Length, Content-Range, ETag",
        "X-Content-Type-Options": "nosniff",
    }


def accel_response(internal_prefix: str, rel: str, path: Path, *,
                   cache_control: str) -> HttpResponse:
    """Behind nginx (MEDIA_ACCEL_REDIRECT): we checked the grant, nginx sends the file
    from its internal location (sendfile, byte ranges, its own ETag and 304). nginx keeps
    our Cache-Control across the redirect; the CORS headers are that location's."""
    response = HttpResponse(content_type=content_type_for(path))
    response["X-Accel-Redirect"] = f"{internal_prefix.rstrip('/')}/{rel}"
    response["Cache-Control"] = cache_control
    return response


def bytes_response(request: HttpRequest, data: bytes, name: str, *,
                   cache_control: str) -> HttpResponseBase:
    """A small file held in memory (a playlist read from S3): ETag from its content,
    304, one byte range."""
    etag = f'"{hashlib.sha256(data).hexdigest()[:32]}"'
    headers = _common_headers(etag, cache_control)
    if etag in request.headers.get("If-None-Match", "").split(", "):
        response = HttpResponse(status=304)
    else:
        wanted = request.headers.get("Range", "")
        byte_range = parse_range(wanted, len(data)) if wanted else None
        if byte_range == "unsatisfiable":
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{len(data)}"
        elif isinstance(byte_range, tuple):
            first, last = byte_range
            response = HttpResponse(data[first:last + 1], status=206,
                                    content_type=content_type_for(Path(name)))
            response["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
        else:
            response = HttpResponse(data, content_type=content_type_for(Path(name)))
    for key, value in headers.items():
        response[key] = value
    return response


def file_response(request: HttpRequest, path: Path, *, cache_control: str) -> HttpResponseBase:
    size = path.stat().st_size
    etag = etag_for(path)
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Cache-Control": cache_control,
        "Last-Modified": http_date(path.stat().st_mtime),
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "Content-Length, Content-Range, ETag",
        "X-Content-Type-Options": "nosniff",
    }
    if_none_match = request.headers.get("If-None-Match", "")
    if if_none_match and (if_none_match.strip() == "*" or etag in if_none_match.split(", ")):
        response = HttpResponse(status=304)
        for key, value in headers.items():
            response[key] = value
        return response
    wanted = request.headers.get("Range", "")
    if_range = request.headers.get("If-Range")
    byte_range = parse_range(wanted, size) if wanted and if_range in (None, etag) else None
    if byte_range == "unsatisfiable":
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        for key, value in headers.items():
            response[key] = value
        return response
    if isinstance(byte_range, tuple):
        first, last = byte_range
        length = last - first + 1
        streaming = StreamingHttpResponse(
            _read(path, first, length) if request.method != "HEAD" else iter(()),
            status=206, content_type=content_type_for(path),
        )
        streaming["Content-Range"] = f"bytes {first}-{last}/{size}"
    else:
        length = size
        streaming = StreamingHttpResponse(
            _read(path, 0, size) if request.method != "HEAD" else iter(()),
            status=200, content_type=content_type_for(path),
        )
    streaming["Content-Length"] = str(length)
    for key, value in headers.items():
        streaming[key] = value
    return streaming
