"""Liveness and readiness probes.

`/healthz` says the process answers. `/readyz` says it can do its job: the database and
Redis answer, storage takes a write, and each Celery queue's worker has sent a heartbeat
recently (each worker records one for its queues every 30 s from its main process, see
swipeme_site/celery.py; the beat task `core.heartbeat` also proves the broker path).

Redis is optional on the request path (apps.core.redis_health): while it is unavailable the
process still serves, so `/readyz` answers 200 "degraded" (not 503: every replica would be
taken out of rotation for a cache outage), says why under `checks.redis`, and reports the
workers unknown (their heartbeats live in Redis). The database or storage failing is 503.

Informational (200 "degraded", never 503): work waiting in PostgreSQL for longer than
BACKLOG_AFTER_SECONDS (the task outbox's undispatched rows, and what higher apps register
on `backlog_checks`, e.g. the event spool), and beat: the outbox dispatcher, which beat
sends every 10 s, records its last run; none for BEAT_STALE_AFTER_SECONDS is "stale".
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from apps.core import redis_health
from apps.core.hooks import Hook
from apps.core.models import OutboxTask

HEARTBEAT_KEY = "heartbeat:{queue}"
BEAT_LAST_RUN_KEY = "beat:last_run"
BACKLOG_AFTER_SECONDS = 60
BEAT_STALE_AFTER_SECONDS = 60

# A higher app's backlog for /readyz: given the cut-off, (check name, rows older than it).
BacklogCheck = Callable[[datetime], tuple[str, int]]
backlog_checks: Hook[BacklogCheck] = Hook("core.readyz_backlog")


def heartbeat_record(*, queue: str) -> None:
    cache.set(HEARTBEAT_KEY.format(queue=queue), time.time(), timeout=24 * 3600)


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return False, type(exc).__name__


def check_redis() -> tuple[bool, str]:
    """Redis as this process sees it, promptly: "ok", or "unavailable (...)" with the
    breaker's state. Never asks Redis while the breaker is open, and otherwise waits at most
    one short socket timeout (the cache's)."""
    state = redis_health.breaker("default").state
    if state == redis_health.OPEN:
        return False, f"unavailable (circuit open: {redis_health.breaker().last_error})"
    ping = getattr(cache, "ping", None)
    try:
        if ping is not None:
            answered = bool(ping())
        else:
            probe = uuid.uuid4().hex
            cache.set("readyz:probe", probe, timeout=10)
            answered = cache.get("readyz:probe") == probe
    except Exception as exc:  # noqa: BLE001
        return False, f"unavailable ({type(exc).__name__})"
    if not answered:
        found = redis_health.breaker()
        return False, f"unavailable (circuit {found.state}: {found.last_error})"
    return True, "ok"


def redis_breaker_state() -> str:
    return redis_health.breaker("default").state


def check_storage() -> tuple[bool, str]:
    try:
        name = default_storage.save(f"readyz/{uuid.uuid4().hex}.txt", ContentFile(b"ok"))
        default_storage.delete(name)
        return True, "ok"
    except Exception as exc:  # noqa: BLE001
        return False, type(exc).__name__


def check_workers() -> tuple[bool, dict[str, float | None]]:
    now = time.time()
    ages: dict[str, float | None] = {}
    try:
        values = cache.get_many([HEARTBEAT_KEY.format(queue=q) for q in settings.SWIPEME_QUEUES])
    except Exception:  # noqa: BLE001
        values = {}
    for queue in settings.SWIPEME_QUEUES:
        beat = values.get(HEARTBEAT_KEY.format(queue=queue))
        ages[queue] = round(now - beat, 1) if beat is not None else None
    healthy = all(
        age is not None and age <= settings.SWIPEME_WORKER_HEARTBEAT_MAX_AGE
        for age in ages.values()
    )
    return healthy, ages


def beat_record() -> None:
    """Called by the outbox dispatcher, which beat sends every 10 s: beat is alive."""
    cache.set(BEAT_LAST_RUN_KEY, time.time(), timeout=24 * 3600)


def check_beat() -> tuple[bool, str]:
    """"ok", or "stale (...)" when the dispatcher has not run for BEAT_STALE_AFTER_SECONDS
    (beat, or the default queue's worker, is not running)."""
    try:
        last = cache.get(BEAT_LAST_RUN_KEY)
    except Exception as exc:  # noqa: BLE001
        return False, f"unknown ({type(exc).__name__})"
    if last is None:
        return False, "stale (no run seen)"
    age = time.time() - float(last)
    if age > BEAT_STALE_AFTER_SECONDS:
        return False, f"stale (last run {age:.0f} s ago)"
    return True, "ok"


def _outbox_backlog(cutoff: datetime) -> tuple[str, int]:
    return "outbox", OutboxTask.objects.filter(dispatched_at__isnull=True,
                                               created_at__lt=cutoff).count()


def check_backlogs() -> tuple[bool, dict[str, str]]:
    """Each backlog: "ok", or how many rows wait longer than BACKLOG_AFTER_SECONDS."""
    cutoff = timezone.now() - timedelta(seconds=BACKLOG_AFTER_SECONDS)
    found: dict[str, str] = {}
    for check in (_outbox_backlog, *backlog_checks):
        try:
            name, count = check(cutoff)
        except Exception as exc:  # noqa: BLE001 - informational: never fails /readyz
            found[getattr(check, "__name__", "backlog")] = f"unknown ({type(exc).__name__})"
            continue
        found[name] = (f"backlog ({count} older than {BACKLOG_AFTER_SECONDS} s)" if count
                       else "ok")
    return all(v == "ok" for v in found.values()), found
