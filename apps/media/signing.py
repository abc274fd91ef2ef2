"""Signed grants: the tus upload URL, playback of non-public media (expiring), and the
versioned grant of public media.

A playback grant sits in the URL's *path* (`/play/<asset>/<grant>/hls/master.m3u8`), so
the relative URLs inside playlists (renditions, init and media segments) carry it too and
every request, segments included, is checked.

A public grant, `p<version>-<mac>`, names the asset's current public version (content's
`Post.public_version`). Its files are cached for a year at the edge, so the version moves
whenever the post stops (or starts) being watchable by anyone: URLs of an earlier public
period then answer 404 at the origin and are never handed out again. The MAC keeps the
next version's URLs unguessable (nobody can request, and get a CDN to cache, a 404 for a
URL that will be valid later)."""

from __future__ import annotations

import time
from datetime import datetime

from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

UPLOAD_SALT = "apps.media.upload"
PLAYBACK_SALT = "apps.media.playback"
PUBLIC_SALT = "apps.media.public"


def upload_token(asset_id: int) -> str:
    return signing.dumps({"a": str(asset_id)}, salt=UPLOAD_SALT, compress=False)


def asset_id_from_upload_token(token: str) -> int | None:
    """The asset of a well-signed token (expiry is the asset's, checked by the service)."""
    try:
        data = signing.loads(token, salt=UPLOAD_SALT)
        return int(data["a"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def _playback_mac(asset_id: int, expires: int) -> str:
    return salted_hmac(PLAYBACK_SALT, f"{asset_id}:{expires}", algorithm="sha256").hexdigest()[:32]


def playback_grant(asset_id: int, expires_at: datetime) -> str:
    expires = int(expires_at.timestamp())
    return f"{expires}-{_playback_mac(asset_id, expires)}"


def playback_grant_expiry(asset_id: int, grant: str) -> int | None:
    """The expiry (unix seconds) of a valid, unexpired grant for this asset, else None."""
    expires_text, _, mac = grant.partition("-")
    if not expires_text.isdigit() or len(expires_text) > 12:
        return None
    expires = int(expires_text)
    if expires < time.time():
        return None
    if not constant_time_compare(mac, _playback_mac(asset_id, expires)):
        return None
    return expires


def _public_mac(asset_id: int, version: int) -> str:
    return salted_hmac(PUBLIC_SALT, f"{asset_id}:{version}", algorithm="sha256").hexdigest()[:16]


def public_grant(asset_id: int, version: int) -> str:
    return f"p{version}-{_public_mac(asset_id, version)}"


def public_grant_version(asset_id: int, grant: str) -> int | None:
    """The version a well-formed, well-signed public grant names, else None."""
    if not grant.startswith("p"):
        return None
    version_text, _, mac = grant[1:].partition("-")
    if not version_text.isdigit() or len(version_text) > 10:
        return None
    version = int(version_text)
    if not constant_time_compare(mac, _public_mac(asset_id, version)):
        return None
    return version
