"""Previews go through the project's storage like other media: under MEDIA_ROOT with local
storage, in the S3 bucket (moto's server mode, a real HTTP endpoint) with S3, where the file
endpoint answers with a short-lived presigned URL; the beat task removes previews older
than a day with their files, and leaves newer ones alone."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from apps.studio import services, tasks
from apps.studio.models import Preview
from tests.factories import UserFactory
from tests.media.test_s3_upload import BUCKET, s3_endpoint, s3_storage  # noqa: F401
from tests.studio.conftest import duration_of

pytestmark = pytest.mark.django_db


def _rendered_preview(user: Any, asset: Any) -> Preview:
    preview = services.preview_create(
        user=user,
        document={"version": 1, "clips": [{"asset_id": str(asset.pk), "in_ms": 0, "out_ms": 1000}]},
    )
    assert services.preview_render_run(preview_id=preview.pk) == "done"
    preview.refresh_from_db()
    assert preview.state == Preview.State.DONE
    return preview


def _age(preview: Preview, hours: float) -> None:
    Preview.objects.filter(pk=preview.pk).update(created_at=timezone.now() - timedelta(hours=hours))


def test_local_previews_are_stored_served_and_removed_when_old(user, source, tmp_path):
    asset = source("clip", seconds=1.5)
    old, fresh = _rendered_preview(user, asset), _rendered_preview(user, asset)
    # stored by the default storage under a name nobody can guess from the id
    assert old.file.startswith(f"studio/previews/{old.pk}-")
    assert old.file != f"studio/previews/{old.pk}.mp4"
    path = Path(settings.MEDIA_ROOT) / old.file
    assert abs(duration_of(path)[0] - 1.0) < 0.1
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(f"/api/v1/studio/previews/{old.pk}/file")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body[4:8] == b"ftyp"

    _age(old, 25)
    _age(fresh, 23)
    assert tasks.remove_old_previews.apply().get() == 1
    assert not path.exists()
    assert not Preview.objects.filter(pk=old.pk).exists()
    assert (Path(settings.MEDIA_ROOT) / fresh.file).is_file()
    assert client.get(f"/api/v1/studio/previews/{old.pk}/file").status_code == 404
    assert client.get(f"/api/v1/studio/previews/{fresh.pk}/file").status_code == 200


def test_previews_live_in_the_bucket_with_s3_and_are_removed_from_it(
    user,
    source,
    s3_storage,  # noqa: F811
    tmp_path,
):
    asset = source("clip", seconds=1.5)
    preview = _rendered_preview(user, asset)
    keys = {
        item["Key"]
        for item in s3_storage.list_objects_v2(Bucket=BUCKET, Prefix="studio/previews/")["Contents"]
    }
    assert keys == {preview.file}
    assert not (Path(settings.MEDIA_ROOT) / preview.file).exists()  # nothing kept locally
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(f"/api/v1/studio/previews/{preview.pk}/file")
    assert response.status_code == 302
    played = httpx.get(response["Location"], timeout=30)
    assert played.status_code == 200
    assert played.headers["content-type"] == "video/mp4"
    assert played.content[4:8] == b"ftyp"
    # someone else asks: the same 404 as a missing preview, no URL
    other = APIClient()
    other.force_authenticate(UserFactory())
    assert other.get(f"/api/v1/studio/previews/{preview.pk}/file").status_code == 404

    _age(preview, 30)
    assert services.previews_remove_old() == 1
    assert "Contents" not in s3_storage.list_objects_v2(Bucket=BUCKET, Prefix="studio/previews/")
    assert not Preview.objects.filter(pk=preview.pk).exists()
