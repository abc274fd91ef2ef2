"""`manage.py calibrate_nudity [--dir D]`: the nudity scorer's false positives on a made
corpus of frames with no nudity, for the detector alone and skin-weighted, at the nudity
rule's thresholds (see `detection.calibration`)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.moderation.detection import calibration
from apps.moderation.detection.models import PolicyRule
from apps.moderation.policies import Policy


class Command(BaseCommand):
    help = "Measure the nudity scorer's false-positive rate on frames with no nudity."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, default=None,
                            help="Where to keep the made frames (default: a temporary one).")

    def handle(self, *args: Any, **options: Any) -> None:
        rule = PolicyRule.objects.filter(policy=Policy.NUDITY_SEXUAL).first()
        named = {"age-restrict": rule.age_restrict_at, "review": rule.review_at,
                 "block": rule.block_at} if rule else {}
        thresholds = tuple(sorted({v for v in named.values() if v is not None}
                                  or {0.45, 0.6, 0.85}))
        with tempfile.TemporaryDirectory() as tmp:
            directory = options["dir"] or Path(tmp)
            rates = calibration.measure(calibration.corpus(directory), thresholds)
        self.stdout.write("thresholds: " + ", ".join(
            f"{name} {value:g}" for name, value in named.items() if value is not None))
        self.stdout.write(f"{'corpus':16} {'frames':>6} {'worst':>13}  "
                          + "  ".join(f">={t:<5g} raw/weighed" for t in thresholds))
        for r in rates:
            cells = "  ".join(
                f"{r.over_raw[t] / r.frames:6.1%}/{r.over[t] / r.frames:6.1%}"
                for t in thresholds)
            self.stdout.write(f"{r.kind:16} {r.frames:6d} {r.worst_raw:6.3f}/{r.worst:6.3f}"
                              f"  {cells}")
