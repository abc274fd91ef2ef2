"""Every content, engagement and comments endpoint, probed by someone who may not see the
post (blocks either way, a private account, private and friends-only posts, drafts,
scheduled, processing, held and removed posts, an age-restricted post and a minor or a
signed-out viewer): reads are 404 or leave the post out, writes are 404 (401 signed out)
and change nothing; removing one's own like or favourite answers as for an unknown id.
Then other people's ids on a post the attacker may see: 403 or 404, nothing changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.comments.models import Comment, CommentFilter
from apps.content import services
from apps.content.models import Post
from apps.engagement.models import Collection, EngagementSettings, Favourite, Like
from tests.comments.helpers import comments_snapshot
from tests.content.factories import MediaAssetFactory
from tests.content.helpers import content_snapshot
from tests.engagement.helpers import engagement_snapshot
from tests.factories import UserFactory
from tests.social.factories import BlockFactory, FollowFactory

pytestmark = pytest.mark.django_db

ARRANGEMENTS = [
    "author_blocked_attacker", "attacker_blocked_author", "private_account", "private_post",
    "friends_post", "draft", "scheduled", "processing", "reviewing", "removed",
    "age_restricted_minor", "age_restricted_signed_out",
]
# Arrangements in which a signed-out visitor could still see the post.
PUBLIC_TO_ANONYMOUS = {"author_blocked_attacker", "attacker_blocked_author"}


@dataclass
class World:
    owner: User
    fan: User  # liked and favourited the post, shows liked posts, commented
    post: Post
    comment: Comment
    reply: Comment


def _world(client_for: Any) -> World:
    owner = UserFactory(username="owner", country="GB")
    fan = UserFactory(username="fan")
    post = services.post_create(author=owner, asset_id=MediaAssetFactory(owner=owner).pk,
                                caption="secret #sweeptag with @fan")
    assert post.status == Post.Status.PUBLISHED
    fan_client = client_for(fan)
    assert fan_client.post(f"/api/v1/posts/{post.pk}/like").status_code == 200
    assert fan_client.post(f"/api/v1/posts/{post.pk}/favourite").status_code == 200
    EngagementSettings.objects.create(user=fan, show_liked_posts=True)
    comment = fan_client.post(f"/api/v1/posts/{post.pk}/comments", {"text": "first"},
                              format="json").json()
    reply = client_for(owner).post(f"/api/v1/posts/{post.pk}/comments",
                                   {"text": "thanks", "parent_id": comment["id"]},
                                   format="json").json()
    return World(owner, fan, post, Comment.objects.get(pk=comment["id"]),
                 Comment.objects.get(pk=reply["id"]))


def _arrange(world: World, arrange: str) -> User | None:
    """Make the post invisible to the attacker; returns the attacker (None: signed out)."""
    attacker: User | None = UserFactory(username="attacker")
    post = Post.objects.filter(pk=world.post.pk)
    if arrange == "author_blocked_attacker":
        BlockFactory(blocker=world.owner, blocked=attacker)
    elif arrange == "attacker_blocked_author":
        BlockFactory(blocker=attacker, blocked=world.owner)
    elif arrange == "private_account":
        User.objects.filter(pk=world.owner.pk).update(is_private=True)
    elif arrange == "private_post":
        post.update(visibility=Post.Visibility.PRIVATE)
    elif arrange == "friends_post":
        FollowFactory(follower=attacker, followee=world.owner)  # one way only: not friends
        post.update(visibility=Post.Visibility.FRIENDS)
    elif arrange in ("draft", "scheduled", "processing", "reviewing", "removed"):
        post.update(status=arrange)
    elif arrange == "age_restricted_minor":
        assert attacker is not None
        User.objects.filter(pk=attacker.pk).update(date_of_birth=date.today().replace(
            year=date.today().year - 15, day=1))
        attacker.refresh_from_db()
        post.update(age_restricted=True)
    elif arrange == "age_restricted_signed_out":
        post.update(age_restricted=True)
        attacker = None
    return attacker


def _snapshot() -> dict[str, Any]:
    return {**content_snapshot(), **engagement_snapshot(), **comments_snapshot()}


def _ids(response: Any) -> list[str]:
    if response.status_code != 200:
        return []
    return [row.get("id") or row.get("post", {}).get("id") for row in response.json()["results"]]


@pytest.mark.parametrize("arrange", ARRANGEMENTS)
def test_no_endpoint_reveals_or_touches_a_post_its_caller_may_not_see(client_for, arrange):
    world = _world(client_for)
    attacker = _arrange(world, arrange)
    client = client_for(attacker) if attacker is not None else APIClient()
    pid, cid, rid = world.post.pk, world.comment.pk, world.reply.pk
    sound_id = world.post.original_sound_id
    before = _snapshot()

    # reads: 404, or lists that leave the post and its comments out
    for path in (f"/api/v1/posts/{pid}", f"/api/v1/posts/{pid}/engagement",
                 f"/api/v1/posts/{pid}/comments", f"/api/v1/comments/{cid}/replies",
                 f"/api/v1/sounds/{sound_id}", f"/api/v1/sounds/{sound_id}/posts"):
        response = client.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert set(response.json()) == {"error"}
    for path in ("/api/v1/hashtags/sweeptag/posts", "/api/v1/users/owner/posts",
                 "/api/v1/users/fan/liked-posts"):
        response = client.get(path)
        assert response.status_code in (200, 403, 404), (path, response.status_code)
        assert str(pid) not in _ids(response), path
        assert str(pid) not in response.content.decode(), path
    if arrange not in PUBLIC_TO_ANONYMOUS:
        assert Client().get(f"/p/{pid}/").status_code == 404

    # writes: 404 (401 when signed out), and nothing changes
    writes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("patch", f"/api/v1/posts/{pid}", {"caption": "pwned"}),
        ("delete", f"/api/v1/posts/{pid}", None),
        ("post", f"/api/v1/posts/{pid}/pin", None),
        ("delete", f"/api/v1/posts/{pid}/pin", None),
        ("post", f"/api/v1/posts/{pid}/like", None),
        ("post", f"/api/v1/posts/{pid}/favourite", None),
        ("post", f"/api/v1/posts/{pid}/share", {"channel": "copy_link"}),
        ("post", f"/api/v1/posts/{pid}/comments", {"text": "hi"}),
        ("post", f"/api/v1/posts/{pid}/comments", {"text": "hi", "parent_id": str(cid)}),
        ("delete", f"/api/v1/comments/{cid}", None),
        ("delete", f"/api/v1/comments/{rid}", None),
        ("post", f"/api/v1/comments/{cid}/like", None),
        ("post", f"/api/v1/comments/{cid}/pin", None),
        ("post", f"/api/v1/comments/{cid}/hide", None),
        ("patch", f"/api/v1/sounds/{sound_id}", {"allow_reuse": False}),
    ]
    expected = 404 if attacker is not None else 401
    for method, path, body in writes:
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == expected, (method, path, response.status_code)
        assert set(response.json()) == {"error"}
    # Unlike / unfavourite only ever remove the caller's own row, so they answer the same
    # for any id (204; 401 signed out): nothing to learn, nothing of anyone else touched.
    for hidden_path, unknown_path in (
        (f"/api/v1/posts/{pid}/like", f"/api/v1/posts/{pid + 1}/like"),
        (f"/api/v1/posts/{pid}/favourite", f"/api/v1/posts/{pid + 1}/favourite"),
        (f"/api/v1/comments/{cid}/like", f"/api/v1/comments/{cid + 1}/like"),
    ):
        hidden = client.delete(hidden_path)
        assert hidden.status_code == client.delete(unknown_path).status_code
        assert hidden.status_code == (204 if attacker is not None else 401)
    # a view report is open to everyone, and still 404 for a post they may not see
    view = client.post(f"/api/v1/posts/{pid}/view", {"watched_ms": 5000}, format="json")
    assert view.status_code == 404
    if attacker is not None:  # using the post's sound for a new post of their own
        asset = MediaAssetFactory(owner=attacker)
        before = _snapshot()
        used = client.post("/api/v1/posts", {"asset_id": str(asset.pk),
                                              "sound_id": str(sound_id)}, format="json")
        assert used.status_code == 404, used.content
    assert _snapshot() == before


def test_other_peoples_ids_on_a_post_the_attacker_may_see_are_refused(client_for):
    world = _world(client_for)
    attacker = UserFactory(username="attacker")
    client = client_for(attacker)
    pid, cid = world.post.pk, world.comment.pk
    collection = Collection.objects.create(owner=world.fan, name="Mine")
    Favourite.objects.filter(user=world.fan).update(collection=collection)
    keyword = CommentFilter.objects.create(creator=world.owner, keyword="spoiler")
    theirs_asset = MediaAssetFactory(owner=world.owner)
    before = _snapshot()

    assert client.get(f"/api/v1/posts/{pid}").status_code == 200  # visible, but not theirs
    for method, path, body, status in (
        ("patch", f"/api/v1/posts/{pid}", {"caption": "pwned"}, 403),
        ("delete", f"/api/v1/posts/{pid}", None, 403),
        ("post", f"/api/v1/posts/{pid}/pin", None, 403),
        ("delete", f"/api/v1/comments/{cid}", None, 403),  # neither its author nor the creator
        ("post", f"/api/v1/comments/{cid}/pin", None, 403),
        ("post", f"/api/v1/comments/{cid}/hide", None, 403),
        ("patch", f"/api/v1/sounds/{world.post.original_sound_id}", {"allow_reuse": False}, 404),
        ("get", f"/api/v1/me/collections/{collection.pk}", None, 404),
        ("get", f"/api/v1/me/collections/{collection.pk}/posts", None, 404),
        ("patch", f"/api/v1/me/collections/{collection.pk}", {"name": "x"}, 404),
        ("delete", f"/api/v1/me/collections/{collection.pk}", None, 404),
        ("post", f"/api/v1/posts/{pid}/favourite", {"collection_id": str(collection.pk)}, 404),
        ("delete", f"/api/v1/me/comment-filters/{keyword.pk}", None, 404),
        ("post", "/api/v1/posts", {"asset_id": str(theirs_asset.pk)}, 404),
    ):
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == status, (method, path, response.status_code,
                                                response.content)
        assert set(response.json()) == {"error"}
    assert _snapshot() == before
    assert Like.objects.filter(user=attacker).count() == 0
    # their own favourites list never shows someone else's collection
    mine = client.get("/api/v1/me/favourites").json()["results"]
    assert mine == []
