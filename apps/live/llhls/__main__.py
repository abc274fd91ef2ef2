"""`python -m apps.live.llhls OUT_DIR [--ended-on-eof]`: package ffmpeg's fragmented MP4 read
from standard input into OUT_DIR (one rendition; handy with `ffmpeg ... pipe:1 |`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from apps.live.llhls.packager import PART_TARGET, SEGMENT_TARGET, Packager
from apps.live.llhls.pump import pump


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m apps.live.llhls")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--part-target", type=float, default=PART_TARGET)
    parser.add_argument("--segment-target", type=float, default=SEGMENT_TARGET)
    parser.add_argument("--ended-on-eof", action="store_true")
    args = parser.parse_args(argv)
    packager = Packager(args.out_dir, part_target=args.part_target,
                        segment_target=args.segment_target)
    pump({sys.stdin.fileno(): packager}, ended_on_eof=args.ended_on_eof)


if __name__ == "__main__":
    main()
