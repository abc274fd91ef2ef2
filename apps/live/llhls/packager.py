"""The LL-HLS packager: ffmpeg's fragmented MP4 in, init section + parts + segments + media
playlist out.

ffmpeg cuts a fragment (moof + mdat) at every keyframe and after ~one part target
(`fmp4_output_args`); each fragment becomes one part file; a segment starts at a keyframe
once the current one has reached the segment target, and its file is the concatenation of
its parts' bytes. Every file is written beside and renamed into place (a reader never sees
half a file), the part before the playlist that names it, so the playlist never names a
file that is not there. A second packager on the same folder (the publisher reconnected)
continues the playlist: the media sequence goes on, the first new segment carries
EXT-X-DISCONTINUITY and its own init section."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apps.live.llhls import playlist as pl
from apps.live.llhls.boxes import BoxError, InitInfo, iter_boxes, parse_moov
from apps.live.llhls.boxes import fragment_timing as read_timing

logger = logging.getLogger(__name__)

PART_TARGET = 0.2  # seconds; MediaMTX's default, Apple's guidance is 0.2-1 s
SEGMENT_TARGET = 1.0
WINDOW = 12  # complete segments listed (the plain-HLS fallback plays from these)
KEEP_EXTRA = 3  # segments kept on disk past the window, for clients holding an older playlist


def part_target_for(fps: float, part_target: float = PART_TARGET) -> float:
    """The PART-TARGET to declare for a constant frame rate: a whole number of frames."""
    return max(1, round(part_target * fps)) / fps


def fmp4_output_args(fps: float, part_target: float = PART_TARGET) -> list[str]:
    """ffmpeg output options for a stream this packager reads: fragmented MP4 cut at each
    keyframe and when a fragment spans `part_target_for(fps)` (whole frames, so a video
    fragment is exactly one part; the audio's longer frames reach it later), flushed at
    each fragment."""
    frag_us = int(part_target_for(fps, part_target) * 1_000_000)
    return ["-f", "mp4", "-movflags", "empty_moov+default_base_moof+frag_keyframe",
            "-frag_duration", str(frag_us), "-flush_packets", "1"]


def _write_atomic(path: Path, data: bytes | str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
    os.replace(temporary, path)


class Packager:
    """One rendition: feed() it ffmpeg's bytes as they come; close() at the end of input."""

    def __init__(self, out_dir: Path, *, part_target: float = PART_TARGET,
                 segment_target: float = SEGMENT_TARGET, window: int = WINDOW,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.segment_target = segment_target
        self.window = window
        self.clock = clock
        self._buffer = bytearray()
        self._init_bytes = bytearray()
        self._init: InitInfo | None = None
        self._pending = bytearray()  # boxes of the fragment being read (moof, ...)
        self._carry = bytearray()  # a fragment without a timing sample, sent with the next
        # An input's first fragment carries the encoder's start (the audio priming stretches
        # the first video sample past the part target): parts start at a clean keyframe.
        self._clean_start = False
        self._anchor: datetime | None = None  # wall clock at media time 0 of this input
        self._parts_bytes: list[bytes] = []  # the current segment's parts
        self.playlist = self._continue_or_start(part_target)
        self._init_name = self._next_init_name()
        self._first_after_reconnect = bool(self.playlist.segments or self.playlist.current)

    # --- state ------------------------------------------------------------------------

    @property
    def init_path(self) -> Path:
        """This input's init section (written once ffmpeg's moov arrives)."""
        return self.out_dir / self._init_name

    @property
    def playlist_path(self) -> Path:
        return self.out_dir / pl.PLAYLIST

    def _continue_or_start(self, part_target: float) -> pl.MediaPlaylist:
        target = max(1, round(self.segment_target))
        try:
            previous = pl.parse(self.playlist_path.read_text())
        except FileNotFoundError:
            return pl.MediaPlaylist(target, part_target)
        # The segment the previous input was building when it died (a clean end completes
        # it): its listed parts are on disk, so it is completed from them.
        current = previous.current
        if current is not None:
            previous.current = None
            try:
                data = b"".join((self.out_dir / part.uri).read_bytes() for part in current.parts)
            except FileNotFoundError:
                data = b""
            if data:
                _write_atomic(self.out_dir / current.uri, data)
                current.duration = round(current.parts_duration, 5)
                current.complete = True
                previous.segments.append(current)
        previous.ended = False
        previous.target_duration = target
        previous.part_target = part_target
        return previous

    def _next_init_name(self) -> str:
        used = {segment.init for segment in self.playlist.segments}
        index = 0
        while f"init-{index}.mp4" in used or (self.out_dir / f"init-{index}.mp4").exists():
            index += 1
        return f"init-{index}.mp4"

    def _next_msn(self) -> int:
        if self.playlist.current is not None:
            return self.playlist.current.msn
        return self.playlist.segments[-1].msn + 1 if self.playlist.segments else 0

    # --- input ------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while True:
            box = self._take_box()
            if box is None:
                return
            kind, payload = box
            if self._init is None:
                self._init_bytes += payload
                if kind == "moov":
                    self._init = parse_moov(bytes(self._init_bytes))
                    _write_atomic(self.out_dir / self._init_name, bytes(self._init_bytes))
                continue
            if kind in ("mfra", "free", "skip"):
                continue
            self._pending += payload
            if kind == "mdat":
                fragment = bytes(self._pending)
                self._pending.clear()
                self._fragment(fragment)

    def _take_box(self) -> tuple[str, bytes] | None:
        if len(self._buffer) < 8:
            return None
        size = int.from_bytes(self._buffer[0:4], "big")
        kind = self._buffer[4:8].decode("latin-1")
        if size == 1:
            if len(self._buffer) < 16:
                return None
            size = int.from_bytes(self._buffer[8:16], "big")
        if size < 8:
            raise BoxError(f"box {kind!r} of size {size}")
        if len(self._buffer) < size:
            return None
        payload = bytes(self._buffer[:size])
        del self._buffer[:size]
        return kind, payload

    def _fragment(self, fragment: bytes) -> None:
        assert self._init is not None
        timing = None
        for kind, offset, size, _ in iter_boxes(fragment):
            if kind == "moof":
                timing = read_timing(fragment[offset:offset + size], self._init)
                break
        if timing is None or timing.duration <= 0:
            self._carry += fragment
            return
        data = bytes(self._carry) + fragment
        self._carry.clear()
        if not self._clean_start:
            if not timing.independent or timing.duration > self.playlist.part_target + 1e-3:
                return
            self._clean_start = True
        now = self.clock()
        if self._anchor is None:
            # The fragment just ended: its end is "now" on the wall clock.
            self._anchor = now - timedelta(seconds=timing.start + timing.duration)
        self._add_part(data, timing.start, timing.duration, timing.independent)

    # --- parts and segments -----------------------------------------------------------

    def _add_part(self, data: bytes, start: float, duration: float, independent: bool) -> None:
        playlist = self.playlist
        current = playlist.current
        if current is not None and current.parts:
            so_far = current.parts_duration
            full = so_far >= self.segment_target - duration / 2
            # EXTINF rounded must not pass TARGETDURATION: cut even without a keyframe.
            overlong = so_far + duration >= playlist.target_duration + 0.5
            if (independent and full) or overlong:
                self._complete_segment()
                current = None
        if current is None or not current.parts:
            msn = self._next_msn()
            assert self._anchor is not None
            current = pl.Segment(msn, self._init_name, start,
                                 pdt=self._anchor + timedelta(seconds=start),
                                 discontinuity=self._first_after_reconnect)
            self._first_after_reconnect = False
            playlist.current = current
            self._parts_bytes = []
        name = pl.PART_NAME.format(msn=current.msn, part=len(current.parts))
        if duration > playlist.part_target + 1e-3:
            logger.warning("llhls: part %s lasts %.3f s, over PART-TARGET %.3f", name,
                           duration, playlist.part_target)
        _write_atomic(self.out_dir / name, data)  # the part first, then the playlist
        current.parts.append(pl.Part(round(duration, 5), independent, name, len(data)))
        self._parts_bytes.append(data)
        self._publish()

    def _complete_segment(self) -> None:
        playlist = self.playlist
        current = playlist.current
        if current is None or not current.parts:
            return
        _write_atomic(self.out_dir / current.uri, b"".join(self._parts_bytes))
        current.duration = round(current.parts_duration, 5)
        current.complete = True
        playlist.segments.append(current)
        playlist.current = None
        self._parts_bytes = []
        while len(playlist.segments) > self.window:
            dropped = playlist.segments.pop(0)
            if dropped.discontinuity:
                playlist.discontinuity_sequence += 1
            self._forget(dropped.msn - KEEP_EXTRA)

    def _forget(self, msn: int) -> None:
        """Delete the files of segment `msn` (long out of the window)."""
        if msn < 0:
            return
        for path in self.out_dir.glob(f"s{msn}.*m4s"):
            if pl.PART_RE.match(path.name) or path.name == pl.SEGMENT_NAME.format(msn=msn):
                path.unlink(missing_ok=True)

    def _publish(self) -> None:
        _write_atomic(self.playlist_path, self.playlist.render())

    # --- the end ----------------------------------------------------------------------

    def close(self, *, ended: bool = False) -> None:
        """End of this input: the segment being built is completed; `ended` closes the
        playlist for good (EXT-X-ENDLIST). Without it the playlist waits for a reconnect,
        whose first part is the one the preload hint already names."""
        self._complete_segment()
        self.playlist.ended = ended
        if self.playlist.segments or ended:
            self._publish()


def finish(out_dir: Path) -> bool:
    """Close a rendition's playlist for good (the live ended): EXT-X-ENDLIST, no preload
    hint. False when there is no playlist."""
    path = Path(out_dir) / pl.PLAYLIST
    try:
        playlist = pl.parse(path.read_text())
    except FileNotFoundError:
        return False
    if playlist.current is not None:  # its segment file was never written
        playlist.current = None
    playlist.ended = True
    _write_atomic(path, playlist.render())
    return True
