"""Transcode benchmark: our pipeline's work against one plain ffmpeg command, in one run.

    .venv/bin/python bench/transcode.py                       # 15 s 1080x1920 30 fps
    .venv/bin/python bench/transcode.py --seconds 6 --size 720x1280 --vmaf

What it does, in order (no database, no Celery: the pipeline's own functions, as the
`media` worker runs them, one after another on this machine):

1. Makes the source clip with ffmpeg's lavfi (testsrc2 — fast motion and sharp detail —
   plus a sine tone), encoded with x264 CRF 16 so the source is near-lossless.
2. **Ours**: `probe_file` (magic bytes, box walk, full PyAV probe), then the lowest
   rendition alone (`transcode_rendition`: the step that makes a post playable), then the
   rest of the ladder from one decode (`transcode_ladder`: the `ladder` step), the master
   playlist rewritten from measured bitrates after each. Timed: time to playable (probe + the
   lowest rendition) and the whole ladder; then the extras (MP4 fallback, poster, preview,
   storyboard, audio, moderation frames) timed apart.
3. **Plain**: one ffmpeg command that decodes once, splits, and writes the same renditions
   with the same settings (same filters, x264 arguments, HLS fMP4 muxer).
4. Prints the ratio ours/plain for the ladder (the issue's goal: at most 1.15), the bytes
   and bitrate of each rendition for both, the startup bytes (master + media playlist +
   init + first segment) at the lowest and at the default (highest ≤ 720) rendition, and,
   with --vmaf, each rendition's VMAF against the source (libvmaf of the bundled ffmpeg).
5. `--per-title`: MEDIA_PER_TITLE_LADDER on: the per-title probe runs where the pipeline
   runs it, at the start of the `ladder` step (after the lowest rendition, which is today's
   whatever the plan), and both ours and plain write its ladder; the probe's wall time is
   printed (what time to playable would grow by were it at validation, as before).
   `--one-decode`: also the design without the lowest rendition's own decode (every rung and
   the extras' files from one graph, the lowest rung's segments timed as they land; see
   `measure_one_decode`), its CPU against plain's and when it would be playable.
   `--no-wait`: the pipeline as it runs where nobody waits to play (a reprocess, a draft, a
   post scheduled far enough ahead: `early_playback.needs_early_playback` false): the probe, the
   `ladder` step writing every rung and the extras' files from one decode, the steps that
   publish them; its CPU against plain's in the same run (no segment watching).
6. Repeats 2-4 `--runs` times (default 3) on the same source and ends with the median of
   each figure and ratio over the runs, with the min-max, the load average before and
   after each run and a warning for runs started on a busy machine (bench/_runs.py;
   `--json out.json` writes them). `--runs 1` is the single run of before.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.test")

from _runs import Run, Runs, add_arguments  # noqa: E402

from apps.media import derived, per_title, transcode  # noqa: E402
from apps.media.probe import ProbeResult, probe_file  # noqa: E402
from apps.media.transcode import Rendition  # noqa: E402


def cpu_seconds() -> float:
    """CPU (user + system) of this process and of the ffmpeg children it waited for: on a
    shared machine this is steadier than wall time."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def make_source(path: Path, size: str, seconds: float) -> None:
    subprocess.run([
        transcode.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "192k", "-shortest", str(path),
    ], check=True)


