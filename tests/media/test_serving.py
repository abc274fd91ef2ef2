"""Serving media: signed grants checked on every file (segments too), the public hook,
byte ranges, ETags, content types and cache lifetimes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.media import hooks, playback, signing, storage
from apps.media.models import MediaAsset
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
SEGMENT = bytes(range(256)) * 40  # 10240 bytes


@pytest.fixture
def asset():
    asset = MediaAsset.objects.create(owner=UserFactory(), state="ready",
                                      playable_at=timezone.now())
    base = storage.asset_dir(asset.pk)
    (base / "hls" / "240").mkdir(parents=True)
    (base / "hls" / "master.m3u8").write_text("#EXTM3U\n")
    (base / "hls" / "240" / "seg_0000.m4s").write_bytes(SEGMENT)
    (base / "hls" / "240" / "init.mp4").write_bytes(b"init")
    (base / "video.mp4").write_bytes(SEGMENT)
    (base / "source").write_bytes(b"the original upload")
    (base / "moderation").mkdir()
    (base / "moderation" / "frame_001.jpg").write_bytes(b"x")
    yield asset
    storage.remove_asset_files(asset.pk)


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def _url(asset: MediaAsset, name: str, *, public_version: int | None = None) -> str:
    return playback.media_url(
        asset.pk, playback.grant_for(asset.pk, public_version=public_version), name)


def test_content_types_cache_and_etag(asset):
    client = APIClient()
    response = client.get(_url(asset, "hls/master.m3u8"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apple.mpegurl"
    assert response["Cache-Control"] == "private, max-age=5"
    response = client.get(_url(asset, "hls/240/seg_0000.m4s"))
    assert response["Content-Type"] == "video/iso.segment"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(SEGMENT))
    assert _body(response) == SEGMENT
    etag = response["ETag"]
    assert client.get(_url(asset, "hls/240/seg_0000.m4s"),
                      HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get(_url(asset, "video.mp4"))["Content-Type"] == "video/mp4"
    assert client.get(_url(asset, "hls/240/init.mp4"))["Content-Type"] == "video/mp4"


def test_byte_ranges(asset):
    client = APIClient()
    url = _url(asset, "video.mp4")
    response = client.get(url, HTTP_RANGE="bytes=100-199")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-199/{len(SEGMENT)}"
    assert response["Content-Length"] == "100"
    assert _body(response) == SEGMENT[100:200]
    response = client.get(url, HTTP_RANGE="bytes=10000-")
    assert response["Content-Range"] == f"bytes 10000-10239/{len(SEGMENT)}"
    assert _body(response) == SEGMENT[10000:]
    response = client.get(url, HTTP_RANGE="bytes=-16")
    assert _body(response) == SEGMENT[-16:]
    response = client.get(url, HTTP_RANGE="bytes=0-999999")  # clamped to the end
    assert response["Content-Range"] == f"bytes 0-10239/{len(SEGMENT)}"
    response = client.get(url, HTTP_RANGE=f"bytes={len(SEGMENT)}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(SEGMENT)}"
    assert client.get(url, HTTP_RANGE="bytes=-0").status_code == 416
    # not a single byte range: ignored, the whole file
    response = client.get(url, HTTP_RANGE="bytes=0-1,5-6")
    assert response.status_code == 200
    response = client.get(url, HTTP_RANGE="items=0-1")
    assert response.status_code == 200
    # If-Range with a stale validator: the whole (new) file
    response = client.get(url, HTTP_RANGE="bytes=0-1", HTTP_IF_RANGE='"stale"')
    assert response.status_code == 200


def test_grants_are_checked_on_every_file(asset):
    client = APIClient()
    other = MediaAsset.objects.create(owner=asset.owner)
    expired = signing.playback_grant(asset.pk, timezone.now() - timedelta(seconds=1))
    for name in ("hls/master.m3u8", "hls/240/seg_0000.m4s"):
        base = f"/api/v1/media/play/{asset.pk}"
        assert client.get(f"{base}/{expired}/{name}").status_code == 403
        forged = playback.grant_for(other.pk, public_version=None)  # another asset's grant
        assert client.get(f"{base}/{forged}/{name}").status_code == 403
        public = signing.public_grant(asset.pk, 1)
        assert client.get(f"{base}/{public}/{name}").status_code == 404  # not public
        # the unversioned public grant of old is no grant at all
        assert client.get(f"{base}/public/{name}").status_code == 403
    # the source and moderation inputs are never served, nor paths outside the asset
    for name in ("source", "moderation/frame_001.jpg", "../../etc/passwd", "hls/../source"):
        assert client.get(_url(asset, name)).status_code == 404


def test_public_media_is_cacheable_by_a_cdn(asset, settings):
    def public(*, asset_id: int) -> int | None:
        return 3 if asset_id == asset.pk else None

    hooks.register_asset_public_hook(public)
    try:
        client = APIClient()
        response = client.get(_url(asset, "hls/240/seg_0000.m4s", public_version=3))
        assert response.status_code == 200
        assert response["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response["Access-Control-Allow-Origin"] == "*"
        response = client.get(_url(asset, "hls/master.m3u8", public_version=3))
        assert response["Cache-Control"] == "public, max-age=5"
        # only the current public version serves; a forged one is no public grant
        for name in ("hls/master.m3u8", "hls/240/seg_0000.m4s"):
            assert client.get(_url(asset, name, public_version=2)).status_code == 404
            assert client.get(_url(asset, name, public_version=4)).status_code == 404
            forged = f"/api/v1/media/play/{asset.pk}/p3-0000000000000000/{name}"
            assert client.get(forged).status_code == 403
        settings.MEDIA_CDN_URL = "https://cdn.example"
        grant = signing.public_grant(asset.pk, 3)
        assert grant.startswith("p3-")
        assert _url(asset, "video.mp4", public_version=3) == (
            f"https://cdn.example/api/v1/media/play/{asset.pk}/{grant}/video.mp4")
    finally:
        hooks._public_hooks.remove(public)
