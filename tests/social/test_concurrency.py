"""Counters under real concurrency: every thread has its own PostgreSQL connection and its
own transactions (transaction=True), all released at once by a barrier."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from apps.accounts.models import User
from apps.core.errors import ForbiddenError
from apps.social import services
from apps.social.models import Block, Follow
from tests.factories import UserFactory
from tests.social.helpers import assert_counters_match_rows

pytestmark = pytest.mark.django_db(transaction=True)


def _run_at_once(jobs: list[Callable[[], None]]) -> list[BaseException]:
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            barrier.wait(timeout=30)
            job()
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return errors


def test_fifty_people_following_one_account_at_once_are_each_counted_once():
    # given
    star = UserFactory()
    fans = [UserFactory() for _ in range(50)]

    # when: all fifty follow at the same moment, each twice
    def follow(fan: User) -> Callable[[], None]:
        def job() -> None:
            services.follow_create(follower=fan, followee=star)
            services.follow_create(follower=fan, followee=star)

        return job

    errors = _run_at_once([follow(fan) for fan in fans])

    # then
    assert errors == []
    star.refresh_from_db()
    assert Follow.objects.filter(followee=star).count() == 50
    assert star.followers_count == 50
    assert_counters_match_rows()


def test_racing_follows_unfollows_and_follow_backs_keep_counters_equal_to_rows():
    # given: a pair that follows/unfollows each other from many threads at once (the two
    # directions update the same two counter rows in opposite orders: a deadlock if the
    # locks were not taken in pk order), plus strangers following both of them
    alice, bob = UserFactory(), UserFactory()
    strangers = [UserFactory() for _ in range(20)]
    jobs: list[Callable[[], None]] = []

    def flip(follower: User, followee: User) -> Callable[[], None]:
        def job() -> None:
            for _ in range(5):
                services.follow_create(follower=follower, followee=followee)
                services.follow_delete(follower=follower, followee=followee)
                services.follow_create(follower=follower, followee=followee)

        return job

    def stranger_job(stranger: User) -> Callable[[], None]:
        def job() -> None:
            services.follow_create(follower=stranger, followee=alice)
            services.follow_create(follower=stranger, followee=bob)
            services.follow_delete(follower=stranger, followee=alice)

        return job

    for _ in range(10):
        jobs.append(flip(alice, bob))
        jobs.append(flip(bob, alice))
    jobs.extend(stranger_job(stranger) for stranger in strangers)

    # when
    errors = _run_at_once(jobs)

    # then: every job ended on "follow", so the pair follows each other
    assert errors == []
    assert Follow.objects.filter(follower=alice, followee=bob).exists()
    assert Follow.objects.filter(follower=bob, followee=alice).exists()
    alice.refresh_from_db()
    bob.refresh_from_db()
    assert (alice.followers_count, alice.following_count) == (1, 1)
    assert (bob.followers_count, bob.following_count) == (21, 1)
    assert_counters_match_rows()


def test_a_block_racing_with_follows_leaves_no_follow_between_the_pair():
    # given
    alice, bob = UserFactory(), UserFactory()
    others = [UserFactory() for _ in range(10)]

    def bob_follows() -> None:
        for _ in range(5):
            try:
                services.follow_create(follower=bob, followee=alice)
            except ForbiddenError:
                return

    def alice_blocks() -> None:
        services.block_create(blocker=alice, blocked=bob)

    def other_follows(other: User) -> Callable[[], None]:
        def job() -> None:
            services.follow_create(follower=other, followee=alice)

        return job

    # when
    errors = _run_at_once([bob_follows] * 10 + [alice_blocks]
                          + [other_follows(other) for other in others])

    # then
    assert errors == []
    assert Block.objects.filter(blocker=alice, blocked=bob).exists()
    assert not Follow.objects.filter(follower=bob, followee=alice).exists()
    alice.refresh_from_db()
    assert alice.followers_count == 10
    assert_counters_match_rows()
