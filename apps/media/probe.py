"""Validation of an uploaded file by its content, never by its name or declared type:
magic bytes, the container's structure (an ISO BMFF file must be exactly its boxes, which
catches truncation and appended payloads), then a full probe with PyAV (every packet
demuxed, the first frames decoded) and the limits on duration, dimensions and codecs."""

from __future__ import annotations

import re
import struct
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import av

from apps.media.scan import clamd_scan

MIN_DURATION_S = 1.0
MAX_DURATION_S = 600.0
MIN_SIDE = 64
MAX_SIDE = 8192
MAX_PIXELS = 8192 * 4320
# the longer side at most this many times the shorter (4:1 wide to 1:4 tall): beyond it a
# frame is a strip no feed shows, and the ladder's renditions outgrow H.264's levels
MAX_ASPECT = 4
VIDEO_CODECS = {"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "prores", "mjpeg"}
HDR_TRANSFERS = {16, 18}  # SMPTE ST 2084 (PQ) and ARIB STD-B67 (HLG)


class Rejected(Exception):  # noqa: N818 - a verdict, not a bug
    """The file is not a video we accept; `reason` is shown to the uploader."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ProbeResult:
    container: str
    video_codec: str
    pix_fmt: str
    coded_width: int
    coded_height: int
    rotation: int  # degrees the player must rotate (0, 90, 180, 270)
    width: int  # as displayed (after rotation)
    height: int
    duration_s: float
    frame_rate: float
    variable_frame_rate: bool
    bit_depth: int
    hdr: bool
    has_audio: bool
    audio_codec: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProbeResult:
        # the asset's probe also keeps what was decided from it (`title`: the per-title
        # plan; `playback`: whether someone waits to play it, `needs_early_playback`)
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


_IMAGE_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF87a": "a GIF image",
    b"GIF89a": "a GIF image",
    b"BM": "a BMP image",
}
_OTHER_MAGIC = {
    b"PK\x03\x04": "an archive (zip)",
    b"PK\x05\x06": "an archive (zip)",
    b"Rar!": "an archive (rar)",
    b"7z\xbc\xaf\x27\x1c": "an archive (7z)",
    b"\x1f\x8b": "an archive (gzip)",
    b"%PDF": "a PDF document",
    b"ID3": "an audio file (MP3)",
    b"fLaC": "an audio file (FLAC)",
    b"OggS": "an Ogg file",
    b"MZ": "an executable",
    b"\x7fELF": "an executable",
}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P "}
_ISO_TOP_BOXES = {
    b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"meta", b"moof",
    b"mfra", b"sidx", b"styp", b"pdin", b"prft", b"emsg", b"udta", b"pnot", b"junk",
}


def sniff_container(head: bytes) -> str:
    """The container family from the first bytes, or Rejected with what the file is."""
    if len(head) < 12:
        raise Rejected("The file is too small to be a video.")
    if head[4:8] == b"ftyp":
        if head[8:12] in _AUDIO_BRANDS:
            raise Rejected("The file is audio only (an M4A file), not a video.")
        if head[8:12] in {b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1"}:
            raise Rejected("The file is an image (HEIF/AVIF), not a video.")
        return "isobmff"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        raise Rejected("The file is an image (WebP), not a video.")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        raise Rejected("The file is audio only (WAV), not a video.")
    for magic, what in _IMAGE_MAGIC.items():
        if head.startswith(magic):
            raise Rejected(f"The file is {what}, not a video.")
    for magic, what in _OTHER_MAGIC.items():
        if head.startswith(magic):
            raise Rejected(f"The file is {what}, not a video.")
    if head[:2] in {b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"\xff\xf1", b"\xff\xf9"}:
        raise Rejected("The file is audio only (MPEG audio), not a video.")
    if all(32 <= byte < 127 or byte in (9, 10, 13) for byte in head[:64]):
        raise Rejected("The file is text, not a video.")
    raise Rejected("The file is not a video container we recognise (MP4, MOV, WebM, MKV).")


_INCONSISTENT = ("The file's structure is inconsistent: the size of its {box!r} box does not "
                 "match its contents (the file is corrupt).")

# Boxes that hold other boxes (walked), and leaf boxes whose payload is the structure of
# the media (tables, sample descriptions): neither is scanned as free-form bytes. mdat is
# media samples. Everything else — free/skip/wide/junk, uuid, udta and meta items,
# unknown boxes — can carry anything, so it is scanned for embedded files.
_CONTAINER_BOXES = {
    b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf", b"edts", b"mvex", b"moof",
    b"traf", b"mfra", b"udta", b"meta", b"tref", b"sinf", b"schi", b"ilst", b"gmhd",
}
_STRUCTURAL_BOXES = {
    b"ftyp", b"styp", b"mvhd", b"tkhd", b"mdhd", b"hdlr", b"vmhd", b"smhd", b"nmhd",
    b"sthd", b"gmin", b"dref", b"stsd", b"stts", b"ctts", b"cslg", b"stss", b"stps",
    b"stsc", b"stsz", b"stz2", b"stco", b"co64", b"sdtp", b"sbgp", b"sgpd", b"subs",
    b"saiz", b"saio", b"elst", b"mehd", b"trex", b"trep", b"mfhd", b"tfhd", b"tfdt",
    b"trun", b"tfra", b"mfro", b"sidx", b"ssix", b"prft", b"pdin", b"iods", b"frma",
    b"schm", b"tenc", b"pssh", b"senc", b"keys", b"tapt", b"clef", b"prof", b"enof",
    b"load", b"kmat", b"ctab", b"pnot", b"chpl", b"mdat",
}
# Moov children: one of these where a top-level box should start means a size lied.
_MOOV_CHILDREN = {b"mvhd", b"trak", b"tkhd", b"mdia", b"mdhd", b"minf", b"stbl", b"mvex",
                  b"iods", b"edts", b"elst", b"hdlr"}
_MAX_DEPTH = 12
_SCAN_CHUNK = 1 << 20
_SCAN_OVERLAP = 64


def _box_header(handle: Any, offset: int, limit: int) -> tuple[int, bytes, int] | None:
    """(size, type, header length) of the box at `offset`, or None when fewer than 8
    bytes are left or the size field is not a box size."""
    if limit - offset < 8:
        return None
    handle.seek(offset)
    header = handle.read(16)
    box_size, box_type = struct.unpack(">I4s", header[:8])
    header_length = 8
    if box_size == 1:
        if len(header) < 16:
            return None
        box_size = struct.unpack(">Q", header[8:16])[0]
        header_length = 16
    elif box_size == 0:
        box_size = limit - offset  # runs to the end of its parent
    if box_size < header_length:
        return None
    return box_size, box_type, header_length


def _children_tile(handle: Any, start: int, end: int, depth: int = 0) -> bool:
    """Whether well-formed boxes fill [start, end) exactly (a container's size that runs
    past the file's end but whose children stop at the end was a lie, not truncation)."""
    offset = start
    while offset < end:
        header = _box_header(handle, offset, end)
        if header is None or offset + header[0] > end:
            return False
        if not all(32 <= byte < 127 or byte == 0xA9 for byte in header[1]):
            return False
        offset += header[0]
    return offset == end


def check_isobmff_structure(path: Path) -> None:
    """The top-level boxes must tile the file exactly: a box running past the end means a
    truncated upload (or, when its contents end with the file, a size that lies), and
    bytes after the last box mean something else rides along (a polyglot: a zip or a
    script appended to a playable video). Every box that is not media or structure is
    then scanned for an embedded archive or executable, wherever it sits."""
    size = path.stat().st_size
    offset = 0
    seen: set[bytes] = set()
    with path.open("rb") as handle:
        while offset < size:
            header = _box_header(handle, offset, size)
            if header is None:
                raise Rejected("The file has data after the end of the video (a polyglot).")
            box_size, box_type, header_length = header
            if box_type not in _ISO_TOP_BOXES:
                if box_type in _MOOV_CHILDREN:
                    raise Rejected(_INCONSISTENT.format(box="moov"))
                raise Rejected(
                    "The file has data after the end of the video (a polyglot)."
                    if {b"moov", b"mdat"} <= seen or {b"moov", b"moof"} <= seen
                    else "The file's structure is damaged (an unknown top-level box)."
                )
            if offset + box_size > size:
                name = box_type.decode("latin-1")
                if box_type in _CONTAINER_BOXES and _children_tile(
                        handle, offset + header_length, size):
                    raise Rejected(_INCONSISTENT.format(box=name))
                raise Rejected(f"The file is truncated (its {name!r} box runs past the end "
                               "of the file).")
            seen.add(box_type)
            offset += box_size
        if b"moov" not in seen:
            raise Rejected("The file is truncated or damaged (no movie header).")
        found = _scan_boxes(handle, 0, size, depth=0)
    if found:
        raise Rejected(f"The file hides {found} inside the video's container (a polyglot).")


def _scan_boxes(handle: Any, start: int, end: int, *, depth: int) -> str | None:
    """Walks the boxes in [start, end): containers are descended into, media and
    structure skipped, anything else (and any bytes that are no box) scanned."""
    offset = start
    while offset < end:
        header = _box_header(handle, offset, end)
        if header is None or offset + header[0] > end:
            return find_embedded_file(handle, offset, end)  # not boxes: scan the rest
        box_size, box_type, header_length = header
        payload = offset + header_length
        if box_type in _CONTAINER_BOXES and depth < _MAX_DEPTH:
            if box_type == b"meta":
                handle.seek(payload + 4)
                if handle.read(4) == b"hdlr":  # ISO meta is a full box (version, flags)
                    payload += 4
            found = _scan_boxes(handle, payload, offset + box_size, depth=depth + 1)
        elif box_type in _STRUCTURAL_BOXES:
            found = None
        else:
            found = find_embedded_file(handle, payload, offset + box_size)
        if found:
            return found
        offset += box_size
    return None


# Files that have no business inside a video's container: their signatures anywhere
# outside the media data make the upload a polyglot (a video that is also an archive or a
# program). Each is long enough not to turn up by chance in metadata.
_EMBEDDED_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "an archive (zip)"),
    (b"PK\x01\x02", "an archive (zip)"),
    (b"PK\x05\x06", "an archive (zip)"),
    (b"Rar!\x1a\x07", "an archive (rar)"),
    (b"7z\xbc\xaf\x27\x1c", "an archive (7z)"),
    (b"\x1f\x8b\x08", "an archive (gzip)"),
    (b"\xfd7zXZ\x00", "an archive (xz)"),
    (b"BZh91AY&SY", "an archive (bzip2)"),
    (b"%PDF-", "a PDF document"),
    (b"\x7fELF", "an executable (ELF)"),
    (b"\xfe\xed\xfa\xce", "an executable (Mach-O)"),
    (b"\xfe\xed\xfa\xcf", "an executable (Mach-O)"),
    (b"\xce\xfa\xed\xfe", "an executable (Mach-O)"),
    (b"\xcf\xfa\xed\xfe", "an executable (Mach-O)"),
    (b"\xca\xfe\xba\xbe", "an executable (Mach-O or Java)"),
    (b"<script", "a script"),
    (b"<?php", "a script"),
)
_SHEBANG = re.compile(rb"#![ \t]*/(?:usr/|bin/|sbin/|opt/|tmp/|[a-z]+/)")
_MZ = re.compile(rb"MZ")


