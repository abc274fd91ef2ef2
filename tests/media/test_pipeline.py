"""The pipeline end to end with a REAL Celery worker (tests/conftest.py), and step by step
in-process for progressive publishing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image
from rest_framework.test import APIClient

from apps.media import hooks, services, storage
from apps.media.models import MediaAsset, ProcessingStep
from tests.factories import UserFactory
from tests.media.conftest import upload_file, wait_for

ATTRIBUTE = re.compile(r'([A-Z-]+)=("[^"]*"|[^,]*)')


def parse_master(text: str) -> list[dict[str, str]]:
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in lines
    variants = []
    for index, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            attributes = dict(ATTRIBUTE.findall(line.split(":", 1)[1]))
            attributes["URI"] = lines[index + 1]
            variants.append(attributes)
    return variants


def media_playlist_segments(path: Path) -> tuple[list[float], list[str]]:
    text = path.read_text()
    assert '#EXT-X-MAP:URI="init.mp4"' in text
    assert "#EXT-X-ENDLIST" in text
    durations = [float(d) for d in re.findall(r"#EXTINF:([0-9.]+)", text)]
    names = [line for line in text.splitlines() if line and not line.startswith("#")]
    return durations, names


def play_check(directory: Path, names: list[str], tmp_path: Path) -> tuple[int, list[float]]:
    """Concatenates init + segments (what a player does) and decodes every frame."""
    joined = tmp_path / f"{directory.name}-joined.mp4"
    joined.write_bytes((directory / "init.mp4").read_bytes()
                       + b"".join((directory / name).read_bytes() for name in names))
    frames = 0
    keyframe_times: list[float] = []
    with av.open(str(joined)) as container:
        assert container.streams.audio, "every rendition has audio"
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.is_keyframe and packet.pts is not None:
                keyframe_times.append(round(float(packet.pts * (stream.time_base or 0)), 3))
            frames += len(packet.decode())
    return frames, keyframe_times


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_clip_goes_from_upload_to_ready(celery_worker_process, clips, tmp_path):
    # given a signed-in user with a 2.5 s 360x640 clip
    user = UserFactory()
    client = APIClient()
    client.force_authenticate(user)

    # when it is uploaded in chunks over tus
    asset_id = upload_file(client, clips["vertical"], chunk=100_000)

    # then the worker takes it to ready
    def ready() -> bool:
        state = MediaAsset.objects.get(pk=asset_id).state
        assert state not in ("rejected", "failed"), MediaAsset.objects.get(pk=asset_id).state_reason
        return state == "ready"

    wait_for(ready, "the asset to be ready")
    asset = MediaAsset.objects.get(pk=asset_id)
    assert (asset.width, asset.height, asset.duration_ms) == (360, 640, 2500)
    assert asset.progress == 100
    assert asset.playable_at is not None
    assert asset.ready_at is not None
    assert asset.playable_at <= asset.ready_at
    steps = {s.name: s for s in ProcessingStep.objects.filter(asset=asset)}
    assert set(steps) == {"validate", "rendition-240", "ladder", "poster", "preview",
                          "storyboard", "audio", "frames", "mp4"}
    assert all(s.state == "done" and s.attempts >= 1 and s.finished_at for s in steps.values())

    # the master playlist lists both renditions with measured attributes
    base = storage.asset_dir(asset.pk)
    variants = parse_master((base / "hls" / "master.m3u8").read_text())
    assert [v["RESOLUTION"] for v in variants] == ["240x426", "360x640"]
    for variant in variants:
        assert int(variant["BANDWIDTH"]) >= int(variant["AVERAGE-BANDWIDTH"]) > 10_000
        assert variant["CODECS"] == '"avc1.4d401e,mp4a.40.2"'
        assert variant["FRAME-RATE"] == "30.000"
    assert int(variants[0]["BANDWIDTH"]) < int(variants[1]["BANDWIDTH"])

    # every rendition plays, in ~2 s segments, with keyframes at the same times
    keyframes = []
    for variant in variants:
        directory = base / "hls" / variant["URI"].split("/")[0]
        durations, names = media_playlist_segments(directory / "index.m3u8")
        assert durations[0] == pytest.approx(2.0, abs=0.05)
        assert sum(durations) == pytest.approx(2.5, abs=0.1)
        frames, keyframe_times = play_check(directory, names, tmp_path)
        assert frames == 75
        keyframes.append(keyframe_times)
    assert keyframes[0] == keyframes[1]  # aligned across renditions
    first = keyframes[0][0]  # (the composition offset of B-frames shifts all alike)
    assert [round(t - first, 3) for t in keyframes[0]] == [0.0, 2.0]

    # the rest of the outputs
    with av.open(str(base / "video.mp4")) as mp4:
        assert mp4.streams.video[0].codec_context.name == "h264"
        assert (mp4.streams.video[0].width, mp4.streams.video[0].height) == (360, 640)
    head = (base / "video.mp4").read_bytes()[:200]
    assert head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head  # faststart
    with Image.open(base / "poster.jpg") as poster:
        assert poster.size == (360, 640)
    with Image.open(base / "preview.webp") as preview:
        assert preview.format == "WEBP"
        assert getattr(preview, "n_frames", 1) > 10
    assert (base / "storyboard.vtt").read_text().startswith("WEBVTT")
    with av.open(str(base / "audio.m4a")) as audio:
        assert not audio.streams.video
        assert audio.streams.audio[0].codec_context.name == "aac"
    assert len(list((base / "moderation").glob("frame_*.jpg"))) >= 2
    assert not (base / ".work").exists() or not any((base / ".work").iterdir())

    # the owner's API has the signed playback URLs; they serve the files
    body = client.get(f"/api/v1/media/assets/{asset_id}").json()
    assert body["state"] == "ready"
    assert body["playable"] is True
    playback: dict[str, Any] = body["playback"]
    assert playback["hls"].endswith("/hls/master.m3u8")
    assert len(playback["renditions"]) == 2
    response = APIClient().get(playback["hls"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apple.mpegurl"

    # staff re-run it: planned afresh, processed again to ready, still playable meanwhile
    playable_at = asset.playable_at
    assert services.asset_reprocess(asset_id=int(asset_id)) is True
    wait_for(lambda: MediaAsset.objects.get(pk=asset_id).state == "ready"
             and ProcessingStep.objects.filter(asset_id=int(asset_id)).count() == 9,
             "the reprocessed asset to be ready")
    asset = MediaAsset.objects.get(pk=asset_id)
    assert asset.playable_at == playable_at
    variants = parse_master((base / "hls" / "master.m3u8").read_text())
    assert [v["RESOLUTION"] for v in variants] == ["240x426", "360x640"]
    storage.remove_asset_files(int(asset_id))


@pytest.mark.django_db
def test_publishing_is_progressive_and_never_half_done(clips, monkeypatch,
                                                       django_capture_on_commit_callbacks):
    # given an uploaded clip, with the task queue replaced by a list (steps run here)
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr("apps.media.tasks.process_asset.delay", lambda *a: sent.append(a))
    monkeypatch.setattr("apps.media.tasks.run_step.delay", lambda *a: sent.append(a))
    # the upload's processing is sent from the task outbox (apply_async, after the commit)
    monkeypatch.setattr("apps.media.tasks.process_asset.apply_async",
                        lambda args=(), kwargs=None, **_: sent.append(tuple(args)))
    playable_calls: list[int] = []

    def on_playable(*, asset_id: int) -> None:
        playable_calls.append(asset_id)

    hooks.register_asset_playable_hook(on_playable)
    try:
        user = UserFactory()
        client = APIClient()
        client.force_authenticate(user)
        with django_capture_on_commit_callbacks(execute=True):
            asset_id = int(upload_file(client, clips["vertical"]))
        assert sent == [(asset_id,)]
        sent.clear()

        # when validation runs, the steps are planned, lowest rendition first
        with django_capture_on_commit_callbacks(execute=True):
            assert services.asset_process(asset_id=asset_id, task_id="t-validate") == "planned"
        names = [args[1] for args in sent]
        assert names[0] == "rendition-240"
        assert set(names) == {"rendition-240", "ladder", "poster", "preview",
                              "storyboard", "audio", "frames", "mp4"}
        asset = MediaAsset.objects.get(pk=asset_id)
        assert asset.state == "processing"
        assert asset.playable_at is None
        master = storage.asset_dir(asset_id) / "hls" / "master.m3u8"
        assert not master.exists()

        # the lowest rendition makes it playable: the master lists exactly that rendition
        with django_capture_on_commit_callbacks(execute=True):
            assert services.asset_step_run(
                asset_id=asset_id, name="rendition-240", task_id="t1") == "done"
        asset.refresh_from_db()
        assert asset.playable_at is not None
        assert asset.state == "processing"
        assert playable_calls == [asset_id]
        assert [v["RESOLUTION"] for v in parse_master(master.read_text())] == ["240x426"]

        # a duplicate delivery of a finished step does nothing
        assert services.asset_step_run(
            asset_id=asset_id, name="rendition-240", task_id="t1-again") == "nothing to do"

        # the higher rendition joins the master; the hook does not fire again
        with django_capture_on_commit_callbacks(execute=True):
            services.asset_step_run(asset_id=asset_id, name="ladder", task_id="t2")
        assert [v["RESOLUTION"] for v in parse_master(master.read_text())] == [
            "240x426", "360x640"]
        assert playable_calls == [asset_id]
        for name in ("poster", "preview", "storyboard", "audio", "frames"):
            services.asset_step_run(asset_id=asset_id, name=name, task_id=f"t-{name}")
            assert MediaAsset.objects.get(pk=asset_id).state == "processing"
        services.asset_step_run(asset_id=asset_id, name="mp4", task_id="t-mp4")
        asset.refresh_from_db()
        assert asset.state == "ready"
        assert asset.progress == 100
        assert asset.outputs["poster"] == "poster.jpg"
    finally:
        hooks._playable_hooks.remove(on_playable)
        storage.remove_asset_files(asset_id)


@pytest.mark.django_db
def test_single_pass_mode_makes_the_whole_ladder_in_one_step(clips, monkeypatch, settings,
                                                              django_capture_on_commit_callbacks):
    settings.MEDIA_SINGLE_PASS_LADDER = True
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr("apps.media.tasks.process_asset.delay", lambda *a: sent.append(a))
    monkeypatch.setattr("apps.media.tasks.run_step.delay", lambda *a: sent.append(a))
    user = UserFactory()
    client = APIClient()
    client.force_authenticate(user)
    asset_id = int(upload_file(client, clips["vertical"]))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.asset_process(asset_id=asset_id, task_id="t")
        assert sent[0][1] == "ladder"
        assert not ProcessingStep.objects.filter(asset_id=asset_id,
                                                 name__startswith="rendition-").exists()
        services.asset_step_run(asset_id=asset_id, name="ladder", task_id="t-ladder")
        asset = MediaAsset.objects.get(pk=asset_id)
        assert asset.playable_at is not None
        master = (storage.asset_dir(asset_id) / "hls" / "master.m3u8").read_text()
        assert [v["RESOLUTION"] for v in parse_master(master)] == ["240x426", "360x640"]
    finally:
        storage.remove_asset_files(asset_id)
