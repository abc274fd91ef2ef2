"""Give every existing adult account its watched-topics row (issue 19): rows were made only
for viewers served since watched topics shipped; the beat task also fills them in, a batch
every 5 minutes, and this does it at once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.ads.services import interests


class Command(BaseCommand):
    help = "Compute the watched topics of every adult who has no row yet, in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=interests.BATCH)

    def handle(self, *args: Any, **options: Any) -> None:
        batch = options["batch"]
        if not 1 <= batch <= 10_000:
            raise CommandError("--batch must be between 1 and 10000.")
        written = interests.watched_topics_backfill(batch=batch)
        self.stdout.write(f"watched topics: {written} rows written")
