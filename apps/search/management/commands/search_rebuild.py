"""`manage.py search_rebuild [--kind K ...] [--batch N]`: build the search index from
PostgreSQL, with progress (count, share, rate) per batch. Without --kind: clear, every
kind, then marked built; with it, that kind's documents are written again and its stale
ones (no longer candidates) removed. Changes committed meanwhile wait in the index outbox and are
drained after (the drain waits for the rebuild's writer lock)."""

from __future__ import annotations

from typing import Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.search.engine.base import KINDS, Kind
from apps.search.indexing import pipeline


class Command(BaseCommand):
    help = "Rebuild the search index from PostgreSQL (all kinds, or --kind)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", action="append", choices=KINDS,
                            help="Only this kind (repeatable): its documents are written "
                                 "again and those no longer candidates removed; without it "
                                 "everything is cleared and rebuilt.")
        parser.add_argument("--batch", type=int, default=pipeline.REBUILD_BATCH,
                            help=f"Documents per write (default {pipeline.REBUILD_BATCH}).")

    def handle(self, *args: Any, kind: list[str] | None, batch: int, **options: Any) -> None:
        if not 1 <= batch <= 100_000:
            raise CommandError("--batch: between 1 and 100000.")
        kinds = cast(list[Kind], [k for k in KINDS if k in kind]) if kind else list(KINDS)
        self.stdout.write(f"search_rebuild: {', '.join(kinds)} (waiting for the index "
                          "writer lock if a drain holds it)")
        counts = pipeline.rebuild(kinds=kinds, batch_size=batch,
                                  progress=lambda line: self.stdout.write(line))
        assert counts is not None  # waited for the lock
        self.stdout.write(self.style.SUCCESS(
            f"search_rebuild: {sum(counts.values()):,} documents"
            + ("" if kind else "; index marked built")))
