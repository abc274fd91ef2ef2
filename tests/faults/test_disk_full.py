"""The media disk fills up, for real: a small tmpfs mounted as MEDIA_ROOT (the test runs as
root; skipped otherwise). An upload is refused with 507 in the error shape, with
Retry-After and a sentence; nothing half-written stays (the file ends at the database's
offset, a first chunk leaves no file); when space returns the same upload resumes and
completes."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.core.errors import InsufficientStorageError
from apps.media import services, storage
from apps.media.models import MediaAsset, ProcessingStep
from apps.media.services import StepError, upload_append
from tests.factories import UserFactory
from tests.media.conftest import make_clip, open_upload, tus_head, tus_patch, upload_file

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")

DISK = 1024 * 1024  # the whole media file system: 1 MiB
KIB = 1024


@pytest.fixture
def small_disk(settings: Any, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A tmpfs of DISK bytes (or the test's indirect parameter) as MEDIA_ROOT."""
    size = getattr(request, "param", DISK)
    mount = Path(tempfile.mkdtemp(prefix="swipeme-faults-disk-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                   check=True)
    settings.MEDIA_ROOT = mount
    settings.MEDIA_MIN_FREE_BYTES = 0
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()


def _fill(mount: Path, leave: int = 0) -> Path:
    """A file taking all the free space but `leave` bytes (tmpfs counts whole pages)."""
    filler = mount / "filler"
    with filler.open("wb") as handle:
        free = storage.free_bytes() - leave
        if free > 0:
            handle.write(b"\0" * free)
    return filler


def _error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    assert set(body) >= {"code", "message", "fields"}
    return body


@pytest.mark.django_db(transaction=True)
def test_a_disk_that_fills_while_a_chunk_streams_in_leaves_nothing_and_resumes(
    small_disk: Path,
) -> None:
    client = APIClient()
    client.force_authenticate(UserFactory())
    data = os.urandom(600 * KIB)
    body = open_upload(client, len(data))
    asset_id = int(body["id"])
    # a first chunk is stored
    assert tus_patch(client, body["upload_url"], data[: 100 * KIB], 0).status_code == 204
    filler: list[Path] = []

    def body_while_the_disk_fills() -> Iterator[bytes]:
        yield data[100 * KIB: 300 * KIB]
        filler.append(_fill(small_disk))  # another writer takes the rest of the disk
        yield data[300 * KIB:]

    # when: the disk fills in the middle of the next chunk (a real ENOSPC)
    with pytest.raises(InsufficientStorageError) as refused:
        upload_append(asset_id=asset_id, offset=100 * KIB, length=len(data) - 100 * KIB,
                      chunks=body_while_the_disk_fills())
    assert refused.value.status_code == 507
    # then: the file ends where the database's offset does; the offset did not move
    assert storage.source_path(asset_id).stat().st_size == 100 * KIB
    assert MediaAsset.objects.get(pk=asset_id).upload_offset == 100 * KIB
    assert tus_head(client, body["upload_url"])["Upload-Offset"] == str(100 * KIB)

    # and over the API, while the disk is still full: 507, the error shape, Retry-After
    response = tus_patch(client, body["upload_url"], data[100 * KIB:], 100 * KIB)
    assert response.status_code == 507, response.content
    assert _error(response)["code"] == "insufficient_storage"
    assert "out of storage space" in _error(response)["message"]
    assert response["Retry-After"].isdigit()
    assert storage.source_path(asset_id).stat().st_size == 100 * KIB

    # when: space returns, the client resumes from HEAD's offset and completes
    filler[0].unlink()
    offset = int(tus_head(client, body["upload_url"])["Upload-Offset"])
    response = tus_patch(client, body["upload_url"], data[offset:], offset)
    assert response.status_code == 204, response.content
    asset = MediaAsset.objects.get(pk=asset_id)
    assert asset.state != MediaAsset.State.UPLOADING
    assert asset.uploaded_at is not None
    assert storage.source_path(asset_id).read_bytes() == data


@pytest.mark.django_db(transaction=True)
def test_a_first_chunk_on_a_full_disk_leaves_no_file(small_disk: Path) -> None:
    client = APIClient()
    client.force_authenticate(UserFactory())
    body = open_upload(client, 200 * KIB)
    asset_id = int(body["id"])
    filler = _fill(small_disk, leave=64 * KIB)
    with pytest.raises(InsufficientStorageError):
        upload_append(asset_id=asset_id, offset=0, length=200 * KIB,
                      chunks=iter([os.urandom(200 * KIB)]))
    assert not storage.source_path(asset_id).exists()
    filler.unlink()


@pytest.mark.django_db(transaction=True)
def test_the_free_space_reserve_refuses_uploads_before_any_byte(
    small_disk: Path, settings: Any
) -> None:
    """MEDIA_MIN_FREE_BYTES keeps room for processing: an upload that would eat into it is
    refused when it is opened (and a chunk when it arrives), before a byte is written."""
    settings.MEDIA_MIN_FREE_BYTES = 512 * KIB
    client = APIClient()
    client.force_authenticate(UserFactory())
    response = client.post("/api/v1/media/uploads",
                           {"size": 700 * KIB, "content_type": "video/mp4"}, format="json")
    assert response.status_code == 507, response.content
    assert _error(response)["code"] == "insufficient_storage"
    assert response["Retry-After"].isdigit()
    assert not MediaAsset.objects.exists()

    body = open_upload(client, 300 * KIB)  # fits with the reserve kept
    filler = _fill(small_disk, leave=600 * KIB)  # now it would not
    response = tus_patch(client, body["upload_url"], os.urandom(300 * KIB), 0)
    assert response.status_code == 507, response.content
    assert not storage.source_path(int(body["id"])).exists()
    filler.unlink()
    response = tus_patch(client, body["upload_url"], os.urandom(300 * KIB), 0)
    assert response.status_code == 204, response.content


@pytest.mark.parametrize("small_disk", [8 * DISK], indirect=True)
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("broker_unconsumed")  # the test runs the steps, not a worker
def test_processing_waits_for_space_without_failing_the_upload(
    small_disk: Path, tmp_path: Path
) -> None:
    """A step that meets a full disk (ffmpeg's own ENOSPC) uses up no attempt and fails
    nothing, however often it is tried, and runs when space returns."""
    client = APIClient()
    client.force_authenticate(UserFactory())
    asset_id = int(upload_file(client, make_clip(tmp_path / "clip.mp4")))
    assert services.asset_process(asset_id=asset_id, task_id="t-validate") == "planned"
    filler = _fill(small_disk)
    for attempt in range(settings.MEDIA_STEP_MAX_ATTEMPTS + 2):
        with pytest.raises(StepError) as waiting:
            services.asset_step_run(asset_id=asset_id, name="poster", task_id=f"t{attempt}")
        assert not waiting.value.final
        assert "waiting for disk space" in str(waiting.value)
    step = ProcessingStep.objects.get(asset_id=asset_id, name="poster")
    assert step.state == "pending"
    assert step.attempts == 0
    assert MediaAsset.objects.get(pk=asset_id).state == MediaAsset.State.PROCESSING
    assert not list((storage.asset_dir(asset_id) / ".work").glob("poster-*"))

    filler.unlink()
    assert services.asset_step_run(asset_id=asset_id, name="poster", task_id="t-ok") == "done"
    assert (storage.asset_dir(asset_id) / "poster.jpg").exists()
