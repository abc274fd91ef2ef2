"""The event spool (apps.events.spool): batches accepted while the event log is unavailable
wait in PostgreSQL and enter the stream exactly once when it is back, even if a drain dies
between the append and its commit, or two drains run at once.

Redis killed for real, under the ASGI server: tests/faults/test_writes_lose_nothing.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from apps.core import redis_health
from apps.events import spool
from apps.events.log import LoggedBatch, RedisStreamEventLog
from apps.events.models import SpooledBatch
from apps.events.tasks import drain_spool
from tests.content.factories import PostFactory
from tests.content.test_concurrency import _run_at_once
from tests.events.helpers import URL, event, logged_events
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _open_breaker() -> None:
    """What three failed calls in a row do: Redis is unavailable to this process."""
    gate = redis_health.breaker()
    for _ in range(settings.SWIPEME_REDIS_BREAKER_FAILURES):
        gate.failure(ConnectionError("redis went away"))


def _send(client: APIClient, events: list[dict[str, Any]]) -> Any:
    return client.post(URL, json.dumps({"events": events}), content_type="application/json")


def _entries() -> list[dict[str, Any]]:
    log = RedisStreamEventLog()
    entries: Any = log.client.xrange(log.stream)
    return [fields for _id, fields in entries]


@pytest.fixture
def sender() -> tuple[APIClient, Any]:
    user = UserFactory()
    client = APIClient()
    client.force_authenticate(user)
    return client, PostFactory()


def test_a_batch_sent_while_the_log_is_down_is_spooled_and_drained_once(sender) -> None:
    client, post = sender
    _open_breaker()
    events = [event("impression", post_id=post.pk, id_="s1"),
              event("watch_end", post_id=post.pk, id_="s2", watched_ms=4000,
                    duration_ms=8000, loops=0, position_ms=4000)]

    response = _send(client, events)

    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 2
    row = SpooledBatch.objects.get()
    assert [e["id"] for e in row.events] == ["s1", "s2"]

    # while it is still down the drain keeps the row
    assert spool.spool_drain().batches == 0
    assert SpooledBatch.objects.count() == 1

    redis_health.reset_all()  # Redis is back
    result = spool.spool_drain()
    assert (result.batches, result.appended, result.duplicates) == (1, 2, 0)
    assert not SpooledBatch.objects.exists()
    entries = _entries()
    assert len(entries) == 1
    assert entries[0]["spool"] == str(row.pk)
    assert [e["id"] for e in logged_events()] == ["s1", "s2"]
    assert logged_events()[1]["data"]["watched_ms"] == 4000
    # the stamp of the original request is kept
    assert json.loads(entries[0]["b"])["rt"] == row.received_ms
    assert spool.spool_drain().batches == 0


def test_a_drain_that_died_after_the_append_does_not_append_twice(sender) -> None:
    client, post = sender
    _open_breaker()
    _send(client, [event("impression", post_id=post.pk, id_="d1")])
    redis_health.reset_all()
    row = SpooledBatch.objects.get()

    # a drain appends the row, then dies before deleting it (its transaction rolls back)
    assert spool._append_once(RedisStreamEventLog().client, row) == (1, 0)
    assert SpooledBatch.objects.count() == 1

    result = spool.spool_drain()  # the next run
    assert (result.batches, result.appended) == (1, 0)
    assert not SpooledBatch.objects.exists()
    assert [e["id"] for e in logged_events()] == ["d1"]


def test_an_append_that_a_hung_redis_ran_after_the_request_spooled_is_not_repeated(
        sender) -> None:
    """The request's XADD timed out (Redis hung) and it spooled the batch; Redis then woke
    up and ran the XADD after all. The drain finds the request's done-marker."""
    client, post = sender
    _open_breaker()
    _send(client, [event("impression", post_id=post.pk, id_="h1")])
    redis_health.reset_all()
    row = SpooledBatch.objects.get()
    # what Redis ran late: the request's own append, with its token
    RedisStreamEventLog().append(LoggedBatch(
        user_id=row.user_id, received_ms=row.received_ms, client=row.client,
        events=row.events), token=row.token)

    result = spool.spool_drain()

    assert (result.batches, result.appended, result.duplicates) == (1, 0, 0)
    assert [e["id"] for e in logged_events()] == ["h1"]
    assert not SpooledBatch.objects.exists()


def test_an_event_that_reached_the_log_meanwhile_is_a_duplicate(sender) -> None:
    client, post = sender
    _open_breaker()
    _send(client, [event("impression", post_id=post.pk, id_="x1"),
                   event("impression", post_id=post.pk, id_="x2")])
    redis_health.reset_all()
    # the client's retry of x2 reached the live log before the drain
    assert _send(client, [event("impression", post_id=post.pk, id_="x2")]).json()["accepted"] == 1

    result = spool.spool_drain()

    assert (result.appended, result.duplicates) == (1, 1)
    assert sorted(e["id"] for e in logged_events()) == ["x1", "x2"]


def test_concurrent_drains_append_each_batch_once(sender) -> None:
    client, post = sender
    _open_breaker()
    for n in range(30):
        _send(client, [event("impression", post_id=post.pk, id_=f"c{n}")])
    redis_health.reset_all()
    assert SpooledBatch.objects.count() == 30
    results, errors = _run_at_once(
        [lambda: spool.spool_drain(batch_size=4).appended for _ in range(3)])
    assert not errors, errors

    assert len(results) == 3
    assert sum(n for n in results if isinstance(n, int)) == 30  # appended, all drains
    ids = [e["id"] for e in logged_events()]
    assert sorted(ids) == sorted(f"c{n}" for n in range(30))
    assert len(ids) == 30
    assert not SpooledBatch.objects.exists()


@pytest.mark.usefixtures("broker_unconsumed")  # it reads the broker's queue
def test_the_first_append_that_works_again_starts_a_drain(sender) -> None:
    client, post = sender
    _open_breaker()
    _send(client, [event("impression", post_id=post.pk, id_="b1")])
    redis_health.reset_all()  # the log is back

    assert _send(client, [event("impression", post_id=post.pk, id_="b2")]).status_code == 200
    assert _send(client, [event("impression", post_id=post.pk, id_="b3")]).status_code == 200

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    sent = [json.loads(raw)["headers"]["task"] for raw in broker.lrange("default", 0, -1)]
    assert sent == ["events.drain_spool"]  # once, not per request
    assert drain_spool.run() == 1
    assert sorted(e["id"] for e in logged_events()) == ["b1", "b2", "b3"]


def test_the_beat_drains_the_spool() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["events-drain-spool"]
    assert entry["task"] == drain_spool.name == "events.drain_spool"
    assert drain_spool.run() == 0
