"""Avatar upload (validated by content) and resizing, and data exports, with a REAL Celery
worker (tests/conftest.py: celery_worker_process) against the test database and Redis."""

from __future__ import annotations

import io
import json
import struct
import time
import zipfile
import zlib
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from apps.accounts import hooks, services
from apps.accounts.models import DataExport, User
from apps.accounts.storage import private_storage
from tests.accounts.conftest import error_of, reauthenticated_api_client
from tests.factories import UserFactory

WAIT_SECONDS = 60


def _wait_for(predicate: Callable[[], bool], what: str) -> None:
    """Polls the database (bounded) for a result a worker writes."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; see var/log/*-worker.log")


def _image(
    fmt: str = "PNG", size: tuple[int, int] = (900, 600), name: str = "a.png"
) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(buffer, format=fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{fmt.lower()}")


def _client(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_avatar_upload_is_resized_by_the_worker(celery_worker_process):
    user = UserFactory()
    client = _client(user)
    response = client.post("/api/v1/me/avatar", {"file": _image()}, format="multipart")
    assert response.status_code == 202, response.json()
    assert set(response.json()["avatar"]) == {"original"}

    _wait_for(lambda: len(User.objects.get(pk=user.pk).avatar_sizes) == 4, "avatar sizes")
    user.refresh_from_db()
    for side in ("48", "100", "320", "720"):
        name = user.avatar_sizes[side]
        assert name.startswith(f"avatars/{side}/")
        assert name.endswith(".webp")
        with default_storage.open(name) as stored, Image.open(stored) as rendered:
            assert rendered.format == "WEBP"
            assert rendered.size == (int(side), int(side))
    body = client.get("/api/v1/me").json()
    assert set(body["avatar"]) == {"original", "48", "100", "320", "720"}

    # rendering again (a duplicate delivery) changes nothing
    assert services.user_avatar_render(user_id=user.pk, avatar_name=user.avatar.name) is False

    # deleting removes the avatar
    response = client.delete("/api/v1/me/avatar")
    assert response.status_code == 200
    assert response.json()["avatar"] is None
    user.refresh_from_db()
    assert not user.avatar
    assert user.avatar_sizes == {}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (SimpleUploadedFile("a.png", b"not an image at all", content_type="image/png"),
         "invalid_image"),
        (SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, content_type="image/png"),
         "invalid_image"),
        (SimpleUploadedFile("evil.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)'
                            b"</script></svg>", content_type="image/svg+xml"), "invalid_image"),
        (SimpleUploadedFile("a.gif", b"GIF89a" + b"\xff" * 40, content_type="image/gif"),
         "invalid_image"),
    ],
)
def test_hostile_or_broken_files_are_refused(user, upload, code):
    response = _client(user).post("/api/v1/me/avatar", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert error_of(response)["code"] == code
    user.refresh_from_db()
    assert not user.avatar


@pytest.mark.django_db
def test_truncated_image_is_refused(user):
    whole = _image(fmt="JPEG", name="a.jpg")
    body = whole.read()
    truncated = SimpleUploadedFile("a.jpg", body[: len(body) // 2], content_type="image/jpeg")
    response = _client(user).post("/api/v1/me/avatar", {"file": truncated}, format="multipart")
    assert response.status_code == 400
    user.refresh_from_db()
    assert not user.avatar


@pytest.mark.django_db
def test_too_many_pixels_is_refused(user):
    response = _client(user).post("/api/v1/me/avatar", {"file": _image(size=(8001, 10))},
                                  format="multipart")
    assert response.status_code == 400
    assert error_of(response)["code"] == "image_too_large"
    user.refresh_from_db()
    assert not user.avatar


def _png_declaring(width: int, height: int) -> bytes:
    """A few hundred bytes claiming a huge canvas: decoding it would need gigabytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\0" * 4096)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@pytest.mark.django_db