def plain_command(
    source: Path, probe: ProbeResult, ladder: list[Rendition], out: Path, preset: str,
    mp4: Rendition,
) -> list[str]:
    """One process, hand-written: decode once, split, one HLS output per rendition with the
    same settings, the MP4 written from the same encode as its rendition (tee muxer), and
    the poster candidates, preview, storyboard, moderation frames and audio from the same
    decode, with the filters and encoders of `apps.media.derived`."""
    extras = out / "extras"
    extras.mkdir(parents=True)
    tapped, tap_chains, tap_args = derived.tap_outputs(probe, extras, list(derived.TAP_STEPS))
    n = len(ladder)
    graph = [f"[0:v]split={n + tapped}" + "".join(f"[s{i}]" for i in range(n))
             + "".join(f"[x{i}]" for i in range(tapped)), *tap_chains]
    for i, r in enumerate(ladder):
        vf = transcode._video_filter(probe, r.width, r.height, r.fps)
        graph.append(f"[s{i}]{vf}[v{i}]")
    args = ["-i", str(source), "-filter_complex", ";".join(graph)]
    for i, r in enumerate(ladder):
        directory = out / r.name
        directory.mkdir(parents=True)
        hls = ["-f", "hls", "-hls_time", str(transcode.SEGMENT_SECONDS),
               "-hls_init_time", str(transcode.FIRST_SEGMENT_SECONDS),
               "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
               "-hls_flags", "independent_segments", "-hls_fmp4_init_filename", "init.mp4",
               "-hls_segment_filename", str(directory / "seg_%04d.m4s"),
               str(directory / "index.m3u8")]
        if r.short_edge == mp4.short_edge:
            hls = ["-f", "tee", "[f=hls:hls_time=2:hls_init_time=1:hls_playlist_type=vod:"
                   "hls_segment_type=fmp4:hls_flags=independent_segments:hls_fmp4_init_filename=init.mp4:"
                   f"hls_segment_filename={directory / 'seg_%04d.m4s'}]"
                   f"{directory / 'index.m3u8'}|[f=mp4:movflags=+faststart]{out / 'video.mp4'}"]
        args += ["-map", f"[v{i}]", "-map", "0:a:0", *transcode._x264_args(r, preset), *hls]
    return [*args, *tap_args]


def _video_sizes(path: Path) -> list[int]:
    import av

    with av.open(str(path)) as container:
        return [p.size for p in container.demux(container.streams.video[0]) if p.size]


def dir_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.iterdir() if p.is_file())


def startup_bytes(hls: Path, name: str) -> int:
    """Master + media playlist + init + first segment: what a player fetches first."""
    directory = hls / name
    playlist = (directory / "index.m3u8").read_text()
    first = next(line for line in playlist.splitlines() if line and not line.startswith("#"))
    return ((hls / "master.m3u8").stat().st_size + (directory / "index.m3u8").stat().st_size
            + (directory / "init.mp4").stat().st_size + (directory / first).stat().st_size)


