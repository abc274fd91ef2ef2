"""AV1 renditions for the videos that earn them (issue 23): the ffmpeg side.

A post past the view threshold (`view_threshold`, a staff flag) gets, on the bulk queue, one
`av1` step that encodes the same ladder as H.264 (same sizes, frame rate, closed GOPs cut at
0, 1, 3, 5 ... s so the first segment lasts 1 s, fMP4 HLS segments, the same audio) with
the bundled ffmpeg's SVT-AV1, from one decode.
Its renditions are published under `hls/av1-<short edge>/` and listed in the master
playlist *after* every H.264 variant, with CODECS read from each init segment's `av1C`
box (`av01.<profile>.<level><tier>.<depth>`), so that the first variant, the one a player
that ignores CODECS starts with, stays H.264. The web player keeps the AV1 variants where
`MediaSource.isTypeSupported` says the browser decodes them, the H.264 ones otherwise
(static/js/player/codecs.js)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from apps.media import transcode
from apps.media.probe import ProbeResult

STEP = "av1"
DIR_PREFIX = "av1-"
# AV1's rate cap against H.264's at the same rung: SVT-AV1 reaches H.264's VMAF with far
# fewer bits (bench/av1_quality.py), so the cap that only bounds peaks is lowered too
CAP_FACTOR = 0.7


def rung_dir(short_edge: int) -> str:
    return f"{DIR_PREFIX}{short_edge}"


def plan(probe: ProbeResult, title: dict[str, Any] | None = None) -> list[transcode.Rendition]:
    """The H.264 ladder's sizes with AV1's lower rate caps."""
    return [
        transcode.Rendition(
            r.short_edge,
            r.width,
            r.height,
            r.fps,
            max(50, int(r.video_kbps * CAP_FACTOR)),
            r.audio_kbps,
        )
        for r in transcode.plan_ladder(probe, title)
    ]


def _svt_args(rendition: transcode.Rendition, *, preset: int, crf: int) -> list[str]:
    gop = round(rendition.fps * transcode.SEGMENT_SECONDS)
    return [
        "-c:v",
        "libsvtav1",
        "-preset",
        str(preset),
        "-crf",
        str(crf),
        # capped CRF (SVT-AV1's max bit rate in CRF mode), as the H.264 ladder
        "-maxrate",
        f"{rendition.video_kbps}k",
        "-bufsize",
        f"{rendition.video_kbps * 2}k",
        # fixed closed GOPs, no scene-change keyframes: every segment starts with a
        # keyframe. Keyframes forced at 0 and 1 s, then every 2 s (H.264's KEYFRAME_EXPR):
        # a 1 s first segment, half the bytes before the first frame; SVT-AV1 restarts its
        # `keyint` count at a forced key frame, so the cuts are 0, 1, 3, 5 ... s as H.264's
        "-g",
        str(gop),
        "-force_key_frames",
        transcode.KEYFRAME_EXPR,
        "-svtav1-params",
        f"keyint={gop}:scd=0:irefresh-type=2:fast-decode=1",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        f"{rendition.audio_kbps}k",
        "-ac",
        "2",
        "-ar",
        "48000",
    ]


def command(
    source: Path,
    probe: ProbeResult,
    renditions: list[transcode.Rendition],
    out_root: Path,
    *,
    preset: int,
    crf: int,
    mix: transcode.SoundMix | None = None,
) -> list[str]:
    """Every AV1 rung from one decode: the source is split once and each branch gets the
    H.264 ladder's filter chain (rotation, fps, scale, tone mapping), so the pictures are
    the same; the audio is the renditions' (a chosen sound mixed in the same way)."""
    count = len(renditions)
    graph = [f"[0:v]split={count}" + "".join(f"[s{i}]" for i in range(count))]
    for i, r in enumerate(renditions):
        graph.append(f"[s{i}]{transcode._video_filter(probe, r.width, r.height, r.fps)}[v{i}]")
    if mix is not None:
        extra, chains, audio_maps = transcode._audio_graph(probe, mix, count, first_input=1)
        args = ["-i", str(source), *extra, "-filter_complex", ";".join([*graph, *chains])]
        duration: list[str] = []
    else:
        inputs, maps = transcode._input_args(source, probe)
        audio_maps = [maps[3]] * count
        args = [*inputs, "-filter_complex", ";".join(graph)]
        duration = [] if probe.has_audio else ["-t", f"{probe.duration_s:.3f}"]
    tag = mix.tag if mix is not None else ""
    for i, r in enumerate(renditions):
        out_dir = out_root / rung_dir(r.short_edge)
        out_dir.mkdir(parents=True, exist_ok=True)
        args += [
            "-map",
            f"[v{i}]",
            "-map",
            audio_maps[i],
            *duration,
            *_svt_args(r, preset=preset, crf=crf),
            *transcode._hls_output(r, out_dir, tag),
        ]
    return args


