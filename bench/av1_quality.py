"""AV1 against H.264: bytes at equal VMAF and encode CPU per second of video (issue 23).

    flock /tmp/bench.lock nice .venv/bin/python bench/av1_quality.py            # 4 s, rung 540
    flock /tmp/bench.lock nice .venv/bin/python bench/av1_quality.py --kinds static,text
    .venv/bin/python bench/av1_quality.py --quick                               # a few seconds

The clips are bench/media_quality.py's lavfi stand-ins (talking head, fast motion, static,
low light, screen recording, text), 1080x1920 30 fps near-lossless, the reference. At one
rung of the ladder (`--rung`, short edge, default 540) it encodes, video only, from the
same source and through the pipeline's own filter chain:

- **H.264** exactly as the ladder does (`transcode._x264_args`: capped CRF 23, x264
  veryfast), plus CRF 19 and 27 with the same cap, so H.264 has a rate curve too;
- **AV1** as the `av1` step does (`av1._svt_args`: SVT-AV1 at MEDIA_AV1_PRESET, capped at
  0.7x H.264's cap) at MEDIA_AV1_CRF and at CRFs around it (a rate curve).

Each output is scored with VMAF (libvmaf, scaled back to the source size, every
`--subsample`-th frame). Printed per clip: each point's kbit/s, VMAF and encode CPU
seconds (user + system of ffmpeg, from getrusage) per second of video; then AV1's bitrate
at the VMAF of the pipeline's H.264 (interpolated in log bitrate on AV1's curve) over
H.264's bitrate — below 1 means fewer bytes at equal VMAF — and the pipeline's AV1 point
against the pipeline's H.264 point (bytes, VMAF, CPU). `--runs` repeats and takes medians
with the load before and after each run (bench/_runs.py).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.test")

import media_quality as mq  # noqa: E402
from _runs import Run, Runs, add_arguments  # noqa: E402

from apps.media import av1, transcode  # noqa: E402
from apps.media.probe import probe_file  # noqa: E402

X264_CRFS = (19, 23, 27)  # 23 is the pipeline's


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def encode(
    source: Path, out: Path, codec: str, crf: int, rung: int, av1_preset: int
) -> tuple[Path, float]:
    """One rung, video only, as the pipeline encodes it; returns the file and the encode's
    CPU seconds (ffmpeg's user + system time)."""
    probe = probe_file(source)
    plan = {r.short_edge: r for r in transcode.plan_ladder(probe)}
    r = plan[rung] if rung in plan else max(plan.values(), key=lambda x: x.short_edge)
    vf = transcode._video_filter(probe, r.width, r.height, r.fps)
    if codec == "h264":
        args = transcode._x264_args(r, "veryfast")
        args = args[: args.index("-c:a")]
        args[args.index("-crf") + 1] = str(crf)
    else:
        capped = transcode.Rendition(
            r.short_edge,
            r.width,
            r.height,
            r.fps,
            max(50, int(r.video_kbps * av1.CAP_FACTOR)),
            r.audio_kbps,
        )
        args = av1._svt_args(capped, preset=av1_preset, crf=crf)
        args = args[: args.index("-c:a")]
    before = _cpu_children()
    transcode.run_ffmpeg(
        ["-i", str(source), "-map", "0:v:0", "-vf", vf, *args, "-an", "-f", "mp4", str(out)]
    )
    return out, _cpu_children() - before


def kbps_at(vmaf: float, curve: list[mq.Rung]) -> float | None:
    return mq.peertube_kbps_at(vmaf, curve)


def measure(args: argparse.Namespace, kind: str, source: Path, work: Path, run: Run) -> None:
    seconds = args.seconds
    points: dict[str, list[tuple[int, mq.Rung, float]]] = {"h264": [], "av1": []}
    # wide: AV1 often matches H.264's VMAF only far above the pipeline's CRF
    av1_crfs = sorted(
        {max(1, args.av1_crf - 6), args.av1_crf, *(min(63, args.av1_crf + d) for d in (8, 16))}
    )
    x264_crfs: tuple[int, ...] = X264_CRFS
    if args.quick:  # the pipeline's two points and one more AV1 point: the bench's test
        x264_crfs, av1_crfs = (transcode.CRF,), [args.av1_crf, min(63, args.av1_crf + 16)]
    for codec, crfs in (("h264", x264_crfs), ("av1", av1_crfs)):
        for crf in crfs:
            out, cpu = encode(
                source, work / f"{codec}-{crf}.mp4", codec, crf, args.rung, args.av1_preset
            )
            rung = mq.Rung(codec, args.rung, 0, 0, out)
            mq.score(rung, source, work, args.subsample)
            points[codec].append((crf, rung, cpu))
    print(f"\n== {kind}, rung {args.rung} (AV1: SVT-AV1 preset {args.av1_preset})")
    print("codec  CRF  video kbit/s   VMAF   CPU s per s of video")
    for codec, found in points.items():
        for crf, rung, cpu in found:
            print(f"{codec:<5} {crf:4d} {rung.kbps:13.0f}  {rung.vmaf:5.1f}  {cpu / seconds:8.2f}")
    h264 = next(p for p in points["h264"] if p[0] == transcode.CRF)
    ours = next(p for p in points["av1"] if p[0] == args.av1_crf)
    at_equal = kbps_at(h264[1].vmaf, [p[1] for p in points["av1"]])
    label = f"{at_equal / h264[1].kbps:.2f}" if at_equal else "outside AV1's range"
    print(
        f"AV1 at H.264's VMAF {h264[1].vmaf:.1f}: {at_equal or 0:.0f} kbit/s against "
        f"{h264[1].kbps:.0f} (AV1/H.264 bytes at equal VMAF: RATIO {label})"
    )
    print(
        f"pipeline points: AV1 CRF {args.av1_crf} {ours[1].kbps:.0f} kbit/s VMAF "
        f"{ours[1].vmaf:.1f} vs H.264 {h264[1].kbps:.0f} kbit/s VMAF {h264[1].vmaf:.1f}; "
        f"encode CPU per second of video AV1 {ours[2] / seconds:.2f} s, H.264 "
        f"{h264[2] / seconds:.2f} s ({ours[2] / max(h264[2], 1e-9):.1f}x)"
    )
    run.ratio(f"{kind} AV1/H.264 bytes at equal VMAF", at_equal, h264[1].kbps)
    run.ratio(f"{kind} AV1/H.264 bytes (pipeline settings)", ours[1].kbps, h264[1].kbps)
    run.figure(f"{kind} AV1 VMAF (pipeline settings)", ours[1].vmaf)
    run.figure(f"{kind} H.264 VMAF (pipeline settings)", h264[1].vmaf)
    run.figure(f"{kind} AV1 encode CPU per s of video", ours[2] / seconds, "s")
    run.figure(f"{kind} H.264 encode CPU per s of video", h264[2] / seconds, "s")
    run.ratio(f"{kind} AV1/H.264 encode CPU", ours[2], h264[2])


def main(argv: list[str] | None = None) -> dict[str, object]:
    from django.conf import settings

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--subsample", type=int, default=2)
    parser.add_argument("--kinds", default="talking-head,fast-motion,screen")
    parser.add_argument("--rung", type=int, default=540)
    parser.add_argument("--av1-preset", type=int, default=settings.MEDIA_AV1_PRESET)
    parser.add_argument("--av1-crf", type=int, default=settings.MEDIA_AV1_CRF)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a 1 s 270x480 clip, rung 240, one kind (the bench's test)",
    )
    add_arguments(parser, default_runs=1)
    args = parser.parse_args(argv)
    if args.quick:
        mq.WIDTH, mq.HEIGHT = 270, 480
        args.seconds, args.rung, args.kinds, args.subsample = 1.0, 240, "talking-head", 3
        args.av1_preset = max(args.av1_preset, 12)
    print(
        f"source {mq.WIDTH}x{mq.HEIGHT} {mq.FPS} fps, {args.seconds:g} s per kind; "
        f"{os.cpu_count()} CPUs (shared); load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-av1-") as tmp:
        sources = {}
        for kind in args.kinds.split(","):
            sources[kind] = Path(tmp) / kind / "source.mp4"
            sources[kind].parent.mkdir()
            mq.make_source(kind, args.seconds, sources[kind])
        runs = Runs("av1_quality", args)
        for one in runs:
            for kind, source in sources.items():
                work = source.parent / f"run{one.index}"
                work.mkdir()
                measure(args, kind, source, work, one)
    return runs.summary()


if __name__ == "__main__":
    import django

    django.setup()
    main()
