"""The ffmpeg side of the pipeline: the rendition ladder, the commands, the master
playlist and the MP4 fallback (the small derived files, poster, preview, storyboard, audio
and frames, are `apps.media.derived`).

Every function writes into a directory it is given; the service layer gives it a fresh
temporary directory and renames it into place, so a half-written output never shows."""

from __future__ import annotations

import math
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imageio_ffmpeg

from apps.media.probe import ProbeResult

LADDER = (240, 360, 540, 720, 1080)  # short edges, vertical video first
# bits per pixel per frame at each short edge: lower than the usual web ladders because a
# capped CRF spends less on easy content (x264 veryfast, 30 fps)
BITS_PER_PIXEL = {240: 0.16, 360: 0.13, 540: 0.11, 720: 0.095, 1080: 0.085}
CRF = 23
# the per-title ladder may leave out the highest rung only if one this high stays
TOP_FLOOR = 720
MAX_FPS = 30.0
SEGMENT_SECONDS = 2
# The first segment is shorter (keyframes at 0, 1, 3, 5, ... s): a player's first frame
# needs the init and that segment only, about half the bytes of a 2 s one (issue 22).
FIRST_SEGMENT_SECONDS = 1
# x264 keyframes forced at 0 and FIRST_SEGMENT_SECONDS, then every SEGMENT_SECONDS
KEYFRAME_EXPR = (f"expr:if(lt(n_forced,2),gte(t,n_forced*{FIRST_SEGMENT_SECONDS}),"
                 f"gte(t,{FIRST_SEGMENT_SECONDS}+(n_forced-1)*{SEGMENT_SECONDS}))")
AUDIO_BITRATE = {240: 64, 360: 96, 540: 128, 720: 128, 1080: 128}
# profile per rung (profile_idc and constraint flags of the CODECS string); the level is
# chosen per rendition from its frame size, frame rate and bitrate (`h264_level`), and
# both are set explicitly so that CODECS in the master is exact
H264_PROFILE = {240: ("main", "4d40"), 360: ("main", "4d40"), 540: ("high", "6400"),
                720: ("high", "6400"), 1080: ("high", "6400")}
# H.264 Annex A, table A-1: level → (max macroblocks per second, max frame size in
# macroblocks, max video bitrate in kbit/s for Main; High allows 1.25 times that). A frame's width
# and height in macroblocks must also each stay within sqrt(8 * max frame size).
H264_LEVELS = (
    ("3.0", 40_500, 1_620, 10_000), ("3.1", 108_000, 3_600, 14_000),
    ("3.2", 216_000, 5_120, 20_000), ("4.0", 245_760, 8_192, 20_000),
    ("4.1", 245_760, 8_192, 50_000), ("4.2", 522_240, 8_704, 50_000),
    ("5.0", 589_824, 22_080, 135_000), ("5.1", 983_040, 36_864, 240_000),
    ("5.2", 2_073_600, 36_864, 240_000), ("6.0", 4_177_920, 139_264, 240_000),
    ("6.1", 8_355_840, 139_264, 480_000), ("6.2", 16_711_680, 139_264, 800_000),
)
AUDIO_CODECS = "mp4a.40.2"
LOG_TAIL_CHARS = 4000
DUCK_GAIN = 0.25  # the upload's own audio under a chosen sound when ducked: -12 dB


def ffmpeg_exe() -> str:
    return str(imageio_ffmpeg.get_ffmpeg_exe())


class ToolFailed(Exception):  # noqa: N818
    def __init__(self, message: str, log_tail: str) -> None:
        super().__init__(message)
        self.log_tail = log_tail