@pytest.mark.parametrize("dimensions", [(60000, 60000), (8000, 9000)])
def test_decompression_bombs_and_huge_canvases_are_refused(user, dimensions):
    upload = SimpleUploadedFile("bomb.png", _png_declaring(*dimensions), content_type="image/png")
    response = _client(user).post("/api/v1/me/avatar", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert error_of(response)["code"] == "image_too_large"
    user.refresh_from_db()
    assert not user.avatar


@pytest.mark.django_db
def test_files_over_10mb_and_missing_files_are_refused(user):
    big = SimpleUploadedFile("big.png", b"\0" * (10 * 1024 * 1024 + 1), content_type="image/png")
    response = _client(user).post("/api/v1/me/avatar", {"file": big}, format="multipart")
    assert response.status_code in (400, 413)
    assert error_of(response)["code"] in ("file_too_large", "invalid")
    response = _client(user).post("/api/v1/me/avatar", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in error_of(response)["fields"]
    user.refresh_from_db()
    assert not user.avatar


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_data_export_is_built_and_downloadable_only_by_its_owner(celery_worker_process):
    user = UserFactory(bio="my bio")
    services.user_avatar_set(user=user, file=_image(), size=1000)  # the export carries it
    client = reauthenticated_api_client(user)

    response = client.post("/api/v1/me/exports")
    assert response.status_code == 202, response.json()
    export_id = response.json()["id"]
    # one export at a time
    again = client.post("/api/v1/me/exports")
    assert again.status_code in (202, 409)

    _wait_for(lambda: DataExport.objects.get(pk=export_id).state == "ready", "export ready")
    body = client.get(f"/api/v1/me/exports/{export_id}").json()
    assert body["state"] == "ready"
    url = body["download_url"]
    assert url.endswith(f"/account-data/exports/{export_id}/download")

    # a stranger (even one who just re-authenticated) sees neither the export nor the file
    stranger = reauthenticated_api_client(UserFactory())
    assert stranger.get(f"/api/v1/me/exports/{export_id}").status_code == 404
    assert stranger.get(url).status_code == 404
    assert APIClient().get(url).status_code in (401, 403)

    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    archive = zipfile.ZipFile(io.BytesIO(content))
    names = set(archive.namelist())
    assert {"profile.json", "sessions.json"} <= names
    assert any(name.startswith("avatar/") for name in names)
    profile = json.loads(archive.read("profile.json"))
    assert profile["id"] == str(user.pk)
    assert profile["bio"] == "my bio"


@pytest.mark.django_db
def test_a_second_export_while_one_runs_is_a_conflict(django_capture_on_commit_callbacks, user):
    client = reauthenticated_api_client(user)
    with django_capture_on_commit_callbacks(execute=False):
        assert client.post("/api/v1/me/exports").status_code == 202
        response = client.post("/api/v1/me/exports")
    assert response.status_code == 409
    assert error_of(response)["code"] == "export_in_progress"
    assert DataExport.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_export_sections_from_other_apps_and_expiry(user):
    @hooks.register_export_section("follows")
    def follows(*, user_id: int) -> list[str]:
        return [f"followed-by-{user_id}"]

    try:
        export = DataExport.objects.create(user=user)
        assert services.data_export_build(export_id=export.pk) is True
        assert services.data_export_build(export_id=export.pk) is False  # idempotent
    finally:
        hooks.unregister_export_section("follows")
    export.refresh_from_db()
    assert export.state == "ready"
    assert export.expires_at is not None
    assert export.expires_at > timezone.now() + timedelta(days=6)
    with private_storage().open(export.file) as stored:
        archive = zipfile.ZipFile(io.BytesIO(stored.read()))
        assert json.loads(archive.read("follows.json")) == [f"followed-by-{user.pk}"]

    # after 7 days the file is gone and the export shows expired
    assert services.data_exports_expire(now=timezone.now() + timedelta(days=8)) == 1
    export.refresh_from_db()
    assert export.state == "expired"
    response = reauthenticated_api_client(user).get(f"/account-data/exports/{export.pk}/download")
    assert response.status_code == 404


@pytest.mark.django_db
def test_unknown_export_ids_are_404(user):
    client = _client(user)
    for export_id in (1, 2**63 - 1, 2**64):
        assert client.get(f"/api/v1/me/exports/{export_id}").status_code == 404
