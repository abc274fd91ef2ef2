"""The pipeline end to end with a REAL Celery worker (tests/conftest.py), and step by step
in-process for progressive publishing."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import av
import pytest
from django.conf import settings
from django.utils import timezone
from PIL import Image, ImageChops
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


def _mean_difference(image: Image.Image, frame: Any) -> float:
    other = frame.to_image().convert("L")
    return sum(ImageChops.difference(image, other).getdata()) / (image.width * image.height)


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
    # the per-title plan (on by default) was made by the ladder step, under its row lock,
    # outside any test transaction (tests/core/test_locks_outside_tests_transaction.py)
    assert settings.MEDIA_PER_TITLE_LADDER
    assert isinstance(asset.probe.get("title"), dict), asset.probe

    # the master playlist lists both renditions with measured attributes
    base = storage.asset_dir(asset.pk)
    variants = parse_master((base / "hls" / "master.m3u8").read_text())
    assert [v["RESOLUTION"] for v in variants] == ["240x426", "360x640"]
    for variant in variants:
        assert int(variant["BANDWIDTH"]) >= int(variant["AVERAGE-BANDWIDTH"]) > 10_000
        assert variant["CODECS"] == '"avc1.4d401e,mp4a.40.2"'
        assert variant["FRAME-RATE"] == "30.000"
    assert int(variants[0]["BANDWIDTH"]) < int(variants[1]["BANDWIDTH"])

    # every rendition plays, a 1 s first segment then ~2 s ones, with keyframes at the same
    # times
    keyframes = []
    for variant in variants:
        directory = base / "hls" / variant["URI"].split("/")[0]
        durations, names = media_playlist_segments(directory / "index.m3u8")
        assert durations[0] == pytest.approx(1.0, abs=0.05)
        assert sum(durations) == pytest.approx(2.5, abs=0.1)
        frames, keyframe_times = play_check(directory, names, tmp_path)
        assert frames == 75
        keyframes.append(keyframe_times)
    assert keyframes[0] == keyframes[1]  # aligned across renditions
    first = keyframes[0][0]  # (the composition offset of B-frames shifts all alike)
    assert [round(t - first, 3) for t in keyframes[0]] == [0.0, 1.0]

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

    # the player can start without the master (issue 22): each rung's media playlist, the
    # start rung (the highest within the default budget: 360p here), the first frame
    assert [r["playlist"].rsplit("/", 3)[-3:] for r in playback["renditions"]] == [
        ["hls", "240", "index.m3u8"], ["hls", "360", "index.m3u8"]]
    assert playback["start"] == {"index": 1, "playlist": playback["renditions"][1]["playlist"]}
    start_playlist: Any = APIClient().get(playback["start"]["playlist"])
    assert start_playlist.status_code == 200
    assert "#EXTINF:1.0" in b"".join(start_playlist.streaming_content).decode()
    assert playback["first_frame"].endswith("/first_frame.jpg")
    first_image: Any = APIClient().get(playback["first_frame"])
    assert first_image.status_code == 200
    with Image.open(io.BytesIO(b"".join(first_image.streaming_content))) as image:
        first_frame = image.convert("L")
    assert first_frame.size == (360, 640)
    # it is the video's first frame (decoded from the 360p rung), not a later one
    joined = tmp_path / "first.mp4"
    rung = base / "hls" / "360"
    joined.write_bytes((rung / "init.mp4").read_bytes() + (rung / "seg_0000.m4s").read_bytes())
    with av.open(str(joined)) as container:
        decoded = list(container.decode(container.streams.video[0]))
    at_start, later = (_mean_difference(first_frame, decoded[i]) for i in (0, 20))
    assert at_start < 6, (at_start, later)  # JPEG and x264 apart, the same picture
    assert at_start < later / 2, (at_start, later)

    # staff re-run it: planned afresh, processed again to ready, still playable meanwhile;
    # nobody waits (its old renditions play), so every rung comes from the ladder step's
    # one decode: no lowest-rendition step (early_playback.needs_early_playback)
    playable_at = asset.playable_at
    assert services.asset_reprocess(asset_id=int(asset_id)) is True
    wait_for(lambda: MediaAsset.objects.get(pk=asset_id).state == "ready"
             and ProcessingStep.objects.filter(asset_id=int(asset_id)).count() == 8,
             "the reprocessed asset to be ready")
    assert not ProcessingStep.objects.filter(asset_id=int(asset_id),
                                             name__startswith="rendition-").exists()
    asset = MediaAsset.objects.get(pk=asset_id)
    assert asset.playable_at == playable_at
    variants = parse_master((base / "hls" / "master.m3u8").read_text())
    assert [v["RESOLUTION"] for v in variants] == ["240x426", "360x640"]
    storage.remove_asset_files(int(asset_id))


def _video_packets(path: Path) -> tuple[list[tuple[int, bool]], tuple[int, int], int, float]:
    """(size and keyframe flag of every video packet, dimensions, decoded frames, seconds)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [(p.size, bool(p.is_keyframe)) for p in container.demux(stream) if p.size]
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        size = (stream.codec_context.width, stream.codec_context.height)
        stamps = [float(f.pts * stream.time_base) for f in frames
                  if f.pts is not None and stream.time_base is not None]
        seconds = stamps[-1] - stamps[0] if stamps else 0.0
    return packets, size, len(frames), seconds


