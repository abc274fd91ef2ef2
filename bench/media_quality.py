"""Quality per byte: our ladder against PeerTube's ladder settings, on two kinds of content.

    nice .venv/bin/python bench/media_quality.py                 # 4 s clips, 1080x1920
    nice .venv/bin/python bench/media_quality.py --seconds 6 --subsample 3

For each kind of content (no network here, so both are made with ffmpeg's lavfi, and are
stand-ins for real phone footage, not recordings):

- **talking head** (mostly static): a still, out-of-focus background (a Mandelbrot frame,
  blurred), a sharp 360x480 "head" region whose content moves and that sways slowly, and
  light temporal sensor noise;
- **fast motion**: testsrc2's moving pattern, the whole frame turning (0.6 rad/s) and
  panning, with sensor noise.

With `--per-title`, also static, low light, screen (Game of Life, pixels repeated 4x2),
text (cells repeated 4x4; both seeded since 7 December, random before: their figures moved
a little between runs) and, asked by name, `upscaled` (the fast-motion clip made at
540x960 and scaled to 1080x1920 bicubic: a 540p clip exported at 1080p).

The source is 1080x1920 30 fps, encoded near-lossless (x264 CRF 8) and is the reference.
Both ladders encode the video only, from the same source, with the bundled ffmpeg:

- **ours**: `apps.media.transcode` as the pipeline runs it — short edges 240/360/540/
  720/1080, capped CRF 23 with `-maxrate` = our bits-per-pixel budget
  (0.16/0.13/0.11/0.095/0.085), bufsize 2x, 2 s closed GOP without scene cuts, x264
  veryfast (the `ladder` step's one-decode command, audio left out);
- **PeerTube**: short edges 240/360/480/720/1080, target = bits per pixel (0.17/0.15/
  0.12/0.11/0.10) x w x h x fps, x264 veryfast, no -crf (x264's default CRF 23), `-maxrate`
  at the target, bufsize 2x target, `-b_strategy 1 -bf 16`, 2 s GOP (`-g 60`). This is
  our reading of PeerTube's VOD profile as the issue states it, not PeerTube's code.

Each rendition is scaled back to 1080x1920 (bicubic) and scored against the source with
**VMAF** (libvmaf in the imageio-ffmpeg binary, model vmaf_v0.6.1, every `--subsample`-th
frame) and SSIM/PSNR (ffmpeg's filters, every frame). Video bitrate = video packet bytes /
duration. Prints each rung, then for each of our rungs the PeerTube bitrate that reaches
the same VMAF (interpolated on PeerTube's rate curve, in log bitrate) and the ratio: below
1.0 means fewer bytes at equal VMAF.

`--runs N` (default 3) encodes and scores both ladders N times from the same sources and
ends with the median of each figure and ratio over the runs, with the min-max, the load
average before and after each run and a warning for runs started on a busy machine
(bench/_runs.py; `--json out.json` writes them); bytes and scores hardly move between runs,
the encode wall times do. `--runs 1` is the single run of before.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.test")

from _runs import Run, Runs, add_arguments  # noqa: E402

from apps.media import per_title, transcode  # noqa: E402
from apps.media.probe import probe_file  # noqa: E402

WIDTH, HEIGHT, FPS = 1080, 1920, 30
PEERTUBE_BPP = {240: 0.17, 360: 0.15, 480: 0.12, 720: 0.11, 1080: 0.10}


def ffmpeg(*args: str) -> None:
    subprocess.run([transcode.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True)


def make_source(kind: str, seconds: float, out: Path) -> None:
    if kind == "talking-head":
        graph = (
            f"mandelbrot=s={WIDTH}x{HEIGHT}:rate={FPS}:end_pts=1,trim=end_frame=1,"
            f"loop=loop=-1:size=1,setpts=N/{FPS}/TB,gblur=sigma=4[bg];"
            f"testsrc2=s=360x480:rate={FPS}[head];"
            f"[bg][head]overlay=x='360+40*sin(t*1.3)':y='640+30*sin(t*0.9)',"
            f"noise=alls=3:allf=t,trim=duration={seconds},format=yuv420p[v]"
        )
    elif kind == "static":  # a still picture held (a photo slideshow frame)
        graph = (
            f"mandelbrot=s={WIDTH}x{HEIGHT}:rate={FPS}:end_pts=1,trim=end_frame=1,"
            f"loop=loop=-1:size=1,setpts=N/{FPS}/TB,trim=duration={seconds},format=yuv420p[v]"
        )
    elif kind == "low-light":  # a dark scene with heavy sensor noise
        graph = (
            f"testsrc2=s={WIDTH}x{HEIGHT}:rate={FPS},eq=brightness=-0.3:contrast=0.5,"
            f"noise=alls=28:allf=t,trim=duration={seconds},format=yuv420p[v]"
        )
    elif kind == "screen":  # a screen recording: flat UI, a small area changing
        graph = (
            f"color=c=0xf0f0f0:s={WIDTH}x{HEIGHT}:rate={FPS}[bg];"
            f"life=s=270x480:rate={FPS}:mold=10:ratio=0.1:seed=1:death_color=0xf0f0f0:"
            f"life_color=0x202020,scale={WIDTH}:{HEIGHT // 2}:flags=neighbor[ui];"
            f"[bg][ui]overlay=y={HEIGHT // 4},trim=duration={seconds},format=yuv420p[v]"
        )
    elif kind == "text":  # text-heavy: sharp glyph-like cells scrolling up
        graph = (
            f"cellauto=s=270x480:rate={FPS}:rule=110:scroll=1:random_fill_ratio=0.5:seed=1,"
            f"scale={WIDTH}:{HEIGHT}:flags=neighbor,trim=duration={seconds},format=yuv420p[v]"
        )
    elif kind == "upscaled":  # the fast-motion clip made at 540x960, exported at 1080x1920
        half_w, half_h = WIDTH // 2, HEIGHT // 2
        graph = (
            f"testsrc2=s={half_w * 2}x{half_h}:rate={FPS},"
            f"crop={half_w}:{half_h}:x='min(t*150,{half_w})':y=0,"
            f"rotate=a=0.6*t:fillcolor=gray,noise=alls=5:allf=t,"
            f"scale={WIDTH}:{HEIGHT}:flags=bicubic,trim=duration={seconds},format=yuv420p[v]"
        )
    else:
        graph = (
            f"testsrc2=s={WIDTH * 2}x{HEIGHT}:rate={FPS},"
            f"crop={WIDTH}:{HEIGHT}:x='min(t*300,{WIDTH})':y=0,"
            f"rotate=a=0.6*t:fillcolor=gray,noise=alls=5:allf=t,"
            f"trim=duration={seconds},format=yuv420p[v]"
        )
    ffmpeg("-f", "lavfi", "-i", f"nullsrc=s=16x16:d={seconds}", "-filter_complex", graph,
           "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "8", str(out))


@dataclass
class Rung:
    ladder: str
    short_edge: int
    width: int
    height: int
    path: Path
    kbps: float = 0.0
    vmaf: float = 0.0
    ssim: float = 0.0
    psnr: float = 0.0


def video_kbps(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        total = 0
        last = 0.0
        for packet in container.demux(stream):
            total += packet.size
            if packet.pts is not None:
                last = max(last, float(packet.pts * (stream.time_base or 0)))
        frames = stream.frames or 0
    duration = frames / FPS if frames else last
    return total * 8 / duration / 1000


def ours(source: Path, work: Path, title: dict[str, Any] | None = None,
         label: str = "ours") -> tuple[list[Rung], float]:
    """The `ladder` step's command (one decode, split, each rung scaled and encoded with
    the pipeline's own filters and x264 arguments), video only; `title`: the per-title
    plan (`apps.media.per_title`)."""
    probe = probe_file(source)
    ladder = transcode.plan_ladder(probe, title)
    count = len(ladder)
    graph = [f"[0:v]split={count}" + "".join(f"[s{i}]" for i in range(count))]
    for i, r in enumerate(ladder):
        graph.append(f"[s{i}]{transcode._video_filter(probe, r.width, r.height, r.fps)}[v{i}]")
    cleaned = ["-i", str(source), "-filter_complex", ";".join(graph)]
    for i, r in enumerate(ladder):
        x264 = transcode._x264_args(r, "veryfast")
        directory = work / label / r.name
        directory.mkdir(parents=True)
        cleaned += ["-map", f"[v{i}]", *x264[:x264.index("-c:a")],
                    *transcode._hls_output(r, directory)]
    started = time.perf_counter()
    transcode.run_ffmpeg(cleaned)
    seconds = time.perf_counter() - started
    rungs = []
    for r in ladder:
        directory = work / label / r.name
        joined = work / f"{label}-{r.name}.mp4"
        segments = sorted(directory.glob("seg_*.m4s"))
        joined.write_bytes((directory / "init.mp4").read_bytes()
                           + b"".join(s.read_bytes() for s in segments))
        rungs.append(Rung(label, r.short_edge, r.width, r.height, joined))
    return rungs, seconds


def peertube(source: Path, work: Path) -> tuple[list[Rung], float]:
    rungs = []
    started = time.perf_counter()
    for edge, bpp in PEERTUBE_BPP.items():
        width = edge
        height = round(edge * HEIGHT / WIDTH / 2) * 2
        target = int(bpp * width * height * FPS / 1000)
        out = work / f"peertube-{edge}.mp4"
        ffmpeg("-i", str(source), "-an", "-vf", f"scale={width}:{height}:flags=lanczos",
               "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
               "-maxrate", f"{target}k", "-bufsize", f"{target * 2}k",
               "-b_strategy", "1", "-bf", "16", "-r", str(FPS), "-g", str(FPS * 2), str(out))
        rungs.append(Rung("peertube", edge, width, height, out))
    return rungs, time.perf_counter() - started


def score(rung: Rung, source: Path, work: Path, subsample: int) -> None:
    log = work / f"{rung.path.stem}-vmaf.json"
    ssim_log = work / f"{rung.path.stem}-ssim.txt"
    psnr_log = work / f"{rung.path.stem}-psnr.txt"
    ffmpeg(
        "-i", str(rung.path), "-i", str(source), "-lavfi",
        f"[0:v]scale={WIDTH}:{HEIGHT}:flags=bicubic,setpts=PTS-STARTPTS,split=3[d1][d2][d3];"
        f"[1:v]setpts=PTS-STARTPTS,split=3[r1][r2][r3];"
        f"[d1][r1]libvmaf=n_subsample={subsample}:n_threads=2:log_fmt=json:log_path={log};"
        f"[d2][r2]ssim=stats_file={ssim_log};[d3][r3]psnr=stats_file={psnr_log}",
        "-f", "null", "-")
    rung.vmaf = float(json.loads(log.read_text())["pooled_metrics"]["vmaf"]["mean"])
    ssims = [float(line.split("All:")[1].split()[0]) for line in ssim_log.read_text().splitlines()]
    rung.ssim = sum(ssims) / len(ssims)
    psnrs = [float(line.split("psnr_avg:")[1].split()[0])
             for line in psnr_log.read_text().splitlines() if "psnr_avg:inf" not in line]
    rung.psnr = sum(psnrs) / len(psnrs)
    rung.kbps = video_kbps(rung.path)


def frontier_kbps_at(vmaf: float, curve: list[Rung]) -> float | None:
    """Like `peertube_kbps_at` on the ladder's efficient rungs only: a rung that costs
    more than a cheaper one of the same ladder for no more VMAF (low light's 1080 against
    its 720) is left out, so the curve is monotonic and never flatters the other ladder."""
    return peertube_kbps_at(vmaf, efficient_rungs(curve))


def efficient_rungs(curve: list[Rung]) -> list[Rung]:
    """The rungs no cheaper rung of the same ladder matches or beats in VMAF."""
    efficient: list[Rung] = []
    for rung in sorted(curve, key=lambda r: r.kbps):
        if not efficient or rung.vmaf > efficient[-1].vmaf:
            efficient.append(rung)
    return efficient


def peertube_kbps_at(vmaf: float, curve: list[Rung]) -> float | None:
    """A ladder's bitrate at a VMAF, interpolated in log(bitrate) between its rungs."""
    points = sorted((r.vmaf, math.log(r.kbps)) for r in curve)
    for (v0, b0), (v1, b1) in itertools.pairwise(points):
        if v0 <= vmaf <= v1 and v1 > v0:
            return math.exp(b0 + (b1 - b0) * (vmaf - v0) / (v1 - v0))
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--subsample", type=int, default=2)
    parser.add_argument("--kinds", default=None,
                        help="default: talking-head,fast-motion (with --per-title: static,"
                             "talking-head,fast-motion,low-light,screen,text); also "
                             "'upscaled' (fast motion made at 540 and scaled to 1080)")
    parser.add_argument("--per-title", action="store_true",
                        help="the per-title ladder against today's, instead of PeerTube's")
    add_arguments(parser, default_runs=3)
    args = parser.parse_args()
    if args.kinds is None:
        args.kinds = ("static,talking-head,fast-motion,low-light,screen,text" if args.per_title
                      else "talking-head,fast-motion")
    print(f"source {WIDTH}x{HEIGHT} {FPS} fps, {args.seconds:g} s per kind; VMAF every "
          f"{args.subsample} frame(s); {os.cpu_count()} CPUs (shared); "
          f"load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
        sources = {}
        for kind in args.kinds.split(","):
            sources[kind] = Path(tmp) / kind / "source.mp4"
            sources[kind].parent.mkdir()
            make_source(kind, args.seconds, sources[kind])
        runs = Runs("media_quality", args)
        for one in runs:
            matched: list[tuple[float, float, float, float]] = []
            for kind, source in sources.items():
                work = source.parent / f"run{one.index}"
                work.mkdir()
                if args.per_title:
                    matched.append(measure_per_title(args, kind, source, work, one))
                else:
                    measure(args, kind, source, work, one)
            if args.per_title:
                set_summary(matched, one)
    runs.summary()


def set_summary(matched: list[tuple[float, float, float, float]], run: Run) -> None:
    """The set's two aggregates: all clips' per-title bytes over today's at equal VMAF
    (the rungs in range, summed: the CDN bill, weighted by the heavy clips) and the mean
    of the per-clip ratios (every clip counted once)."""
    ours_total = sum(m[0] for m in matched)
    today_total = sum(m[1] for m in matched)
    per_clip = [m[0] / m[1] for m in matched if m[1]]
    mean = sum(per_clip) / len(per_clip) if per_clip else float("nan")
    print(f"\nSET ({len(matched)} clips): per-title / today's bytes at equal VMAF, total "
          f"{ours_total:.0f} / {today_total:.0f} kbit/s = {ours_total / today_total:.3f}; "
          f"mean of the per-clip ratios {mean:.3f} (goal ≤ 0.8)")
    strict_ours, strict_today = sum(m[2] for m in matched), sum(m[3] for m in matched)
    print(f"SET, strict (a rung outside today's efficient range compared only with today's "
          f"same rung when that rung is efficient): {strict_ours:.0f} / {strict_today:.0f} "
          f"kbit/s = {strict_ours / strict_today:.3f}")
    run.ratio("set per-title/today bytes at equal VMAF (total)", ours_total, today_total)
    run.ratio("set per-title/today bytes at equal VMAF (strict)", strict_ours, strict_today)
    run.figure("set mean of per-clip ratios", mean)


def measure(args: argparse.Namespace, kind: str, source: Path, work: Path, run: Run) -> None:
    """One run of one kind: both ladders encoded from `source` and scored, under `work`."""
    our_rungs, our_seconds = ours(source, work)
    pt_rungs, pt_seconds = peertube(source, work)
    for rung in [*our_rungs, *pt_rungs]:
        score(rung, source, work, args.subsample)
    print(f"\n== {kind} (source {source.stat().st_size * 8 / args.seconds / 1e6:.1f} "
          f"Mbit/s) — encode wall time: ours {our_seconds:.1f} s (one decode), "
          f"PeerTube {pt_seconds:.1f} s (one command per rung)")
    print("ladder    rung       video kbit/s   VMAF    SSIM   PSNR dB")
    for rung in [*our_rungs, *pt_rungs]:
        print(f"{rung.ladder:<9} {rung.width}x{rung.height:<6} {rung.kbps:12.0f}"
              f"  {rung.vmaf:5.1f}  {rung.ssim:.4f}  {rung.psnr:6.2f}")
    print("at equal VMAF: our bitrate / PeerTube's (interpolated; < 1 = fewer bytes)")
    for rung in our_rungs:
        theirs = peertube_kbps_at(rung.vmaf, pt_rungs)
        ratio = f"{rung.kbps / theirs:.2f}" if theirs else "outside PeerTube's range"
        run.ratio(f"{kind} {rung.width}x{rung.height} ours/PeerTube at equal VMAF",
                  rung.kbps, theirs)
        print(f"  {rung.width}x{rung.height}: VMAF {rung.vmaf:5.1f} at {rung.kbps:.0f} "
              f"kbit/s; PeerTube ≈ {theirs or 0:.0f} kbit/s; RATIO {ratio}")
    ours_total = sum(r.kbps for r in our_rungs)
    theirs_total = sum(r.kbps for r in pt_rungs)
    print(f"whole ladder: ours {ours_total:.0f} kbit/s, PeerTube {theirs_total:.0f} "
          f"kbit/s (RATIO {ours_total / theirs_total:.2f}); mean VMAF ours "
          f"{sum(r.vmaf for r in our_rungs) / len(our_rungs):.1f}, PeerTube "
          f"{sum(r.vmaf for r in pt_rungs) / len(pt_rungs):.1f}")
    run.figure(f"{kind} ours whole ladder", ours_total, "kbit/s")
    run.figure(f"{kind} PeerTube whole ladder", theirs_total, "kbit/s")
    run.figure(f"{kind} ours mean VMAF", sum(r.vmaf for r in our_rungs) / len(our_rungs))
    run.figure(f"{kind} PeerTube mean VMAF", sum(r.vmaf for r in pt_rungs) / len(pt_rungs))
    run.figure(f"{kind} ours encode wall", our_seconds, "s")
    run.figure(f"{kind} PeerTube encode wall", pt_seconds, "s")
    run.ratio(f"{kind} ours/PeerTube whole ladder kbit/s", ours_total, theirs_total)
    run.ratio(f"{kind} ours/PeerTube encode wall", our_seconds, pt_seconds)


def measure_per_title(args: argparse.Namespace, kind: str, source: Path, work: Path,
                      run: Run) -> tuple[float, float, float, float]:
    """Today's ladder and the per-title one on the same clip, both scored; the per-title
    bytes against today's bitrate at the same VMAF (interpolated on today's efficient
    rungs, `frontier_kbps_at`); returns the per-title and today's kbit/s of the rungs in
    range."""
    started = time.perf_counter()
    plan = per_title.plan_for(source, probe_file(source))
    probe_seconds = time.perf_counter() - started
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    today, _ = ours(source, work)
    middle = resource.getrusage(resource.RUSAGE_CHILDREN)
    titled, _ = ours(source, work, plan, label="per-title")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    today_cpu = middle.ru_utime + middle.ru_stime - cpu.ru_utime - cpu.ru_stime
    titled_cpu = after.ru_utime + after.ru_stime - middle.ru_utime - middle.ru_stime
    for rung in [*today, *titled]:
        score(rung, source, work, args.subsample)
    print(f"\n== {kind}: complexity {plan['bpp']:.4f} bpp -> cap factor {plan['factor']}, "
          f"x264 CRF {plan.get('crf', transcode.CRF)}, preset {plan.get('preset') or 'veryfast'}, "
          f"x264 options {plan.get('tune') or 'none'}, rungs dropped {plan['drop'] or 'none'}, "
          f"effective resolution {plan.get('effective')}, top {plan.get('top') or 'none'} "
          f"(probe {probe_seconds:.2f} s); ladder encode CPU today {today_cpu:.1f} s, "
          f"per-title {titled_cpu:.1f} s")
    print("ladder     rung       video kbit/s   VMAF    SSIM   PSNR dB")
    for rung in [*today, *titled]:
        print(f"{rung.ladder:<10} {rung.width}x{rung.height:<6} {rung.kbps:12.0f}"
              f"  {rung.vmaf:5.1f}  {rung.ssim:.4f}  {rung.psnr:6.2f}")
    matched_ours = matched_today = strict_ours = strict_today = 0.0
    efficient = efficient_rungs(today)
    for rung in titled:
        theirs = frontier_kbps_at(rung.vmaf, today)
        strict = theirs is not None
        if theirs is None:  # above/below today's range: the same rung's bytes, if VMAF >=
            same = next((r for r in today if r.short_edge == rung.short_edge), None)
            theirs = same.kbps if same is not None and same.vmaf <= rung.vmaf + 0.5 else None
            # strict: not against a rung of today's that a cheaper one beats (text's 720)
            strict = theirs is not None and same in efficient
        if strict and theirs:
            strict_ours += rung.kbps
            strict_today += theirs
        label = f"{rung.kbps / theirs:.2f}" if theirs else "outside today's range"
        print(f"  {rung.width}x{rung.height}: VMAF {rung.vmaf:5.1f} at {rung.kbps:.0f} "
              f"kbit/s; today's ladder ≈ {theirs or 0:.0f} kbit/s; RATIO {label}")
        if theirs:
            matched_ours += rung.kbps
            matched_today += theirs
    total_ratio = matched_ours / matched_today if matched_today else float("nan")
    print(f"{kind}: per-title / today's bytes at equal VMAF (rungs in range): "
          f"{total_ratio:.2f} (goal ≤ 0.8); whole ladders {sum(r.kbps for r in titled):.0f} vs "
          f"{sum(r.kbps for r in today):.0f} kbit/s; top VMAF {max(r.vmaf for r in titled):.1f} "
          f"vs {max(r.vmaf for r in today):.1f}; strict {strict_ours:.0f} / {strict_today:.0f}")
    run.ratio(f"{kind} per-title/today bytes at equal VMAF", matched_ours, matched_today)
    run.figure(f"{kind} complexity", plan["bpp"], "bpp")
    run.ratio(f"{kind} per-title/today ladder encode CPU", titled_cpu, today_cpu)
    return matched_ours, matched_today, strict_ours, strict_today


if __name__ == "__main__":
    main()
