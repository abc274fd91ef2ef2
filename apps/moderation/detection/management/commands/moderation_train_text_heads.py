"""`manage.py moderation_train_text_heads [--limit N] [--test-limit N] [--c C] [--output P]
[--dry-run]`: re-train the multilingual text heads on the repository's labelled set
(training split) plus the labels moderators' decisions left (`TextLabel`), and print the
held-out precision / recall / F1 per category of the current artefact (before) and of the
new heads (after), and the everyday gate (`text_heads.everyday_gate`). Writes
`detection/data/text_heads.json` unless `--dry-run` or the gate failed (`--ignore-gate`
writes anyway, to inspect heads with `--output`: never ship such heads)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.moderation.detection import heads
from apps.moderation.detection.services import text_heads


class Command(BaseCommand):
    help = "Re-train the multilingual text heads and print before/after held-out metrics."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit",
            type=int,
            default=None,
            help="Train on this many rows only (spread over the categories).",
        )
        parser.add_argument(
            "--test-limit",
            type=int,
            default=None,
            help="Measure on the first N held-out rows only.",
        )
        parser.add_argument(
            "--c", type=float, default=16.0, help="Inverse regularisation of the logistic heads."
        )
        parser.add_argument(
            "--output",
            type=Path,
            default=None,
            help="Where to write the heads (default: the committed artefact).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Measure only; write nothing.")
        parser.add_argument(
            "--ignore-gate",
            action="store_true",
            help="Write even if the everyday gate failed (to inspect with --output).",
        )
        parser.add_argument(
            "--by-language",
            action="store_true",
            help="Print every language's rows, not only the totals.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = text_heads.retrain(
            limit=options["limit"],
            test_limit=options["test_limit"],
            c=options["c"],
            output=options["output"],
            write=not options["dry_run"],
            ignore_gate=options["ignore_gate"],
        )
        self.stdout.write(
            f"trained on {result.train_size} rows "
            f"({result.moderator_rows} from moderators' decisions), measured on "
            f"{result.test_size} held-out rows"
        )
        by_language = options["by_language"]
        if result.before is None:
            self.stdout.write("before: no trained heads")
        else:
            self.stdout.write(
                "before:\n" + heads.metrics_table(result.before, by_language=by_language)
            )
        self.stdout.write("after:\n" + heads.metrics_table(result.after, by_language=by_language))
        for cat in heads.CATEGORIES:
            old = result.before.get((cat, "all")) if result.before else None
            new = result.after.get((cat, "all"))
            if new is not None:
                delta = f"{new.f1 - old.f1:+.2f}" if old is not None else "new"
                self.stdout.write(
                    f"F1 {cat:<13} {old.f1 if old else 0:.2f} -> {new.f1:.2f} ({delta})"
                )
        gate = result.gate
        self.stdout.write(
            f"everyday gate: {len(gate.stopped)} held, refused or removed; {len(gate.limited)} "
            f"limited (at most {text_heads.EVERYDAY_MAX_LIMITED}): "
            + ("passed" if gate.passed else "FAILED")
        )
        for text, surface, outcome in (gate.stopped + gate.limited)[:20]:
            self.stdout.write(f"  {outcome:<13} {surface or 'every surface':<10} {text}")
        if result.written is not None:
            self.stdout.write(self.style.SUCCESS(f"wrote {result.written}"))
        elif not options["dry_run"]:
            self.stdout.write(
                self.style.ERROR("not written: the new heads failed the everyday gate")
            )
