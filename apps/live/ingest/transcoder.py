"""The transcoder nginx-rtmp starts for each accepted publish (`exec_push`, one process per
connection; SIGTERM when the publisher goes): it pulls the stream from the local RTMP
server and runs ONE ffmpeg (`ffmpeg_command`) that writes

- the ladder (720p/480p/240p by short edge, no rung above the source: the top rung is the
  source's own size when it sits between rungs), H.264 (x264, zerolatency) / AAC with a
  keyframe every second (`-g fps`, no scene-cut keyframes, forced at each whole second) as
  CMAF (fragmented MP4) HLS with 1 s segments, each connection ("session") into its own
  `<rendition>/s<n>/` (init_<variant>.mp4, %05d.m4s, ffmpeg's stream.m3u8);
- the source, copied, as `recording/<n>.ts` (one part per connection; the replay joins
  them: `live.services.replay`);
- `frames/latest.jpg` every FRAME_SECONDS (written by rename: readers never see half a file).

and keeps the public playlists: `<rendition>/index.m3u8` merges the sessions (the media
sequence continues across a reconnect, EXT-X-DISCONTINUITY and a new EXT-X-MAP where a
session starts, a sliding window of WINDOW segments; EXT-X-ENDLIST once the live's `ended`
marker exists, `control.kick`), `index.m3u8` is the master (CODECS read from each init's
avcC). Both are written to a temporary name and renamed.

With `--packager llhls` (SWIPEME_LIVE_PACKAGER, production's default; H3) the same encodes
go out as fragmented MP4, one pipe per rung, into the LL-HLS packager (apps.live.llhls, a
thread here): `<rendition>/index.m3u8` with ~200 ms parts and 1 s segments, continued across
reconnects by the packager itself (`init-<n>.mp4`, `s<msn>.m4s`, `s<msn>.<part>.m4s`).

It imports neither Django nor the project's settings (nginx starts it with an empty
environment; a fast start is the first segment sooner): everything comes on its command
line, rendered into the nginx config by `apps.live.ingest.config`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from apps.live import llhls

RUNGS = (720, 480, 240)  # short edges
# video kbit/s at each rung (scaled by area for a source-sized top rung); audio per rung
VIDEO_KBPS = {720: 2500, 480: 1200, 240: 400}
AUDIO_KBPS = {720: 128, 480: 96, 240: 64}
MAX_FPS = 30
SEGMENT_SECONDS = 1
WINDOW = 12  # segments in a public media playlist
FRAME_SECONDS = 2
SESSION_PLAYLIST = "stream.m3u8"
PLAYLIST = "index.m3u8"
ENDED_MARKER = "ended"
LLHLS = "llhls"  # the packager: apps.live.llhls (LL-HLS); "hls": ffmpeg's own (the fallback)
_RENDITION = re.compile(r"^[0-9]{2,4}p$")
_SESSION = re.compile(r"^s([0-9]+)$")


@dataclass(frozen=True)
class Source:
    width: int
    height: int
    fps: float
    has_audio: bool


@dataclass(frozen=True)
class Rung:
    name: str  # "480p"
    width: int
    height: int
    video_kbps: int
    audio_kbps: int


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def ladder(source: Source) -> list[Rung]:
    """The renditions for a source: nothing above it; its own size on top when it sits
    between rungs (or above 720p: 720p)."""
    short = min(source.width, source.height)
    top = min(short, RUNGS[0])
    edges = [top, *(r for r in RUNGS if r < top)]
    rungs = []
    for edge in edges:
        scale = edge / short
        width, height = _even(source.width * scale), _even(source.height * scale)
        nearest = min(RUNGS, key=lambda r: abs(r - edge))
        kbps = int(VIDEO_KBPS[nearest] * (edge / nearest) ** 2)
        rungs.append(Rung(f"{edge}p", width, height, max(kbps, 150), AUDIO_KBPS[nearest]))
    return rungs


def probe(url: str, *, timeout: float = 10.0) -> Source:
    """The published stream's size, frame rate and audio (PyAV, a short analysis)."""
    import av

    options = {"analyzeduration": "1000000", "probesize": "1000000",
               "rw_timeout": str(int(timeout * 1_000_000))}
    with av.open(url, options=options, timeout=timeout) as container:
        video = container.streams.video[0]
        rate = video.average_rate or video.guessed_rate or 30
        return Source(width=int(video.codec_context.width),
                      height=int(video.codec_context.height),
                      fps=float(rate), has_audio=bool(container.streams.audio))


