"""The read pages: a post, a profile grid, a hashtag page, a sound page. Each list is
cursor-paginated and costs the same number of queries for 5 or 50 rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.content import services
from apps.content.models import Post
from tests.content.factories import MediaAssetFactory, PostFactory
from tests.content.helpers import error_of
from tests.factories import UserFactory
from tests.social.factories import BlockFactory, FollowFactory, MuteFactory

pytestmark = pytest.mark.django_db

# owner (visibility, blocks and follow in SQL) + pinned posts + one page of posts
PROFILE_FIRST_PAGE_QUERIES = 3
PROFILE_NEXT_PAGE_QUERIES = 2
# the hashtag (or sound) + one page of posts
TAG_PAGE_QUERIES = 2
SOUND_PAGE_QUERIES = 2
POST_DETAIL_QUERIES = 1


def _ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def _tagged(author, caption: str, **kwargs) -> Post:  # type: ignore[no-untyped-def]
    return services.post_create(author=author, asset_id=MediaAssetFactory(owner=author).pk,
                                caption=caption, **kwargs)


# --- post detail -------------------------------------------------------------------------------


def test_a_post_page_is_one_query(api_client, django_assert_num_queries):
    post = _tagged(UserFactory(), "#one")
    with django_assert_num_queries(POST_DETAIL_QUERIES):
        response = api_client.get(f"/api/v1/posts/{post.pk}")
    assert response.status_code == 200
    assert response.json()["id"] == str(post.pk)


def test_a_blocked_viewer_and_anonymous_users_see_only_what_they_may(api_client, client_for):
    post = PostFactory()
    blocked = UserFactory()
    BlockFactory(blocker=post.author, blocked=blocked)
    friends_only = PostFactory(author=post.author, visibility=Post.Visibility.FRIENDS)
    assert client_for(blocked).get(f"/api/v1/posts/{post.pk}").status_code == 404
    assert api_client.get(f"/api/v1/posts/{post.pk}").status_code == 200
    assert api_client.get(f"/api/v1/posts/{friends_only.pk}").status_code == 404
    assert error_of(api_client.get(f"/api/v1/posts/{friends_only.pk}"))["code"] == "not_found"


def test_a_deactivated_authors_posts_disappear(api_client):
    post = PostFactory()
    post.author.deactivated_at = timezone.now()
    post.author.save(update_fields=["deactivated_at"])
    assert api_client.get(f"/api/v1/posts/{post.pk}").status_code == 404


# --- profile grid ------------------------------------------------------------------------------


def test_the_profile_grid_shows_pinned_first_then_newest(api_client, client_for):
    owner = UserFactory(username="creator")
    posts = [PostFactory(author=owner) for _ in range(5)]
    PostFactory(author=owner, status=Post.Status.DRAFT, published_at=None)
    services.post_pin(user=owner, post_id=posts[1].pk)
    services.post_pin(user=owner, post_id=posts[3].pk)

    first = api_client.get("/api/v1/users/Creator/posts?page_size=2")
    ids = _ids(first)
    assert ids[:2] == [str(posts[3].pk), str(posts[1].pk)]  # most recently pinned first
    assert ids[2:] == [str(posts[4].pk), str(posts[2].pk)]
    assert [row["is_pinned"] for row in first.json()["results"]] == [True, True, False, False]
    second = api_client.get(first.json()["next"])
    assert _ids(second) == [str(posts[0].pk)]
    assert second.json()["next"] is None
    # the author sees their draft too
    assert len(_ids(client_for(owner).get("/api/v1/users/creator/posts"))) == 6


@pytest.mark.parametrize("size", [5, 50])
def test_the_profile_grid_costs_the_same_for_any_page_size(
    client_for, django_assert_num_queries, size
):
    owner, viewer = UserFactory(username="grid"), UserFactory()
    for _ in range(size + 4):
        PostFactory(author=owner, visibility=Post.Visibility.FRIENDS)
    FollowFactory(follower=viewer, followee=owner)
    FollowFactory(follower=owner, followee=viewer)
    for post in Post.objects.filter(author=owner)[:3]:
        services.post_pin(user=owner, post_id=post.pk)
    client = client_for(viewer)
    with django_assert_num_queries(PROFILE_FIRST_PAGE_QUERIES):
        first = client.get(f"/api/v1/users/grid/posts?page_size={size}")
    assert len(_ids(first)) == size + 3
    with django_assert_num_queries(PROFILE_NEXT_PAGE_QUERIES):
        second = client.get(first.json()["next"])
    assert len(_ids(second)) == 1  # the pinned three are not repeated


def test_the_profile_grid_respects_privacy_and_blocks(api_client, client_for):
    private = UserFactory(username="secret", is_private=True)
    PostFactory(author=private)
    follower, stranger, blocked = UserFactory(), UserFactory(), UserFactory()
    FollowFactory(follower=follower, followee=private)
    BlockFactory(blocker=private, blocked=blocked)

    assert len(_ids(client_for(follower).get("/api/v1/users/secret/posts"))) == 1
    refused = client_for(stranger).get("/api/v1/users/secret/posts")
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "private_account"
    assert api_client.get("/api/v1/users/secret/posts").status_code == 403
    assert client_for(blocked).get("/api/v1/users/secret/posts").status_code == 404
    assert api_client.get("/api/v1/users/nobody/posts").status_code == 404
    assert api_client.get("/api/v1/users/%00/posts").status_code == 404


def test_friends_and_private_posts_stay_off_a_strangers_grid(client_for):
    owner = UserFactory(username="mixed")
    public = PostFactory(author=owner)
    PostFactory(author=owner, visibility=Post.Visibility.FRIENDS)
    PostFactory(author=owner, visibility=Post.Visibility.PRIVATE)
    assert _ids(client_for(UserFactory()).get("/api/v1/users/mixed/posts")) == [str(public.pk)]


@pytest.mark.parametrize("cursor", ["garbage", "eD0x", "%00", "cD1hYmM="])
def test_made_up_cursors_are_400(api_client, cursor):
    PostFactory(author=UserFactory(username="cur"))
    response = api_client.get(f"/api/v1/users/cur/posts?cursor={cursor}")
    assert response.status_code == 400
    assert "cursor" in error_of(response)["fields"]


# --- hashtag page ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [5, 50])
def test_a_hashtag_page_costs_the_same_for_any_page_size(
    client_for, django_assert_num_queries, size
):
    authors = [UserFactory() for _ in range(3)]
    for i in range(size + 1):
        _tagged(authors[i % 3], "#Cats are #great")
    viewer = UserFactory()
    client = client_for(viewer)
    with django_assert_num_queries(1):
        tag = client.get("/api/v1/hashtags/CATS")
    assert tag.json()["name"] == "Cats"
    assert tag.json()["posts_count"] == size + 1
    with django_assert_num_queries(TAG_PAGE_QUERIES):
        page = client.get(f"/api/v1/hashtags/cats/posts?page_size={size}")
    assert len(_ids(page)) == size


def test_a_hashtag_page_hides_what_the_viewer_may_not_see(client_for):
    viewer = UserFactory()
    seen = _tagged(UserFactory(), "#pets")
    _tagged(UserFactory(), "#pets", visibility=Post.Visibility.PRIVATE)
    _tagged(UserFactory(), "#pets", publish="draft")
    blocker = UserFactory()
    _tagged(blocker, "#pets")
    BlockFactory(blocker=blocker, blocked=viewer)
    muted = UserFactory()
    _tagged(muted, "#pets")
    MuteFactory(muter=viewer, muted=muted)
    _tagged(UserFactory(is_private=True), "#pets")

    assert _ids(client_for(viewer).get("/api/v1/hashtags/pets/posts")) == [str(seen.pk)]


def test_unknown_hashtags_are_404(api_client):
    assert api_client.get("/api/v1/hashtags/neverused").status_code == 404
    assert api_client.get("/api/v1/hashtags/neverused/posts").status_code == 404
    assert api_client.get("/api/v1/hashtags/" + "x" * 300).status_code == 404


def test_a_scheduled_post_counts_on_its_tag_only_once_published(api_client):
    author = UserFactory()
    post = _tagged(author, "#future", publish=timezone.now() + timedelta(hours=1))
    assert api_client.get("/api/v1/hashtags/future").json()["posts_count"] == 0
    Post.objects.filter(pk=post.pk).update(scheduled_for=timezone.now())
    services.posts_publish_due()
    assert api_client.get("/api/v1/hashtags/future").json()["posts_count"] == 1
    assert _ids(api_client.get("/api/v1/hashtags/future/posts")) == [str(post.pk)]
