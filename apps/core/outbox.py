"""The task outbox: work that must happen because a transaction committed (process this
upload) is recorded in PostgreSQL in that transaction, so a broker outage loses nothing.

- `enqueue_on_commit(task, *args, **kwargs)` inserts an `OutboxTask` row in the caller's
  transaction and, after the commit, tries to send it at once (the common case: no delay);
- `outbox_dispatch()` (beat, `core.outbox_dispatch`) sends every row still undispatched:
  the ones whose send failed because the broker (Redis) was down, or whose process died
  between the commit and the send.

Exactly one of the two sends a row: each takes the row's lock (`SKIP LOCKED`: the other
one skips it), sends, and sets `dispatched_at` in the same transaction. A process that dies
after the broker took the task but before that commit leaves the row undispatched, and it
is sent again: delivery is at least once, so the tasks are idempotent (as every task here).
Args and kwargs must be JSON (ids, not objects), as for any Celery task.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import Task, current_app
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core import redis_health
from apps.core.models import OutboxTask

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
KEEP_DISPATCHED = timedelta(days=2)


def enqueue_on_commit(task: Task, *args: Any, **kwargs: Any) -> OutboxTask:
    """Record `task(*args, **kwargs)` in the current transaction; send it after the commit
    (or, if the broker is unavailable then, when the dispatcher finds it)."""
    row = OutboxTask.objects.create(task=task.name, args=list(args), kwargs=kwargs)
    row_id = row.pk
    transaction.on_commit(lambda: _send_one(row_id), robust=True)
    return row


def _send(row: OutboxTask) -> None:
    """Hand the row's task to the broker. Called inside the row-locking transaction, so an
    outage raises (apps.core.task_base) instead of being logged and forgotten."""
    if row.task not in current_app.tasks:
        # A process that is not a worker (web, manage.py) has imported only the task
        # modules its own code used; the autodiscovery runs on this signal.
        current_app.loader.import_default_modules()
    task = current_app.tasks[row.task]
    task.apply_async(args=row.args, kwargs=row.kwargs)


def _failed(row_id: int, exc: BaseException) -> None:
    OutboxTask.objects.filter(pk=row_id, dispatched_at__isnull=True).update(
        attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:300])


def _send_one(row_id: int) -> bool:
    """Right after the commit: send the row unless the dispatcher has it (or sent it)."""
    try:
        with transaction.atomic():
            row = (OutboxTask.objects.select_for_update(skip_locked=True)
                   .filter(pk=row_id, dispatched_at__isnull=True).first())
            if row is None:
                return False
            _send(row)
            OutboxTask.objects.filter(pk=row_id).update(
                dispatched_at=timezone.now(), attempts=row.attempts + 1, last_error="")
    except redis_health.OUTAGE_ERRORS as exc:
        logger.warning("task %s kept in the outbox, the broker is unavailable (%s)",
                       row_id, exc)
        _failed(row_id, exc)
        return False
    return True


def outbox_dispatch(*, batch_size: int = BATCH_SIZE) -> int:
    """Send every undispatched row, oldest first, in batches; stops at the first broker
    outage (the rest waits for the next run). Returns how many were sent."""
    sent_total = 0
    while True:
        with transaction.atomic():
            rows = list(OutboxTask.objects.select_for_update(skip_locked=True)
                        .filter(dispatched_at__isnull=True).order_by("id")[:batch_size])
            if not rows:
                return sent_total
            sent: list[int] = []
            outage: BaseException | None = None
            for row in rows:
                try:
                    _send(row)
                except redis_health.OUTAGE_ERRORS as exc:
                    outage = exc
                    break
                except KeyError as exc:  # a task that no longer exists: keep it, say so
                    logger.error("outbox row %s names an unknown task %s", row.pk, row.task)
                    _failed(row.pk, exc)
                    continue
                sent.append(row.pk)
            if sent:
                OutboxTask.objects.filter(pk__in=sent).update(
                    dispatched_at=timezone.now(), attempts=F("attempts") + 1, last_error="")
        sent_total += len(sent)
        if outage is not None:
            logger.warning("outbox dispatch paused, the broker is unavailable (%s)", outage)
            return sent_total
        if len(rows) < batch_size or not sent:  # the rest are unknown tasks
            return sent_total


def outbox_prune(*, older_than: timedelta = KEEP_DISPATCHED) -> int:
    """Dispatched rows are only history after a while."""
    deleted, _ = OutboxTask.objects.filter(
        dispatched_at__lt=timezone.now() - older_than).delete()
    return deleted