def ffmpeg_command(*, ffmpeg: str, source_url: str, live_dir: Path, session: int,
                   source: Source, rungs: list[Rung], preset: str,
                   pipes: list[int] | None = None) -> list[str]:
    """THE transcoder's ffmpeg. With `pipes` (one file descriptor per rung: the LL-HLS
    packager, apps.live.llhls) each rung is its own fragmented-MP4 output on its pipe;
    without, ffmpeg's own 1 s-segment HLS (the fallback, SWIPEME_LIVE_PACKAGER=hls)."""
    fps = min(MAX_FPS, max(1, round(source.fps)))
    splits = len(rungs) + 1  # + the frames for moderation
    chains = [f"[0:v]fps={fps},split={splits}" + "".join(f"[s{i}]" for i in range(splits))]
    for i, rung in enumerate(rungs):
        chains.append(f"[s{i}]scale={rung.width}:{rung.height}[v{i}]")
    chains.append(f"[s{len(rungs)}]fps=1/{FRAME_SECONDS},scale=-2:'min(360,ih)'[frames]")
    args = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "warning", "-y",
            "-fflags", "nobuffer", "-rw_timeout", "10000000", "-i", source_url,
            "-filter_complex", ";".join(chains)]
    video = ["-c:v", "libx264", "-preset", preset, "-tune", "zerolatency",
             "-profile:v", "high", "-pix_fmt", "yuv420p",
             "-g", str(fps), "-keyint_min", str(fps), "-sc_threshold", "0",
             "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})"]
    audio = ["-c:a", "aac", "-ar", "48000", "-ac", "2"] if source.has_audio else []
    if pipes is not None:  # LL-HLS (H3): the same encodes, one output per rung
        for i, (rung, fd) in enumerate(zip(rungs, pipes, strict=True)):
            args += ["-map", f"[v{i}]", *(["-map", "0:a:0"] if source.has_audio else []),
                     *video, "-b:v", f"{rung.video_kbps}k",
                     "-maxrate", f"{int(rung.video_kbps * 1.2)}k",
                     "-bufsize", f"{rung.video_kbps}k",
                     *([*audio, "-b:a", f"{rung.audio_kbps}k"] if source.has_audio else []),
                     *llhls.fmp4_output_args(fps), f"pipe:{fd}"]
        return args + _side_outputs(live_dir, session, source)
    stream_map = []
    for i, rung in enumerate(rungs):
        args += ["-map", f"[v{i}]"]
        if source.has_audio:
            args += ["-map", "0:a:0"]
            stream_map.append(f"v:{i},a:{i},name:{rung.name}")
        else:
            stream_map.append(f"v:{i},name:{rung.name}")
    args += video
    for i, rung in enumerate(rungs):
        args += [f"-b:v:{i}", f"{rung.video_kbps}k", f"-maxrate:v:{i}",
                 f"{int(rung.video_kbps * 1.2)}k", f"-bufsize:v:{i}", f"{rung.video_kbps}k"]
        if source.has_audio:
            args += [f"-b:a:{i}", f"{rung.audio_kbps}k"]
    args += audio
    base = live_dir / "%v" / f"s{session}"
    args += ["-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_list_size", str(WINDOW),
             "-hls_flags", "independent_segments+delete_segments+program_date_time+temp_file",
             "-hls_delete_threshold", "8", "-hls_segment_type", "fmp4",
             "-hls_fmp4_init_filename", "init.mp4",
             "-hls_segment_filename", str(base / "%05d.m4s"),
             "-var_stream_map", " ".join(stream_map), str(base / SESSION_PLAYLIST)]
    return args + _side_outputs(live_dir, session, source)


def _side_outputs(live_dir: Path, session: int, source: Source) -> list[str]:
    """The source as it came (the replay), and a frame every few seconds (moderation)."""
    return ["-map", "0:v:0", *(["-map", "0:a:0"] if source.has_audio else []), "-c", "copy",
            "-f", "mpegts", str(live_dir / "recording" / f"{session:04d}.ts"),
            "-map", "[frames]", "-c:v", "mjpeg", "-q:v", "5", "-f", "image2", "-update", "1",
            "-atomic_writing", "1", str(live_dir / "frames" / "latest.jpg")]


# --- playlists --------------------------------------------------------------------------


@dataclass
class _Entry:
    tags: list[str]  # EXTINF, PROGRAM-DATE-TIME
    uri: str
    duration: float


def _parse_session(path: Path) -> tuple[int, str, list[_Entry]]:
    """ffmpeg's playlist of one session: its media sequence, init segment and entries."""
    try:
        text = path.read_text()
    except OSError:
        return 0, "", []
    sequence, init, entries, tags, duration = 0, "", [], [], 0.0
    for line in text.splitlines():
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-MAP:URI="):
            init = line.split("=", 1)[1].strip('"')
        elif line.startswith("#EXTINF:"):
            duration = float(line.split(":", 1)[1].rstrip(",").split(",")[0])
            tags.append(line)
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            tags.append(line)
        elif line and not line.startswith("#"):
            entries.append(_Entry(tags, line, duration))
            tags, duration = [], 0.0
    return sequence, init, entries


