"""Playback URLs of an asset, for the post API (content calls `playback_for`) and for the
owner. Public media gets stable, cacheable URLs; anything else a signed grant that
expires, carried in the path so that playlists' relative URLs keep it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from apps.media import signing
from apps.media.models import MediaAsset


def _play_path(asset_id: int, grant: str, name: str) -> str:
    return reverse("v1:media-play", kwargs={"asset_id": asset_id, "grant": grant, "name": name})


def media_url(asset_id: int, grant: str, name: str) -> str:
    return f"{settings.MEDIA_CDN_URL.rstrip('/')}{_play_path(asset_id, grant, name)}"


def grant_for(asset_id: int, *, public_version: int | None,
              expires_at: datetime | None = None) -> str:
    if public_version is not None:
        return signing.public_grant(asset_id, public_version)
    expires_at = expires_at or timezone.now() + settings.MEDIA_PLAYBACK_URL_TTL
    return signing.playback_grant(asset_id, expires_at)


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
    return {
        "hls": url("hls"),
        "mp4": url("mp4"),
        "poster": url("poster"),
        "preview": url("preview"),
        "storyboard": {
            "image": media_url(asset.pk, grant, "storyboard.jpg"),
            "vtt": media_url(asset.pk, grant, "storyboard.vtt"),
            "json": media_url(asset.pk, grant, "storyboard.json"),
        } if storyboard else None,
        "audio": url("audio"),
        "duration_ms": asset.duration_ms,
        "width": asset.width,
        "height": asset.height,
        "renditions": [
            {"width": r["width"], "height": r["height"], "bandwidth": r["bandwidth"],
             "average_bandwidth": r["average_bandwidth"], "codecs": r["codecs"],
             "frame_rate": r["frame_rate"]}
            for r in outputs.get("renditions", [])
        ],
        "ready": asset.state == MediaAsset.State.READY,
    }
