"""The task outbox (apps.core.outbox) against the real broker (the test Redis db): a task
recorded in a transaction reaches the broker after the commit, never for a rolled-back
transaction, and one whose send failed (the broker's breaker open: Redis unavailable) stays
in PostgreSQL until the dispatcher sends it once the broker is back.

The full story (Redis killed while uploads complete, a real worker afterwards) is
tests/faults/test_writes_lose_nothing.py."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core import outbox, redis_health
from apps.core.models import OutboxTask
from apps.media.tasks import process_asset

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("broker_unconsumed")]


def _broker() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def _queued_asset_ids() -> list[int]:
    """The asset ids of the `apps.media.process_asset` messages waiting on the media queue."""
    out = []
    for raw in _broker().lrange("media", 0, -1):
        message: dict[str, Any] = json.loads(raw)
        assert message["headers"]["task"] == "apps.media.process_asset"
        body = json.loads(base64.b64decode(message["body"]))
        out.append(body[0][0])
    return out


def _open_breaker() -> None:
    """What three failed Redis calls in a row do (the broker is the project's Redis)."""
    gate = redis_health.breaker()
    for _ in range(settings.SWIPEME_REDIS_BREAKER_FAILURES):
        gate.failure(ConnectionError("the broker went away"))


def test_a_task_recorded_in_a_transaction_is_sent_after_the_commit() -> None:
    with transaction.atomic():
        row = outbox.enqueue_on_commit(process_asset, 101)
        assert _queued_asset_ids() == []  # not before the commit
    assert _queued_asset_ids() == [101]
    row.refresh_from_db()
    assert row.dispatched_at is not None
    assert row.attempts == 1
    assert outbox.outbox_dispatch() == 0  # nothing is sent twice
    assert _queued_asset_ids() == [101]


def _enqueue_then_fail(asset_id: int) -> None:
    with transaction.atomic():
        outbox.enqueue_on_commit(process_asset, asset_id)
        raise RuntimeError("the write failed")


def test_a_rolled_back_transaction_sends_nothing() -> None:
    with pytest.raises(RuntimeError, match="failed"):
        _enqueue_then_fail(102)
    assert not OutboxTask.objects.exists()
    assert outbox.outbox_dispatch() == 0
    assert _queued_asset_ids() == []


def test_a_task_whose_broker_is_down_at_commit_is_sent_by_the_dispatcher_later() -> None:
    _open_breaker()
    with transaction.atomic():
        outbox.enqueue_on_commit(process_asset, 103)
        outbox.enqueue_on_commit(process_asset, 104)
    # the commit stands; the tasks wait in PostgreSQL, with the reason
    rows = list(OutboxTask.objects.order_by("id"))
    assert [r.args for r in rows] == [[103], [104]]
    assert all(r.dispatched_at is None and r.attempts == 1 for r in rows)
    assert rows[0].last_error.startswith("RedisUnavailable")
    assert outbox.outbox_dispatch() == 0  # still down: nothing sent, nothing lost
    assert _queued_asset_ids() == []
    assert OutboxTask.objects.filter(dispatched_at__isnull=True).count() == 2

    redis_health.reset_all()  # the broker is back
    assert outbox.outbox_dispatch() == 2
    assert sorted(_queued_asset_ids()) == [103, 104]
    assert not OutboxTask.objects.filter(dispatched_at__isnull=True).exists()
    assert outbox.outbox_dispatch() == 0  # exactly once per row


def test_the_beat_runs_the_dispatcher() -> None:
    from apps.core.tasks import outbox_dispatch

    entry = settings.CELERY_BEAT_SCHEDULE["core-outbox-dispatch"]
    assert entry["task"] == outbox_dispatch.name == "core.outbox_dispatch"
    _open_breaker()
    with transaction.atomic():
        outbox.enqueue_on_commit(process_asset, 105)
    sent_long_ago = OutboxTask.objects.create(
        task=process_asset.name, args=[1],
        dispatched_at=timezone.now() - outbox.KEEP_DISPATCHED - timedelta(minutes=1))
    redis_health.reset_all()
    assert outbox_dispatch.run() == 1
    assert _queued_asset_ids() == [105]
    assert not OutboxTask.objects.filter(pk=sent_long_ago.pk).exists()  # pruned


def test_a_comment_posted_while_the_broker_is_down_is_scanned_once_it_is_back() -> None:
    """Moderation's text scan of a new comment goes through the outbox (no sweep looks for
    unscanned comments): the scan task waits in PostgreSQL and reaches the broker later."""
    from apps.comments.services import comment_create
    from apps.moderation.detection.tasks import scan_comment
    from tests.content.factories import PostFactory
    from tests.factories import UserFactory

    _open_breaker()
    comment = comment_create(author=UserFactory(), post=PostFactory(), text="hello there")
    row = OutboxTask.objects.get(task=scan_comment.name)
    assert (row.args, row.dispatched_at) == ([comment.pk], None)

    # (the comment also tells the post's author: a notifications task waits beside it)
    assert OutboxTask.objects.filter(dispatched_at=None).count() == 2
    redis_health.reset_all()
    assert outbox.outbox_dispatch() == 2
    waiting = [json.loads(raw)["headers"]["task"] for raw in _broker().lrange("default", 0, -1)]
    assert waiting == [scan_comment.name]
