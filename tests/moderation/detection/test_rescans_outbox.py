"""Re-scans go through the task outbox (apps.core.outbox): a rule or list change, a staff
re-scan and each next batch of a running re-scan are recorded in PostgreSQL and reach the
broker (the project's Redis) even if it is unavailable at the commit. Before, each was
`.delay()`ed and dropped with a log line while the broker was down, and nothing sweeps for
a missed re-scan: what a new hash list catches stayed published."""

from __future__ import annotations

import pytest
from django.db import transaction

from apps.core import outbox, redis_health
from apps.core.models import OutboxTask
from apps.moderation.detection import services, tasks
from apps.moderation.detection.models import AssetCheck
from tests.conftest import open_redis_breaker, waiting_task_args
from tests.content.factories import MediaAssetFactory

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("broker_unconsumed")]


def _back_and_dispatched(expected: int) -> None:
    redis_health.reset_all()  # the broker is back
    assert outbox.outbox_dispatch() == expected


def test_a_rescan_scheduled_while_the_broker_is_down_starts_once_it_is_back() -> None:
    open_redis_breaker()
    with transaction.atomic():
        services.rescan_schedule(reason="term list added")
    assert OutboxTask.objects.get(task=tasks.rescan_assets.name).args == [0, "term list added"]
    assert waiting_task_args(tasks.rescan_assets.name) == []
    _back_and_dispatched(1)
    assert waiting_task_args(tasks.rescan_assets.name) == [[0, "term list added"]]


def test_a_staff_rescan_asked_while_the_broker_is_down_is_sent_once_it_is_back() -> None:
    ids = [MediaAssetFactory().pk, MediaAssetFactory().pk]
    open_redis_breaker()
    assert services.asset_checks_rescan(asset_ids=ids, reason="appeal") == 2
    assert sorted(r.args for r in OutboxTask.objects.filter(task=tasks.scan_asset.name)) == \
        sorted([i, "rescan"] for i in ids)
    _back_and_dispatched(2)
    assert sorted(waiting_task_args(tasks.scan_asset.name)) == sorted([i, "rescan"] for i in ids)


def test_a_running_rescan_whose_broker_goes_down_resumes_with_its_next_batch(
        monkeypatch: pytest.MonkeyPatch) -> None:
    checks = [AssetCheck.objects.update_or_create(
        asset=MediaAssetFactory(),
        defaults={"state": AssetCheck.State.DONE, "features": {"nudity": {"score": 0.0}}})[0]
        for _ in range(2)]
    checks.sort(key=lambda c: c.pk)
    defaults = services.rescan_batch.__kwdefaults__
    assert defaults is not None
    monkeypatch.setitem(defaults, "batch_size", 1)
    open_redis_breaker()
    assert tasks.rescan_assets.run(0, "rule changed") == checks[0].pk
    assert OutboxTask.objects.get(task=tasks.rescan_assets.name).args == \
        [checks[0].pk, "rule changed"]
    _back_and_dispatched(1)
    assert waiting_task_args(tasks.rescan_assets.name) == [[checks[0].pk, "rule changed"]]
