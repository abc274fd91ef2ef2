"""The LL-HLS packager against the LL-HLS rules (RFC 8216bis), on real ffmpeg output.

Every version of the playlist the packager publishes is checked as a client would meet it:
each file it names is there, parts last at most PART-TARGET (all but a segment's last at
least 85 % of it), a segment starts with an independent part whose first sample really is a
sync sample, every declared duration is the media's own, segments are their parts' bytes,
the preload hint names the next part, server control offers blocking reload with
PART-HOLD-BACK >= 3 part targets. Then a reconnect (the playlist continues with a
discontinuity and a new init section), the end (EXT-X-ENDLIST), and the blocking reload's
rules (held until the part is there, 400 when too far ahead)."""

from __future__ import annotations

import asyncio
import math
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import pytest

from apps.live.llhls import Packager, blocking, finish, fmp4_output_args, part_target_for
from apps.live.llhls import playlist as pl
from apps.live.llhls.boxes import fragment_timing, iter_boxes, parse_moov

FPS = 30


def encode(seconds: float, *, fps: int = FPS, size: str = "320x180") -> bytes:
    """ffmpeg's fragmented MP4 for the packager (testsrc2 + a tone, 1 s keyframes), as the
    transcoder writes it (`fmp4_output_args`)."""
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
        "-g", str(fps), "-keyint_min", str(fps), "-sc_threshold", "0",
        "-c:a", "aac", "-b:a", "64k", *fmp4_output_args(fps), "pipe:1"]
    return subprocess.run(command, check=True, capture_output=True, timeout=60).stdout


@dataclass
class Published:
    text: str
    files: dict[str, bytes]  # what each named file held when this version was read


def feed_and_watch(packager: Packager, data: bytes, chunk: int = 4096) -> list[Published]:
    """Feed in pipe-sized chunks; after each chunk read every new playlist version and the
    files it names (as a client reading at that moment would)."""
    versions: list[Published] = []
    last = None
    for offset in range(0, len(data), chunk):
        packager.feed(data[offset:offset + chunk])
        try:
            text = packager.playlist_path.read_text()
        except FileNotFoundError:
            continue
        if text != last:
            last = text
            names = re.findall(r'URI="([^"]+)"', text) + [
                line for line in text.splitlines() if line and not line.startswith("#")]
            hint = re.search(r'PRELOAD-HINT:TYPE=PART,URI="([^"]+)"', text)
            files = {}
            for name in names:
                if hint and name == hint.group(1):
                    continue
                path = packager.out_dir / name
                assert path.exists(), f"the playlist names {name}, which is not there"
                files[name] = path.read_bytes()
            versions.append(Published(text, files))
    return versions


def media_timing(init: bytes, fragment: bytes) -> tuple[float, float, bool]:
    """(start, duration, starts with a sync sample) of a part or segment read from its
    own boxes (all its fragments)."""
    info = parse_moov(init)
    start, total, independent = None, 0.0, False
    for kind, offset, size, _ in iter_boxes(fragment):
        if kind == "moof":
            timing = fragment_timing(fragment[offset:offset + size], info)
            if timing is None:
                continue
            if start is None:
                start, independent = timing.start, timing.independent
            total += timing.duration
    assert start is not None
    return start, total, independent


def check_version(version: Published, *, live: bool) -> pl.MediaPlaylist:
    text = version.text
    playlist = pl.parse(text)
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert int(re.search(r"#EXT-X-VERSION:(\d+)", text).group(1)) >= 9  # type: ignore[union-attr]
    control = re.search(r"#EXT-X-SERVER-CONTROL:(.*)", text).group(1)  # type: ignore[union-attr]
    assert "CAN-BLOCK-RELOAD=YES" in control
    hold_back = float(re.search(r"PART-HOLD-BACK=([0-9.]+)", control).group(1))  # type: ignore[union-attr]
    assert hold_back >= 3 * playlist.part_target - 1e-9
    assert "#EXT-X-PROGRAM-DATE-TIME:" in text
    target = playlist.target_duration
    inits = {segment.init: version.files[segment.init] for segment in playlist.segments}
    shown = playlist.segments + ([playlist.current] if playlist.current else [])
    for segment in shown:
        init = version.files[segment.init]
        inits[segment.init] = init
        assert segment.pdt is not None
        if segment.complete:
            assert round(segment.duration) <= target, segment.duration
        for index, part in enumerate(segment.parts):
            assert part.duration <= playlist.part_target + 1e-6, (part.uri, part.duration)
            last_of_segment = segment.complete and index == len(segment.parts) - 1
            if not (last_of_segment or part.independent):
                assert part.duration >= 0.85 * playlist.part_target, (part.uri, part.duration)
            _, actual, independent = media_timing(init, version.files[part.uri])
            assert math.isclose(actual, part.duration, abs_tol=1e-4), part.uri
            assert independent == part.independent, part.uri
            assert independent == (index == 0), (part.uri, "a segment starts at a keyframe")
        if segment.complete and segment.parts:
            assert version.files[segment.uri] == b"".join(
                version.files[part.uri] for part in segment.parts)
            _, actual, independent = media_timing(init, version.files[segment.uri])
            assert independent
            assert math.isclose(actual, segment.duration, abs_tol=1e-4)
    if live:
        next_msn, next_index = playlist.next_part()
        assert lines[-1] == f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="s{next_msn}.{next_index}.m4s"'
        assert "#EXT-X-ENDLIST" not in text
    # media sequence numbers are consecutive and the files are named after them
    for offset, segment in enumerate(playlist.segments):
        assert segment.msn == playlist.media_sequence + offset
        assert all(part.uri.startswith(f"s{segment.msn}.") for part in segment.parts)
    return playlist


