"""Startup bytes per rung: what a player fetches before its first frame, with the first HLS
segment at 1 s (now, issue 22) against 2 s (before), from one source in one run.

    flock /tmp/bench.lock .venv/bin/python bench/startup_bytes.py            # 6 s 1080x1920
    flock /tmp/bench.lock .venv/bin/python bench/startup_bytes.py --seconds 4 --size 720x1280

For each packaging the whole ladder is encoded from one decode (`transcode.transcode_ladder`,
the pipeline's own command, x264 veryfast) and, per rung, printed: the media playlist, the
init segment, the first media segment (its bytes and its EXTINF duration) and their sum
(playlist + init + first segment: with the API's start playlist the player needs no master).
The source is bench/transcode.py's (testsrc2, sharp detail and fast motion, plus a tone), so
the figures are an upper end; talking heads need fewer bytes.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.test")

from transcode import make_source  # noqa: E402

from apps.media import transcode  # noqa: E402
from apps.media.probe import probe_file  # noqa: E402

EXTINF = re.compile(r"#EXTINF:([0-9.]+)")


def package(
    source: Path, out: Path, first_segment: int, preset: str
) -> dict[str, dict[str, float]]:
    """The ladder with a first segment of `first_segment` seconds; figures per rung."""
    saved = transcode.FIRST_SEGMENT_SECONDS, transcode.KEYFRAME_EXPR
    transcode.FIRST_SEGMENT_SECONDS = first_segment
    transcode.KEYFRAME_EXPR = (
        f"expr:if(lt(n_forced,2),gte(t,n_forced*{first_segment}),"
        f"gte(t,{first_segment}+(n_forced-1)*{transcode.SEGMENT_SECONDS}))"
    )
    try:
        probe = probe_file(source)
        ladder = transcode.plan_ladder(probe)
        transcode.transcode_ladder(source, probe, ladder, out, preset=preset)
    finally:
        transcode.FIRST_SEGMENT_SECONDS, transcode.KEYFRAME_EXPR = saved
    figures: dict[str, dict[str, float]] = {}
    for rung in ladder:
        directory = out / rung.name
        text = (directory / "index.m3u8").read_text()
        first = next(line for line in text.splitlines() if line and not line.startswith("#"))
        playlist = (directory / "index.m3u8").stat().st_size
        init = (directory / "init.mp4").stat().st_size
        segment = (directory / first).stat().st_size
        figures[f"{rung.width}x{rung.height}"] = {
            "playlist": playlist,
            "init": init,
            "first_segment": segment,
            "first_seconds": float(EXTINF.findall(text)[0]),
            "startup": playlist + init + segment,
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--size", default="1080x1920")
    parser.add_argument("--preset", default="veryfast")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "source.mp4"
        make_source(source, args.size, args.seconds)
        before = package(source, work / "two", 2, args.preset)
        now = package(source, work / "one", 1, args.preset)
    print(f"\n{args.seconds:g} s {args.size} testsrc2 + tone, x264 {args.preset}; bytes")
    print(
        f"{'rung':<10} {'init':>6} | {'2 s: seg 0':>10} {'startup':>8} | "
        f"{'1 s: seg 0':>10} {'startup':>8} | {'ratio':>5}"
    )
    for rung, old in before.items():
        new = now[rung]
        print(
            f"{rung:<10} {new['init']:>6.0f} | {old['first_segment']:>10.0f} "
            f"{old['startup']:>8.0f} | {new['first_segment']:>10.0f} {new['startup']:>8.0f} "
            f"| {new['startup'] / old['startup']:>5.2f}   "
            f"(first EXTINF {old['first_seconds']:.3f} → {new['first_seconds']:.3f} s)"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
