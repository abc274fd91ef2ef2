"""`manage.py outbox_dispatch`: send the outbox's tasks that the broker refused, now (beat
does it every few seconds)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.core.models import OutboxTask
from apps.core.outbox import outbox_dispatch


class Command(BaseCommand):
    help = "Send the tasks waiting in the outbox (apps.core.outbox)."

    def handle(self, *args: Any, **options: Any) -> None:
        sent = outbox_dispatch()
        waiting = OutboxTask.objects.filter(dispatched_at__isnull=True).count()
        self.stdout.write(f"outbox_dispatch: sent {sent}, {waiting} still waiting.")
