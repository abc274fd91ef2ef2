"""`manage.py events_drain_spool`: append the batches spooled in PostgreSQL while the event
log was unavailable, now (beat does it every few seconds)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.events.spool import spool_drain


class Command(BaseCommand):
    help = "Drain the event spool into the event log (exactly once per batch)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = spool_drain()
        self.stdout.write(f"events_drain_spool: {result.batches} batch(es), "
                          f"{result.appended} event(s) appended, {result.duplicates} "
                          "duplicate(s) left out.")