def _pe_at(handle: Any, at: int, end: int) -> bool:
    """A DOS header whose e_lfanew points at a PE signature: a Windows executable."""
    handle.seek(at + 0x3C)
    raw = handle.read(4)
    if len(raw) < 4:
        return False
    pe = at + struct.unpack("<I", raw)[0]
    if pe + 4 > end or pe < at + 0x40:
        return False
    handle.seek(pe)
    return bool(handle.read(4) == b"PE\0\0")


def find_embedded_file(handle: Any, start: int, end: int) -> str | None:
    """What embedded file (an archive, a document, an executable, a script) the bytes in
    [start, end) of an open file contain, or None."""
    offset = start
    while offset < end:
        handle.seek(offset)
        chunk = handle.read(min(_SCAN_CHUNK, end - offset))
        if not chunk:
            return None
        lowered = chunk.lower()
        for signature, what in _EMBEDDED_SIGNATURES:
            if (lowered if signature[:1] == b"<" else chunk).find(signature) >= 0:
                return what
        if _SHEBANG.search(chunk):
            return "a script"
        for match in _MZ.finditer(chunk):
            if _pe_at(handle, offset + match.start(), end):
                return "an executable (Windows PE)"
        if offset + len(chunk) >= end:
            return None
        offset += len(chunk) - _SCAN_OVERLAP
    return None


