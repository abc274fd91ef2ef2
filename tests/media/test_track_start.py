"""Packaged renditions start video and audio together (issue 22: the video track started
about 67 ms, two frames, after the audio), with a short first segment."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import av
import pytest

from apps.media import transcode
from apps.media.probe import probe_file
from tests.media.conftest import make_clip


def _first_decoded_times(playlist_dir: Path) -> dict[str, float]:
    joined = playlist_dir / "joined.mp4"
    joined.write_bytes(
        (playlist_dir / "init.mp4").read_bytes() + (playlist_dir / "seg_0000.m4s").read_bytes()
    )
    times: dict[str, float] = {}
    for kind in ("video", "audio"):
        with av.open(str(joined)) as container:
            stream = next(s for s in container.streams if s.type == kind)
            frame: Any = next(iter(container.decode(stream)))  # a video or an audio frame
            assert frame.pts is not None
            assert frame.time_base is not None
            times[kind] = float(frame.pts * frame.time_base)
    return times


def test_a_new_renditions_first_video_and_audio_times_are_equal(tmp_path: Path) -> None:
    source = make_clip(tmp_path / "source.mp4", size="240x426", seconds=1.5)
    probe = probe_file(source)
    rendition = transcode.plan_ladder(probe)[0]
    out = tmp_path / rendition.name
    out.mkdir()

    transcode.transcode_rendition(source, probe, rendition, out, preset="ultrafast")

    times = _first_decoded_times(out)
    assert times["video"] == times["audio"] == 0.0, times
    # the first segment lasts 1 s (the rest is the usual 2 s): fewer bytes to a first frame,
    # and it decodes on its own after the init (above: 30 frames, the keyframe first)
    playlist = (out / "index.m3u8").read_text()
    durations = [float(d) for d in re.findall(r"#EXTINF:([0-9.]+)", playlist)]
    assert durations[0] == pytest.approx(transcode.FIRST_SEGMENT_SECONDS, abs=0.05)
    assert sum(durations) == pytest.approx(1.5, abs=0.1)
    with av.open(str(out / "joined.mp4")) as container:
        frames = list(container.decode(container.streams.video[0]))
    assert len(frames) == 30
    assert frames[0].key_frame
