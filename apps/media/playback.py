"""Playback URLs of an asset, for the post API (content calls `playback_for`) and for the
owner. Public media gets stable, cacheable URLs; anything else a signed grant that
expires, carried in the path so that playlists' relative URLs keep it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.core.cache import cache
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from apps.media import signing, storage
from apps.media.models import MediaAsset


def _play_path(asset_id: int, grant: str, name: str) -> str:
    return reverse("v1:media-play", kwargs={"asset_id": asset_id, "grant": grant, "name": name})


def media_url(asset_id: int, grant: str, name: str) -> str:
    return f"{settings.MEDIA_CDN_URL.rstrip('/')}{_play_path(asset_id, grant, name)}"


def grant_for(
    asset_id: int, *, public_version: int | None, expires_at: datetime | None = None
) -> str:
    if public_version is not None:
        return signing.public_grant(asset_id, public_version)
    expires_at = expires_at or timezone.now() + settings.MEDIA_PLAYBACK_URL_TTL
    return signing.playback_grant(asset_id, expires_at)


# The rung a player with no measurement of its own starts on (issue 22): the highest whose
# peak bitrate fits 70 % of 3 Mbit/s (the web player's default estimate, player/bandwidth.js)
# and no larger than 720p. The player may pick another from `renditions` by its estimate.
START_BUDGET_BPS = 2_100_000
START_MAX_SHORT_EDGE = 720


def start_rendition(renditions: list[dict[str, Any]]) -> int:
    """Index into `renditions` (ascending) of the default start rung; 0 when none fits."""
    best = 0
    for index, r in enumerate(renditions):
        short = min(r["width"], r["height"])
        if r["bandwidth"] <= START_BUDGET_BPS and short <= START_MAX_SHORT_EDGE:
            best = index
    return best


def _listed(
    asset_id: int,
    grant: str,
    rungs: list[dict[str, Any]],
    playlist: Callable[[dict[str, Any]], str],
) -> list[dict[str, Any]]:
    """The renditions a player lists (ascending bandwidth), each with its media playlist:
    a player can start there without the master first."""
    return [
        {
            "width": r["width"],
            "height": r["height"],
            "bandwidth": r["bandwidth"],
            "average_bandwidth": r["average_bandwidth"],
            "codecs": r["codecs"],
            "frame_rate": r["frame_rate"],
            "playlist": media_url(asset_id, grant, playlist(r)),
        }
        for r in sorted(rungs, key=lambda r: r["bandwidth"])
    ]


def _start(renditions: list[dict[str, Any]]) -> dict[str, Any]:
    index = start_rendition(renditions)
    return {"index": index, "playlist": renditions[index]["playlist"]}


def public_prefix(asset_id: int, public_version: int) -> str:
    """The path every public URL of this asset's version starts with (for a CDN purge)."""
    return _play_path(asset_id, signing.public_grant(asset_id, public_version), "x")[:-1]


def playback_for(asset: MediaAsset, *, public_version: int | None) -> dict[str, Any] | None:
    """Everything a player needs, or None while the asset is not playable. Stable,
    cacheable URLs under `public_version` (the caller's answer to "may anyone watch
    this?"), else signed URLs that expire."""
    if asset.playable_at is None:
        return None
    grant = grant_for(asset.pk, public_version=public_version)
    outputs = asset.outputs

    def url(key: str) -> str | None:
        name = outputs.get(key)
        return media_url(asset.pk, grant, name) if isinstance(name, str) else None

    storyboard = outputs.get("storyboard") or {}
    renditions = _listed(
        asset.pk,
        grant,
        outputs.get("renditions", []),
        lambda r: f"hls/{r['short_edge']}/index.m3u8",
    )
    # a popular post's AV1 renditions (issue 23; only once its `av1` step finished): a
    # player whose Media Source decodes them (static/js/player/codecs.js) writes its
    # inline master from these instead, and starts from their own start rung
    av1 = _listed(asset.pk, grant, outputs.get("av1", []), lambda r: f"hls/{r['uri']}")
    return {
        "hls": url("hls"),
        "mp4": url("mp4"),
        "poster": url("poster"),
        # the video's own first frame (the poster may be a frame from later on): shown
        # under the player until it draws, so the start shows no jump
        "first_frame": url("first_frame"),
        "preview": url("preview"),
        "storyboard": {
            "image": media_url(asset.pk, grant, "storyboard.jpg"),
            "vtt": media_url(asset.pk, grant, "storyboard.vtt"),
            "json": media_url(asset.pk, grant, "storyboard.json"),
        }
        if storyboard
        else None,
        "audio": url("audio"),
        "duration_ms": asset.duration_ms,
        "width": asset.width,
        "height": asset.height,
        "renditions": renditions,
        "start": _start(renditions) if renditions else None,
        "av1": {"renditions": av1, "start": _start(av1)} if av1 else None,
        "ready": asset.state == MediaAsset.State.READY,
    }


# A media playlist's first files, kept this long by name (a rendition's files keep their
# names; a stale answer costs one wasted preload, never a wrong frame).
START_FILES_TTL = 600
_MAP = re.compile(r'#EXT-X-MAP:URI="([^"]+)"')


def start_files(playlist_url: str) -> list[str]:
    """The init segment and the first media segment a player reads after the media
    playlist at `playlist_url` (a play URL this module made, e.g. `playback.start
    .playlist`), as URLs beside it (same grant): what a page can preload before its player
    has even loaded (issue 22). [] when the URL is not a play URL or its playlist is not
    readable. The names come from the playlist itself (a sound mix's files carry a tag),
    read once per TTL."""
    try:
        match = resolve(urlsplit(playlist_url).path)
    except Resolver404:
        return []
    if match.url_name != "media-play" or not str(match.kwargs.get("name", "")).endswith(".m3u8"):
        return []
    asset_id, name = int(match.kwargs["asset_id"]), str(match.kwargs["name"])
    key = f"media:start-files:{asset_id}:{name}"
    names: list[str] | None = cache.get(key)
    if names is None:
        data = storage.read_output(asset_id, name)
        if data is None:
            return []
        text = data.decode("utf-8", "replace")
        found = _MAP.search(text)
        first = next((line.strip() for line in text.splitlines()
                      if line.strip() and not line.startswith("#")), None)
        names = [n for n in (found.group(1) if found else None, first) if n]
        cache.set(key, names, START_FILES_TTL)
    return [urljoin(playlist_url, n) for n in names]
