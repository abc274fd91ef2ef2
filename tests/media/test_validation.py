"""Validation by content: a hostile and broken corpus made here, each refused with a
reason (and its bytes deleted); and the normalisation of what phones send."""

from __future__ import annotations

import io
import struct
import zipfile

import av
import pytest
from PIL import Image

from apps.media import hooks, services, storage, transcode
from apps.media.models import MediaAsset
from apps.media.probe import Rejected, probe_file
from tests.factories import UserFactory
from tests.media.conftest import make_clip


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.txt", "hello " * 100)
    return buffer.getvalue()


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 360), (10, 200, 30)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bytes, str]]:
    """name → (bytes, a word the reason must contain)."""
    base = tmp_path_factory.mktemp("corpus")
    good = make_clip(base / "good.mp4", seconds=2.0).read_bytes()
    audio = make_clip(base / "audio.m4a", seconds=2.0, audio=True,
                      extra_output=["-vn"]).read_bytes()
    short = make_clip(base / "short.mp4", seconds=0.4).read_bytes()
    mkv_audio_only = base / "audio.mkv"
    make_clip(mkv_audio_only, seconds=2.0, extra_output=["-vn", "-f", "matroska"])
    return {
        "zip": (_zip_bytes(), "archive"),
        "png": (_png_bytes(), "image"),
        "text named .mp4": (b"just some text pretending to be a video\n" * 20, "text"),
        "audio only (m4a)": (audio, "audio"),
        "audio only (mkv)": (mkv_audio_only.read_bytes(), "audio"),
        "truncated mp4": (good[: len(good) // 2], "truncated"),
        "zip polyglot": (good + _zip_bytes(), "polyglot"),
        "script appended": (good + b"<script>alert(1)</script>" * 10, "polyglot"),
        "too short": (short, "short"),
        "empty mdat header": (good[:40], "truncated"),
        "garbage": (bytes(range(256)) * 64, "recognise"),
    }


@pytest.mark.parametrize("name", [
    "zip", "png", "text named .mp4", "audio only (m4a)", "audio only (mkv)", "truncated mp4",
    "zip polyglot", "script appended", "too short", "empty mdat header", "garbage",
])
@pytest.mark.django_db
def test_hostile_and_broken_files_are_rejected_with_a_reason(corpus, name):
    data, word = corpus[name]
    # given an upload that completed with these bytes
    asset = MediaAsset.objects.create(owner=UserFactory(), state="uploaded",
                                      upload_length=len(data), upload_offset=len(data))
    storage.source_path(asset.pk).parent.mkdir(parents=True, exist_ok=True)
    storage.source_path(asset.pk).write_bytes(data)
    failed: list[int] = []

    def on_failed(*, asset_id: int) -> None:
        failed.append(asset_id)

    hooks.register_asset_failed_hook(on_failed)
    try:
        # when the worker's task validates it
        result = services.asset_process(asset_id=asset.pk, task_id="t")
    finally:
        hooks._failed_hooks.remove(on_failed)
    # then it is rejected with a reason that says what is wrong; nothing else was made
    asset.refresh_from_db()
    assert result == "rejected"
    assert asset.state == "rejected"
    assert word in asset.state_reason.lower(), asset.state_reason
    assert not storage.source_path(asset.pk).exists()
    assert not (storage.asset_dir(asset.pk) / "hls").exists()
    assert asset.steps.get(name="validate").output == {"rejected": asset.state_reason}
    storage.remove_asset_files(asset.pk)


def test_the_declared_name_or_type_does_not_matter(tmp_path):
    clip = make_clip(tmp_path / "clip.txt", seconds=1.5, extra_output=["-f", "mp4"])
    assert probe_file(clip).video_codec == "h264"
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(_png_bytes())
    with pytest.raises(Rejected, match="PNG image"):
        probe_file(fake)


@pytest.mark.parametrize(("case", "make", "expected"), [
    ("rotated phone clip", {"size": "640x360", "extra_input": [],
                            "extra_output": [], "rotate": 90}, (240, 426)),
    ("odd dimensions", {"size": "359x641", "extra_output": ["-pix_fmt", "yuv444p"]},
     (240, 430)),
    ("10-bit", {"extra_output": ["-pix_fmt", "yuv420p10le"]}, (240, 426)),
    ("60 fps, no audio", {"audio": False, "fps": 60}, (240, 426)),
    ("HDR10 (PQ, BT.2020, 10-bit)", {"extra_output": [
        "-pix_fmt", "yuv420p10le",
        "-x264-params", "colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc"]},
     (240, 426)),
    ("variable frame rate", {"extra_input": [
        "-vf", "settb=1/1000,setpts='N/30/TB+0.012*sin(N)/TB'"],
                             "extra_output": ["-fps_mode", "passthrough", "-enc_time_base",
                                              "1:1000"]}, (240, 426)),
])
def test_what_phones_send_is_normalised(tmp_path, case, make, expected):
    rotate = make.pop("rotate", None)
    fps = make.pop("fps", None)
    extra_output = make.pop("extra_output", [])
    source = make_clip(tmp_path / "in.mp4", seconds=1.5, extra_output=extra_output,
                       rate=fps or 30, **make)
    if rotate:
        rotated = tmp_path / "rotated.mp4"
        import subprocess

        subprocess.run([transcode.ffmpeg_exe(), "-loglevel", "error", "-y", "-display_rotation",
                        str(rotate), "-i", str(source), "-c", "copy", str(rotated)], check=True)
        source = rotated
    probe = probe_file(source)
    assert probe.hdr == ("HDR" in case)
    assert probe.variable_frame_rate == ("variable" in case)
    assert probe.bit_depth == (10 if "10-bit" in case or "HDR" in case else 8)
    lowest = transcode.plan_ladder(probe)[0]
    out = tmp_path / "out"
    out.mkdir()
    transcode.transcode_rendition(source, probe, lowest, out, preset="ultrafast")
    durations = []
    joined = tmp_path / "joined.mp4"
    joined.write_bytes((out / "init.mp4").read_bytes() + b"".join(
        p.read_bytes() for p in sorted(out.glob("seg_*.m4s"))))
    with av.open(str(joined)) as container:
        video = container.streams.video[0]
        assert container.streams.audio, f"{case}: a silent track is added when missing"
        frame = next(container.decode(video))
        assert frame.format.name == "yuv420p"
        assert (frame.width, frame.height) == expected
        assert frame.width % 2 == 0
        assert frame.height % 2 == 0
        assert float(video.average_rate or 0) == pytest.approx(30.0, abs=0.5)
        durations.append(float(container.duration or 0) / 1e6)
    assert durations[0] == pytest.approx(1.5, abs=0.2)


def test_isobmff_box_walk_detects_damage(tmp_path):
    path = tmp_path / "boxes.mp4"
    ftyp = struct.pack(">I4s4sI", 16, b"ftyp", b"isom", 0)
    path.write_bytes(ftyp + struct.pack(">I4s", 1000, b"moov") + b"\0" * 10)
    with pytest.raises(Rejected, match="truncated"):
        probe_file(path)


def test_av1_is_accepted_by_its_codec_not_its_decoder(tmp_path):
    # PyAV names the decoder (libdav1d); the check is about the codec
    clip = make_clip(tmp_path / "av1.mp4", size="320x240", seconds=1.2, audio=False,
                     extra_output=["-c:v", "libaom-av1", "-cpu-used", "8"])
    probe = probe_file(clip)
    assert probe.video_codec == "av1"
    assert probe.duration_s == pytest.approx(1.2, abs=0.1)