def vmaf(source: Path, rendition_dir: Path, width: int, height: int, work: Path) -> float:
    joined = work / f"{rendition_dir.name}-joined.mp4"
    segments = sorted(rendition_dir.glob("seg_*.m4s"))
    joined.write_bytes((rendition_dir / "init.mp4").read_bytes()
                       + b"".join(s.read_bytes() for s in segments))
    log = work / f"{rendition_dir.name}-vmaf.json"
    subprocess.run([
        transcode.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(joined),
        "-i", str(source), "-lavfi",
        f"[0:v]scale={width}:{height}:flags=bicubic,setpts=PTS-STARTPTS[d];"
        f"[1:v]fps=30,setpts=PTS-STARTPTS[r];"
        f"[d][r]libvmaf=n_subsample=5:log_fmt=json:log_path={log}",
        "-f", "null", "-",
    ], check=True)
    data = json.loads(log.read_text())
    return float(data["pooled_metrics"]["vmaf"]["mean"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", default="1080x1920")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--vmaf", action="store_true")
    parser.add_argument("--old-extras", action="store_true",
                        help="also time the extras as before (each decoding the source)")
    parser.add_argument("--single-pass", action="store_true",
                        help="also time SWIPEME_MEDIA_SINGLE_PASS_LADDER's one ladder step")
    parser.add_argument("--per-title", action="store_true",
                        help="MEDIA_PER_TITLE_LADDER on: the probe encode at the start of "
                        "the ladder step (after the lowest rendition, so not in time to "
                        "playable; its wall time printed) and its ladder, for ours and plain")
    parser.add_argument("--one-decode", action="store_true",
                        help="also time the one-decode design: every rung and the extras' "
                        "files from one graph, the lowest rung's segments watched as they "
                        "are written (first segment, and the earliest start that plays "
                        "through without waiting for a segment)")
    parser.add_argument("--no-wait", action="store_true",
                        help="also time the path of uploads nobody waits to play (reprocess, "
                        "draft, scheduled later): every rung and the extras from the ladder "
                        "step's one decode, and print its CPU ratio to plain")
    add_arguments(parser, default_runs=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-transcode-") as tmp:
        work = Path(tmp)
        source = work / "source.mp4"
        make_source(source, args.size, args.seconds)
        print(f"source: {args.size}, {args.seconds:g} s, 30 fps, "
              f"{source.stat().st_size / 1e6:.1f} MB; x264 preset {args.preset}; "
              f"{os.cpu_count()} CPUs")

        runs = Runs("transcode", args)
        for one in runs:
            run_dir = work / f"run{one.index}"
            run_dir.mkdir()
            measure(args, source, run_dir, one)
            shutil.rmtree(run_dir)
    runs.summary()


def measure(args: argparse.Namespace, source: Path, work: Path, run: Run) -> None:
    """One run: ours (the whole pipeline, extras included), optionally single-pass, and
    plain on `source`, outputs under `work`."""
    # ours
    ours = work / "ours"
    started = time.perf_counter()
    cpu_started = cpu_seconds()
    probe = probe_file(source)
    measured = []
    # as the steps run: the lowest rendition alone (playable; today's rung whatever the
    # per-title plan), then the rest from one decode (the `ladder` step, which makes the
    # per-title plan first), which also writes the files of the other steps
    first = transcode.plan_ladder(probe)[0]
    lowest = ours / first.name
    lowest.mkdir(parents=True)
    info, _ = transcode.transcode_rendition(source, probe, first, lowest,
                                            preset=args.preset)
    measured.append(info)
    (ours / "master.m3u8").write_text(transcode.master_playlist(measured))
    playable_at = time.perf_counter() - started
    plan_started = time.perf_counter()
    title = per_title.plan_for(source, probe) if args.per_title else None
    plan_seconds = time.perf_counter() - plan_started
    ladder = transcode.plan_ladder(probe, title)
    assert ladder[0] == first
    default = max((r for r in ladder if r.short_edge <= 720), key=lambda r: r.short_edge)
    taps_dir = work / "taps"
    taps_dir.mkdir()
    taps = derived.tap_outputs(probe, taps_dir, list(derived.TAP_STEPS))
    if len(ladder) > 1:
        upper, _ = transcode.transcode_ladder(source, probe, ladder[1:], ours,
                                              preset=args.preset, taps=taps)
        measured += upper
        (ours / "master.m3u8").write_text(transcode.master_playlist(measured))
    ladder_seconds = time.perf_counter() - started
    ladder_cpu = cpu_seconds() - cpu_started
    # the steps that publish the ladder's files: the poster chosen among its candidates,
    # the storyboard's JSON and VTT, the MP4 remuxed from its rendition
    extras_started = time.perf_counter()
    assert derived.poster_from_candidates(taps_dir, probe, work / "poster.jpg") is not None
    derived.storyboard_files(taps_dir, probe)
    transcode.mp4_from_rendition(ours / default.name / "index.m3u8", work / "video.mp4")
    extras_seconds = time.perf_counter() - extras_started
    ours_seconds = time.perf_counter() - started
    ours_cpu = cpu_seconds() - cpu_started

    old_extras_cpu = None
    if args.old_extras:  # the extras as before: each decodes the source again
        old = work / "old"
        old.mkdir()
        cpu_old = cpu_seconds()
        transcode.mp4_fallback(source, probe, default, old / "video.mp4", preset=args.preset)
        derived.poster(source, probe, old / "poster.jpg")
        derived.preview(source, probe, old / "preview.webp")
        derived.storyboard(source, probe, old)
        derived.extract_audio(source, old / "audio.m4a")
        (old / "frames").mkdir()
        derived.moderation_frames(source, probe, old / "frames")
        old_extras_cpu = cpu_seconds() - cpu_old

    single_cpu = single_seconds = None
    if args.single_pass:  # SWIPEME_MEDIA_SINGLE_PASS_LADDER=true: probe + one ladder step
        single = work / "single"
        started = time.perf_counter()
        cpu_started = cpu_seconds()
        probe_file(source)
        transcode.transcode_ladder(source, probe, ladder, single, preset=args.preset)
        single_seconds = time.perf_counter() - started
        single_cpu = cpu_seconds() - cpu_started

    one_decode: dict[str, Any] | None = None
    if args.one_decode:
        one_decode = measure_one_decode(args, source, ladder, work / "one", title is not None)
    no_wait: dict[str, Any] | None = None
    if args.no_wait:
        no_wait = measure_one_decode(args, source, ladder, work / "no-wait",
                                     title is not None, watch=False)

    # plain
    plain = work / "plain"
    started = time.perf_counter()
    cpu_started = cpu_seconds()
    transcode.run_ffmpeg(plain_command(source, probe, ladder, plain, args.preset, default))
    plain_seconds = time.perf_counter() - started
    plain_cpu = cpu_seconds() - cpu_started
    same_mp4 = len(_video_sizes(work / "video.mp4")) == len(_video_sizes(plain / "video.mp4"))

    print(f"\nladder: {', '.join(f'{r.width}x{r.height}' for r in ladder)}")
    print(f"ours  (probe, lowest step, ladder step with the extras' files, extras steps): "
          f"{ours_seconds:7.2f} s")
    print(f"plain (one ffmpeg: every rendition, MP4, poster candidates, preview, storyboard, "
          f"frames, audio): {plain_seconds:7.2f} s")
    print(f"CPU seconds: ours {ours_cpu:.1f} (ladder done at {ladder_cpu:.1f}), plain "
          f"{plain_cpu:.1f}; CPU RATIO ours/plain (whole pipeline): {ours_cpu / plain_cpu:.3f} "
          "(goal ≤ 1.05)")
    # (not byte-identical: through tee, x264 writes its headers out of band)
    print(f"MP4 frame count equal to plain's tee'd MP4: {same_mp4}")
    if old_extras_cpu is not None:
        print(f"the extras as before (each decoding the source): {old_extras_cpu:.1f} CPU s")
        run.figure("old extras CPU (own decodes)", old_extras_cpu, "s")
    if single_cpu is not None and single_seconds is not None:
        print(f"single-pass ladder only: {single_seconds:.2f} s, CPU {single_cpu:.1f}")
        run.figure("single-pass ladder CPU", single_cpu, "s")
    if title is not None:
        print(f"per-title plan (its probe {plan_seconds:.2f} s, at the ladder step's start; "
              f"at validation it would make time to playable {playable_at + plan_seconds:.2f} s)"
              f": {json.dumps(title)}")
        run.figure("per-title probe", plan_seconds, "s")
        run.figure("playable had the probe stayed at validation", playable_at + plan_seconds, "s")
    if one_decode is not None:
        print(f"one decode (every rung and the extras' files from one graph): CPU "
              f"{one_decode['cpu']:.1f} s, ratio to plain {one_decode['cpu'] / plain_cpu:.3f}; "
              f"lowest rung's first segment at {one_decode['first']:.2f} s, plays through "
              f"without waiting from {one_decode['through']:.2f} s, all done "
              f"{one_decode['seconds']:.2f} s")
        run.figure("one decode CPU", one_decode["cpu"], "s")
        run.ratio("one decode/plain CPU", one_decode["cpu"], plain_cpu)
        run.figure("one decode first segment", one_decode["first"], "s")
        run.figure("one decode plays through from", one_decode["through"], "s")
        run.ratio("one decode plays through/today's playable", one_decode["through"],
                  playable_at)
    if no_wait is not None:
        print(f"no-wait path (reprocess, draft, scheduled later; probe, one ladder step with "
              f"every rung and the extras' files, the publishing steps): CPU "
              f"{no_wait['cpu']:.1f} s; NO-WAIT CPU RATIO to plain: "
              f"{no_wait['cpu'] / plain_cpu:.3f} (goal ≤ 1.05); playable when done, "
              f"{no_wait['seconds']:.2f} s")
        run.figure("no-wait path CPU", no_wait["cpu"], "s")
        run.ratio("no-wait/plain CPU", no_wait["cpu"], plain_cpu)
        run.figure("no-wait path playable (ladder done)", no_wait["seconds"], "s")
    print(f"time to playable (probe + lowest rendition): {playable_at:.2f} s; "
          f"ladder done: {ladder_seconds:.2f} s; extras steps after it: {extras_seconds:.2f} s")
    run.figure("ours whole pipeline", ours_seconds, "s")
    run.figure("plain ffmpeg, same files", plain_seconds, "s")
    run.figure("ours CPU", ours_cpu, "s")
    run.figure("plain CPU", plain_cpu, "s")
    run.figure("time to playable", playable_at, "s")
    run.figure("extras steps after the ladder", extras_seconds, "s")
    run.ratio("ours/plain wall", ours_seconds, plain_seconds)
    run.ratio("ours/plain CPU", ours_cpu, plain_cpu)
    run.ratio("playable/ladder-ready", playable_at, ladder_seconds)

    print("\nrendition   ours kbit/s  plain kbit/s   ours bytes  plain bytes"
          + ("   VMAF" if args.vmaf else ""))
    for info in measured:
        name = str(info["short_edge"])
        o, p = dir_bytes(ours / name), dir_bytes(plain / name)
        line = (f"{info['width']}x{info['height']:<6} {o * 8 / args.seconds / 1000:11.0f}"
                f"  {p * 8 / args.seconds / 1000:12.0f}  {o:11d}  {p:11d}")
        if args.vmaf:
            w, h = (int(v) for v in args.size.split("x"))
            line += f"  {vmaf(source, ours / name, w, h, work):5.1f}"
        print(line)
    print(f"\nstartup bytes, lowest ({ladder[0].name}): {startup_bytes(ours, ladder[0].name)}; "
          f"default ({default.name}): {startup_bytes(ours, default.name)}")
    master = (ours / "master.m3u8").read_text()
    print("master playlist:\n" + re.sub(r"(?m)^", "  ", master).rstrip())


def measure_one_decode(
    args: argparse.Namespace, source: Path, ladder: list[Rendition], out: Path,
    per_title_on: bool, *, watch: bool = True,
) -> dict[str, Any]:
    """The one-decode design, measured: the probe (and the per-title plan when on), then
    every rung and the extras' files from one ffmpeg graph (no second decode), while the
    lowest rung's directory is watched. A segment is complete when the next one appears
    (the last when ffmpeg exits). Playback started at wall time T never waits for a
    segment if segment k is complete by T + its media start time (0, 1, 3, 5, ... s), so
    the earliest such start is max over k of (complete_k - start_k): that would be the
    asset's "playable" under this design (a growing playlist published as segments land).
    `watch=False`: the no-wait path as it runs, nothing watched."""
    started = time.perf_counter()
    cpu_started = cpu_seconds()
    probe = probe_file(source)
    if per_title_on:
        per_title.plan_for(source, probe)
    out.mkdir()
    taps_dir = out / "taps"
    taps_dir.mkdir()
    taps = derived.tap_outputs(probe, taps_dir, list(derived.TAP_STEPS))
    lowest = out / ladder[0].name
    done = threading.Event()
    failure: list[BaseException] = []

    def encode() -> None:
        try:
            transcode.transcode_ladder(source, probe, ladder, out, preset=args.preset,
                                       taps=taps)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failure.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=encode)
    worker.start()
    seen: dict[str, float] = {}
    while not done.wait(0.1 if watch else None):
        now = time.perf_counter() - started
        for path in lowest.glob("seg_*.m4s") if lowest.is_dir() else ():
            seen.setdefault(path.name, now)
    worker.join()
    finished = time.perf_counter() - started
    if failure:
        raise failure[0]
    names = sorted(p.name for p in lowest.glob("seg_*.m4s"))
    completes = [seen.get(names[k + 1], finished) if k + 1 < len(names) else finished
                 for k in range(len(names))]
    starts = [0.0] + [transcode.FIRST_SEGMENT_SECONDS + transcode.SEGMENT_SECONDS * (k - 1)
                      for k in range(1, len(names))]
    through = max(c - s for c, s in zip(completes, starts, strict=True))
    # the steps that publish the graph's files, as in ours
    default = max((r for r in ladder if r.short_edge <= 720), key=lambda r: r.short_edge)
    assert derived.poster_from_candidates(taps_dir, probe, out / "poster.jpg") is not None
    derived.storyboard_files(taps_dir, probe)
    transcode.mp4_from_rendition(out / default.name / "index.m3u8", out / "video.mp4")
    return {"cpu": cpu_seconds() - cpu_started, "seconds": finished, "first": completes[0],
            "through": through}


if __name__ == "__main__":
    main()