def sessions_of(rendition_dir: Path) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for child in rendition_dir.iterdir():
            match = _SESSION.match(child.name)
            if match and child.is_dir():
                found.append(int(match.group(1)))
    return sorted(found)


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(text)
    os.replace(temp, path)


def media_playlist(rendition_dir: Path, *, ended: bool) -> str | None:
    """The public playlist of one rendition: every session's segments in order with
    continuous media sequence numbers, the last WINDOW of them (None: nothing yet)."""
    items: list[tuple[int, int, _Entry]] = []  # (session, absolute msn, entry)
    firsts: dict[int, int] = {}
    inits: dict[int, str] = {}
    offset = 0
    for session in sessions_of(rendition_dir):
        sequence, inits[session], entries = _parse_session(
            rendition_dir / f"s{session}" / SESSION_PLAYLIST)
        firsts[session] = offset  # the absolute msn of the session's segment 0
        for i, entry in enumerate(entries):
            items.append((session, offset + sequence + i, entry))
        offset += sequence + len(entries)
    if not items:
        return None
    window = items[-WINDOW:]
    _, first_msn, _ = window[0]
    # discontinuities that left the window: sessions (after the first) that started before it
    gone = sum(1 for s, start in firsts.items() if s != min(firsts) and start < first_msn)
    target = max(1, max(math.ceil(e.duration - 0.5) for _, _, e in window))
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{target}",
             f"#EXT-X-MEDIA-SEQUENCE:{first_msn}", f"#EXT-X-DISCONTINUITY-SEQUENCE:{gone}",
             "#EXT-X-INDEPENDENT-SEGMENTS"]
    current = None
    for session, msn, entry in window:
        if session != current:
            if current is not None or (msn == firsts[session] and session != min(firsts)):
                lines.append("#EXT-X-DISCONTINUITY")
            lines.append(f'#EXT-X-MAP:URI="s{session}/{inits[session]}"')
            current = session
        lines += [*entry.tags, f"s{session}/{entry.uri}"]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def write_media_playlists(live_dir: Path) -> None:
    ended = (live_dir / ENDED_MARKER).exists()
    for rendition_dir in renditions_of(live_dir):
        text = media_playlist(rendition_dir, ended=ended)
        if text is not None:
            _write_atomically(rendition_dir / PLAYLIST, text)
        elif ended:  # the LL-HLS packager's own playlist (no ffmpeg sessions)
            llhls.finish(rendition_dir)


def renditions_of(live_dir: Path) -> list[Path]:
    with contextlib.suppress(OSError):
        return sorted((p for p in live_dir.iterdir() if _RENDITION.match(p.name)),
                      key=lambda p: -int(p.name[:-1]))
    return []


def avc_codec(init: Path) -> str | None:
    """`avc1.PPCCLL` from an init segment's avcC box (profile, constraints, level)."""
    try:
        data = init.read_bytes()
    except OSError:
        return None
    at = data.find(b"avcC")
    if at < 0 or len(data) < at + 8:
        return None
    return "avc1." + data[at + 5:at + 8].hex()


def write_master(live_dir: Path, rungs: list[Rung], session: int, *, has_audio: bool,
                 inits: dict[str, Path] | None = None) -> bool:
    """The master playlist, once every rendition's init segment exists (False: not yet).
    `inits`: each rung's init section (the LL-HLS packager's), else ffmpeg's session's."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for rung in rungs:
        if inits is not None:
            codec = avc_codec(inits[rung.name])
        else:
            # ffmpeg names the init segment (init_<variant>.mp4 when there are several)
            session_dir = live_dir / rung.name / f"s{session}"
            _, init, _ = _parse_session(session_dir / SESSION_PLAYLIST)
            codec = avc_codec(session_dir / init) if init else None
        if codec is None:
            return False
        codecs = f"{codec},mp4a.40.2" if has_audio else codec
        bandwidth = (int(rung.video_kbps * 1.2) + (rung.audio_kbps if has_audio else 0)) * 1000
        lines += [f'#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={rung.width}x'
                  f'{rung.height},CODECS="{codecs}"', f"{rung.name}/{PLAYLIST}"]
    _write_atomically(live_dir / PLAYLIST, "\n".join(lines) + "\n")
    return True


# --- the process ------------------------------------------------------------------------


def next_session(live_dir: Path) -> int:
    """This connection's number: one more than any before (a reconnect continues)."""
    used = [0]
    for rendition_dir in renditions_of(live_dir):
        used += sessions_of(rendition_dir)
    with contextlib.suppress(OSError):
        used += [int(p.stem) for p in (live_dir / "recording").glob("*.ts")]
    return max(used) + 1


