"""Running what the hooks put in the task outbox, in this process: the same Celery task
functions the `notifications` worker runs (real PostgreSQL and Redis), taken in order from
the outbox rows the test's transaction recorded."""

from __future__ import annotations

from celery import current_app
from django.utils import timezone

from apps.core.models import OutboxTask
from apps.notifications.models import Notification

PREFIX = "apps.notifications."
# Outbox rows already run here: in a transactional test the commit also sends each row to
# the broker (and marks it dispatched), where no worker listens.
_ran: set[int] = set()


def run_notification_tasks(*, rounds: int = 5) -> int:
    """Run every undispatched notifications task (and those they enqueue); how many ran."""
    current_app.loader.import_default_modules()
    ran = 0
    for _ in range(rounds):
        rows = list(OutboxTask.objects.filter(task__startswith=PREFIX)
                    .exclude(pk__in=_ran).order_by("id"))
        if not rows:
            break
        for row in rows:
            _ran.add(row.pk)
            OutboxTask.objects.filter(pk=row.pk).update(dispatched_at=timezone.now())
            current_app.tasks[row.task](*row.args, **row.kwargs)
            ran += 1
    return ran


def inbox_of(user_id: int) -> list[Notification]:
    return list(Notification.objects.filter(recipient_id=user_id).order_by("-seq"))