def run_ffmpeg(
    args: list[str], *, heartbeat: Callable[[], None] | None = None, every: float = 5.0
) -> str:
    """Runs ffmpeg, calling `heartbeat` while it works; returns the tail of its log."""
    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "warning", "-y", *args]
    with subprocess.Popen(  # noqa: S603 - a fixed binary and arguments we build
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stderr is not None
        last = time.monotonic()
        chunks: list[bytes] = []
        # stderr is small (warnings only); read it in a loop so heartbeats keep going
        import selectors

        selector = selectors.DefaultSelector()
        selector.register(proc.stderr, selectors.EVENT_READ)
        while True:
            if selector.select(timeout=1.0):
                data = proc.stderr.read1(65536)  # type: ignore[attr-defined]
                if not data:
                    break
                chunks.append(data)
            if heartbeat is not None and time.monotonic() - last >= every:
                heartbeat()
                last = time.monotonic()
        code = proc.wait()
    tail = b"".join(chunks).decode("utf-8", "replace")[-LOG_TAIL_CHARS:]
    if code != 0:
        raise ToolFailed(f"ffmpeg exited with {code}", tail)
    return tail


def remux_clean(source: Path, out: Path, *, container: str, has_audio: bool) -> str:
    """Copies the first video (and audio) stream, untouched, into a fresh file: boxes,
    chunks, attachments, metadata and any bytes no sample points at are left behind, so
    nothing foreign rides along in the source we keep. ISO BMFF stays QuickTime/MP4
    (rotation and edit lists are kept); any other container, or a codec the MP4 family
    cannot carry, becomes Matroska, which takes every codec we accept."""
    maps = ["-map", "0:v:0", *(["-map", "0:a:0"] if has_audio else [])]
    common = ["-i", str(source), *maps, "-c", "copy", "-map_metadata", "-1",
              "-map_chapters", "-1", "-fflags", "+bitexact"]
    formats = ["mp4", "mov", "matroska"] if container.startswith("mov,") else ["matroska"]
    failure: ToolFailed | None = None
    for muxer in formats:
        try:
            return run_ffmpeg([*common, "-f", muxer, str(out)])
        except ToolFailed as exc:
            failure = exc
            out.unlink(missing_ok=True)
    assert failure is not None
    raise failure


@dataclass(frozen=True)
class Rendition:
    short_edge: int
    width: int
    height: int
    fps: float
    video_kbps: int
    audio_kbps: int
    # x264's CRF: CRF for every rung, higher on easy clips with the per-title ladder
    crf: int = CRF
    # the per-title ladder's encoder choices (`apps.media.per_title`): an x264 preset that
    # replaces the step's ("": the step's) and x264 options added to `-x264-params`
    preset: str = ""
    tune: str = ""

    @property
    def name(self) -> str:
        return str(self.short_edge)

    @property
    def profile(self) -> str:
        return H264_PROFILE[self.short_edge][0]

    @property
    def level(self) -> str:
        return h264_level(self.width, self.height, self.fps,
                          kbps=self.video_kbps, high=self.profile == "high")

    @property
    def codecs(self) -> str:
        level_idc = round(float(self.level) * 10)
        return f"avc1.{H264_PROFILE[self.short_edge][1]}{level_idc:02x},{AUDIO_CODECS}"


def h264_level(width: int, height: int, fps: float, *, kbps: int = 0, high: bool = False) -> str:
    """The lowest H.264 level whose limits hold this frame size, frame rate and bitrate
    (never below 3.0, which every player we serve decodes). A frame no level holds is
    refused at validation (the aspect-ratio and size limits), so this always answers."""
    mbs_w, mbs_h = math.ceil(width / 16), math.ceil(height / 16)
    frame_mbs = mbs_w * mbs_h
    rate = frame_mbs * fps
    for name, max_mbps, max_fs, max_kbps in H264_LEVELS:
        side = math.sqrt(8 * max_fs)
        if (frame_mbs <= max_fs and max(mbs_w, mbs_h) <= side and rate <= max_mbps
                and kbps <= max_kbps * (1.25 if high else 1.0)):
            return name
    raise ValueError(f"no H.264 level holds {width}x{height} at {fps:g} fps")


@dataclass(frozen=True)
class SoundMix:
    """A chosen sound mixed into the audio of every rendition and the MP4. `path` is the
    sound as a local file (None: no sound, e.g. muting the upload's audio only); `mode`
    says what happens to the upload's own audio: keep, duck (DUCK_GAIN) or mute. The
    sound is looped or cut to the video's length. `tag` (8 hex characters) names the
    outputs, so that a re-render never reuses a name a cache may hold as immutable."""

    path: Path | None
    mode: str
    tag: str


# outputs beside the ladder from the same decode: (copies of the decoded video, filter
# chains reading [x0], [x1], …, output arguments); built by `derived.tap_outputs`
Taps = tuple[int, list[str], list[str]]


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def output_fps(probe: ProbeResult) -> float:
    """Constant frame rate: the source's (rounded to a common rate), at most 30."""
    fps = min(probe.frame_rate, MAX_FPS)
    for common in (24.0, 25.0, 30.0, 15.0, 12.0):
        if abs(fps - common) < 0.6:
            return common
    return max(1.0, round(fps))


def plan_ladder(probe: ProbeResult, title: dict[str, Any] | None = None) -> list[Rendition]:
    """Renditions by short edge, never upscaling; a source below 240 gets one rendition at
    its own (even) size. `title` (`apps.media.per_title`): the clip's own plan, which
    scales every rung's cap by its `factor` and leaves out the rungs in `drop` (never the
    lowest; the highest too when it is in `drop` and a rung of at least `TOP_FLOOR` is left:
    a noisy clip's 1080 spends its cap on grain for less VMAF than its 720), and the rungs
    above its `top` (an upscaled source's own resolution, `apps.media.effective`); the
    highest rung gets the plan's `top_crf` when it has one. The lowest rung is today's
    whatever the plan: it is the step that makes the asset playable, and it runs before
    the plan exists (the `ladder` step makes the plan, `services.recipe`), so the plan's
    probe never delays playback."""
    short = min(probe.width, probe.height)
    long_ = max(probe.width, probe.height)
    edges = [edge for edge in LADDER if edge <= short] or [LADDER[0]]
    factor = float(title["factor"]) if title else 1.0
    crf = int(title.get("crf", CRF)) if title else CRF
    preset = str(title.get("preset", "")) if title else ""
    tune = str(title.get("tune", "")) if title else ""
    top = title.get("top") if title else None
    if top:  # the source's detail is an upscale of `top` (apps.media.effective)
        edges = [edge for edge in edges if edge <= int(top)] or edges[:1]
    if title and len(edges) > 2:
        kept = [edges[0], *(e for e in edges[1:-1] if e not in title["drop"])]
        if edges[-1] not in title["drop"] or kept[-1] < TOP_FLOOR:
            kept.append(edges[-1])
        edges = kept
    fps = output_fps(probe)
    out = []
    top_crf = int(title.get("top_crf") or crf) if title else crf
    for edge in edges:
        scale = min(edge, short) / short
        s, l_ = _even(short * scale), _even(long_ * scale)
        width, height = (s, l_) if probe.width <= probe.height else (l_, s)
        if edge == edges[0]:  # the playable rung: today's, whatever the plan
            kbps = int(BITS_PER_PIXEL[edge] * width * height * fps / 1000)
            out.append(Rendition(edge, width, height, fps, kbps, AUDIO_BITRATE[edge]))
            continue
        kbps = int(BITS_PER_PIXEL[edge] * factor * width * height * fps / 1000)
        out.append(Rendition(edge, width, height, fps, kbps, AUDIO_BITRATE[edge],
                             top_crf if edge == edges[-1] else crf, preset, tune))
    return out


def _video_filter(probe: ProbeResult, width: int, height: int, fps: float) -> str:
    parts = []
    if probe.hdr:
        parts.append(
            "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,"
            "tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv"
        )
    # rotation is applied by ffmpeg's autorotate before this chain
    parts.append(f"fps={fps:g}")
    parts.append(f"scale={width}:{height}:flags=lanczos,setsar=1")
    parts.append("format=yuv420p")
    return ",".join(parts)


def _input_args(source: Path, probe: ProbeResult) -> tuple[list[str], list[str]]:
    """Inputs and maps; a source without audio gets a silent track."""
    inputs = ["-i", str(source)]
    if probe.has_audio:
        return inputs, ["-map", "0:v:0", "-map", "0:a:0"]
    inputs += ["-f", "lavfi", "-i", "anullsrc=channel_layout=stereo:sample_rate=48000"]
    return inputs, ["-map", "0:v:0", "-map", "1:a:0", "-t", f"{probe.duration_s:.3f}"]


def _x264_args(rendition: Rendition, preset: str) -> list[str]:
    gop = round(rendition.fps * SEGMENT_SECONDS)
    params = f"keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0"
    if rendition.tune:
        params += f":{rendition.tune}"
    return [
        "-c:v", "libx264", "-preset", rendition.preset or preset,
        "-profile:v", rendition.profile,
        "-level:v", rendition.level,
        "-crf", str(rendition.crf), "-maxrate", f"{rendition.video_kbps}k",
        "-bufsize", f"{rendition.video_kbps * 2}k",
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        "-x264-params", params,
        "-force_key_frames", KEYFRAME_EXPR,
        "-c:a", "aac", "-b:a", f"{rendition.audio_kbps}k", "-ac", "2", "-ar", "48000",
    ]


def _audio_graph(
    probe: ProbeResult, mix: SoundMix, outputs: int, first_input: int
) -> tuple[list[str], list[str], list[str]]:
    """The inputs and filter chains that mix a chosen sound with the upload's own audio
    (kept, ducked or muted; a source without audio counts as silent), cut to the
    video's length; `outputs` labels of the result (one per encoded output)."""
    seconds = f"{probe.duration_s:.3f}"
    fmt = "aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo"
    inputs: list[str] = []
    chains: list[str] = []
    parts: list[str] = []
    if probe.has_audio and mix.mode != "mute":
        gain = f",volume={DUCK_GAIN:g}" if mix.mode == "duck" else ""
        chains.append(f"[0:a:0]{fmt},apad,atrim=end={seconds}{gain}[own]")
        parts.append("[own]")
    if mix.path is not None:
        # looped (the sound may be shorter than the video), then cut to the video
        inputs += ["-stream_loop", "-1", "-i", str(mix.path)]
        chains.append(f"[{first_input}:a:0]{fmt},atrim=end={seconds},asetpts=PTS-STARTPTS[snd]")
        parts.append("[snd]")
    if len(parts) == 2:
        chains.append("[own][snd]amix=inputs=2:duration=longest:dropout_transition=0:"
                      "normalize=0,alimiter=limit=0.98:level=0[mixed]")
    elif parts:
        chains.append(f"{parts[0]}anull[mixed]")
    else:  # the upload's audio muted and no sound: silence, as every rendition has audio
        chains.append(f"anullsrc=channel_layout=stereo:sample_rate=48000,atrim=end={seconds}"
                      "[mixed]")
    labels = [f"[a{i}]" for i in range(outputs)]
    chains.append(f"[mixed]asplit={outputs}" + "".join(labels))
    return inputs, chains, labels


def rendition_command(
    source: Path, probe: ProbeResult, rendition: Rendition, out_dir: Path, preset: str,
    mix: SoundMix | None = None,
) -> list[str]:
    vf = _video_filter(probe, rendition.width, rendition.height, rendition.fps)
    if mix is not None:
        return [*_mixed_args(source, probe, rendition, mix), *_x264_args(rendition, preset),
                *_hls_output(rendition, out_dir, mix.tag)]
    inputs, maps = _input_args(source, probe)
    return [
        *inputs, *maps, "-vf", vf, *_x264_args(rendition, preset),
        *_hls_output(rendition, out_dir),
    ]


def _mixed_args(
    source: Path, probe: ProbeResult, rendition: Rendition, mix: SoundMix
) -> list[str]:
    """Inputs, graph and maps of one output with a sound mixed in."""
    vf = _video_filter(probe, rendition.width, rendition.height, rendition.fps)
    extra, chains, labels = _audio_graph(probe, mix, 1, first_input=1)
    graph = ";".join([f"[0:v:0]{vf}[v0]", *chains])
    return ["-i", str(source), *extra, "-filter_complex", graph,
            "-map", "[v0]", "-map", labels[0]]


def transcode_rendition(
    source: Path, probe: ProbeResult, rendition: Rendition, out_dir: Path, *, preset: str,
    heartbeat: Callable[[], None] | None = None, mix: SoundMix | None = None,
) -> tuple[dict[str, Any], str]:
    log = run_ffmpeg(rendition_command(source, probe, rendition, out_dir, preset, mix),
                     heartbeat=heartbeat)
    return _rendition_info(rendition, out_dir), log


def _hls_output(rendition: Rendition, out_dir: Path, tag: str = "") -> list[str]:
    init, segments = ("init.mp4", "seg_%04d.m4s") if not tag else (
        f"init_{tag}.mp4", f"seg_{tag}_%04d.m4s")
    return [
        # Both tracks present from 0: without this ffmpeg shifts the negative timestamps
        # (the B-frame reorder delay, the AAC priming) to non-negative with an empty edit
        # in front of each track, and the video started 2 frames (67 ms at 30 fps) into the
        # timeline, the audio 45 ms. With it, one edit per track skips those media times
        # (the reorder delay, the priming samples): first video and audio times are both 0.
        "-avoid_negative_ts", "disabled",
        "-f", "hls", "-hls_time", str(SEGMENT_SECONDS),
        # the muxer cuts the first segment at the keyframe forced at 1 s (KEYFRAME_EXPR)
        "-hls_init_time", str(FIRST_SEGMENT_SECONDS), "-hls_playlist_type", "vod",
        "-hls_segment_type", "fmp4", "-hls_flags", "independent_segments",
        "-hls_fmp4_init_filename", init,
        "-hls_segment_filename", str(out_dir / segments),
        str(out_dir / "index.m3u8"),
    ]


def ladder_command(
    source: Path, probe: ProbeResult, renditions: list[Rendition], out_root: Path, preset: str,
    mix: SoundMix | None = None, taps: Taps | None = None,
) -> list[str]:
    """Several renditions from one decode: the source is split once and each branch is
    scaled and encoded with exactly the settings of `rendition_command`. `taps` (from
    `derived.tap_outputs`): more copies of the same decoded frames, [x0], [x1], …, and
    the outputs that read them (poster candidates, preview, storyboard, frames, audio)."""
    count = len(renditions)
    tapped, tap_chains, tap_args = taps if taps is not None else (0, [], [])
    graph = [f"[0:v]split={count + tapped}" + "".join(f"[s{i}]" for i in range(count))
             + "".join(f"[x{i}]" for i in range(tapped))]
    graph += tap_chains
    for i, r in enumerate(renditions):
        graph.append(f"[s{i}]{_video_filter(probe, r.width, r.height, r.fps)}[v{i}]")
    if mix is not None:
        extra, chains, audio_maps = _audio_graph(probe, mix, count, first_input=1)
        args = ["-i", str(source), *extra, "-filter_complex", ";".join([*graph, *chains])]
        duration: list[str] = []
    else:
        inputs, maps = _input_args(source, probe)
        audio_maps = [maps[3]] * count
        args = [*inputs, "-filter_complex", ";".join(graph)]
        duration = [] if probe.has_audio else ["-t", f"{probe.duration_s:.3f}"]
    tag = mix.tag if mix is not None else ""
    for i, r in enumerate(renditions):
        out_dir = out_root / r.name
        out_dir.mkdir(parents=True, exist_ok=True)
        args += ["-map", f"[v{i}]", "-map", audio_maps[i], *duration, *_x264_args(r, preset),
                 *_hls_output(r, out_dir, tag)]
    return [*args, *tap_args]


def transcode_ladder(
    source: Path, probe: ProbeResult, renditions: list[Rendition], out_root: Path, *,
    preset: str, heartbeat: Callable[[], None] | None = None, mix: SoundMix | None = None,
    taps: Taps | None = None,
) -> tuple[list[dict[str, Any]], str]:
    log = run_ffmpeg(ladder_command(source, probe, renditions, out_root, preset, mix, taps),
                     heartbeat=heartbeat)
    return [_rendition_info(r, out_root / r.name) for r in renditions], log


def _rendition_info(rendition: Rendition, out_dir: Path) -> dict[str, Any]:
    peak, average = measure_bitrates(out_dir / "index.m3u8")
    return {
        "short_edge": rendition.short_edge, "width": rendition.width,
        "height": rendition.height, "frame_rate": rendition.fps, "codecs": rendition.codecs,
        "bandwidth": peak, "average_bandwidth": average,
        "target_video_kbps": rendition.video_kbps,
    }


_EXTINF = re.compile(r"#EXTINF:([0-9.]+)")
_MAP = re.compile(r'#EXT-X-MAP:URI="([^"]+)"')


def measure_bitrates(playlist: Path) -> tuple[int, int]:
    """Peak (per segment, with the init segment) and average bits per second, measured
    from the files, as HLS wants them for BANDWIDTH and AVERAGE-BANDWIDTH."""
    directory = playlist.parent
    text = playlist.read_text()
    found = _MAP.search(text)
    init = (directory / (found.group(1) if found else "init.mp4")).stat().st_size
    lines = text.splitlines()
    peak = 0.0
    total_bytes = 0
    total_seconds = 0.0
    duration = 0.0
    for line in lines:
        match = _EXTINF.match(line)
        if match:
            duration = float(match.group(1))
        elif line and not line.startswith("#"):
            size = (directory / line).stat().st_size
            total_bytes += size
            total_seconds += duration
            peak = max(peak, (size + init) * 8 / max(duration, 0.5))
    average = total_bytes * 8 / total_seconds if total_seconds else 0.0
    return math.ceil(peak), math.ceil(average)


def master_playlist(renditions: list[dict[str, Any]],
                    subtitles: list[dict[str, str]] | None = None) -> str:
    """The master playlist; `subtitles` (language, name, uri: the caption tracks) become
    one EXT-X-MEDIA SUBTITLES group that every variant names."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for number, sub in enumerate(subtitles or ()):
        default = "YES" if number == 0 else "NO"
        lines.append(
            f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="{sub["language"]}",'
            f'NAME="{sub["name"]}",DEFAULT={default},AUTOSELECT={default},'
            f'FORCED=NO,URI="{sub["uri"]}"'
        )
    group = ',SUBTITLES="subs"' if subtitles else ""
    for item in sorted(renditions, key=lambda r: r["bandwidth"]):
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={item['bandwidth']},"
            f"AVERAGE-BANDWIDTH={item['average_bandwidth']},"
            f"RESOLUTION={item['width']}x{item['height']},"
            f'CODECS="{item["codecs"]}",FRAME-RATE={item["frame_rate"]:.3f}{group}'
        )
        lines.append(f"{item['short_edge']}/index.m3u8")
    return "\n".join(lines) + "\n"


def mp4_fallback(
    source: Path, probe: ProbeResult, rendition: Rendition, out: Path, *, preset: str,
    heartbeat: Callable[[], None] | None = None, mix: SoundMix | None = None,
) -> str:
    if mix is not None:
        return run_ffmpeg(
            [*_mixed_args(source, probe, rendition, mix), *_x264_args(rendition, preset),
             "-movflags", "+faststart", str(out)],
            heartbeat=heartbeat,
        )
    inputs, maps = _input_args(source, probe)
    vf = _video_filter(probe, rendition.width, rendition.height, rendition.fps)
    return run_ffmpeg(
        [*inputs, *maps, "-vf", vf, *_x264_args(rendition, preset),
         "-movflags", "+faststart", str(out)],
        heartbeat=heartbeat,
    )


def mp4_from_rendition(playlist: Path, out: Path) -> str:
    """The MP4 fallback remuxed from a finished HLS rendition (its init segment and media
    segments joined, streams copied, `+faststart`): no second encode, and the same
    frames, timestamps and bytes per frame as the rendition players get."""
    directory = playlist.parent
    text = playlist.read_text()
    found = _MAP.search(text)
    parts = [directory / (found.group(1) if found else "init.mp4")]
    parts += [directory / line for line in text.splitlines() if line and not line.startswith("#")]
    joined = out.with_name(f".{out.name}.fmp4")
    with joined.open("wb") as sink:
        for part in parts:
            sink.write(part.read_bytes())
    try:
        return run_ffmpeg(["-i", str(joined), "-map", "0", "-c", "copy", "-map_metadata", "-1",
                           "-movflags", "+faststart", str(out)])
    finally:
        joined.unlink(missing_ok=True)