def run(*, live_id: str, root: Path, source_url: str, ffmpeg: str, preset: str,
        packager: str = LLHLS) -> int:
    if not live_id.isdigit():
        sys.stderr.write(f"refusing stream name {live_id!r}: not a live id\n")
        return 2
    live_dir = root / live_id
    for sub in ("recording", "frames"):
        (live_dir / sub).mkdir(parents=True, exist_ok=True)
    session = next_session(live_dir)
    source = probe(source_url)
    rungs = ladder(source)
    (live_dir / "session.json").write_text(json.dumps(
        {"session": session, "source": source.__dict__, "renditions": [r.name for r in rungs],
         "packager": packager}))
    if packager == LLHLS:
        return _run_llhls(live_dir, session, source, rungs, ffmpeg=ffmpeg,
                          source_url=source_url, preset=preset)
    for rung in rungs:
        (live_dir / rung.name / f"s{session}").mkdir(parents=True, exist_ok=True)
    command = ffmpeg_command(ffmpeg=ffmpeg, source_url=source_url, live_dir=live_dir,
                             session=session, source=source, rungs=rungs, preset=preset)
    proc = subprocess.Popen(command)  # noqa: S603 - our binary, our arguments

    def forward(signum: int, _frame: object) -> None:
        # ffmpeg finishes its segments and playlists on SIGTERM
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    master_written = False
    seen: dict[Path, float] = {}
    while proc.poll() is None:
        time.sleep(0.05)
        changed = False
        for rung in rungs:
            path = live_dir / rung.name / f"s{session}" / SESSION_PLAYLIST
            with contextlib.suppress(OSError):
                mtime = path.stat().st_mtime_ns
                if seen.get(path) != mtime:
                    seen[path], changed = mtime, True
        if not master_written:  # first: a player that finds a media playlist finds it
            master_written = write_master(live_dir, rungs, session,
                                          has_audio=source.has_audio)
        if changed and master_written:
            write_media_playlists(live_dir)
    write_media_playlists(live_dir)
    return proc.returncode or 0


def _run_llhls(live_dir: Path, session: int, source: Source, rungs: list[Rung], *,
               ffmpeg: str, source_url: str, preset: str) -> int:
    """ffmpeg writes each rung as fragmented MP4 on a pipe; the LL-HLS packager (a thread
    here, apps.live.llhls) turns each into `<rung>/index.m3u8` with its parts and segments,
    continuing the playlist across reconnects itself. ENDLIST once the live has ended."""
    fps = min(MAX_FPS, max(1, round(source.fps)))
    pipes = [os.pipe() for _ in rungs]
    command = ffmpeg_command(ffmpeg=ffmpeg, source_url=source_url, live_dir=live_dir,
                             session=session, source=source, rungs=rungs, preset=preset,
                             pipes=[w for _, w in pipes])
    packagers = {r: llhls.Packager(live_dir / rung.name, part_target=llhls.part_target_for(fps))
                 for (r, _), rung in zip(pipes, rungs, strict=True)}
    proc = subprocess.Popen(command, pass_fds=[w for _, w in pipes])  # noqa: S603
    for _, w in pipes:
        os.close(w)
    pump = threading.Thread(target=llhls.pump, args=(packagers,), daemon=True)
    pump.start()

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    inits = {rung.name: packager.init_path
             for packager, rung in zip(packagers.values(), rungs, strict=True)}
    master_written = False
    while proc.poll() is None:
        time.sleep(0.05)
        if not master_written:
            master_written = write_master(live_dir, rungs, session, has_audio=source.has_audio,
                                          inits=inits)
    pump.join(timeout=10)
    for r, _ in pipes:
        with contextlib.suppress(OSError):
            os.close(r)
    if (live_dir / ENDED_MARKER).exists():
        for rung in rungs:
            llhls.finish(live_dir / rung.name)
    return proc.returncode or 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--live-id", required=True)
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("--source", required=True, help="rtmp://127.0.0.1:<port>/live/<id>")
    parser.add_argument("--ffmpeg", required=True)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--packager", choices=(LLHLS, "hls"), default=LLHLS)
    parser.add_argument("--log", type=Path)
    args = parser.parse_args(argv)
    if args.log is not None:
        args.log.parent.mkdir(parents=True, exist_ok=True)
        log = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
    return run(live_id=args.live_id, root=args.root, source_url=args.source,
               ffmpeg=args.ffmpeg, preset=args.preset, packager=args.packager)


if __name__ == "__main__":
    sys.exit(main())
