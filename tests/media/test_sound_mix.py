""""Use this sound" and the cover frame, for real: content answers media's recipe hook
(the post's sound, mix and cover), the pipeline mixes the sound into every rendition and
the MP4 with ffmpeg, and the audio that comes out is measured (the amplitude of the
sound's and the upload's own tones, by a discrete Fourier projection over the decoded
samples). Steps run here, in order; the task queue is replaced by a list."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from django.core.files import File
from PIL import Image
from rest_framework.test import APIClient

from apps.content import services as content_services
from apps.content.models import Post, Sound
from apps.media import services, storage
from apps.media.models import MediaAsset, ProcessingStep
from apps.media.transcode import ffmpeg_exe
from tests.content.factories import LibrarySoundFactory, PostFactory
from tests.factories import UserFactory
from tests.media.conftest import make_clip, upload_file

OWN_HZ = 440.0  # the clips' own audio (tests/media/conftest.py)
SOUND_HZ = 1000.0  # the library sound
# ffmpeg's sine amplitude (1/8), mono made stereo at -3 dB (ffmpeg's centre mix level,
# as for any mono upload)
TONE = 0.125 / math.sqrt(2)


def _tone_file(path: Path, hz: float, seconds: float) -> Path:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", f"sine=frequency={hz:g}:duration={seconds}", "-c:a", "aac",
                    str(path)], check=True)
    return path


def _samples(path: Path) -> tuple[np.ndarray[Any, Any], int]:
    """Mono float samples of the first audio stream."""
    chunks = []
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        for frame in container.decode(stream):
            data = frame.to_ndarray().astype(np.float64)
            chunks.append(data.mean(axis=0) if data.ndim == 2 and data.shape[0] <= 8
                          else data.reshape(-1))
    return np.concatenate(chunks), rate


def amplitude(samples: np.ndarray[Any, Any], rate: int, hz: float, start: float,
              end: float) -> float:
    """The amplitude of a sine of `hz` in [start, end) s (a DFT bin at exactly hz)."""
    window = samples[int(start * rate):int(end * rate)]
    t = np.arange(len(window)) / rate
    return float(2 * abs(np.sum(window * np.exp(-2j * math.pi * hz * t))) / len(window))


def _joined(directory: Path, tmp_path: Path) -> Path:
    text = (directory / "index.m3u8").read_text()
    init = text.split('#EXT-X-MAP:URI="', 1)[1].split('"', 1)[0]
    names = [line for line in text.splitlines() if line and not line.startswith("#")]
    out = tmp_path / f"{directory.name}-{init}.mp4"
    out.write_bytes((directory / init).read_bytes()
                    + b"".join((directory / name).read_bytes() for name in names))
    return out


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    sent: list[tuple[str, tuple[Any, ...]]] = []
    for task in ("process_asset", "run_step", "recipe_changed"):
        monkeypatch.setattr(f"apps.media.tasks.{task}.delay",
                            lambda *a, _t=task: sent.append((_t, a)))
    # content sends the re-render through the task outbox (apply_async, after the commit)
    monkeypatch.setattr("apps.media.tasks.recipe_changed.apply_async",
                        lambda args=(), kwargs=None, **_: sent.append(("recipe_changed",
                                                                       tuple(args))))
    return sent


def _uploaded(clip: Path, capture: Any) -> tuple[Any, int]:
    user = UserFactory()
    client = APIClient()
    client.force_authenticate(user)
    with capture(execute=True):
        asset_id = int(upload_file(client, clip))
    with capture(execute=True):
        assert services.asset_process(asset_id=asset_id, task_id="t-validate") == "planned"
    return user, asset_id


def _run(asset_id: int, names: list[str], capture: Any, run: str = "") -> None:
    for name in names:
        with capture(execute=True):
            assert services.asset_step_run(asset_id=asset_id, name=name,
                                           task_id=f"t-{name}{run}") == "done"


def _library_sound(tmp_path: Path, seconds: float = 1.0) -> Sound:
    sound: Sound = LibrarySoundFactory()
    tone = _tone_file(tmp_path / "tone.m4a", SOUND_HZ, seconds)
    with tone.open("rb") as handle:
        sound.audio_file.save("tone.m4a", File(handle), save=True)
    return sound


@pytest.mark.django_db
def test_a_library_sound_is_mixed_into_every_rendition_and_the_mp4(
        clips, tmp_path, queue, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    sound = _library_sound(tmp_path, seconds=1.0)  # shorter than the 2.5 s clip: looped
    user, asset_id = _uploaded(clips["vertical"], capture)
    try:
        # given a post that chose the library sound with its own audio ducked
        PostFactory(author=user, asset=MediaAsset.objects.get(pk=asset_id), sound=sound,
                    sound_mix="duck", status=Post.Status.DRAFT, published_at=None)
        # when the renditions and the MP4 are made
        _run(asset_id, ["rendition-240", "ladder", "mp4"], capture)
        asset = MediaAsset.objects.get(pk=asset_id)
        base = storage.asset_dir(asset_id)
        tag = asset.outputs["mp4"].removeprefix("video-").removesuffix(".mp4")
        assert len(tag) == 8
        outputs = [_joined(base / "hls" / "240", tmp_path), _joined(base / "hls" / "360", tmp_path),
                   base / asset.outputs["mp4"]]
        # then each has the sound at full level over the whole video (looped past 1 s)
        # and the upload's own tone at a quarter (-12 dB)
        for path in outputs:
            samples, rate = _samples(path)
            assert len(samples) / rate == pytest.approx(2.5, abs=0.1)
            for start, end in ((0.1, 0.9), (1.2, 2.3)):
                assert amplitude(samples, rate, SOUND_HZ, start, end) == pytest.approx(
                    TONE, rel=0.2), path
                assert amplitude(samples, rate, OWN_HZ, start, end) == pytest.approx(
                    TONE * 0.25, rel=0.25), path
        assert f"init_{tag}.mp4" in (base / "hls" / "240" / "index.m3u8").read_text()

        # when the library sound is taken down, content asks media to render it again
        with capture(execute=True):
            content_services.sounds_take_down(sound_ids=[sound.pk])
        assert ("recipe_changed", (asset_id,)) in queue
        with capture(execute=True):
            stale = services.asset_recipe_changed(asset_id=asset_id)
        assert sorted(stale) == ["ladder", "mp4", "rendition-240"]
        # meanwhile the old renditions stay listed and served
        master = (base / "hls" / "master.m3u8").read_text()
        assert master.count("#EXT-X-STREAM-INF") == 2
        _run(asset_id, ["rendition-240", "ladder", "mp4"], capture, run="-again")
        asset.refresh_from_db()
        assert asset.outputs["mp4"] != f"video-{tag}.mp4"
        assert not (base / f"video-{tag}.mp4").exists()  # the replaced MP4 is removed
        # the track is gone from the files and the upload's own audio is back at full level
        for path in (_joined(base / "hls" / "360", tmp_path), base / asset.outputs["mp4"]):
            samples, rate = _samples(path)
            assert amplitude(samples, rate, SOUND_HZ, 0.1, 2.3) < 0.004
            assert amplitude(samples, rate, OWN_HZ, 0.1, 2.3) == pytest.approx(TONE, rel=0.2)
        # nothing else was rendered again
        assert services.asset_recipe_changed(asset_id=asset_id) == []
    finally:
        storage.remove_asset_files(asset_id)
        sound.audio_file.delete(save=False)


@pytest.mark.django_db
def test_another_posts_sound_is_mixed_into_a_video_without_audio(
        clips, tmp_path, queue, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    # given a silent upload whose post uses the original sound of another upload
    owner_a, asset_a = _uploaded(clips["vertical"], capture)
    user, asset_b = _uploaded(clips["silent"], capture)
    try:
        original = Sound.objects.create(kind=Sound.Kind.ORIGINAL, title="original sound",
                                        original_owner=owner_a, source_asset_id=asset_a)
        PostFactory(author=user, asset=MediaAsset.objects.get(pk=asset_b), sound=original,
                    sound_mix="keep", status=Post.Status.DRAFT, published_at=None)
        # while that upload's audio is not extracted yet, the step waits (no attempt used)
        with pytest.raises(services.StepError) as waiting:
            services.asset_step_run(asset_id=asset_b, name="rendition-240", task_id="t-wait")
        assert not waiting.value.final
        step = ProcessingStep.objects.get(asset_id=asset_b, name="rendition-240")
        assert (step.state, step.attempts) == ("pending", 0)
        # once it is, the rendition carries that sound (the silent upload adds nothing)
        _run(asset_a, ["audio"], capture)
        _run(asset_b, ["rendition-240"], capture)
        samples, rate = _samples(_joined(storage.asset_dir(asset_b) / "hls" / "240", tmp_path))
        assert len(samples) / rate == pytest.approx(1.5, abs=0.1)
        assert amplitude(samples, rate, OWN_HZ, 0.1, 1.4) == pytest.approx(TONE, rel=0.2)
    finally:
        storage.remove_asset_files(asset_a)
        storage.remove_asset_files(asset_b)


def _colour(path: Path) -> str:
    with Image.open(path) as image:
        r, _g, b = image.convert("RGB").resize((1, 1)).getpixel((0, 0))  # type: ignore[misc]
    return "red" if r > b else "blue"


@pytest.mark.django_db
def test_the_creators_cover_frame_is_the_poster_and_a_new_one_regenerates_it(
        tmp_path, queue, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    # a clip red for its first half and blue for the second
    clip = make_clip(tmp_path / "halves.mp4", size="240x426", seconds=2.0, audio=False,
                     video_source="testsrc2",
                     extra_output=["-vf", "geq=r='if(lt(T,1),230,20)':g=20:b='if(lt(T,1),20,230)'"])
    user, asset_id = _uploaded(clip, capture)
    base = storage.asset_dir(asset_id)
    try:
        # with no post yet, the poster is the best-scoring candidate
        _run(asset_id, ["poster"], capture)
        assert MediaAsset.objects.get(pk=asset_id).outputs["poster"] == "poster.jpg"
        assert ProcessingStep.objects.get(asset_id=asset_id, name="poster").output[
            "chosen_by"] == "score"

        # the creator posts with a cover at 0.5 s: the poster is regenerated at that frame
        with capture(execute=True):
            post = content_services.post_create(author=user, asset_id=asset_id,
                                                cover_time_ms=500, publish="draft")
        assert ("recipe_changed", (asset_id,)) in queue
        with capture(execute=True):
            assert services.asset_recipe_changed(asset_id=asset_id) == ["poster"]
        _run(asset_id, ["poster"], capture, run="-cover")
        first = MediaAsset.objects.get(pk=asset_id).outputs["poster"]
        assert first.startswith("poster-")
        assert _colour(base / first) == "red"
        assert not (base / "poster.jpg").exists()

        # editing the caption alone asks for nothing
        queue.clear()
        with capture(execute=True):
            content_services.post_update(user=user, post_id=post.pk, caption="new words")
        assert queue == []
        # a later change of the cover time (the post's settings) regenerates it again
        with capture(execute=True):
            content_services.post_update(user=user, post_id=post.pk, cover_time_ms=1500)
        assert queue == [("recipe_changed", (asset_id,))]
        with capture(execute=True):
            assert services.asset_recipe_changed(asset_id=asset_id) == ["poster"]
        _run(asset_id, ["poster"], capture, run="-cover-2")
        step = ProcessingStep.objects.get(asset_id=asset_id, name="poster")
        assert step.output["chosen_by"] == "creator"
        assert step.output["at"] == pytest.approx(1.5)
        second = MediaAsset.objects.get(pk=asset_id).outputs["poster"]
        assert second != first
        assert _colour(base / second) == "blue"
        assert storage.SERVABLE.match(second)
    finally:
        storage.remove_asset_files(asset_id)
