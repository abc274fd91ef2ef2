"""A removed account takes its engagement (and comments) with it, and every counter those
rows fed goes down with them (accounts' removal hooks), and its export lists them."""

from __future__ import annotations

import pytest
from django.db import transaction

from apps.accounts.hooks import run_account_removal_hooks
from apps.comments import services as comment_services
from apps.comments.models import Comment, CommentLike
from apps.content.models import Post
from apps.engagement import counters, services
from apps.engagement.models import Favourite, Like, Share
from tests.comments.helpers import assert_counters_match_rows
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_removing_an_account_takes_its_rows_off_every_counter(django_capture_on_commit_callbacks):
    # given: a leaver who liked, saved, shared and commented; others replied to them
    leaver, other = UserFactory(), UserFactory()
    posts = [PublishedPostFactory() for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        for post in posts:
            services.like_create(user=leaver, post=post)
            services.like_create(user=other, post=post)
            services.favourite_create(user=leaver, post=post,
                                      collection_id=services.collection_create(
                                          owner=leaver, name=f"c{post.pk}").pk)
            services.share_create(user=leaver, post=post, channel="sms")
    top = comment_services.comment_create(author=leaver, post=posts[0], text="mine")
    comment_services.comment_create(author=other, post=posts[0], text="reply", parent=top)
    theirs = comment_services.comment_create(author=other, post=posts[1], text="theirs")
    comment_services.comment_create(author=leaver, post=posts[1], text="r", parent=theirs)
    comment_services.comment_like_create(user=leaver, comment=theirs)
    exported = services.engagement_export_user(user_id=leaver.pk)
    assert len(exported["likes"]) == 3
    assert len(comment_services.comments_export_user(user_id=leaver.pk)) == 2

    # when
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        run_account_removal_hooks(user_id=leaver.pk)
        leaver.delete()
    counters.flush()

    # then
    assert not Like.objects.filter(user_id=leaver.pk).exists()
    assert not Favourite.objects.exists()
    assert not Share.objects.exists()
    for row in Post.objects.all():
        assert row.likes_count == Like.objects.filter(post=row).count() == 1
        assert row.favourites_count == row.shares_count == 0
    assert list(Comment.objects.values_list("text", flat=True)) == ["theirs"]
    assert not CommentLike.objects.exists()
    assert_counters_match_rows()
