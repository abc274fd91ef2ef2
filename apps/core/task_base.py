"""The base class of every Celery task here (`Celery(task_cls=...)` in swipeme_site/celery.py):
sending a task goes through the Redis breaker (apps.core.redis_health) when the broker is
the project's Redis.

While Redis is unavailable a write must commit or be refused, never hang and 500:
- sent inside a transaction (`transaction.atomic()`): the error propagates, the transaction
  rolls back and the API answers 503 with Retry-After (apps.core.errors);
- sent after the commit (an `on_commit` callback, or autocommit): the write is already in
  PostgreSQL, so the request succeeds and the unsent task is logged as an error. Work that
  must happen goes through the task outbox instead (`apps.core.outbox.enqueue_on_commit`:
  recorded in PostgreSQL, sent when the broker is back); the sweeps (stalled media jobs,
  missed upload scans) pick up the rest of what they cover.

While PostgreSQL is unavailable (restarting, unreachable) a task fails with a django.db
OperationalError / InterfaceError: nothing it did is committed, so it is retried with
exponential backoff (1, 2, 4 ... s, jittered, at most DB_RETRY_BACKOFF_MAX apart, at most
DB_MAX_RETRIES times) on a fresh connection rather than failing for good.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection

from apps.core import redis_health

logger = logging.getLogger(__name__)


class OutageAwareTask(Task):  # type: ignore[misc]
    # Read by Celery when each task is registered (celery.app.autoretry); a task may still
    # pass its own autoretry_for / retry_kwargs to @app.task.
    autoretry_for = (OperationalError, InterfaceError)
    retry_backoff = True
    retry_backoff_max = 60
    retry_jitter = True
    retry_kwargs = {"max_retries": 8}

    def retry(self, *args: Any, **kwargs: Any) -> Any:
        exc = kwargs.get("exc")
        if isinstance(exc, (OperationalError, InterfaceError)) and not connection.in_atomic_block:
            # The broken connection must not be reused by the next attempt (in a worker the
            # next task would get it too): drop what is unusable now.
            close_old_connections()
        return super().retry(*args, **kwargs)

    def apply_async(self, *args: Any, **kwargs: Any) -> Any:
        if self.app.conf.task_always_eager or settings.CELERY_BROKER_URL != settings.REDIS_URL:
            return super().apply_async(*args, **kwargs)
        try:
            with redis_health.breaker().guard():
                return super().apply_async(*args, **kwargs)
        except redis_health.OUTAGE_ERRORS as exc:
            if connection.in_atomic_block:
                raise
            logger.error("task %s not sent, the broker is unavailable (%s); the write it "
                         "follows is committed", self.name, exc)
            return None
