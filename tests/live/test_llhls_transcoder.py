"""The transcoder with the LL-HLS packager (SWIPEME_LIVE_PACKAGER=llhls, production's
default), run as nginx-rtmp runs it but on a file source (no ingest: the ingest's own tests
run the fallback end to end): each rung's playlist keeps the LL-HLS rules, segments start at
the 1 s keyframes, the master names every rung with its codecs, the recording and the frame
are written, a second connection continues the playlists after a discontinuity, and the
live's end closes them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import pytest

from apps.live.ingest.transcoder import ENDED_MARKER, write_media_playlists
from apps.live.llhls import playlist as pl
from tests.conftest import ROOT
from tests.live.test_llhls_packager import Published, check_version, media_timing


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("source") / "source.flv"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
         "-f", "lavfi", "-i", "testsrc2=size=854x480:rate=30",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "8",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-c:a", "aac", str(path)],
        check=True, timeout=60)
    return path


def transcode(root: Path, source: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "apps.live.ingest.transcoder", "--live-id", "7", "--root",
         str(root), "--source", str(source), "--ffmpeg", imageio_ffmpeg.get_ffmpeg_exe(),
         "--preset", "ultrafast", "--packager", "llhls"],
        cwd=ROOT, check=True, timeout=120, capture_output=True)


def published(rendition: Path) -> Published:
    text = (rendition / pl.PLAYLIST).read_text()
    names = re.findall(r'URI="([^"]+)"', text) + [
        line for line in text.splitlines() if line and not line.startswith("#")]
    hint = re.search(r'PRELOAD-HINT:TYPE=PART,URI="([^"]+)"', text)
    return Published(text, {name: (rendition / name).read_bytes() for name in names
                            if not (hint and name == hint.group(1))})


def test_the_transcoder_writes_ll_hls_for_every_rung(tmp_path: Path, source: Path) -> None:
    live = tmp_path / "7"
    transcode(tmp_path, source)

    master = (live / "index.m3u8").read_text()
    assert master.count("#EXT-X-STREAM-INF") == 2
    assert "480p/index.m3u8" in master
    assert "240p/index.m3u8" in master
    assert 'CODECS="avc1.' in master
    assert "mp4a.40.2" in master
    for name in ("480p", "240p"):
        version = published(live / name)
        playlist = check_version(version, live=True)  # the next connection continues it
        assert len(playlist.segments) >= 3
        for segment in playlist.segments:  # the 1 s keyframes: every segment starts on one
            _, duration, independent = media_timing(version.files[segment.init],
                                                    version.files[segment.uri])
            assert independent
            assert duration == pytest.approx(1.0, abs=0.05) or segment is playlist.segments[-1]
        assert not list((live / name).glob("s*/"))  # no ffmpeg sessions: the packager's own
    assert (live / "recording" / "0001.ts").stat().st_size > 0
    assert (live / "frames" / "latest.jpg").stat().st_size > 0

    # the publisher comes back: the same playlists, continued after a discontinuity
    before = pl.parse((live / "480p" / pl.PLAYLIST).read_text())
    transcode(tmp_path, source)
    after = check_version(published(live / "480p"), live=True)
    joined = [segment for segment in after.segments if segment.discontinuity]
    assert [segment.msn for segment in joined] == [before.segments[-1].msn + 1]
    assert joined[0].init == "init-1.mp4"
    assert (live / "recording" / "0002.ts").exists()

    # the live ends (control.kick's mark): every rung's playlist gets EXT-X-ENDLIST
    (live / ENDED_MARKER).touch()
    write_media_playlists(live)
    for name in ("480p", "240p"):
        text = (live / name / pl.PLAYLIST).read_text()
        assert text.endswith("#EXT-X-ENDLIST\n")
        assert "PRELOAD-HINT" not in text
