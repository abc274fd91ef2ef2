"""`manage.py analytics_backfill_retention`: count the plays the event log still holds
(its last 6 days) into the per-second retention curves. Entries the consumer already
counted there are skipped, so it is safe to run twice or while the consumer runs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.analytics import services


class Command(BaseCommand):
    help = "Replay the event log's last 6 days into the per-second retention curves."

    def handle(self, *args: Any, **options: Any) -> None:
        report = services.retention_backfill()
        self.stdout.write(f"entries read {report.read}, counted now {report.applied}")
