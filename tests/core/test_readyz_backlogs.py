"""/readyz's informational checks: work waiting in PostgreSQL (the task outbox, the event
spool) for more than a minute, and beat's liveness (the outbox dispatcher's last run).
Each makes the answer 200 "degraded", never 503, and names itself under `checks`."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from apps.core import health
from apps.core.models import OutboxTask
from apps.core.tasks import outbox_dispatch
from apps.events.models import SpooledBatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def workers_and_beat_alive(settings: Any) -> None:
    for queue in settings.SWIPEME_QUEUES:
        health.heartbeat_record(queue=queue)
    outbox_dispatch()  # what beat sends every 10 s; records its run


def _readyz(client: Any) -> tuple[int, dict[str, Any]]:
    response = client.get("/readyz")
    return response.status_code, response.json()


def _aged(model: Any, pk: int, seconds: int) -> None:
    model.objects.filter(pk=pk).update(created_at=timezone.now() - timedelta(seconds=seconds))


def test_old_outbox_and_spool_rows_make_readyz_degraded_not_failing(
    client: Any, workers_and_beat_alive: None
) -> None:
    task = OutboxTask.objects.create(task="core.heartbeat", args=["default"])
    spooled = SpooledBatch.objects.create(received_ms=0, events=[], token="t" * 32)
    # fresh rows are the normal case (sent or drained within seconds)
    status, body = _readyz(client)
    assert (status, body["status"]) == (200, "ready"), body
    assert body["checks"]["outbox"] == "ok"
    assert body["checks"]["event_spool"] == "ok"
    assert body["checks"]["beat"] == "ok"

    _aged(OutboxTask, task.pk, 120)
    _aged(SpooledBatch, spooled.pk, 120)
    status, body = _readyz(client)
    assert (status, body["status"]) == (200, "degraded"), body
    assert body["checks"]["outbox"] == "backlog (1 older than 60 s)"
    assert body["checks"]["event_spool"] == "backlog (1 older than 60 s)"
    assert body["checks"]["database"] == "ok"  # the rest of the shape is unchanged

    # a dispatched task is no backlog, however old
    OutboxTask.objects.filter(pk=task.pk).update(dispatched_at=timezone.now())
    assert _readyz(client)[1]["checks"]["outbox"] == "ok"


def test_a_stale_beat_makes_readyz_degraded_and_its_next_run_clears_it(
    client: Any, workers_and_beat_alive: None
) -> None:
    cache.set(health.BEAT_LAST_RUN_KEY, time.time() - 120)
    status, body = _readyz(client)
    assert (status, body["status"]) == (200, "degraded"), body
    assert body["checks"]["beat"] == "stale (last run 120 s ago)"

    cache.delete(health.BEAT_LAST_RUN_KEY)
    assert _readyz(client)[1]["checks"]["beat"] == "stale (no run seen)"

    outbox_dispatch()
    status, body = _readyz(client)
    assert (status, body["status"], body["checks"]["beat"]) == (200, "ready", "ok"), body
