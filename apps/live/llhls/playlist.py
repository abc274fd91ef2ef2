"""The LL-HLS media playlist: the packager's model of it, its text (RFC 8216bis), and the
reading of it back (the reconnect continues it; the blocking reload and the tests read where
it is)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

PLAYLIST = "index.m3u8"
SEGMENT_NAME = "s{msn}.m4s"
PART_NAME = "s{msn}.{part}.m4s"
PART_RE = re.compile(r"^s(\d+)\.(\d+)\.m4s$")
VERSION = 9


@dataclass
class Part:
    duration: float
    independent: bool
    uri: str
    size: int = 0


@dataclass
class Segment:
    msn: int
    init: str
    start: float  # media time of its first part (seconds)
    pdt: datetime | None = None
    discontinuity: bool = False
    parts: list[Part] = field(default_factory=list)
    duration: float = 0.0  # set when complete
    complete: bool = False

    @property
    def uri(self) -> str:
        return SEGMENT_NAME.format(msn=self.msn)

    @property
    def parts_duration(self) -> float:
        return sum(part.duration for part in self.parts)


@dataclass
class MediaPlaylist:
    target_duration: int
    part_target: float
    segments: list[Segment] = field(default_factory=list)  # complete ones, oldest first
    current: Segment | None = None  # the segment whose parts are being published
    discontinuity_sequence: int = 0
    ended: bool = False
    part_window: float = 3.0  # parts are listed for segments this close to the end (seconds)

    @property
    def media_sequence(self) -> int:
        if self.segments:
            return self.segments[0].msn
        return self.current.msn if self.current else 0

    def next_part(self) -> tuple[int, int]:
        """(msn, part index) of the part the preload hint names."""
        if self.current is not None:
            return self.current.msn, len(self.current.parts)
        last = self.segments[-1].msn if self.segments else -1
        return last + 1, 0

    def render(self) -> str:
        part_hold_back = 3 * self.part_target
        lines = [
            "#EXTM3U",
            f"#EXT-X-VERSION:{VERSION}",
            f"#EXT-X-TARGETDURATION:{self.target_duration}",
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"
            f"PART-HOLD-BACK={part_hold_back:.5f},HOLD-BACK={3 * self.target_duration:.3f}",
            f"#EXT-X-PART-INF:PART-TARGET={self.part_target:.5f}",
            f"#EXT-X-MEDIA-SEQUENCE:{self.media_sequence}",
            f"#EXT-X-DISCONTINUITY-SEQUENCE:{self.discontinuity_sequence}",
        ]
        shown = self.segments + ([self.current] if self.current and self.current.parts else [])
        # Parts only near the end: older segments are fetched whole.
        elapsed = 0.0
        with_parts = len(shown)
        for index in range(len(shown) - 1, -1, -1):
            segment = shown[index]
            if elapsed >= self.part_window:
                break
            with_parts = index
            elapsed += segment.duration if segment.complete else segment.parts_duration
        previous_init = None
        for index, segment in enumerate(shown):
            if segment.discontinuity:
                lines.append("#EXT-X-DISCONTINUITY")
            if segment.init != previous_init:
                lines.append(f'#EXT-X-MAP:URI="{segment.init}"')
                previous_init = segment.init
            if segment.pdt is not None:
                lines.append("#EXT-X-PROGRAM-DATE-TIME:" + format_pdt(segment.pdt))
            if index >= with_parts:
                for part in segment.parts:
                    lines.append(f'#EXT-X-PART:DURATION={part.duration:.5f},URI="{part.uri}"'
                                 + (",INDEPENDENT=YES" if part.independent else ""))
            if segment.complete:
                lines.append(f"#EXTINF:{segment.duration:.5f},")
                lines.append(segment.uri)
        if self.ended:
            lines.append("#EXT-X-ENDLIST")
        else:
            next_msn, next_index = self.next_part()
            hint = PART_NAME.format(msn=next_msn, part=next_index)
            lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{hint}"')
        return "\n".join(lines) + "\n"


def format_pdt(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_pdt(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _attributes(text: str) -> dict[str, str]:
    return {key: value.strip('"') for key, value in
            re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', text)}


def parse(text: str) -> MediaPlaylist:
    """Read a playlist this module rendered (the reconnect and the tests read it back)."""
    target = 1
    part_target = 0.2
    sequence = 0
    discontinuity_sequence = 0
    segments: list[Segment] = []
    init = ""
    pending_parts: list[Part] = []
    pending_pdt: datetime | None = None
    pending_discontinuity = False
    ended = False
    start = 0.0
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-TARGETDURATION:"):
            target = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-PART-INF:"):
            part_target = float(_attributes(line.split(":", 1)[1])["PART-TARGET"])
        elif line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-DISCONTINUITY-SEQUENCE:"):
            discontinuity_sequence = int(line.split(":", 1)[1])
        elif line == "#EXT-X-DISCONTINUITY":
            pending_discontinuity = True
        elif line.startswith("#EXT-X-MAP:"):
            init = _attributes(line.split(":", 1)[1])["URI"]
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            pending_pdt = parse_pdt(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-PART:"):
            attrs = _attributes(line.split(":", 1)[1])
            pending_parts.append(Part(float(attrs["DURATION"]), attrs.get("INDEPENDENT") == "YES",
                                      attrs["URI"]))
        elif line.startswith("#EXTINF:"):
            duration = float(line.split(":", 1)[1].rstrip(",").split(",")[0])
            segment = Segment(sequence + len(segments), init, start, pending_pdt,
                              pending_discontinuity, pending_parts, duration, True)
            segments.append(segment)
            start += duration
            pending_parts, pending_pdt, pending_discontinuity = [], None, False
        elif line == "#EXT-X-ENDLIST":
            ended = True
    playlist = MediaPlaylist(target, part_target, segments,
                             discontinuity_sequence=discontinuity_sequence, ended=ended)
    if pending_parts:
        playlist.current = Segment(sequence + len(segments), init, start, pending_pdt,
                                   pending_discontinuity, pending_parts)
    return playlist


@dataclass(frozen=True)
class Position:
    """Where a playlist is: what a blocking reload compares _HLS_msn/_HLS_part with."""

    last_msn: int  # the last complete segment (-1: none yet)
    last_parts: int  # parts listed for that segment
    parts: int  # parts published of segment last_msn + 1
    ended: bool
    part_target: float
    target_duration: int


def position(text: str) -> Position:
    playlist = parse(text)
    last = playlist.segments[-1] if playlist.segments else None
    return Position(last.msn if last else playlist.media_sequence - 1,
                    len(last.parts) if last else 0,
                    len(playlist.current.parts) if playlist.current else 0,
                    playlist.ended, playlist.part_target, playlist.target_duration)


def satisfies(at: Position, msn: int, part: int | None) -> bool:
    """Does a playlist at `at` answer a request for segment `msn` (part `part`)?

    RFC 8216bis 6.2.5.2: hold until the playlist contains segment msn (with _HLS_part: its
    part `part`); a part index past the last part of a complete segment means part 0 of the
    next segment. An ended playlist answers everything."""
    if at.ended:
        return True
    if part is None:
        return at.last_msn >= msn
    if msn < at.last_msn:
        return True
    if msn == at.last_msn:
        return part < at.last_parts or at.parts > 0
    return msn == at.last_msn + 1 and at.parts > part


def advance_part_limit(part_target: float) -> int:
    return math.floor(3 / part_target) if part_target < 1 else 3


def too_far_ahead(at: Position, msn: int, part: int | None) -> bool:
    """RFC 8216bis 6.2.5.2: _HLS_msn more than two past the last segment, or _HLS_part past
    the last part by more than the Advance Part Limit, is answered 400 at once."""
    if msn > at.last_msn + 2:
        return True
    if part is None:
        return False
    limit = advance_part_limit(at.part_target)
    if msn == at.last_msn + 1:
        return part - (at.parts - 1) > limit
    if msn == at.last_msn + 2:
        return part + 1 > limit
    return False


def pdt_after(moment: datetime, seconds: float) -> datetime:
    return moment + timedelta(seconds=seconds)
