"""Uploads: limits before any byte, tus 1.0 core (HEAD, PATCH, 409, resume), owner-only
status, and completion handing the asset to processing (after commit)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from apps.media import storage
from apps.media.models import MediaAsset
from tests.factories import UserFactory
from tests.media.conftest import TUS, open_upload, raw_patch, tus_head, tus_patch

pytestmark = pytest.mark.django_db


def _client() -> tuple[APIClient, object]:
    user = UserFactory()
    client = APIClient()
    client.force_authenticate(user)
    return client, user


def test_open_upload_returns_a_signed_tus_url():
    client, _user = _client()
    body = open_upload(client, 1000)
    assert body["state"] == "uploading"
    assert body["upload_length"] == 1000
    assert body["upload_offset"] == 0
    assert "/api/v1/media/uploads/" in body["upload_url"]
    response = tus_head(client, body["upload_url"])
    assert response.status_code == 200
    assert response["Upload-Offset"] == "0"
    assert response["Upload-Length"] == "1000"
    assert response["Tus-Resumable"] == "1.0.0"
    assert response["Cache-Control"] == "no-store"


@override_settings(MEDIA_UPLOAD_MAX_BYTES=10_000)
def test_limits_are_enforced_before_bytes():
    client, _user = _client()
    response = client.post("/api/v1/media/uploads", {"size": 10_001, "content_type": "video/mp4"},
                           format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    response = client.post("/api/v1/media/uploads", {"size": 10, "content_type": "image/png"},
                           format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert not MediaAsset.objects.exists()


@override_settings(MEDIA_UPLOAD_MAX_CONCURRENT=2, MEDIA_UPLOAD_MAX_PER_DAY=3)
def test_concurrent_and_daily_counts_per_user():
    client, _user = _client()
    first = open_upload(client, 10)
    open_upload(client, 10)
    response = client.post("/api/v1/media/uploads", {"size": 10, "content_type": "video/mp4"},
                           format="json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "too_many_uploads"
    # finishing one frees a concurrent slot, but the day allows only three
    assert tus_patch(client, first["upload_url"], b"x" * 10, 0).status_code == 204
    open_upload(client, 10)
    response = client.post("/api/v1/media/uploads", {"size": 10, "content_type": "video/mp4"},
                           format="json")
    assert response.status_code == 429
    assert "daily" in response.json()["error"]["message"]
    # another user is not affected
    other, _ = _client()
    open_upload(other, 10)


def test_patch_appends_resumes_and_refuses_wrong_offsets(django_capture_on_commit_callbacks):
    client, _user = _client()
    data = bytes(range(256)) * 40  # 10240 bytes
    body = open_upload(client, len(data))
    url = body["upload_url"]

    response = tus_patch(client, url, data[:4000], 0)
    assert response.status_code == 204
    assert response["Upload-Offset"] == "4000"
    # a client that lost track (or a replayed chunk) is told the truth: 409, nothing moves
    response = tus_patch(client, url, data[:4000], 0)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "offset_mismatch"
    assert tus_head(client, url)["Upload-Offset"] == "4000"
    # resume from HEAD's offset
    offset = int(tus_head(client, url)["Upload-Offset"])
    response = tus_patch(client, url, data[offset:9000], offset)
    assert response["Upload-Offset"] == "9000"
    # more than declared is refused
    response = tus_patch(client, url, data[9000:] + b"extra", 9000)
    assert response.status_code == 413
    assert tus_head(client, url)["Upload-Offset"] == "9000"
    with django_capture_on_commit_callbacks() as callbacks:
        response = tus_patch(client, url, data[9000:], 9000)
    assert response.status_code == 204
    assert response["Upload-Offset"] == str(len(data))
    asset = MediaAsset.objects.get(pk=int(body["id"]))
    assert asset.state == "uploaded"
    assert asset.uploaded_at is not None
    assert storage.source_path(asset.pk).read_bytes() == data
    assert callbacks, "processing is enqueued on commit"
    # complete: further PATCHes conflict
    assert tus_patch(client, url, b"x", len(data)).status_code == 409
    storage.remove_asset_files(asset.pk)


def test_tus_protocol_errors():
    client, _user = _client()
    body = open_upload(client, 100)
    url = body["upload_url"]
    response = raw_patch(client, url, b"x", content_type="application/offset+octet-stream",
                              HTTP_UPLOAD_OFFSET="0")
    assert response.status_code == 412
    response = raw_patch(client, url, b"x", content_type="application/octet-stream",
                              HTTP_UPLOAD_OFFSET="0", **TUS)
    assert response.status_code == 415
    response = raw_patch(client, url, b"x", content_type="application/offset+octet-stream",
                              **TUS)
    assert response.status_code == 400
    response = client.options(url)
    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    # a forged or tampered token is not found
    assert tus_head(client, url[:-3] + "abc").status_code == 404
    # an expired upload is gone
    MediaAsset.objects.filter(pk=int(body["id"])).update(
        upload_expires_at=timezone.now() - timedelta(seconds=1))
    assert tus_head(client, url).status_code == 404
    assert tus_patch(client, url, b"x", 0).status_code == 404


def test_asset_status_is_owner_only():
    client, _user = _client()
    body = open_upload(client, 100)
    response = client.get(f"/api/v1/media/assets/{body['id']}")
    assert response.status_code == 200
    assert response.json()["state"] == "uploading"
    assert response.json()["playback"] is None
    other, _ = _client()
    assert other.get(f"/api/v1/media/assets/{body['id']}").status_code == 404
    assert other.get("/api/v1/media/assets/99999999999999999999").status_code == 404
    assert APIClient().get(f"/api/v1/media/assets/{body['id']}").status_code == 401
    assert APIClient().post("/api/v1/media/uploads", {"size": 1, "content_type": "video/mp4"},
                            format="json").status_code == 401


@override_settings(MEDIA_UPLOAD_MAX_BYTES=500 * 1024 * 1024)
def test_upload_refusals_are_in_words():
    client, _user = _client()
    response = client.post("/api/v1/media/uploads", {"size": 0, "content_type": "video/mp4"},
                           format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert "The file is empty (0 bytes)" in error["message"]
    assert "Ensure this value" not in str(error)  # not the raw validator string
    response = client.post("/api/v1/media/uploads",
                           {"size": 600 * 1024 * 1024, "content_type": "video/mp4"},
                           format="json")
    assert response.status_code == 413
    message = response.json()["error"]["message"]
    assert "at most 500 MB" in message
    assert "600 MB" in message
    assert "524288000" not in message
    with override_settings(MEDIA_UPLOAD_MAX_BYTES=2 * 1024**3):
        response = client.post("/api/v1/media/uploads",
                               {"size": 3 * 1024**3, "content_type": "video/mp4"},
                               format="json")
    assert "at most 2 GB" in response.json()["error"]["message"]
