"""Subtitle files: parsing creator-uploaded WebVTT/SRT (strictly, with limits: these are
untrusted), writing WebVTT and its HLS media playlist, and grouping recognised words into
cues. Cues are plain text: markup in uploads is dropped, and `<`, `>`, `&` are escaped on
output, so no cue can inject tags or a fake timing line into the published file."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from typing import TypedDict

from apps.media.asr import Word

MAX_FILE_BYTES = 512 * 1024
MAX_CUES = 5000
MAX_CUE_CHARS = 500
MAX_TIME_MS = 4 * 3600 * 1000  # past any post's length

# a cue line is at most this long; a cue at most two lines and this long in time
LINE_CHARS = 42
CUE_MAX_MS = 5000
CUE_GAP_MS = 800  # a pause this long starts a new cue


class Cue(TypedDict):
    start_ms: int
    end_ms: int
    text: str


class SubtitleError(ValueError):
    """An uploaded file or edited cue list that is refused; the message says why."""


_TIME = r"(?:(\d{1,2}):)?([0-5]\d):([0-5]\d)[.,](\d{3})"
_TIMING = re.compile(rf"^{_TIME}\s+-->\s+{_TIME}(?:\s+.*)?$")
_TAG = re.compile(r"<[^>]*>")


def _ms(hours: str | None, minutes: str, seconds: str, millis: str) -> int:
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)


def _clean_text(lines: list[str]) -> str:
    text = "\n".join(html.unescape(_TAG.sub("", line)).strip() for line in lines)
    return text.strip()


def validate_cues(cues: Iterable[Cue], *, duration_ms: int | None = None) -> list[Cue]:
    """Checked, ordered copies of `cues`; SubtitleError names the first bad one."""
    out: list[Cue] = []
    limit = MAX_TIME_MS if duration_ms is None else duration_ms + 1000
    for number, cue in enumerate(cues, 1):
        if number > MAX_CUES:
            raise SubtitleError(f"Too many cues: at most {MAX_CUES}.")
        start, end, text = cue["start_ms"], cue["end_ms"], cue["text"]
        if not (0 <= start < end <= limit):
            raise SubtitleError(
                f"Cue {number}: its times must satisfy 0 <= start < end <= "
                f"{limit / 1000:.3f} s (the video's length).")
        text = "\n".join(line.strip() for line in text.replace("\r", "").split("\n")).strip()
        if not text:
            raise SubtitleError(f"Cue {number} has no text.")
        if len(text) > MAX_CUE_CHARS:
            raise SubtitleError(f"Cue {number} is longer than {MAX_CUE_CHARS} characters.")
        if "\x00" in text or "-->" in text:
            raise SubtitleError(f"Cue {number} contains a character sequence that is not "
                                "allowed in subtitles (NUL or '-->').")
        out.append({"start_ms": start, "end_ms": end, "text": text})
    out.sort(key=lambda c: (c["start_ms"], c["end_ms"]))
    return out


def parse(data: bytes, *, duration_ms: int | None = None) -> list[Cue]:
    """Cues of a WebVTT or SRT file (told apart by the WEBVTT header)."""
    if len(data) > MAX_FILE_BYTES:
        raise SubtitleError(f"The subtitle file is larger than {MAX_FILE_BYTES // 1024} KB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubtitleError("The subtitle file is not UTF-8 text.") from exc
    if "\x00" in text:
        raise SubtitleError("The subtitle file contains NUL characters: it is not text.")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    is_vtt = text.startswith("WEBVTT") and (len(text) == 6 or text[6] in " \t\n")
    blocks = [b for b in re.split(r"\n[ \t]*\n", text.strip("\n")) if b.strip()]
    if is_vtt:
        blocks = blocks[1:]  # the header block
    cues: list[Cue] = []
    for block in blocks:
        lines = block.split("\n")
        if is_vtt and lines[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        timing_at = next((i for i, line in enumerate(lines[:2]) if "-->" in line), None)
        if timing_at is None:
            raise SubtitleError(f"Cue {len(cues) + 1}: no timing line "
                                "('00:00:01.000 --> 00:00:02.500') where one is expected.")
        if not is_vtt and timing_at == 1 and not lines[0].strip().isdigit():
            raise SubtitleError(f"Cue {len(cues) + 1}: an SRT cue starts with its number.")
        match = _TIMING.match(lines[timing_at].strip())
        if match is None:
            raise SubtitleError(f"Cue {len(cues) + 1}: the timing line "
                                f"{lines[timing_at][:60]!r} is not valid.")
        g = match.groups()
        cues.append({"start_ms": _ms(*g[:4]), "end_ms": _ms(*g[4:]),
                     "text": _clean_text(lines[timing_at + 1:])})
        if len(cues) > MAX_CUES:
            raise SubtitleError(f"Too many cues: at most {MAX_CUES}.")
    if not cues:
        raise SubtitleError("The file has no cues: upload a WebVTT or SRT file.")
    return validate_cues(cues, duration_ms=duration_ms)


def _stamp(ms: int) -> str:
    hours, rest = divmod(ms, 3600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def to_vtt(cues: list[Cue]) -> str:
    parts = ["WEBVTT", ""]
    for cue in cues:
        parts += [f"{_stamp(cue['start_ms'])} --> {_stamp(cue['end_ms'])}",
                  html.escape(cue["text"], quote=False), ""]
    return "\n".join(parts)


def media_playlist(vtt_name: str, duration_ms: int) -> str:
    """The HLS media playlist of one WebVTT file covering the whole video."""
    seconds = max(duration_ms, 1) / 1000
    return "\n".join([
        "#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{math.ceil(seconds)}",
        "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD",
        f"#EXTINF:{seconds:.3f},", vtt_name, "#EXT-X-ENDLIST", "",
    ])


def cues_from_words(words: list[Word]) -> list[Cue]:
    """Recognised words grouped into readable cues: at most two lines of LINE_CHARS,
    CUE_MAX_MS long, a new cue after a pause."""
    cues: list[Cue] = []
    current: list[Word] = []

    def flush() -> None:
        if current:
            cues.append({"start_ms": current[0].start_ms,
                         "end_ms": max(current[-1].end_ms, current[0].start_ms + 1),
                         "text": " ".join(w.text for w in current)})
            current.clear()

    for word in words:
        if current:
            length = len(" ".join(w.text for w in current)) + 1 + len(word.text)
            if (length > 2 * LINE_CHARS or word.end_ms - current[0].start_ms > CUE_MAX_MS
                    or word.start_ms - current[-1].end_ms > CUE_GAP_MS):
                flush()
        current.append(word)
    flush()
    return cues
