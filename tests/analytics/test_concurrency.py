"""Two consumers racing on the same entries (each delivered to both, as after a reclaim
of an entry whose first consumer was only slow): the applied-entry key serialises them
and every event counts once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.analytics import services
from apps.events.log import DEFAULT_GROUP, RedisStreamEventLog
from tests.analytics.test_consumer import assert_known_aggregates, known_sequence, send
from tests.content.factories import PostFactory
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_two_consumers_applying_the_same_entries_at_once_count_them_once():
    viewer, creator = UserFactory(), UserFactory()
    post = PostFactory(author=creator)
    client = APIClient()
    client.force_authenticate(viewer)
    first, second, anonymous = known_sequence(post.pk, creator.pk)
    send(client, first)
    send(client, second)
    send(APIClient(), anonymous)
    log = RedisStreamEventLog()
    entries = log.read(group=DEFAULT_GROUP, consumer="slow", count=100)
    assert len(entries) == 3

    barrier = threading.Barrier(2)
    results: list[tuple[int, int, int]] = []
    errors: list[BaseException] = []

    def consumer() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(services.entries_apply(stream=log.stream, entries=entries))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=consumer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    # both claim entry ids in the same (sorted) order: the second waits on the first's
    # uncommitted key, then finds every entry applied
    assert sorted(applied for applied, _events, _skipped in results) == [0, 3]
    assert_known_aggregates(viewer.pk, post.pk, creator.pk)
