"""The studio through the API and a real Celery worker (the media queue): a preview comes
back as a small MP4; a render becomes a new upload that media's own pipeline validates
(streams copied, no encode) and transcodes into the HLS ladder like any upload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.media import storage
from apps.media.models import MediaAsset, ProcessingStep
from apps.studio.models import EditVersion
from tests.factories import UserFactory
from tests.media.conftest import wait_for
from tests.studio.conftest import arrange_source, clip_file, duration_of, frame_at, make_sticker


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_preview_then_render_into_the_media_pipeline(celery_worker_process, tmp_path: Path):
    user = UserFactory()
    client = APIClient()
    client.force_authenticate(user)
    a = arrange_source(user, clip_file(tmp_path, "a", size="360x640"), seconds=2.0,
                       size="360x640")
    b = arrange_source(user, clip_file(tmp_path, "b", size="360x640", hz=None), seconds=2.0,
                       has_audio=False, size="360x640")
    sticker = make_sticker()
    document = {"version": 1, "clips": [
        {"asset_id": str(a.pk), "in_ms": 0, "out_ms": 2000, "speed": 1.5},
        {"asset_id": str(b.pk), "in_ms": 0, "out_ms": 2000,
         "transition": {"kind": "zoom", "duration_ms": 300}},
    ], "filter": {"preset": "vivid"}, "voice": "pitch_up",
        "texts": [{"text": "Day one", "start_ms": 0, "end_ms": 2000}],
        "stickers": [{"sticker_id": str(sticker.pk), "start_ms": 0, "end_ms": 1000}],
        "cover_ms": 1000}
    expected_s = (2000 / 1.5 + 2000 - 300) / 1000

    # a quick preview
    response = client.post("/api/v1/studio/previews", {"document": document}, format="json")
    assert response.status_code == 202, response.content
    preview_url = f"/api/v1/studio/previews/{response.json()['id']}"

    def preview_done() -> bool:
        state = str(client.get(preview_url).json()["state"])
        assert state != "failed", client.get(preview_url).json()
        return state == "done"

    wait_for(preview_done, "the preview")
    body = client.get(preview_url).json()
    assert body["file_url"].endswith("/file")
    file = client.get(body["file_url"])
    assert file.status_code == 200
    assert file["Content-Type"] == "video/mp4"
    out = tmp_path / "preview.mp4"
    streamed: Any = file
    out.write_bytes(b"".join(streamed.streaming_content))
    assert frame_at(out, 0.5).shape[:2] == (426, 240)
    assert duration_of(out)[0] == pytest.approx(expected_s, abs=0.06)
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())
    assert stranger.get(body["file_url"]).status_code == 404

    # save and render: a new upload of the user, processed like any other
    edit = client.post("/api/v1/studio/edits", {"document": document}, format="json").json()
    rendered = client.post(f"/api/v1/studio/edits/{edit['id']}/render", format="json")
    assert rendered.status_code == 202, rendered.content
    assert rendered.json()["versions"][0]["state"] == "rendering"

    def version_rendered() -> bool:
        version = EditVersion.objects.get(edit_id=edit["id"], number=1)
        assert version.state != "failed", version.state_reason
        return version.state == "rendered"

    wait_for(version_rendered, "the render")
    version = EditVersion.objects.get(edit_id=edit["id"], number=1)
    assert version.asset is not None
    asset_id = version.asset.pk

    def ready() -> bool:
        asset = MediaAsset.objects.get(pk=asset_id)
        assert asset.state not in ("rejected", "failed"), asset.state_reason
        return asset.state == "ready"

    wait_for(ready, "the rendered asset to be ready", seconds=180)
    asset = MediaAsset.objects.get(pk=asset_id)
    assert asset.owner_id == user.pk
    assert (asset.width, asset.height) == (360, 640)
    assert asset.duration_ms == pytest.approx(expected_s * 1000, abs=60)
    steps = set(ProcessingStep.objects.filter(asset=asset).values_list("name", flat=True))
    assert {"validate", "ladder", "mp4", "poster"} <= steps
    assert (storage.asset_dir(asset_id) / "hls" / "master.m3u8").exists()
    # the API shows the version with its upload, to post like any upload
    shown = client.get(f"/api/v1/studio/edits/{edit['id']}").json()["versions"][0]
    assert shown["asset_id"] == str(asset_id)
    assert shown["state"] == "rendered"
