"""Favourites, private collections and the liked-posts list."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.content.models import Post
from apps.engagement import services
from apps.engagement.models import Collection, Favourite
from tests.engagement.factories import PublishedPostFactory
from tests.engagement.helpers import engagement_snapshot, error_of
from tests.factories import UserFactory
from tests.social.factories import BlockFactory, FollowFactory, MuteFactory

pytestmark = pytest.mark.django_db

LIST_QUERIES = 1  # the page: rows, posts and authors in one query (counters come from Redis)


@pytest.mark.django_db(transaction=True)  # real commits: the response shows this write's delta
def test_collections_crud_and_favouriting_into_one(client_for):
    me = UserFactory()
    client = client_for(me)
    post = PublishedPostFactory()

    made = client.post("/api/v1/me/collections", {"name": "  Recipes  "}, format="json")
    assert made.status_code == 201
    assert made.json()["name"] == "Recipes"
    cid = made.json()["id"]
    dup = client.post("/api/v1/me/collections", {"name": "recipes"}, format="json")
    assert dup.status_code == 409
    assert error_of(dup)["code"] == "collection_name_taken"

    fav = client.post(f"/api/v1/posts/{post.pk}/favourite", {"collection_id": cid}, format="json")
    assert fav.status_code == 200
    assert fav.json()["favourited"] is True
    assert fav.json()["collection_id"] == cid
    assert fav.json()["counters"]["favourites_count"] == 1
    # saving again into nothing keeps it where it is and counts once
    again = client.post(f"/api/v1/posts/{post.pk}/favourite")
    assert again.json()["collection_id"] == cid
    assert again.json()["counters"]["favourites_count"] == 1

    listed = client.get(f"/api/v1/me/collections/{cid}/posts").json()["results"]
    assert [row["post"]["id"] for row in listed] == [str(post.pk)]
    assert client.get(f"/api/v1/me/collections/{cid}").json()["items"] == 1
    renamed = client.patch(f"/api/v1/me/collections/{cid}", {"name": "Food"}, format="json")
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Food"

    assert client.delete(f"/api/v1/me/collections/{cid}").status_code == 204
    assert Favourite.objects.get().collection_id is None  # still a favourite
    assert client.delete(f"/api/v1/posts/{post.pk}/favourite").status_code == 204
    assert client.get(f"/api/v1/posts/{post.pk}/engagement").json()["counters"][
        "favourites_count"] == 0


def test_other_peoples_collections_do_not_exist(client_for):
    owner, attacker = UserFactory(), UserFactory()
    collection = services.collection_create(owner=owner, name="Private")
    post = PublishedPostFactory()
    before = engagement_snapshot()
    client = client_for(attacker)

    assert client.get(f"/api/v1/me/collections/{collection.pk}").status_code == 404
    assert client.get(f"/api/v1/me/collections/{collection.pk}/posts").status_code == 404
    assert client.patch(f"/api/v1/me/collections/{collection.pk}", {"name": "Mine"},
                        format="json").status_code == 404
    assert client.delete(f"/api/v1/me/collections/{collection.pk}").status_code == 404
    filed = client.post(f"/api/v1/posts/{post.pk}/favourite",
                        {"collection_id": str(collection.pk)}, format="json")
    assert filed.status_code == 404
    assert client.get("/api/v1/me/collections").json()["results"] == []
    assert engagement_snapshot() == before


@pytest.mark.parametrize("body", [{"name": ""}, {"name": "x" * 61}, {"name": "a\x00b"},
                                  {"name": None}])
def test_bad_collection_names_are_400(client_for, body):
    before = engagement_snapshot()
    response = client_for(UserFactory()).post("/api/v1/me/collections", body, format="json")
    assert response.status_code == 400
    assert engagement_snapshot() == before


def test_favourites_of_posts_that_became_invisible_drop_out_of_the_list(client_for):
    me = UserFactory()
    kept, hidden = PublishedPostFactory(), PublishedPostFactory()
    services.favourite_create(user=me, post=kept)
    services.favourite_create(user=me, post=hidden)
    Post.objects.filter(pk=hidden.pk).update(visibility=Post.Visibility.PRIVATE)

    rows = client_for(me).get("/api/v1/me/favourites").json()["results"]
    assert [row["post"]["id"] for row in rows] == [str(kept.pk)]


@pytest.mark.parametrize("url", ["/api/v1/me/favourites", "/api/v1/me/collections",
                                 "liked"])
def test_engagement_lists_cost_the_same_queries_whatever_the_page_size(client_for, url):
    me = UserFactory()
    collection = services.collection_create(owner=me, name="All")
    for i in range(60):
        post = PublishedPostFactory()
        services.favourite_create(user=me, post=post, collection_id=collection.pk)
        services.like_create(user=me, post=post)
        if i:
            services.collection_create(owner=me, name=f"c{i}")
    client = client_for(me)
    if url == "liked":
        url = f"/api/v1/users/{me.username}/liked-posts"
        expected = LIST_QUERIES + 1  # the owner look-up
    else:
        expected = LIST_QUERIES

    sizes = []
    for size in (5, 50):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"page_size": size})
        assert response.status_code == 200, response.content
        assert len(response.json()["results"]) == size
        sizes.append(len(queries.captured_queries))
    assert sizes == [expected, expected]


def test_liked_posts_are_private_unless_the_owner_shows_them(client_for, anon_client):
    owner, viewer = UserFactory(), UserFactory()
    public_post, private_post = PublishedPostFactory(), PublishedPostFactory()
    muted_author_post = PublishedPostFactory()
    Post.objects.filter(pk=private_post.pk).update(visibility=Post.Visibility.PRIVATE)
    for post in (public_post, muted_author_post):
        services.like_create(user=owner, post=post)
    services.like_create(user=owner, post=PublishedPostFactory(author=private_post.author))
    Post.objects.filter(author=private_post.author).update(visibility=Post.Visibility.PRIVATE)
    MuteFactory(muter=viewer, muted=muted_author_post.author)
    url = f"/api/v1/users/{owner.username}/liked-posts"

    hidden = client_for(viewer).get(url)
    assert hidden.status_code == 403
    assert error_of(hidden)["code"] == "liked_posts_private"
    assert len(client_for(owner).get(url).json()["results"]) == 2  # the now-private one drops

    settings = client_for(owner).patch("/api/v1/me/engagement-settings",
                                       {"show_liked_posts": True}, format="json")
    assert settings.json() == {"show_liked_posts": True}
    rows = client_for(viewer).get(url).json()["results"]
    assert [row["post"]["id"] for row in rows] == [str(public_post.pk)]
    assert len(anon_client.get(url).json()["results"]) == 2

    BlockFactory(blocker=owner, blocked=viewer)
    assert client_for(viewer).get(url).status_code == 404


def test_a_private_accounts_liked_posts_need_an_approved_follow(client_for):
    owner, follower, stranger = UserFactory(is_private=True), UserFactory(), UserFactory()
    services.engagement_settings_update(user=owner, show_liked_posts=True)
    FollowFactory(follower=follower, followee=owner)
    url = f"/api/v1/users/{owner.username}/liked-posts"
    assert client_for(follower).get(url).status_code == 200
    response = client_for(stranger).get(url)
    assert response.status_code == 403
    assert error_of(response)["code"] == "private_account"


def test_collection_limit(client_for, settings, monkeypatch):
    monkeypatch.setattr(services, "MAX_COLLECTIONS", 2)
    me = UserFactory()
    client = client_for(me)
    for name in ("a", "b"):
        assert client.post("/api/v1/me/collections", {"name": name},
                           format="json").status_code == 201
    response = client.post("/api/v1/me/collections", {"name": "c"}, format="json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "too_many_collections"
    assert Collection.objects.count() == 2
