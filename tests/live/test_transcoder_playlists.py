"""The transcoder's pure parts, without processes: the ladder for a source, the public media
playlist merged across reconnects (media sequence continued, discontinuity sequence counted
as sessions leave the window, a new EXT-X-MAP per session, ENDLIST only once ended), and
which playback paths reach a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.live.ingest.transcoder import (
    WINDOW,
    Source,
    ladder,
    media_playlist,
    write_master,
)
from apps.live.playback import hls_file


@pytest.mark.parametrize(("size", "expected"), [
    ((1920, 1080), [("720p", 1280, 720), ("480p", 854, 480), ("240p", 426, 240)]),
    ((720, 1280), [("720p", 720, 1280), ("480p", 480, 854), ("240p", 240, 426)]),
    ((854, 480), [("480p", 854, 480), ("240p", 428, 240)]),  # 427 rounds to even
    ((640, 360), [("360p", 640, 360), ("240p", 426, 240)]),
    ((320, 180), [("180p", 320, 180)]),
])
def test_ladder_has_nothing_above_the_source(size: tuple[int, int],
                                              expected: list[tuple[str, int, int]]) -> None:
    rungs = ladder(Source(width=size[0], height=size[1], fps=30, has_audio=True))
    assert [(r.name, r.width, r.height) for r in rungs] == expected
    assert all(r.width % 2 == 0 and r.height % 2 == 0 for r in rungs)


def _session(rendition: Path, number: int, *, first: int, count: int, ended: bool) -> None:
    folder = rendition / f"s{number}"
    folder.mkdir(parents=True)
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:1",
             f"#EXT-X-MEDIA-SEQUENCE:{first}", '#EXT-X-MAP:URI="init_0.mp4"']
    for i in range(first, first + count):
        lines += ["#EXTINF:1.000000,", f"#EXT-X-PROGRAM-DATE-TIME:2026-12-06T02:00:{i % 60:02d}"
                  ".000+0000", f"{i:05d}.m4s"]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    (folder / "stream.m3u8").write_text("\n".join(lines) + "\n")


def _uris(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def _tag(text: str, name: str) -> int:
    return int(text.split(f"#EXT-X-{name}:")[1].split()[0])


def test_reconnects_continue_the_media_sequence(tmp_path: Path) -> None:
    rendition = tmp_path / "480p"
    assert media_playlist(rendition, ended=False) is None
    # the first connection: 20 segments, ffmpeg's window kept the last 12 (8 deleted)
    _session(rendition, 1, first=8, count=12, ended=True)
    text = media_playlist(rendition, ended=False)
    assert text is not None
    assert _tag(text, "MEDIA-SEQUENCE") == 8
    assert _tag(text, "DISCONTINUITY-SEQUENCE") == 0
    assert "#EXT-X-ENDLIST" not in text  # ffmpeg's own end is not the live's
    assert _uris(text)[0] == "s1/00008.m4s"

    # the encoder comes back: its segments follow at 20, 21, ... after a discontinuity
    _session(rendition, 2, first=0, count=3, ended=False)
    text = media_playlist(rendition, ended=False)
    assert text is not None
    uris = _uris(text)
    assert len(uris) == WINDOW
    assert _tag(text, "MEDIA-SEQUENCE") == 20 + 3 - WINDOW
    assert uris[-3:] == ["s2/00000.m4s", "s2/00001.m4s", "s2/00002.m4s"]
    lines = text.splitlines()
    at = lines.index("s2/00000.m4s")
    assert lines[at - 4:at - 2] == ["#EXT-X-DISCONTINUITY", '#EXT-X-MAP:URI="s2/init_0.mp4"']
    assert text.count("#EXT-X-MAP") == 2

    # once the first session left the window, its discontinuity is counted, not shown
    (rendition / "s2").rename(tmp_path / "gone")
    _session(rendition, 2, first=3, count=WINDOW, ended=False)
    text = media_playlist(rendition, ended=True)
    assert text is not None
    assert _tag(text, "MEDIA-SEQUENCE") == 20 + 3
    assert _tag(text, "DISCONTINUITY-SEQUENCE") == 1
    assert "#EXT-X-DISCONTINUITY\n" not in text
    assert text.rstrip().endswith("#EXT-X-ENDLIST")


def test_master_waits_for_the_init_segments(tmp_path: Path) -> None:
    source = Source(width=854, height=480, fps=15, has_audio=True)
    rungs = ladder(source)
    for rung in rungs:
        _session(tmp_path / rung.name, 1, first=0, count=1, ended=False)
    assert write_master(tmp_path, rungs, 1, has_audio=True) is False
    for rung in rungs:  # an avcC box: High profile (0x64), level 3.0 (0x1e)
        (tmp_path / rung.name / "s1" / "init_0.mp4").write_bytes(
            b"\0\0\0\x10ftypiso6" + b"\0\0\0\x13avcC\x01\x64\x00\x1e\xff")
    assert write_master(tmp_path, rungs, 1, has_audio=True) is True
    master = (tmp_path / "index.m3u8").read_text()
    assert 'RESOLUTION=854x480,CODECS="avc1.64001e,mp4a.40.2"' in master
    assert _uris(master) == ["480p/index.m3u8", "240p/index.m3u8"]


@pytest.mark.parametrize(("path", "served"), [
    ("index.m3u8", True),
    ("480p/index.m3u8", True),
    ("480p/s1/init_0.mp4", True),
    ("480p/s2/00012.m4s", True),
    ("480p/s1/part_3.1.m4s", True),
    ("../1/index.m3u8", False),
    ("480p/../../etc/passwd", False),
    ("480p/s1/../../recording/0001.ts", False),
    ("recording/0001.ts", False),
    ("frames/latest.jpg", False),
    ("session.json", False),
    (".ingest.json", False),
    ("480p/.hidden.m4s", False),
    ("480p//index.m3u8", False),
    ("480p/s1/a/b.m4s", False),
    ("480p/s1/00001.ts", False),
])
def test_only_hls_files_are_reachable(path: str, served: bool) -> None:
    found = hls_file(42, path)
    assert (found is not None) is served
    if found is not None:
        assert found.parts[-len(path.split("/")) - 1] == "42"
