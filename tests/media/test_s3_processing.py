"""A whole transcode with S3 storage, against moto's server mode (a real HTTP S3 endpoint
on 127.0.0.1): the upload goes to the bucket in parts, processing reads the source from
the bucket, every output (renditions, master, MP4, poster, preview, storyboard, audio,
frames) is written to the bucket with its content type and cache lifetime — nothing of it
stays under MEDIA_ROOT but moderation's inputs — and the play endpoint serves it:
playlists from the bucket through the checked URL, everything else by a redirect to a
short-lived presigned URL. A library sound kept in the bucket is mixed in too."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from django.core.files.base import ContentFile
from django.test import override_settings
from rest_framework.test import APIClient

from apps.content.models import Post
from apps.media import playback, services, storage
from apps.media.models import MediaAsset, ProcessingStep
from apps.media.transcode import ffmpeg_exe
from tests.content.factories import LibrarySoundFactory, PostFactory
from tests.factories import UserFactory
from tests.media.test_s3_upload import BUCKET, s3_endpoint, s3_storage  # noqa: F401
from tests.media.test_sound_mix import SOUND_HZ, TONE, amplitude

pytestmark = pytest.mark.django_db


def _keys(client: Any, prefix: str) -> dict[str, dict[str, Any]]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"][len(prefix):]: item for page in pages
            for item in page.get("Contents", [])}


def _upload_to_s3(client: APIClient, data: bytes, capture: Any) -> int:
    body = client.post("/api/v1/media/uploads", {"size": len(data), "content_type": "video/mp4"},
                       format="json").json()
    part = body["s3"]["part_urls"][0]
    etag = httpx.put(part["url"], content=data, timeout=30).headers["ETag"].strip('"')
    with capture(execute=True):
        response = client.post(f"/api/v1/media/uploads/{body['id']}/complete",
                               {"parts": [{"part_number": 1, "etag": etag}]}, format="json")
    assert response.status_code == 200, response.content
    return int(body["id"])


def test_a_full_transcode_from_an_s3_upload_writes_every_output_to_the_bucket(
        s3_storage: Any, clips: dict[str, Path], tmp_path: Path, monkeypatch: Any,  # noqa: F811
        django_capture_on_commit_callbacks: Any):
    capture = django_capture_on_commit_callbacks
    sent: list[tuple[Any, ...]] = []
    for task in ("process_asset", "run_step", "recipe_changed"):
        monkeypatch.setattr(f"apps.media.tasks.{task}.delay", lambda *a: sent.append(a))
    media_root = tmp_path / "media-root"
    with override_settings(MEDIA_ROOT=str(media_root)):
        user = UserFactory()
        client = APIClient()
        client.force_authenticate(user)
        # a library sound whose file lives in the bucket
        tone = tmp_path / "tone.m4a"
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi",
                        "-i", f"sine=frequency={SOUND_HZ:g}:duration=3", "-c:a", "aac",
                        str(tone)], check=True)
        sound = LibrarySoundFactory()
        sound.audio_file.save("tone.m4a", ContentFile(tone.read_bytes()), save=True)
        assert sound.audio_file.name in _keys(s3_storage, "")

        asset_id = _upload_to_s3(client, clips["vertical"].read_bytes(), capture)
        PostFactory(author=user, asset=MediaAsset.objects.get(pk=asset_id), sound=sound,
                    sound_mix="mute", status=Post.Status.DRAFT, published_at=None)
        # when it is validated (the source comes from the bucket) and every step runs
        with capture(execute=True):
            assert services.asset_process(asset_id=asset_id, task_id="t-v") == "planned"
        for name in ProcessingStep.objects.filter(asset_id=asset_id).exclude(
                name="validate").order_by("id").values_list("name", flat=True):
            with capture(execute=True):
                assert services.asset_step_run(asset_id=asset_id, name=name,
                                               task_id=f"t-{name}") == "done"
        asset = MediaAsset.objects.get(pk=asset_id)
        assert asset.state == "ready"

        # then every output is in the bucket, typed and with its cache lifetime
        objects = _keys(s3_storage, f"assets/{asset_id}/")
        for name in ("source", "hls/master.m3u8", "hls/240/index.m3u8", "hls/360/index.m3u8",
                     asset.outputs["mp4"], asset.outputs["poster"], "preview.webp",
                     "storyboard.jpg", "storyboard.vtt", "storyboard.json", "audio.m4a",
                     "moderation/frame_001.jpg"):
            assert name in objects, (name, sorted(objects))
        segments = [name for name in objects if name.startswith("hls/240/seg_")]
        assert len(segments) == 2
        head = s3_storage.head_object(Bucket=BUCKET, Key=f"assets/{asset_id}/{segments[0]}")
        assert head["ContentType"] == "video/iso.segment"
        assert "immutable" in head["CacheControl"]
        head = s3_storage.head_object(Bucket=BUCKET, Key=f"assets/{asset_id}/hls/master.m3u8")
        assert head["ContentType"] == "application/vnd.apple.mpegurl"
        assert head["CacheControl"] == "max-age=5"
        # ... and nothing under MEDIA_ROOT but moderation's inputs (no source, no scratch)
        local = storage.asset_dir(asset_id)
        assert sorted(p.name for p in local.iterdir()) == ["audio.m4a", "moderation"]

        # the play endpoint: the playlists through our checked URL, the rest redirected
        urls: dict[str, Any] = playback.playback_for(asset, public_version=None) or {}
        api = APIClient()
        master = api.get(urls["hls"])
        assert master.status_code == 200
        assert master["Content-Type"] == "application/vnd.apple.mpegurl"
        assert master.content.count(b"#EXT-X-STREAM-INF") == 2
        assert api.get(urls["hls"], HTTP_IF_NONE_MATCH=master["ETag"]).status_code == 304
        base = urls["hls"].rsplit("/", 1)[0]
        playlist = api.get(f"{base}/240/index.m3u8").content.decode()
        init = playlist.split('#EXT-X-MAP:URI="', 1)[1].split('"', 1)[0]
        names = [line for line in playlist.splitlines() if line and not line.startswith("#")]
        joined = b""
        for name in [init, *names]:
            redirect = api.get(f"{base}/240/{name}")
            assert redirect.status_code == 302
            assert redirect["Cache-Control"].startswith("private, max-age=")
            fetched = httpx.get(redirect["Location"], timeout=30)
            assert fetched.status_code == 200
            joined += fetched.content
        ranged = httpx.get(api.get(urls["mp4"])["Location"], headers={"Range": "bytes=0-99"},
                           timeout=30)
        assert ranged.status_code == 206
        assert len(ranged.content) == 100
        # a player's view of the 240p rendition: it decodes, with the sound (muted own audio)
        played = tmp_path / "played.mp4"
        played.write_bytes(joined)
        with av.open(str(played)) as container:
            frames = sum(len(packet.decode()) for packet in container.demux(
                container.streams.video[0]))
        assert frames == 75
        from tests.media.test_sound_mix import _samples

        samples, rate = _samples(played)
        assert amplitude(samples, rate, SOUND_HZ, 0.1, 2.3) == pytest.approx(TONE, rel=0.2)
        assert amplitude(samples, rate, 440.0, 0.1, 2.3) < 0.004
        # a name that is not an output is refused before any redirect
        assert api.get(f"{base.rsplit('/hls', 1)[0]}/source").status_code == 404

        # removing the asset's files empties its prefix in the bucket
        storage.remove_asset_files(asset_id)
        assert _keys(s3_storage, f"assets/{asset_id}/") == {}
        sound.audio_file.delete(save=False)
