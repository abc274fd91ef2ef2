"""Counters under real concurrency: every thread has its own PostgreSQL connection and its
own transactions (transaction=True), all released at once by a barrier. The embedded
PostgreSQL allows 200 connections and is shared with other test runs, so at most
`MAX_CONNECTIONS` threads hold one at a time (as a real deployment's connection pooler
would): 200 requests arrive together and run 40 at a time. The counter delta
goes to Redis after each commit; the flush (also racing) moves it to Postgres."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from apps.content.models import Post
from apps.engagement import counters, services
from apps.engagement.models import Like
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


MAX_CONNECTIONS = 40


def _run_at_once(jobs: list[Callable[[], None]]) -> list[BaseException]:
    barrier = threading.Barrier(len(jobs))
    pool = threading.BoundedSemaphore(MAX_CONNECTIONS)
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            barrier.wait(timeout=60)
            with pool:
                try:
                    job()
                finally:
                    connection.close()
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads)
    return errors


def _users(n: int) -> list[object]:
    return [UserFactory() for _ in range(n)]


def test_two_hundred_people_liking_one_post_at_once_give_exactly_two_hundred():
    # given
    post = PublishedPostFactory()
    fans = _users(200)

    def like(fan: object) -> Callable[[], None]:
        def job() -> None:
            services.like_create(user=fan, post=post)  # type: ignore[arg-type]

        return job

    # when: 200 likes and, racing them, a few flushers
    def flusher() -> None:
        for _ in range(5):
            counters.flush()

    errors = _run_at_once([like(fan) for fan in fans] + [flusher] * 3)
    counters.flush()

    # then
    assert errors == []
    post.refresh_from_db()
    assert Like.objects.filter(post=post).count() == 200
    assert post.likes_count == 200
    assert counters.pending_deltas([post.pk]) == {}


def test_one_person_liking_the_same_post_from_many_requests_at_once_counts_once():
    post = PublishedPostFactory()
    fan = UserFactory()

    def job() -> None:
        services.like_create(user=fan, post=post)

    errors = _run_at_once([job] * 30)
    counters.flush()

    assert errors == []
    post.refresh_from_db()
    assert Like.objects.filter(post=post, user=fan).count() == 1
    assert post.likes_count == 1


def flusher() -> None:
    counters.flush()


def test_racing_likes_and_unlikes_leave_the_counter_equal_to_the_rows():
    post = PublishedPostFactory()
    fans = _users(20)

    def flip(fan: object) -> Callable[[], None]:
        def job() -> None:
            for _ in range(4):
                services.like_create(user=fan, post=post)  # type: ignore[arg-type]
                services.like_delete(user=fan, post_id=post.pk)  # type: ignore[arg-type]
                services.like_create(user=fan, post=post)  # type: ignore[arg-type]

        return job

    errors = _run_at_once([flip(fan) for fan in fans] + [flip(fans[0])] * 5 + [flusher])
    counters.flush()

    assert errors == []
    post.refresh_from_db()
    assert post.likes_count == Like.objects.filter(post=post).count() == 20
    assert Post.objects.get(pk=post.pk).likes_count == 20
