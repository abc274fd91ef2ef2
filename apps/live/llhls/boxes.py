"""Just enough ISO-BMFF (fragmented MP4) reading for the packager: split ffmpeg's stream into
the init section (ftyp + moov) and fragments (moof + mdat), and read from each fragment the
timing of its video track and whether it starts with a sync sample (a keyframe).

Nothing is rewritten: the packager cuts the byte stream at box boundaries."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

NON_SYNC = 0x00010000  # sample_is_non_sync_sample in the sample flags (ISO 14496-12 8.8.3.1)
DEPENDS_ON_NONE = 0x02000000  # sample_depends_on == 2: an I-frame


class BoxError(ValueError):
    """The stream is not the fragmented MP4 the packager expects."""


def iter_boxes(data: bytes | memoryview, start: int = 0,
               end: int | None = None) -> Iterator[tuple[str, int, int, int]]:
    """(type, offset, size, header size) of each box in data[start:end]."""
    end = len(data) if end is None else end
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            raise BoxError(f"box {kind!r} at {offset} overruns its parent")
        yield kind.decode("latin-1"), offset, size, header
        offset += size


def _child(data: bytes, offset: int, size: int, header: int, kind: str) -> tuple[int, int, int]:
    for child, child_offset, child_size, child_header in iter_boxes(data, offset + header,
                                                                    offset + size):
        if child == kind:
            return child_offset, child_size, child_header
    raise BoxError(f"no {kind} box")


@dataclass
class Track:
    track_id: int
    timescale: int
    handler: str  # "vide", "soun", ...
    default_duration: int = 0
    default_flags: int = 0


@dataclass
class InitInfo:
    tracks: dict[int, Track] = field(default_factory=dict)

    @property
    def timing_track(self) -> int:
        """The track whose samples time the parts: video if there is one."""
        for track in self.tracks.values():
            if track.handler == "vide":
                return track.track_id
        if not self.tracks:
            raise BoxError("the init section has no track")
        return min(self.tracks)


def parse_moov(data: bytes) -> InitInfo:
    """Track ids, timescales, handlers and the trex defaults from ftyp+moov bytes."""
    info = InitInfo()
    for kind, offset, size, header in iter_boxes(data):
        if kind != "moov":
            continue
        trex: dict[int, tuple[int, int]] = {}
        for child, c_off, c_size, c_hdr in iter_boxes(data, offset + header, offset + size):
            if child == "trak":
                t_off, _, t_hdr = _child(data, c_off, c_size, c_hdr, "tkhd")
                version = data[t_off + t_hdr]
                body = t_off + t_hdr + 4
                track_id = struct.unpack_from(">I", data, body + (16 if version == 1 else 8))[0]
                m_off, m_size, m_hdr = _child(data, c_off, c_size, c_hdr, "mdia")
                h_off, _, h_hdr = _child(data, m_off, m_size, m_hdr, "mdhd")
                version = data[h_off + h_hdr]
                body = h_off + h_hdr + 4
                timescale = struct.unpack_from(">I", data, body + (16 if version == 1 else 8))[0]
                r_off, _, r_hdr = _child(data, m_off, m_size, m_hdr, "hdlr")
                handler = data[r_off + r_hdr + 8:r_off + r_hdr + 12].decode("latin-1")
                info.tracks[track_id] = Track(track_id, timescale, handler)
            elif child == "mvex":
                for grand, g_off, _, g_hdr in iter_boxes(data, c_off + c_hdr, c_off + c_size):
                    if grand == "trex":
                        body = g_off + g_hdr + 4
                        track_id, _, duration, _, flags = struct.unpack_from(">5I", data, body)
                        trex[track_id] = (duration, flags)
        for track_id, (duration, flags) in trex.items():
            if track_id in info.tracks:
                info.tracks[track_id].default_duration = duration
                info.tracks[track_id].default_flags = flags
    if not info.tracks:
        raise BoxError("no moov with tracks in the init section")
    return info


@dataclass(frozen=True)
class FragmentTiming:
    start: float  # seconds (the timing track's tfdt)
    duration: float  # seconds (the sum of its sample durations)
    independent: bool  # starts with a sync sample


def fragment_timing(moof: bytes, init: InitInfo) -> FragmentTiming | None:
    """The timing track's start, duration and independence in one moof; None when the
    fragment carries no sample of that track (e.g. audio only)."""
    track_id = init.timing_track
    track = init.tracks[track_id]
    for kind, offset, size, header in iter_boxes(moof):
        if kind != "moof":
            continue
        for child, t_off, t_size, t_hdr in iter_boxes(moof, offset + header, offset + size):
            if child != "traf":
                continue
            timing = _traf_timing(moof, t_off, t_size, t_hdr, track, track_id)
            if timing is not None:
                return timing
    return None


def _traf_timing(data: bytes, offset: int, size: int, header: int, track: Track,
                 track_id: int) -> FragmentTiming | None:
    default_duration, default_flags = track.default_duration, track.default_flags
    base: int | None = None
    total = 0
    count = 0
    first_flags: int | None = None
    for kind, b_off, _, b_hdr in iter_boxes(data, offset + header, offset + size):
        body = b_off + b_hdr
        flags = struct.unpack_from(">I", data, body)[0] & 0xFFFFFF
        version = data[body]
        if kind == "tfhd":
            if struct.unpack_from(">I", data, body + 4)[0] != track_id:
                return None
            cursor = body + 8
            if flags & 0x01:
                cursor += 8  # base_data_offset
            if flags & 0x02:
                cursor += 4  # sample_description_index
            if flags & 0x08:
                default_duration = struct.unpack_from(">I", data, cursor)[0]
                cursor += 4
            if flags & 0x10:
                cursor += 4  # default_sample_size
            if flags & 0x20:
                default_flags = struct.unpack_from(">I", data, cursor)[0]
        elif kind == "tfdt":
            base = (struct.unpack_from(">Q", data, body + 4)[0] if version == 1
                    else struct.unpack_from(">I", data, body + 4)[0])
        elif kind == "trun":
            samples = struct.unpack_from(">I", data, body + 4)[0]
            cursor = body + 8
            if flags & 0x01:
                cursor += 4  # data_offset
            run_first_flags = None
            if flags & 0x04:
                run_first_flags = struct.unpack_from(">I", data, cursor)[0]
                cursor += 4
            per_sample = 4 * bin(flags & 0xF00).count("1")
            for index in range(samples):
                sample_flags = default_flags
                if flags & 0x100:
                    total += struct.unpack_from(">I", data, cursor)[0]
                else:
                    total += default_duration
                if flags & 0x400:
                    sample_flags = struct.unpack_from(
                        ">I", data, cursor + 4 * bin(flags & 0x300).count("1"))[0]
                elif index == 0 and run_first_flags is not None:
                    sample_flags = run_first_flags
                if count == 0 and index == 0:
                    first_flags = sample_flags
                cursor += per_sample
            count += samples
    if base is None or count == 0 or first_flags is None:
        return None
    independent = not first_flags & NON_SYNC
    scale = track.timescale
    return FragmentTiming(base / scale, total / scale, independent)
