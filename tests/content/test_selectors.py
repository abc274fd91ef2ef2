"""Who may see a post: `get_post_for` (one row) and `visible_posts_for` (SQL) agree."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from apps.accounts.models import User
from apps.content import selectors
from apps.content.models import Post
from apps.core.errors import NotFoundError
from tests.content.factories import PostFactory
from tests.factories import UserFactory
from tests.social.factories import BlockFactory, FollowFactory, MuteFactory

pytestmark = pytest.mark.django_db


def _sees(viewer: User | AnonymousUser, post: Post) -> bool:
    in_sql = selectors.visible_posts_for(viewer=viewer).filter(pk=post.pk).exists()
    try:
        selectors.get_post_for(viewer=viewer, post_id=post.pk)
        single = True
    except NotFoundError:
        single = False
    assert in_sql == single
    return single


def test_a_public_published_post_is_seen_by_everyone():
    post = PostFactory()
    assert _sees(AnonymousUser(), post)
    assert _sees(UserFactory(), post)
    assert _sees(post.author, post)


@pytest.mark.parametrize("status", ["draft", "scheduled", "processing"])
def test_unpublished_posts_are_the_authors_only(status):
    post = PostFactory(status=status, published_at=None)
    assert _sees(post.author, post)
    assert not _sees(UserFactory(), post)
    assert not _sees(AnonymousUser(), post)


def test_a_removed_post_is_seen_by_its_author_only():
    # Its author is told it was removed and why (issue 12 item 1); nobody else sees it.
    post = PostFactory(status=Post.Status.REMOVED)
    assert _sees(post.author, post)
    assert not _sees(UserFactory(), post)
    assert not _sees(AnonymousUser(), post)


def test_friends_posts_need_a_mutual_follow():
    post = PostFactory(visibility=Post.Visibility.FRIENDS)
    fan, friend, stranger = UserFactory(), UserFactory(), UserFactory()
    FollowFactory(follower=fan, followee=post.author)
    FollowFactory(follower=friend, followee=post.author)
    FollowFactory(follower=post.author, followee=friend)
    assert _sees(friend, post)
    assert _sees(post.author, post)
    assert not _sees(fan, post)
    assert not _sees(stranger, post)
    assert not _sees(AnonymousUser(), post)


def test_private_posts_are_the_authors_only_even_for_friends():
    post = PostFactory(visibility=Post.Visibility.PRIVATE)
    friend = UserFactory()
    FollowFactory(follower=friend, followee=post.author)
    FollowFactory(follower=post.author, followee=friend)
    assert _sees(post.author, post)
    assert not _sees(friend, post)


def test_a_private_accounts_posts_are_for_approved_followers():
    post = PostFactory(author=UserFactory(is_private=True))
    follower, stranger = UserFactory(), UserFactory()
    FollowFactory(follower=follower, followee=post.author)
    assert _sees(follower, post)
    assert not _sees(stranger, post)
    assert not _sees(AnonymousUser(), post)


def test_blocks_hide_posts_both_ways():
    post = PostFactory()
    blocked_by_author, blocker = UserFactory(), UserFactory()
    BlockFactory(blocker=post.author, blocked=blocked_by_author)
    BlockFactory(blocker=blocker, blocked=post.author)
    assert not _sees(blocked_by_author, post)
    assert not _sees(blocker, post)


@pytest.mark.parametrize("field", ["deactivated_at", "deletion_scheduled_for"])
def test_posts_of_undiscoverable_authors_are_hidden(field):
    post = PostFactory(author=UserFactory(**{field: timezone.now()}))
    assert not _sees(UserFactory(), post)
    inactive = PostFactory(author=UserFactory(is_active=False))
    assert not _sees(AnonymousUser(), inactive)


def test_mutes_do_not_hide_a_post_opened_directly_but_can_filter_lists():
    post = PostFactory()
    viewer = UserFactory()
    MuteFactory(muter=viewer, muted=post.author)
    assert _sees(viewer, post)
    listed = selectors.without_muted_authors(selectors.visible_posts_for(viewer=viewer),
                                             viewer=viewer)
    assert not listed.filter(pk=post.pk).exists()


@pytest.mark.parametrize("raw", ["abc", "-1", "0", "99999999999999999999", "1.5", "١٢"])
def test_garbage_ids_are_not_found(raw):
    with pytest.raises(NotFoundError):
        selectors.get_post_for(viewer=AnonymousUser(), post_id=raw)


def test_visible_posts_is_one_query_whatever_the_rows(django_assert_num_queries):
    viewer = UserFactory()
    for _ in range(5):
        PostFactory(visibility=Post.Visibility.FRIENDS)
    with django_assert_num_queries(1):
        list(selectors.visible_posts_for(viewer=viewer))


@pytest.mark.parametrize(
    ("post_kwargs", "author_kwargs", "public"),
    [
        ({}, {}, True),
        ({"visibility": Post.Visibility.FRIENDS}, {}, False),
        ({"visibility": Post.Visibility.PRIVATE}, {}, False),
        ({"status": Post.Status.DRAFT, "published_at": None}, {}, False),
        ({"status": Post.Status.REMOVED}, {}, False),
        ({}, {"is_private": True}, False),
        ({"age_restricted": True}, {}, False),
    ],
)
def test_media_serves_an_asset_without_a_signature_only_for_a_public_post(
    post_kwargs, author_kwargs, public
):
    from apps.media.hooks import asset_public_version

    post = PostFactory(author=UserFactory(**author_kwargs), **post_kwargs)

    assert asset_public_version(asset_id=post.asset_id) == (1 if public else None)