def check_outputs_from_the_ladder(asset_id: int) -> None:
    """The files made from the ladder's decode and the remuxed MP4 decode, and match the
    renditions they come from (the 2.5 s 360x640 test clip)."""
    steps = {s.name: s.output for s in ProcessingStep.objects.filter(asset_id=asset_id)}
    assert steps["mp4"]["made_by"] == "remux"
    assert steps["poster"]["made_by"] == "ladder"
    for name in ("preview", "storyboard", "audio", "frames"):
        assert steps[name]["made_by"] == "ladder", name
    base = storage.asset_dir(asset_id)
    # the MP4 is the 360 rendition's very packets: same sizes, keyframes, frames, length
    rung = base / "hls" / "360"
    joined = rung.parent / "joined-360.mp4"
    names = [line for line in (rung / "index.m3u8").read_text().splitlines()
             if line and not line.startswith("#")]
    joined.write_bytes((rung / "init.mp4").read_bytes()
                       + b"".join((rung / n).read_bytes() for n in names))
    mp4 = _video_packets(base / "video.mp4")
    assert mp4 == _video_packets(joined)
    assert mp4[1] == (360, 640)
    assert mp4[2] == 75
    assert abs(mp4[3] - 74 / 30) < 0.01
    with av.open(str(base / "video.mp4")) as container:
        assert container.streams.audio[0].codec_context.name == "aac"
    # the preview: 2.5 s (the whole clip) at 10 fps, 320 px tall
    with Image.open(base / "preview.webp") as preview:
        assert preview.size == (180, 320)
        assert getattr(preview, "n_frames", 1) == 25
    # the storyboard: a thumbnail a second, tiled as its JSON says
    meta = steps["storyboard"]
    with Image.open(base / "storyboard.jpg") as board:
        assert board.size == (meta["columns"] * meta["width"], meta["rows"] * meta["height"])
    assert (meta["count"], meta["width"], meta["height"]) == (2, 90, 160)
    # moderation frames: one a second, 480 px tall; the poster: full size, the best candidate
    frames = sorted((base / "moderation").glob("frame_*.jpg"))
    assert len(frames) == steps["frames"]["count"] == 3
    for frame in frames:
        with Image.open(frame) as image:
            assert image.size == (270, 480)
    with Image.open(base / "poster.jpg") as poster:
        assert poster.size == (360, 640)
    assert len(steps["poster"]["candidates"]) == 6
    # the original sound: the clip's own audio, its whole length
    with av.open(str(base / "audio.m4a")) as audio:
        assert abs(float(audio.duration or 0) / 1e6 - 2.5) < 0.1
    # nothing of the ladder's scratch is left once the asset is ready
    assert not (base / ".work" / "taps").exists()


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

        # when validation runs, the steps are planned, lowest rendition first; the steps
        # made from the ladder's decode (and the MP4 remuxed from a rendition) are sent
        # when the ladder is done
        with django_capture_on_commit_callbacks(execute=True):
            assert services.asset_process(asset_id=asset_id, task_id="t-validate") == "planned"
        names = [args[1] for args in sent]
        assert names == ["rendition-240", "ladder"]
        assert set(ProcessingStep.objects.filter(asset_id=asset_id).values_list(
            "name", flat=True)) == {"validate", "rendition-240", "ladder", "poster", "preview",
                                    "storyboard", "audio", "frames", "mp4"}
        sent.clear()
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

        # a step made from the ladder's decode sent while the ladder runs (the stall
        # sweep's copy) waits for it, using no attempt
        ladder = ProcessingStep.objects.filter(asset_id=asset_id, name="ladder")
        ladder.update(state="running", claimed_by="elsewhere", heartbeat_at=timezone.now())
        assert services.asset_step_run(
            asset_id=asset_id, name="preview", task_id="t-early") == "waiting for ladder"
        early = ProcessingStep.objects.get(asset_id=asset_id, name="preview")
        assert (early.state, early.attempts) == ("pending", 0)
        ladder.update(state="pending", claimed_by="", heartbeat_at=None)
        # the MP4 waits for its rendition (remuxed from it)
        assert services.asset_step_run(
            asset_id=asset_id, name="mp4", task_id="t-mp4-early") == "waiting for ladder"

        # the higher rendition joins the master; the hook does not fire again; the steps
        # made from its decode are sent
        assert sent == []  # nothing is made from the lowest rendition here
        with django_capture_on_commit_callbacks(execute=True):
            services.asset_step_run(asset_id=asset_id, name="ladder", task_id="t2")
        assert [v["RESOLUTION"] for v in parse_master(master.read_text())] == [
            "240x426", "360x640"]
        assert playable_calls == [asset_id]
        assert sorted(args[1] for args in sent) == sorted(
            ["poster", "preview", "storyboard", "audio", "frames", "mp4"])
        for name in ("poster", "preview", "storyboard", "audio", "frames"):
            services.asset_step_run(asset_id=asset_id, name=name, task_id=f"t-{name}")
            assert MediaAsset.objects.get(pk=asset_id).state == "processing"
        with django_capture_on_commit_callbacks(execute=True):
            services.asset_step_run(asset_id=asset_id, name="mp4", task_id="t-mp4")
        asset.refresh_from_db()
        assert asset.state == "ready"
        assert asset.progress == 100
        assert asset.outputs["poster"] == "poster.jpg"
        check_outputs_from_the_ladder(asset_id)
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
