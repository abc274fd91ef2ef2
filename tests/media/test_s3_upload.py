"""S3 uploads against a real HTTP S3 endpoint (moto's server mode on 127.0.0.1): limits
before any part URL, presigned part PUTs with real bytes (httpx), an interruption and a
resume from ListParts, completion checked against S3's parts, the object equal to the file,
the asset `uploaded`, and the source readable through default_storage (as processing
reads it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from django.core.files.storage import default_storage
from django.test import override_settings
from django.utils import timezone
from moto.server import ThreadedMotoServer
from rest_framework.test import APIClient

from apps.media import s3, services, storage
from apps.media.models import MediaAsset
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BUCKET = "swipeme-test-media"
MIB = 1024 * 1024
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    saved = {name: os.environ.get(name) for name in FAKE_CREDENTIALS}
    os.environ.update(FAKE_CREDENTIALS)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id="testing", aws_secret_access_key="testing",
                 ).create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def s3_storage(s3_endpoint: str, settings: Any) -> Iterator[Any]:
    """STORAGES["default"] as base.py makes it when SWIPEME_S3_BUCKET is set."""
    options = {"bucket_name": BUCKET, "endpoint_url": s3_endpoint, "access_key": "testing",
               "secret_key": "testing", "region_name": "us-east-1",
               "querystring_auth": False,
               "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"}}
    stores = {**settings.STORAGES,
              "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}}
    with override_settings(STORAGES=stores, SWIPEME_S3_BUCKET=BUCKET,
                           SWIPEME_S3_ENDPOINT_URL=s3_endpoint, MEDIA_S3_PART_SIZE=5 * MIB):
        client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        yield client


def _client() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory())
    return client


def _put(url: str, data: bytes) -> str:
    response = httpx.put(url, content=data, timeout=30)
    assert response.status_code == 200, response.text
    return response.headers["ETag"].strip('"')


def _open(client: APIClient, size: int) -> dict[str, Any]:
    response = client.post("/api/v1/media/uploads", {"size": size, "content_type": "video/mp4"},
                           format="json")
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body


def test_multipart_upload_interrupted_resumed_and_completed(s3_storage: Any, tmp_path: Path,
                                                            django_capture_on_commit_callbacks):
    assert s3.enabled()
    data = os.urandom(12 * MIB + 12345)  # parts of 5 MiB, 5 MiB and the rest
    client = _client()
    body = _open(client, len(data))
    assert body["upload_url"] is None
    upload = body["s3"]
    assert upload["part_size"] == 5 * MIB
    assert upload["part_count"] == 3
    assert [p["part_number"] for p in upload["part_urls"]] == [1, 2, 3]
    asset_id = body["id"]
    part_size = upload["part_size"]

    def chunk(number: int) -> bytes:
        return data[(number - 1) * part_size:number * part_size]

    # the first part goes up, then the client is interrupted (it forgets everything)
    _put(upload["part_urls"][0]["url"], chunk(1))
    response = client.get(f"/api/v1/media/uploads/{asset_id}/parts")
    assert response.status_code == 200
    state = response.json()
    assert [p["part_number"] for p in state["parts"]] == [1]
    assert state["parts"][0]["size"] == part_size
    assert state["upload_offset"] == part_size
    assert client.get(f"/api/v1/media/assets/{asset_id}").json()["upload_progress"] == round(
        100 * part_size / len(data))

    # resume: ask S3 what it has, fetch URLs for the rest, send them
    have = {p["part_number"] for p in state["parts"]}
    missing = [n for n in range(1, state["part_count"] + 1) if n not in have]
    response = client.post(f"/api/v1/media/uploads/{asset_id}/parts",
                           {"part_numbers": missing}, format="json")
    assert response.status_code == 200
    for part in response.json()["part_urls"]:
        _put(part["url"], chunk(part["part_number"]))
    parts = client.get(f"/api/v1/media/uploads/{asset_id}/parts").json()["parts"]
    assert [p["part_number"] for p in parts] == [1, 2, 3]

    # a wrong ETag is refused and nothing is completed
    bad = [{"part_number": p["part_number"], "etag": p["etag"]} for p in parts]
    bad[1]["etag"] = "0" * 32
    response = client.post(f"/api/v1/media/uploads/{asset_id}/complete", {"parts": bad},
                           format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parts_mismatch"

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            f"/api/v1/media/uploads/{asset_id}/complete",
            {"parts": [{"part_number": p["part_number"], "etag": p["etag"]} for p in parts]},
            format="json",
        )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "uploaded"
    assert callbacks, "processing is enqueued on commit"
    asset = MediaAsset.objects.get(pk=int(asset_id))
    assert asset.state == MediaAsset.State.UPLOADED
    assert asset.upload_offset == len(data)
    obj = s3_storage.get_object(Bucket=BUCKET, Key=f"assets/{asset_id}/source")
    assert obj["Body"].read() == data
    # processing reads the source through the default storage into a local file
    with default_storage.open(s3.source_name(asset.pk), "rb") as handle:
        assert handle.read() == data
    with override_settings(MEDIA_ROOT=str(tmp_path)):
        local = services._local_source(asset.pk)
        assert local == storage.source_path(asset.pk)
        assert local.read_bytes() == data
    # complete is done: more parts or another complete conflict; the state is "uploaded"
    response = client.post(f"/api/v1/media/uploads/{asset_id}/parts",
                           {"part_numbers": [1]}, format="json")
    assert response.status_code == 409
    state = client.get(f"/api/v1/media/uploads/{asset_id}/parts").json()
    assert state["state"] == "uploaded"
    assert state["parts"] == []


def test_parts_must_add_up_to_the_declared_size(s3_storage: Any):
    client = _client()
    body = _open(client, 6 * MIB)  # two parts: 5 MiB and 1 MiB
    urls = body["s3"]["part_urls"]
    etags = [_put(urls[0]["url"], b"a" * 5 * MIB), _put(urls[1]["url"], b"b" * 2 * MIB)]
    response = client.post(
        f"/api/v1/media/uploads/{body['id']}/complete",
        {"parts": [{"part_number": n, "etag": e} for n, e in enumerate(etags, start=1)]},
        format="json",
    )
    assert response.status_code == 400
    assert "bytes" in response.json()["error"]["message"]
    assert MediaAsset.objects.get(pk=int(body["id"])).state == MediaAsset.State.UPLOADING
    # a missing part is refused too
    response = client.post(f"/api/v1/media/uploads/{body['id']}/complete",
                           {"parts": [{"part_number": 1, "etag": etags[0]}]}, format="json")
    assert response.status_code == 400


def test_limits_before_any_part_url_and_owner_only(s3_storage: Any):
    client = _client()
    with override_settings(MEDIA_UPLOAD_MAX_BYTES=10 * MIB):
        response = client.post("/api/v1/media/uploads",
                               {"size": 10 * MIB + 1, "content_type": "video/mp4"},
                               format="json")
    assert response.status_code == 413
    with override_settings(MEDIA_UPLOAD_MAX_CONCURRENT=1):
        body = _open(client, 1000)
        response = client.post("/api/v1/media/uploads", {"size": 1000,
                                                         "content_type": "video/mp4"},
                               format="json")
        assert response.status_code == 429
    # one multipart upload was created in the bucket: the refused ones made none
    uploads = s3_storage.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    assert [u["UploadId"] for u in uploads].count(body["s3"]["upload_id"]) == 1
    assert MediaAsset.objects.count() == 1

    other = _client()
    base = f"/api/v1/media/uploads/{body['id']}"
    assert other.get(f"{base}/parts").status_code == 404
    assert other.post(f"{base}/parts", {"part_numbers": [1]}, format="json").status_code == 404
    assert other.post(f"{base}/complete", {"parts": [{"part_number": 1, "etag": "x"}]},
                      format="json").status_code == 404
    assert client.get("/api/v1/media/uploads/99999999999999999999/parts").status_code == 404
    assert client.post(f"{base}/parts", {"part_numbers": [2]},
                       format="json").status_code == 400
    assert APIClient().get(f"{base}/parts").status_code == 401


def test_an_s3_upload_is_cancelled_by_its_owner_and_an_idle_one_expires_unless_parts_arrive(
        s3_storage: Any, django_capture_on_commit_callbacks):
    client = _client()
    body = _open(client, 6 * MIB)
    asset_id = int(body["id"])
    upload_id = body["s3"]["upload_id"]
    _put(body["s3"]["part_urls"][0]["url"], os.urandom(5 * MIB))
    assert _client().delete(f"/api/v1/media/uploads/{asset_id}").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/v1/media/uploads/{asset_id}").status_code == 204
    # the multipart upload is aborted in the bucket, and the upload is gone for us too
    with pytest.raises(Exception, match="NoSuchUpload"):
        s3_storage.list_parts(Bucket=BUCKET, Key=f"assets/{asset_id}/source",
                              UploadId=upload_id)
    assert client.get(f"/api/v1/media/uploads/{asset_id}/parts").status_code == 404
    assert MediaAsset.objects.get(pk=asset_id).state_reason == "The upload was cancelled."

    # parts go straight to the bucket: an upload idle for us but not for S3 lives on
    busy = _open(client, 6 * MIB)
    idle = _open(client, 6 * MIB)
    _put(busy["s3"]["part_urls"][0]["url"], os.urandom(5 * MIB))
    past = timezone.now() - timedelta(seconds=1)
    MediaAsset.objects.filter(pk__in=[int(busy["id"]), int(idle["id"])]).update(
        upload_expires_at=past)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.assets_requeue_stalled()["expired"] == 1
    busy_asset = MediaAsset.objects.get(pk=int(busy["id"]))
    assert busy_asset.state == "uploading"
    assert busy_asset.upload_offset == 5 * MIB
    assert busy_asset.upload_expires_at is not None
    assert busy_asset.upload_expires_at > timezone.now()
    assert MediaAsset.objects.get(pk=int(idle["id"])).state == "failed"
    with pytest.raises(Exception, match="NoSuchUpload"):
        s3_storage.list_parts(Bucket=BUCKET, Key=f"assets/{idle['id']}/source",
                              UploadId=idle["s3"]["upload_id"])
