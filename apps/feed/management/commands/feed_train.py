"""Train a new ranker version from the event aggregates: `manage.py feed_train [--activate]`."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.feed import services


class Command(BaseCommand):
    help = "Train a ranker version from the aggregates; print its offline metrics."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--activate", action="store_true",
                            help="Make the new version the active ranker.")
        parser.add_argument("--jobs", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        row = services.ranker_train(n_jobs=options["jobs"], activate=options["activate"])
        self.stdout.write(f"ranker v{row.version} ({'active' if row.is_active else 'inactive'})")
        self.stdout.write(json.dumps({"metrics": row.metrics, "trained_on": row.trained_on},
                                     indent=2))
