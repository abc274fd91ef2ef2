"""The counter journal under concurrency, with real transactions (no test transaction
around them): likes and unlikes racing flushes and a reconcile end on the exact counts, and
a Redis that forgot everything loses no delta."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from apps.content.models import Post
from apps.engagement import counters, services
from apps.engagement.models import CounterDelta, Like
from tests.content.test_concurrency import _run_at_once
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_likes_racing_flushes_and_a_reconcile_end_on_the_exact_counts() -> None:
    post = PublishedPostFactory()
    fans = [UserFactory() for _ in range(24)]
    stop = threading.Event()

    def like(group: list[Any]) -> Callable[[], None]:
        def job() -> None:
            for fan in group:
                services.like_create(user=fan, post=post)
            for fan in group[::3]:  # every third one changes their mind
                services.like_delete(user=fan, post_id=post.pk)
        return job

    def flusher() -> None:
        try:
            while not stop.is_set():
                counters.flush(chunk_size=3)
        finally:
            connection.close()

    def reconciler() -> None:
        for _ in range(5):
            services.counters_reconcile(post_ids=[post.pk])

    flushers = [threading.Thread(target=flusher) for _ in range(2)]
    for thread in flushers:
        thread.start()
    try:
        _, errors = _run_at_once([*(like(fans[i::4]) for i in range(4)), reconciler])
        assert not errors, errors
    finally:
        stop.set()
        for thread in flushers:
            thread.join(timeout=60)
    counters.flush()

    expected = Like.objects.filter(post=post).count()
    assert expected == 24 - len([f for i in range(4) for f in fans[i::4][::3]])
    assert Post.objects.get(pk=post.pk).likes_count == expected
    assert not CounterDelta.objects.exists()
    assert services.counters_reconcile(post_ids=[post.pk]) == 0  # nothing drifted


def test_a_redis_restart_loses_no_counter_delta() -> None:
    post = PublishedPostFactory()
    for fan in [UserFactory() for _ in range(3)]:
        services.like_create(user=fan, post=post)
    services.view_record(post=post, viewer_key="u:1", watched_ms=5000)
    assert counters.shown_pending_deltas([post.pk]) == {
        post.pk: {"likes_count": 3, "views_count": 1}}

    counters.redis_client().flushdb()  # Redis came back empty

    assert counters.shown_pending_deltas([post.pk]) == {}  # the last flushed value shows
    counters.flush()
    post.refresh_from_db()
    assert (post.likes_count, post.views_count) == (3, 1)
