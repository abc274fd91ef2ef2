"""Likes through the API, the journaled counters and their flush, and reconciliation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.db import transaction

from apps.content.models import Post
from apps.engagement import counters
from apps.engagement.models import CounterDelta, Like
from tests.engagement.factories import PublishedPostFactory
from tests.engagement.helpers import engagement_snapshot, error_of
from tests.factories import UserFactory
from tests.social.factories import BlockFactory, FollowFactory

pytestmark = pytest.mark.django_db


def _like_url(post_id: object) -> str:
    return f"/api/v1/posts/{post_id}/like"


def test_liking_twice_counts_once_and_the_read_shows_the_pending_delta(client_for):
    # given
    post, fan = PublishedPostFactory(), UserFactory()
    client = client_for(fan)

    # when
    first = client.post(_like_url(post.pk))
    second = client.post(_like_url(post.pk))

    # then: the row is the truth, the database counter waits for the flush, reads add Redis
    assert first.status_code == second.status_code == 200
    assert second.json()["liked"] is True
    assert second.json()["counters"]["likes_count"] == 1
    assert Like.objects.filter(post=post).count() == 1
    post.refresh_from_db()
    assert post.likes_count == 0
    assert counters.flush() == 1
    post.refresh_from_db()
    assert post.likes_count == 1
    assert client.get(f"/api/v1/posts/{post.pk}/engagement").json()["counters"]["likes_count"] == 1


def test_unlike_is_idempotent_and_counts_down_once(client_for):
    post, fan = PublishedPostFactory(), UserFactory()
    client = client_for(fan)
    client.post(_like_url(post.pk))
    counters.flush()

    assert client.delete(_like_url(post.pk)).status_code == 204
    assert client.delete(_like_url(post.pk)).status_code == 204

    counters.flush()
    post.refresh_from_db()
    assert post.likes_count == 0
    assert not Like.objects.exists()


@pytest.mark.parametrize("arrange", ["private_post", "friends_post", "draft", "removed",
                                     "blocked_by_author", "blocked_author", "private_account",
                                     "unknown", "garbage_id", "huge_id"])
def test_likes_on_posts_the_attacker_may_not_see_are_404_and_change_nothing(client_for, arrange):
    # given
    attacker, author = UserFactory(), UserFactory()
    post = PublishedPostFactory(author=author)
    post_id: object = post.pk
    if arrange == "private_post":
        Post.objects.filter(pk=post.pk).update(visibility=Post.Visibility.PRIVATE)
    elif arrange == "friends_post":
        Post.objects.filter(pk=post.pk).update(visibility=Post.Visibility.FRIENDS)
        FollowFactory(follower=attacker, followee=author)  # one-way is not friends
    elif arrange == "draft":
        Post.objects.filter(pk=post.pk).update(status=Post.Status.DRAFT)
    elif arrange == "removed":
        Post.objects.filter(pk=post.pk).update(status=Post.Status.REMOVED)
    elif arrange == "blocked_by_author":
        BlockFactory(blocker=author, blocked=attacker)
    elif arrange == "blocked_author":
        BlockFactory(blocker=attacker, blocked=author)
    elif arrange == "private_account":
        type(author).objects.filter(pk=author.pk).update(is_private=True)
    elif arrange == "unknown":
        post_id = post.pk + 1
    elif arrange == "garbage_id":
        post_id = "1%20OR%201=1"
    elif arrange == "huge_id":
        post_id = "9" * 30
    before = engagement_snapshot()

    # when
    response = client_for(attacker).post(_like_url(post_id))

    # then
    assert response.status_code == 404, response.content
    assert error_of(response)["code"] == "not_found"
    assert engagement_snapshot() == before


def test_the_author_cannot_like_their_own_draft(client_for):
    post = PublishedPostFactory(status=Post.Status.DRAFT)
    before = engagement_snapshot()

    response = client_for(post.author).post(_like_url(post.pk))

    assert response.status_code == 409
    assert error_of(response)["code"] == "post_not_published"
    assert engagement_snapshot() == before


def test_anonymous_and_malformed_requests_are_refused(api_client, client_for):
    post = PublishedPostFactory()
    before = engagement_snapshot()

    assert api_client.post(_like_url(post.pk)).status_code == 401
    bad = client_for(UserFactory()).post(_like_url(post.pk), data="{not json",
                                          content_type="application/json")
    assert bad.status_code == 400
    assert error_of(bad)["code"] == "parse_error"
    assert engagement_snapshot() == before


def _in_a_transaction_that_fails(work: Callable[[], object]) -> None:
    with transaction.atomic():
        work()
        raise RuntimeError("the process died before the commit")


def test_a_flush_that_dies_leaves_its_deltas_for_the_next_one():
    # given: journaled deltas, and a flusher that took them and died before committing
    post = PublishedPostFactory()
    with transaction.atomic():
        counters.record_delta(post_id=post.pk, field="likes_count", delta=3)
    with pytest.raises(RuntimeError, match="died"):
        _in_a_transaction_that_fails(counters.flush)
    post.refresh_from_db()
    assert post.likes_count == 0
    assert CounterDelta.objects.count() == 1

    # when: the next flush runs, twice
    assert counters.flush() == 1
    assert counters.flush() == 0

    # then: applied once, and the journal is empty
    post.refresh_from_db()
    assert post.likes_count == 3
    assert not CounterDelta.objects.exists()


def test_deltas_arriving_after_a_flush_wait_for_the_next_one():
    post = PublishedPostFactory()
    with transaction.atomic():
        counters.record_delta(post_id=post.pk, field="views_count", delta=2)
    counters.flush()
    with transaction.atomic():
        counters.record_deltas({(post.pk, "views_count"): 5})

    post.refresh_from_db()
    assert post.views_count == 2
    assert counters.pending_deltas([post.pk]) == {post.pk: {"views_count": 5}}
    counters.flush()
    post.refresh_from_db()
    assert post.views_count == 7
    assert counters.pending_deltas([post.pk]) == {}


def test_a_rolled_back_write_journals_nothing():
    post = PublishedPostFactory()
    with pytest.raises(RuntimeError, match="died"):
        _in_a_transaction_that_fails(
            lambda: counters.record_delta(post_id=post.pk, field="likes_count", delta=1))
    assert not CounterDelta.objects.exists()
    assert counters.shown_pending_deltas([post.pk]) == {}


def test_a_flush_run_ends_after_its_chunks_and_the_next_one_goes_on():
    post = PublishedPostFactory()
    with transaction.atomic():
        for _ in range(5):
            counters.record_delta(post_id=post.pk, field="views_count", delta=1)
    assert counters.flush(chunk_size=2, max_chunks=1) == 1
    post.refresh_from_db()
    assert post.views_count == 2
    counters.flush(chunk_size=2)
    post.refresh_from_db()
    assert post.views_count == 5


def test_a_counter_never_goes_below_zero():
    post = PublishedPostFactory()
    with transaction.atomic():
        counters.record_delta(post_id=post.pk, field="likes_count", delta=-4)
    counters.flush()
    post.refresh_from_db()
    assert post.likes_count == 0


def test_reconcile_recomputes_counters_from_rows_and_keeps_pending_deltas_right(client_for):
    # given: three likes, then the stored counter drifted, and one more like still pending
    post = PublishedPostFactory()
    for _ in range(3):
        client_for(UserFactory()).post(_like_url(post.pk))
    counters.flush()
    Post.objects.filter(pk=post.pk).update(likes_count=42, shares_count=7)
    late = UserFactory()
    client_for(late).post(_like_url(post.pk))

    # when
    call_command("engagement_reconcile")

    # then
    counters.flush()
    post.refresh_from_db()
    assert post.likes_count == 4 == Like.objects.filter(post=post).count()
    assert post.shares_count == 0


def test_the_flush_task_is_registered_in_beat():
    from django.conf import settings

    from apps.engagement.tasks import flush_counters

    entry = settings.CELERY_BEAT_SCHEDULE["engagement-flush-counters"]
    assert entry["task"] == flush_counters.name == "engagement.flush_counters"
    assert flush_counters.run() == 0
