"""`manage.py analytics_consume`: drain the event log into the aggregates now (what the
beat task does every few seconds), e.g. after a worker outage or in a demo."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.analytics import services


class Command(BaseCommand):
    help = "Aggregate pending event-log entries until the log is drained."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--max-entries", type=int, default=1_000_000,
                            help="stop after this many log entries (default: drain)")

    def handle(self, *args: Any, **options: Any) -> None:
        report = services.events_consume(max_entries=options["max_entries"])
        self.stdout.write(f"entries {report.entries}, applied {report.applied}, events "
                          f"{report.events}, reclaimed {report.reclaimed}, skipped "
                          f"{report.skipped}")
