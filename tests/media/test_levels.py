"""Frame shapes: absurd aspect ratios are refused at validation with a message that says
which way (uploaded over tus, validated as the worker does), and every rendition is
encoded at an H.264 level that holds its frame size and rate (the level in the encoded
stream and in the master's CODECS)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from apps.media import services, storage, transcode
from apps.media.models import MediaAsset
from apps.media.probe import probe_file
from tests.factories import UserFactory
from tests.media.conftest import make_clip, upload_file


@pytest.mark.django_db
@pytest.mark.parametrize(("size", "words"), [
    ("64x8192", "taller than 1:4"),  # the frame from the report
    ("1024x128", "wider than 4:1"),
])
def test_absurd_aspect_ratios_are_refused_saying_which(tmp_path, size, words):
    clip = make_clip(tmp_path / "strip.mp4", size=size, seconds=0.5, audio=False, rate=10)
    client = APIClient()
    client.force_authenticate(UserFactory())
    asset_id = int(upload_file(client, clip))
    assert services.asset_process(asset_id=asset_id, task_id="t") == "rejected"
    asset = MediaAsset.objects.get(pk=asset_id)
    assert words in asset.state_reason
    assert "4:1 (wide) to 1:4 (tall)" in asset.state_reason
    assert not storage.source_path(asset_id).exists()


def test_levels_follow_frame_size_and_rate():
    # the usual ladder keeps the levels players expect
    assert [transcode.h264_level(w, h, 30) for w, h in
            [(240, 426), (360, 640), (540, 960), (720, 1280), (1080, 1920)]] == \
        ["3.0", "3.0", "3.1", "3.1", "4.0"]
    # 64x8192 is 4 x 512 macroblocks: a side that long needs level 5.1 (not Main 3.0)
    assert transcode.h264_level(64, 8192, 30) == "5.1"
    assert transcode.h264_level(360, 1440, 30) == "3.1"  # 2,070 macroblocks > 3.0's 1,620
    assert transcode.h264_level(720, 1280, 60) == "3.2"  # the rate counts too


def test_a_tall_rendition_is_encoded_at_the_level_its_size_needs(tmp_path: Path):
    # a 1:4 source (accepted: the limit) whose 360 rung, 360x1440, is past Main 3.0
    source = make_clip(tmp_path / "tall.mp4", size="360x1440", seconds=1.2, audio=False)
    probe = probe_file(source)
    ladder = transcode.plan_ladder(probe)
    rung = ladder[-1]
    assert (rung.width, rung.height) == (360, 1440)
    out = tmp_path / "out"
    out.mkdir()
    info, _log = transcode.transcode_rendition(source, probe, rung, out, preset="ultrafast")
    assert info["codecs"].startswith("avc1.4d401f,")  # Main, level 3.1
    # the stream's own avcC record: version, profile, compatibility, level
    init = (out / "init.mp4").read_bytes()
    avcc = init.index(b"avcC") + 4
    level_idc = init[avcc + 3]
    assert level_idc == 31  # ultrafast signals a Baseline-compatible profile; the level holds
    frame_mbs = math.ceil(360 / 16) * math.ceil(1440 / 16)
    max_fs = {name: fs for name, _, fs, _ in transcode.H264_LEVELS}[f"{level_idc / 10:.1f}"]
    assert frame_mbs <= max_fs