@pytest.fixture(scope="module")
def streams() -> tuple[bytes, bytes]:
    """Two inputs (the publisher, then the same publisher back after a drop)."""
    return encode(20), encode(3)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "720p"


def test_every_published_playlist_keeps_the_ll_hls_rules(streams: tuple[bytes, bytes],
                                                          out: Path) -> None:
    packager = Packager(out, part_target=part_target_for(FPS))
    versions = feed_and_watch(packager, streams[0])
    assert len(versions) > 60  # one per part: ~5 a second
    for version in versions:
        check_version(version, live=True)
    final = pl.parse(versions[-1].text)
    # 20 s in 1 s segments (the first, with the encoder's start, dropped): the window slid
    # (12 listed), parts only for the last ~3 s
    assert final.media_sequence >= 5
    assert len(final.segments) == 12
    assert all(not segment.parts for segment in final.segments[:-4])
    durations = [segment.duration for segment in final.segments]
    assert all(math.isclose(d, 1.0, abs_tol=1e-4) for d in durations), durations
    # the files of segments long gone from the window are deleted
    assert not (out / "s0.m4s").exists()
    assert not (out / "s0.0.m4s").exists()


def test_a_reconnect_continues_the_playlist_and_the_end_closes_it(
        streams: tuple[bytes, bytes], out: Path) -> None:
    first = Packager(out, part_target=part_target_for(FPS))
    feed_and_watch(first, streams[0][: len(streams[0]) // 4])  # ~5 s, then the drop
    first.close()
    before = pl.parse((out / pl.PLAYLIST).read_text())
    assert before.current is None
    assert not before.ended
    hinted = before.next_part()
    assert (out / pl.PLAYLIST).read_text().splitlines()[-1].endswith(
        f'URI="s{hinted[0]}.{hinted[1]}.m4s"')

    second = Packager(out, part_target=part_target_for(FPS))
    versions = feed_and_watch(second, streams[1])
    for version in versions:
        check_version(version, live=True)
    after = pl.parse(versions[-1].text)
    joined = [s for s in after.segments if s.discontinuity]
    assert len(joined) == 1
    assert joined[0].msn == hinted[0]
    assert hinted[1] == 0
    assert joined[0].init == "init-1.mp4" != before.segments[-1].init
    text = versions[-1].text
    assert text.index("#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init-1.mp4\"") > 0
    old = [s.msn for s in before.segments]
    assert old == list(range(old[0], old[-1] + 1))
    assert old[-1] + 1 == joined[0].msn

    second.close()
    assert finish(out)
    ended = (out / pl.PLAYLIST).read_text()
    assert ended.endswith("#EXT-X-ENDLIST\n")
    assert "PRELOAD-HINT" not in ended
    assert pl.position(ended).ended


def test_a_crashed_input_s_open_segment_is_completed_by_the_next(
        streams: tuple[bytes, bytes], out: Path) -> None:
    first = Packager(out, part_target=part_target_for(FPS))
    feed_and_watch(first, streams[0][: len(streams[0]) // 5])  # no close(): it died
    open_segment = pl.parse((out / pl.PLAYLIST).read_text()).current
    assert open_segment is not None
    assert open_segment.parts
    second = Packager(out, part_target=part_target_for(FPS))
    versions = feed_and_watch(second, streams[1])
    playlist = check_version(versions[-1], live=True)
    completed = next(s for s in playlist.segments if s.msn == open_segment.msn)
    assert completed.complete
    assert (out / completed.uri).read_bytes() == b"".join(
        (out / part.uri).read_bytes() for part in open_segment.parts)
    assert playlist.segments[playlist.segments.index(completed) + 1].discontinuity


def test_part_target_is_whole_frames_and_ffmpeg_cuts_there() -> None:
    assert part_target_for(30) == pytest.approx(0.2)
    assert part_target_for(25) == pytest.approx(0.2)
    assert part_target_for(24) == pytest.approx(5 / 24)  # never a part over the target
    args = fmp4_output_args(24)
    assert args[args.index("-frag_duration") + 1] == str(int(5 / 24 * 1e6))


# --- blocking playlist reload -------------------------------------------------------------


def test_blocking_params_are_checked() -> None:
    assert blocking.blocking_params({}) == (None, None)
    assert blocking.blocking_params({"_HLS_msn": "4", "_HLS_part": "2"}) == (4, 2)
    assert blocking.blocking_params({"_HLS_msn": "4"}) == (4, None)
    for bad in ({"_HLS_part": "1"}, {"_HLS_msn": "x"}, {"_HLS_msn": "-1"},
                {"_HLS_msn": "3", "_HLS_part": "1.5"}):
        with pytest.raises(blocking.BlockingReloadError):
            blocking.blocking_params(bad)


@pytest.fixture
def live_feed(streams: tuple[bytes, bytes], out: Path) -> Iterator[Packager]:
    """A packager fed at the media's own pace from a thread (a live input)."""
    packager = Packager(out, part_target=part_target_for(FPS))
    data = streams[0]
    head = len(data) // 6  # ~3 s published at once, the rest in real time
    packager.feed(data[:head])
    stop = threading.Event()

    def run() -> None:
        step = max(1, (len(data) - head) // 170)  # ~17 s in 170 steps of ~0.1 s
        for offset in range(head, len(data), step):
            if stop.wait(0.1):
                return
            packager.feed(data[offset:offset + step])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield packager
    stop.set()
    thread.join(timeout=5)


def test_blocking_reload_holds_until_the_part_is_published(live_feed: Packager) -> None:
    path = live_feed.playlist_path

    async def scenario() -> None:
        at = pl.position(path.read_text())
        msn, part = at.last_msn + 1, at.parts + 1  # two parts ahead of the playlist
        started = time.monotonic()
        text = await blocking.playlist_when_ready(path, msn, part)
        waited = time.monotonic() - started
        assert text is not None
        assert pl.satisfies(pl.position(text), msn, part)
        assert 0.05 < waited < 2.0, waited
        # the hinted part: held until written, then there
        hint = re.search(r'PRELOAD-HINT:TYPE=PART,URI="([^"]+)"', text).group(1)  # type: ignore[union-attr]
        assert not (live_feed.out_dir / hint).exists()
        assert await blocking.part_when_ready(live_feed.out_dir / hint, path)
        assert (live_feed.out_dir / hint).stat().st_size > 0
        # already there: answered at once; a name far ahead or not a part: not waited for
        now = pl.position(path.read_text())
        started = time.monotonic()
        assert await blocking.playlist_when_ready(path, now.last_msn, 0) is not None
        assert await blocking.part_when_ready(live_feed.out_dir / "s9999.0.m4s", path) is False
        assert await blocking.part_when_ready(live_feed.out_dir / "init-9.mp4", path) is False
        assert time.monotonic() - started < 0.5
        # too far ahead: 400 at once (RFC 8216bis 6.2.5.2)
        with pytest.raises(blocking.BlockingReloadError):
            await blocking.playlist_when_ready(path, now.last_msn + 3, None)
        limit = pl.advance_part_limit(now.part_target)
        with pytest.raises(blocking.BlockingReloadError):
            await blocking.playlist_when_ready(path, now.last_msn + 1, now.parts + limit + 1)
        # many waiters share one watch per playlist
        texts = await asyncio.gather(*(blocking.playlist_when_ready(path, now.last_msn + 2, 0)
                                       for _ in range(50)))
        assert all(t is not None and pl.position(t).last_msn >= now.last_msn + 1
                   for t in texts)

    # In its own thread: a session that ran a browser test has Playwright's loop in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result()


def test_satisfies_follows_the_spec_s_part_numbering() -> None:
    # segment 7 complete with 5 parts, 2 parts of segment 8 published
    at = pl.Position(last_msn=7, last_parts=5, parts=2, ended=False, part_target=0.2,
                     target_duration=1)
    assert pl.satisfies(at, 7, None)
    assert not pl.satisfies(at, 8, None)
    assert pl.satisfies(at, 8, 1)
    assert not pl.satisfies(at, 8, 2)
    assert pl.satisfies(at, 7, 9)  # past msn 7's last part = part 0 of msn 8, published
    assert not pl.satisfies(pl.Position(7, 5, 0, False, 0.2, 1), 7, 5)
    assert pl.satisfies(pl.Position(7, 5, 0, True, 0.2, 1), 9, 3)  # ended: answer
    assert pl.too_far_ahead(at, 10, None)
    assert not pl.too_far_ahead(at, 9, None)
    assert pl.too_far_ahead(at, 8, 1 + 16)
    assert not pl.too_far_ahead(at, 8, 1 + 15)