def _zip_trailer(path: Path) -> bool:
    """A zip's end-of-central-directory record near the end marks a zip polyglot whatever
    the front of the file looks like."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(max(0, size - 65_557))
        tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return False
    comment_length = struct.unpack("<H", tail[at + 20 : at + 22])[0]
    return bool(at + 22 + comment_length == len(tail))


def _rotation(stream: Any, first_frame: Any) -> int:
    rotation = getattr(first_frame, "rotation", 0) or 0
    return round(-float(rotation)) % 360 if rotation else 0


def probe_file(path: Path, *, clamd_address: str = "") -> ProbeResult:
    """The whole check. Raises Rejected with a reason a person can act on."""
    with path.open("rb") as handle:
        head = handle.read(64)
    family = sniff_container(head)
    if _zip_trailer(path):
        raise Rejected("The file is also an archive (a zip polyglot).")
    if family == "isobmff":
        check_isobmff_structure(path)
    if clamd_address:
        found = clamd_scan(path, clamd_address)
        if found:
            raise Rejected(f"The file contains malware ({found}).")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise Rejected(f"The file cannot be read as a video ({exc.__class__.__name__}).") from exc
    try:
        return _probe_container(container)
    except av.FFmpegError as exc:
        raise Rejected(f"The video cannot be decoded ({exc.__class__.__name__}).") from exc
    finally:
        container.close()


def _probe_container(container: Any) -> ProbeResult:
    if not container.streams.video:
        if container.streams.audio:
            raise Rejected("The file is audio only; a video track is required.")
        raise Rejected("The file has no video track.")
    video = container.streams.video[0]
    # the codec's own name, not the decoder's (AV1 is decoded by "libdav1d")
    codec = video.codec_context.codec.canonical_name or video.codec_context.name
    if codec not in VIDEO_CODECS:
        if codec in {"png", "bmp", "gif", "webp", "tiff"}:
            raise Rejected("The file is an image, not a video.")
        raise Rejected(f"The video codec {codec!r} is not supported.")
    audio = container.streams.audio[0] if container.streams.audio else None
    coded_w, coded_h = int(video.codec_context.width), int(video.codec_context.height)
    if min(coded_w, coded_h) < MIN_SIDE:
        raise Rejected(f"The video is too small ({coded_w}x{coded_h}; at least {MIN_SIDE}px).")
    if max(coded_w, coded_h) > MAX_SIDE or coded_w * coded_h > MAX_PIXELS:
        raise Rejected(f"The video frame is too large ({coded_w}x{coded_h}; at most "
                       f"{MAX_SIDE}px a side and 8192x4320 in all).")
    if max(coded_w, coded_h) > MAX_ASPECT * min(coded_w, coded_h):
        shape = "wider than 4:1" if coded_w > coded_h else "taller than 1:4"
        raise Rejected(f"The video's shape is too extreme ({coded_w}x{coded_h} is {shape}); "
                       "videos from 4:1 (wide) to 1:4 (tall) are accepted.")

    # Full probe: every packet demuxed (a truncated or corrupt stream ends early or errors);
    # the first video frames decoded.
    first_frame = None
    video_packets = 0
    last_video_end = 0.0
    first_video_pts: float | None = None
    pts_deltas: set[int] = set()
    previous_pts: int | None = None
    tb = float(video.time_base) if video.time_base else 0.0
    for packet in container.demux(video, *((audio,) if audio is not None else ())):
        if packet.stream is not video or packet.pts is None:
            continue
        video_packets += 1
        start = packet.pts * tb
        first_video_pts = start if first_video_pts is None else min(first_video_pts, start)
        last_video_end = max(last_video_end, start + (packet.duration or 0) * tb)
        if previous_pts is not None and len(pts_deltas) < 64:
            pts_deltas.add(abs(packet.pts - previous_pts))
        previous_pts = packet.pts
        if first_frame is None:
            for frame in packet.decode():
                first_frame = frame
                break
    if first_frame is None:
        # decoders with delay hand out frames only when flushed
        for frame in video.codec_context.decode(None):
            first_frame = frame
            break
    if video_packets == 0 or first_frame is None:
        raise Rejected("The video track has no decodable frames (truncated or damaged).")

    duration_s = max(last_video_end - (first_video_pts or 0.0), 0.0)
    if container.duration:
        duration_s = max(duration_s, 0.0) or container.duration / 1_000_000
    if duration_s < MIN_DURATION_S:
        raise Rejected(f"The video is too short ({duration_s:.2f}s; at least 1 s).")
    if duration_s > MAX_DURATION_S:
        raise Rejected(f"The video is too long ({duration_s:.0f}s; at most 10 minutes).")

    rate = video.average_rate or video.guessed_rate or video.base_rate
    frame_rate = float(rate) if rate else video_packets / duration_s
    if not 1.0 <= frame_rate <= 240.0:
        frame_rate = video_packets / duration_s
    pix_fmt = first_frame.format.name
    bit_depth = 10 if any(tag in pix_fmt for tag in ("10", "12", "16")) else 8
    rotation = _rotation(video, first_frame)
    width, height = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)
    return ProbeResult(
        container=container.format.name,
        video_codec=codec,
        pix_fmt=pix_fmt,
        coded_width=coded_w,
        coded_height=coded_h,
        rotation=rotation,
        width=width,
        height=height,
        duration_s=round(duration_s, 3),
        frame_rate=round(frame_rate, 3),
        variable_frame_rate=len(pts_deltas) > 2,
        bit_depth=bit_depth,
        hdr=int(getattr(first_frame, "color_trc", 0) or 0) in HDR_TRANSFERS,
        has_audio=audio is not None,
        audio_codec=audio.codec_context.name if audio is not None else "",
    )
