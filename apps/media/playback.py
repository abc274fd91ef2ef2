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


def media_url(asset_id: int, grant: str, name: str) -> str:
    path = reverse("v1:media-play", kwargs={"asset_id": asset_id, "grant": grant, "name": name})
    return f"{settings.MEDIA_CDN_URL.rstrip('/')}{path}"


def grant_for(asset_id: int, *, public: bool, expires_at: datetime | None = None) -> str:
    if public:
        return signing.PUBLIC_GRANT
    expires_at = expires_at or timezone.now() + settings.MEDIA_PLAYBACK_URL_TTL
    return signing.playback_grant(asset_id, expires_at)


def playback_for(asset: MediaAsset, *, public: bool) -> dict[str, Any] | None:
    """Everything a player needs, or None while the asset is not playable."""
    if asset.playable_at is None:
        return None
    grant = grant_for(asset.pk, public=public)
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