def encode(
    source: Path,
    probe: ProbeResult,
    renditions: list[transcode.Rendition],
    out_root: Path,
    *,
    preset: int,
    crf: int,
    heartbeat: Callable[[], None] | None = None,
    mix: transcode.SoundMix | None = None,
) -> tuple[list[dict[str, Any]], str]:
    log = transcode.run_ffmpeg(
        command(source, probe, renditions, out_root, preset=preset, crf=crf, mix=mix),
        heartbeat=heartbeat,
    )
    return [rendition_info(r, out_root / rung_dir(r.short_edge)) for r in renditions], log


def rendition_info(rendition: transcode.Rendition, out_dir: Path) -> dict[str, Any]:
    playlist = out_dir / "index.m3u8"
    peak, average = transcode.measure_bitrates(playlist)
    found = transcode._MAP.search(playlist.read_text())
    init = out_dir / (found.group(1) if found else "init.mp4")
    return {
        "short_edge": rendition.short_edge,
        "width": rendition.width,
        "height": rendition.height,
        "frame_rate": rendition.fps,
        "codecs": f"{codecs_of(init.read_bytes())},{transcode.AUDIO_CODECS}",
        "bandwidth": peak,
        "average_bandwidth": average,
        "target_video_kbps": rendition.video_kbps,
        "uri": f"{rung_dir(rendition.short_edge)}/index.m3u8",
    }


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    out = []
    at = start
    while at + 8 <= end:
        size = int.from_bytes(data[at : at + 4], "big")
        kind = data[at + 4 : at + 8]
        head = 8
        if size == 1:
            size, head = int.from_bytes(data[at + 8 : at + 16], "big"), 16
        elif size == 0:
            size = end - at
        if size < head or at + size > end:
            break
        out.append((kind, at + head, at + size))
        at += size
    return out


def _find(data: bytes, path: list[bytes], start: int, end: int) -> tuple[int, int] | None:
    """The payload span of the box at `path` (the sample entry `av01` has 78 bytes of
    visual sample entry fields before its child boxes; `stsd` 8 bytes of header)."""
    skip = {b"stsd": 8, b"av01": 78}
    for kind, body, stop in _boxes(data, start, end):
        if kind != path[0]:
            continue
        if len(path) == 1:
            return body, stop
        return _find(data, path[1:], body + skip.get(kind, 0), stop)
    return None


def codecs_of(init: bytes) -> str:
    """The RFC 6381 codec string of an AV1 init segment, from its `av1C` box (AV1-ISOBMFF
    §2.3): `av01.P.LLT.DD` — seq_profile, seq_level_idx_0 (two digits), tier (M/H), bit
    depth. Raises ValueError when the segment carries no AV1 track."""
    found = _find(
        init, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", b"av01", b"av1C"], 0, len(init)
    )
    if found is None or found[1] - found[0] < 4:
        raise ValueError("no av1C box in the init segment")
    body = found[0]
    profile = init[body + 1] >> 5
    level = init[body + 1] & 0x1F
    flags = init[body + 2]
    tier = "H" if flags & 0x80 else "M"
    depth = 12 if (flags & 0x40 and flags & 0x20) else 10 if flags & 0x40 else 8
    return f"av01.{profile}.{level:02d}{tier}.{depth:02d}"


def master_playlist(
    h264: list[dict[str, Any]],
    av1: list[dict[str, Any]],
    subtitles: list[dict[str, str]] | None = None,
) -> str:
    """The master: the H.264 variants exactly as before (the first one is still what a
    player that ignores CODECS starts with), then the AV1 variants, only those that exist."""
    text = transcode.master_playlist(h264, subtitles=subtitles)
    group = ',SUBTITLES="subs"' if subtitles else ""
    lines = []
    for item in sorted(av1, key=lambda r: r["bandwidth"]):
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={item['bandwidth']},"
            f"AVERAGE-BANDWIDTH={item['average_bandwidth']},"
            f"RESOLUTION={item['width']}x{item['height']},"
            f'CODECS="{item["codecs"]}",FRAME-RATE={item["frame_rate"]:.3f}{group}'
        )
        lines.append(item["uri"])
    return text + ("\n".join(lines) + "\n" if lines else "")
