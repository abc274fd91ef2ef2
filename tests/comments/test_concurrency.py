"""Comment counters under real concurrency (threads with their own connections)."""

from __future__ import annotations

import contextlib

import pytest
from django.core.management import call_command

from apps.comments import services
from apps.comments.models import Comment, CommentLike
from apps.content.models import Post
from apps.core.errors import NotFoundError
from tests.comments.helpers import assert_counters_match_rows
from tests.engagement.factories import PublishedPostFactory
from tests.engagement.test_concurrency import _run_at_once
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_sixty_people_liking_a_comment_at_once_each_count_once():
    post = PublishedPostFactory()
    comment = services.comment_create(author=UserFactory(), post=post, text="hot take")
    fans = [UserFactory() for _ in range(60)]

    def like(fan: object):  # type: ignore[no-untyped-def]
        def job() -> None:
            services.comment_like_create(user=fan, comment=comment)  # type: ignore[arg-type]
            services.comment_like_create(user=fan, comment=comment)  # type: ignore[arg-type]

        return job

    errors = _run_at_once([like(fan) for fan in fans] + [like(post.author)])

    assert errors == []
    comment.refresh_from_db()
    assert comment.likes_count == 61 == CommentLike.objects.filter(comment=comment).count()
    assert comment.liked_by_creator is True
    assert comment.rank == pytest.approx(services.rank_for(
        likes=61, liked_by_creator=True, created_at=comment.created_at))


def test_replies_racing_the_deletion_of_their_thread_leave_counters_equal_to_rows():
    post = PublishedPostFactory()
    top = services.comment_create(author=UserFactory(), post=post, text="thread")
    people = [UserFactory() for _ in range(30)]

    def reply(person: object):  # type: ignore[no-untyped-def]
        def job() -> None:
            with contextlib.suppress(NotFoundError):  # the thread may be deleted first
                services.comment_create(author=person, post=post, text="me too",  # type: ignore[arg-type]
                                        parent=top)

        return job

    def delete() -> None:
        services.comment_delete(actor=post.author, comment=top)

    errors = _run_at_once([reply(p) for p in people] + [delete])

    assert errors == []
    assert_counters_match_rows()
    assert Post.objects.get(pk=post.pk).comments_count == 0
    assert not Comment.objects.filter(status="visible").exists()


def test_comments_reconcile_repairs_drift():
    post = PublishedPostFactory()
    top = services.comment_create(author=UserFactory(), post=post, text="a")
    services.comment_create(author=UserFactory(), post=post, text="b", parent=top)
    services.comment_like_create(user=UserFactory(), comment=top)
    Post.objects.filter(pk=post.pk).update(comments_count=99)
    Comment.objects.filter(pk=top.pk).update(likes_count=5, replies_count=0)

    call_command("comments_reconcile")

    assert_counters_match_rows()
    assert Post.objects.get(pk=post.pk).comments_count == 2
