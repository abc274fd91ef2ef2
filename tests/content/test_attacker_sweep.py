"""Every content, engagement and comments endpoint, probed by someone who may not see the
post (blocks either way, a private account, private and friends-only posts, drafts,
scheduled, processing, held and removed posts, an age-restricted post and a minor or a
signed-out viewer): reads are 404 or leave the post out, writes are 404 (401 signed out)
and change nothing; removing one's own like or favourite answers as for an unknown id.
Each as a second account and signed out. Then other people's ids on a post the attacker may
see: 403 or 404, nothing changes; another account's private objects (collection, keyword,
device, session, export, upload, follow request, held comment, decision, notice, report):
404 or 401. Every /api/v1/ route that takes an id must be listed here (read from the URL
resolver), and garbage ids on each answer a 4xx, never a 500."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import DataExport, Device, User
from apps.comments.models import Comment, CommenterBan, CommentFilter
from apps.content import services
from apps.content.models import Post
from apps.engagement.models import Collection, EngagementSettings, Favourite, Like
from apps.feed.models import NotInterested
from apps.media import signing, storage
from apps.media.models import MediaAsset
from apps.moderation import services as moderation
from apps.moderation.models import Appeal, Case, EnforcementAction, Notice, Report
from apps.notifications.models import Notification
from apps.search.models import SearchHistory
from apps.social.models import Follow, FollowRequest
from tests.comments.helpers import comments_snapshot
from tests.content.factories import MediaAssetFactory
from tests.content.helpers import content_snapshot
from tests.engagement.helpers import engagement_snapshot
from tests.factories import UserFactory
from tests.notifications.inbox_helpers import run_notification_tasks
from tests.social.factories import BlockFactory, FollowFactory

pytestmark = pytest.mark.django_db

ARRANGEMENTS = [
    "author_blocked_attacker", "attacker_blocked_author", "private_account", "private_post",
    "friends_post", "draft", "scheduled", "processing", "reviewing", "removed",
    "age_restricted_minor", "age_restricted_signed_out",
]
# Arrangements in which a signed-out visitor could still see the post.
PUBLIC_TO_ANONYMOUS = {"author_blocked_attacker", "attacker_blocked_author"}
# Arrangements in which the owner's profile and lists are shut to the attacker.
PROFILE_SHUT = {"author_blocked_attacker", "attacker_blocked_author", "private_account"}


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
    return {**content_snapshot(), **engagement_snapshot(), **comments_snapshot(),
            "moderation": (Case.objects.count(), Report.objects.count(),
                           Appeal.objects.count()),
            "not_interested": NotInterested.objects.count()}


def _public_media_url(post: Post) -> str:
    """The post's public poster URL (what a CDN would cache), with the file in place."""
    poster = storage.asset_dir(post.asset_id) / "poster.jpg"
    poster.parent.mkdir(parents=True, exist_ok=True)
    poster.write_bytes(b"\xff\xd8\xff\xe0 poster")
    version = Post.objects.values_list("public_version", flat=True).get(pk=post.pk)
    grant = signing.public_grant(post.asset_id, version)
    return f"/api/v1/media/play/{post.asset_id}/{grant}/poster.jpg"


def _ids(response: Any) -> list[str]:
    if response.status_code != 200:
        return []
    rows = response.json().get("results", [])  # a detail (the hashtag's) has none
    return [row.get("id") or row.get("post", {}).get("id") for row in rows]


# Each arrangement as the second account and signed out, where that caller may not see the
# post (a block hides it from one account only; the minor is an account).
CALLERS = [(arrange, caller) for arrange in ARRANGEMENTS
           for caller in ("second_account", "signed_out")
           if not (caller == "signed_out" and (arrange in PUBLIC_TO_ANONYMOUS
                                               or arrange == "age_restricted_minor"))
           and not (caller == "second_account" and arrange == "age_restricted_signed_out")]


@pytest.mark.parametrize(("arrange", "caller"), CALLERS)
def test_no_endpoint_reveals_or_touches_a_post_its_caller_may_not_see(client_for, arrange,
                                                                      caller):
    world = _world(client_for)
    played = _public_media_url(world.post)
    assert Client().get(played).status_code == 200  # the probe below can see a leak
    attacker = _arrange(world, arrange) if caller == "second_account" else None
    if caller == "signed_out":
        _arrange(world, arrange)
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
    for path in ("/api/v1/hashtags/sweeptag", "/api/v1/hashtags/sweeptag/posts",
                 "/api/v1/users/owner/posts",
                 "/api/v1/users/fan/liked-posts"):
        response = client.get(path)
        assert response.status_code in (200, 403, 404), (path, response.status_code)
        assert str(pid) not in _ids(response), path
        assert str(pid) not in response.content.decode(), path
    if arrange not in PUBLIC_TO_ANONYMOUS:
        assert Client().get(f"/p/{pid}/").status_code == 404
    # the web pages that take the post's id or the owner's name, as the attacker sees them
    browser = Client()
    if attacker is not None:
        browser.force_login(attacker)
    permalink = browser.get(f"/@owner/video/{pid}")
    assert permalink.status_code == 404, permalink.status_code
    assert "secret" not in permalink.content.decode()
    drafts = browser.get("/@owner/drafts")
    assert drafts.status_code in (302, 403, 404), drafts.status_code  # the owner's only
    # the creator's own views of the post and its upload: 404 (401 signed out)
    for path in (f"/api/v1/posts/{pid}/analytics",
                 f"/api/v1/media/assets/{world.post.asset_id}",
                 f"/api/v1/studio/originals/{pid}?kind=duet"):
        response = client.get(path)
        assert response.status_code == (404 if attacker is not None else 401), (
            path, response.status_code)
        assert set(response.json()) == {"error"}
    # the owner's follower lists: never a 500; shut when the account is private or blocked
    for path in ("/api/v1/users/owner/followers", "/api/v1/users/owner/following",
                 "/api/v1/users/owner/friends", "/api/v1/users/owner"):
        response = client.get(path)
        assert response.status_code in (200, 403, 404), (path, response.status_code)
        shut = arrange in PROFILE_SHUT and (path != "/api/v1/users/owner"
                                            or arrange != "private_account")
        if shut and attacker is not None:  # a private account's profile card itself shows
            assert response.status_code in (403, 404), (arrange, path, response.status_code)
    # a public media URL of the post's upload serves nothing once the post is hidden
    if arrange not in PUBLIC_TO_ANONYMOUS:
        for play in (played, _public_media_url(world.post)):
            assert client.get(play).status_code in (403, 404), play
            assert Client().get(play).status_code in (403, 404), play
    storage.remove_asset_files(world.post.asset_id)

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
        ("post", f"/api/v1/posts/{pid}/not-interested", None),
        ("post", "/api/v1/reports", {"target_type": "post", "target_id": str(pid),
                                     "policy": "spam_scam"}),
        ("post", "/api/v1/reports", {"target_type": "comment", "target_id": str(cid),
                                     "policy": "spam_scam"}),
        ("post", "/api/v1/reports", {"target_type": "sound", "target_id": str(sound_id),
                                     "policy": "copyright"}),
    ]
    if arrange == "author_blocked_attacker":  # their account does not exist for the attacker
        writes.append(("post", "/api/v1/reports", {
            "target_type": "user", "target_id": str(world.owner.pk), "policy": "spam_scam"}))
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
    held = client_for(world.fan).post(f"/api/v1/posts/{pid}/comments", {"text": "spoiler!"},
                                      format="json").json()["id"]
    assert Comment.objects.get(pk=held).status == Comment.Status.HELD
    theirs_asset = MediaAssetFactory(owner=world.owner)
    before = _snapshot()

    assert client.get(f"/api/v1/posts/{pid}").status_code == 200  # visible, but not theirs
    for method, path, body, status in (
        ("patch", f"/api/v1/posts/{pid}", {"caption": "pwned"}, 403),
        ("get", f"/api/v1/posts/{pid}/analytics", None, 403),
        ("get", f"/api/v1/media/assets/{world.post.asset_id}", None, 404),
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
        ("post", f"/api/v1/comments/{held}/approve", None, 404),  # only its author and
        ("post", f"/api/v1/comments/{held}/reject", None, 404),  # the creator see it
        ("delete", f"/api/v1/comments/{held}", None, 404),
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


@dataclass
class Victim:
    """What one account owns that nobody else may read or change."""

    user: User
    third: User  # someone the victim deals with (a follower, a banned commenter, ...)
    post: Post
    held: Comment
    collection: Collection
    keyword: CommentFilter
    device: Device
    session: UserSession
    export: DataExport
    upload: MediaAsset
    follow_request: FollowRequest
    action: EnforcementAction
    notice: Notice
    report: Report
    search: SearchHistory


def _victim(client_for: Any) -> Victim:
    user, third = UserFactory(username="victim"), UserFactory(username="third")
    post = services.post_create(author=user, asset_id=MediaAssetFactory(owner=user).pk,
                                caption="the victim's post")
    keyword = CommentFilter.objects.create(creator=user, keyword="spoiler")
    held = client_for(third).post(f"/api/v1/posts/{post.pk}/comments",
                                  {"text": "spoiler alert"}, format="json").json()
    third_post = services.post_create(author=third, asset_id=MediaAssetFactory(owner=third).pk)
    report = moderation.report_create(reporter=user, target_type="post",
                                      target_id=third_post.pk, policy="spam_scam")
    removed = services.post_create(author=user, asset_id=MediaAssetFactory(owner=user).pk)
    action = moderation.enforce(action="remove", target_type="post", target_id=removed.pk,
                                policy="spam_scam", reason="spam")
    moderation.appeal_create(user=user, action_id=action.pk, statement="mine")
    run_notification_tasks()  # the notice's notification holds its read state
    CommenterBan.objects.create(creator=user, user=third)
    FollowFactory(follower=third, followee=user)
    User.objects.filter(pk=user.pk).update(is_private=True)
    return Victim(
        user=user, third=third, post=post, held=Comment.objects.get(pk=held["id"]),
        collection=Collection.objects.create(owner=user, name="Private"), keyword=keyword,
        device=Device.objects.create(user=user, device_identifier="victim-phone"),
        session=UserSession.objects.create(user=user, ip="192.0.2.1", session_key="victim-s",
                                           user_agent="phone"),
        export=DataExport.objects.create(user=user),
        upload=MediaAssetFactory(owner=user, state=MediaAsset.State.UPLOADING,
                                 s3_upload_id="victim-multipart", upload_length=1000,
                                 upload_expires_at=timezone.now() + timedelta(hours=1)),
        follow_request=FollowRequest.objects.create(requester=UserFactory(), target=user),
        action=action, notice=Notice.objects.get(user=user, action=action), report=report,
        search=SearchHistory.objects.create(user=user, query="my secret", normalized="my secret"))


def _victim_snapshot(v: Victim) -> dict[str, Any]:
    return {
        "rows": [m.objects.filter(pk=o.pk).exists() for m, o in (
            (Collection, v.collection), (CommentFilter, v.keyword), (Device, v.device),
            (UserSession, v.session), (DataExport, v.export), (MediaAsset, v.upload),
            (FollowRequest, v.follow_request), (SearchHistory, v.search))],
        "collection": Collection.objects.values_list("name", flat=True).get(pk=v.collection.pk),
        "device": Device.objects.values_list("push_token", flat=True).get(pk=v.device.pk),
        "upload": MediaAsset.objects.values_list("state", flat=True).get(pk=v.upload.pk),
        "held": Comment.objects.values_list("status", flat=True).get(pk=v.held.pk),
        "ban": CommenterBan.objects.filter(creator=v.user, user=v.third).exists(),
        "follower": Follow.objects.filter(follower=v.third, followee=v.user).exists(),
        "appeals": list(Appeal.objects.values_list("appellant_id", "action_id")),
        # a notice's read state is its notification's (the inbox's, the only one)
        "notice_read": Notification.objects.filter(
            target_type="notice", target_id=v.notice.pk).values_list("read_at", flat=True)
        .first(),
        "follows": Follow.objects.count(),
    }


@pytest.mark.parametrize("caller", ["second_account", "signed_out"])
def test_another_accounts_private_objects_are_refused(client_for, caller):
    """Another user's collection, keyword, device, session, export, upload, follow request,
    held comment, decision, notice and report: a second account gets 404 (or sees nothing
    and changes nothing), a signed-out client 401; never 200 with their data, never 500."""
    v = _victim(client_for)
    attacker = UserFactory(username="attacker") if caller == "second_account" else None
    client = client_for(attacker) if attacker is not None else APIClient()
    before = _victim_snapshot(v)
    forged = signing.upload_token(v.upload.pk)[:-4] + "AAAA"
    denied = 404 if attacker is not None else 401

    for method, path, body in (
        ("get", f"/api/v1/me/collections/{v.collection.pk}", None),
        ("get", f"/api/v1/me/collections/{v.collection.pk}/posts", None),
        ("patch", f"/api/v1/me/collections/{v.collection.pk}", {"name": "pwned"}),
        ("delete", f"/api/v1/me/collections/{v.collection.pk}", None),
        ("delete", f"/api/v1/me/comment-filters/{v.keyword.pk}", None),
        ("patch", f"/api/v1/me/devices/{v.device.pk}", {"push_token": "attacker"}),
        ("delete", f"/api/v1/me/sessions/{v.session.pk}", None),
        ("get", f"/api/v1/me/exports/{v.export.pk}", None),
        ("get", f"/api/v1/media/assets/{v.upload.pk}", None),
        ("delete", f"/api/v1/media/uploads/{v.upload.pk}", None),
        ("get", f"/api/v1/media/uploads/{v.upload.pk}/parts", None),
        ("post", f"/api/v1/media/uploads/{v.upload.pk}/parts", {"part_numbers": [1]}),
        ("post", f"/api/v1/media/uploads/{v.upload.pk}/complete",
         {"parts": [{"part_number": 1, "etag": "x"}]}),
        ("post", f"/api/v1/me/follow-requests/{v.follow_request.pk}/approve", None),
        ("post", f"/api/v1/me/follow-requests/{v.follow_request.pk}/deny", None),
        ("post", f"/api/v1/comments/{v.held.pk}/approve", None),
        ("post", f"/api/v1/comments/{v.held.pk}/reject", None),
        ("post", "/api/v1/appeals", {"action_id": str(v.action.pk)}),
        ("delete", f"/api/v1/search/history/{v.search.pk}", None),
    ):
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == denied, (method, path, response.status_code,
                                                response.content[:300])
        assert set(response.json()) == {"error"}
        assert response.json()["error"]["message"]
    # tus: the signed URL is the credential; a forged one is unknown, signed in or not
    tus = {"HTTP_TUS_RESUMABLE": "1.0.0"}
    for method in ("head", "delete"):
        assert getattr(client, method)(f"/api/v1/media/uploads/{forged}",
                                       **tus).status_code == 404
    untyped: Any = client  # the stubs want a str body
    patch = untyped.generic("PATCH", f"/api/v1/media/uploads/{forged}", b"xx",
                            content_type="application/offset+octet-stream",
                            HTTP_UPLOAD_OFFSET="0", **tus)
    assert patch.status_code == 404

    if attacker is not None:
        # endpoints keyed by the caller: they only ever touch the caller's own rows
        for path in (f"/api/v1/me/commenter-bans/{v.third.username}",
                     f"/api/v1/me/followers/{v.third.username}"):
            assert client.delete(path).status_code in (204, 404), path
        marked = client.post("/api/v1/me/notices/read", {"ids": [str(v.notice.pk)]},
                             format="json")
        assert marked.json() == {"marked": 0}
        for path in ("/api/v1/me/notices", "/api/v1/me/reports", "/api/v1/me/collections",
                     "/api/v1/me/sessions", "/api/v1/me/devices",
                     "/api/v1/me/held-comments", "/api/v1/me/follow-requests",
                     "/api/v1/search/history"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert response.json()["results"] == [], path
        # what the victim wrote never shows in the attacker's views
        page = client.get(f"/api/v1/posts/{v.post.pk}/comments").content.decode()
        assert str(v.held.pk) not in page
    assert _victim_snapshot(v) == before


# --- every API route that takes an id is probed above (or says where it is) -----------------

_POSTS = "test_no_endpoint_reveals_or_touches_a_post_its_caller_may_not_see"
_SEEN_POST = "test_other_peoples_ids_on_a_post_the_attacker_may_see_are_refused"
_PRIVATE = "test_another_accounts_private_objects_are_refused"
SWEPT = {
    "api/v1/posts/<str:post_id>": _POSTS,
    "api/v1/posts/<str:post_id>/analytics": _POSTS,
    "api/v1/posts/<str:post_id>/comments": _POSTS,
    "api/v1/posts/<str:post_id>/engagement": _POSTS,
    "api/v1/posts/<str:post_id>/favourite": _POSTS,
    "api/v1/posts/<str:post_id>/like": _POSTS,
    "api/v1/posts/<str:post_id>/not-interested": _POSTS,
    "api/v1/posts/<str:post_id>/pin": _POSTS,
    "api/v1/posts/<str:post_id>/share": _POSTS,
    "api/v1/posts/<str:post_id>/view": _POSTS,
    "api/v1/comments/<str:comment_id>": _POSTS,
    "api/v1/comments/<str:comment_id>/replies": _POSTS,
    "api/v1/comments/<str:comment_id>/like": _POSTS,
    "api/v1/comments/<str:comment_id>/pin": _POSTS,
    "api/v1/comments/<str:comment_id>/hide": _POSTS,
    "api/v1/comments/<str:comment_id>/approve": _PRIVATE,
    "api/v1/comments/<str:comment_id>/reject": _PRIVATE,
    "api/v1/sounds/<str:sound_id>": _POSTS,
    "api/v1/sounds/<str:sound_id>/posts": _POSTS,
    "api/v1/hashtags/<str:name>": _POSTS,
    "api/v1/hashtags/<str:name>/posts": _POSTS,
    "api/v1/users/<str:username>": _POSTS,
    "api/v1/users/<str:username>/posts": _POSTS,
    "api/v1/users/<str:username>/liked-posts": _POSTS,
    "api/v1/users/<str:username>/followers": _POSTS,
    "api/v1/users/<str:username>/following": _POSTS,
    "api/v1/users/<str:username>/friends": _POSTS,
    "api/v1/media/assets/<int:asset_id>": _POSTS,
    "api/v1/media/play/<int:asset_id>/<str:grant>/<path:name>": _POSTS,
    "api/v1/me/collections/<str:collection_id>": _SEEN_POST,
    "api/v1/me/collections/<str:collection_id>/posts": _SEEN_POST,
    "api/v1/me/comment-filters/<str:filter_id>": _SEEN_POST,
    "api/v1/me/commenter-bans/<str:username>": _PRIVATE,
    "api/v1/me/devices/<int:device_id>": _PRIVATE,
    "api/v1/me/exports/<int:export_id>": _PRIVATE,
    "api/v1/me/follow-requests/<str:request_id>/approve": _PRIVATE,
    "api/v1/me/follow-requests/<str:request_id>/deny": _PRIVATE,
    "api/v1/me/followers/<str:username>": _PRIVATE,
    "api/v1/me/sessions/<int:session_id>": _PRIVATE,
    "api/v1/media/uploads/<int:asset_id>": _PRIVATE,
    "api/v1/media/uploads/<int:asset_id>/complete": _PRIVATE,
    "api/v1/media/uploads/<int:asset_id>/parts": _PRIVATE,
    "api/v1/media/uploads/<str:token>": _PRIVATE,
    "api/v1/search/history/<str:history_id>": _PRIVATE,
    "api/v1/studio/originals/<str:post_id>": _POSTS,
}
# Routes about the caller's own relation to a user, probed where that relation lives.
_MESSAGING = ("tests/messaging/test_api_access.py::test_every_endpoint_is_a_404_for_outsiders"
              " (a stranger, a removed member, a member who left; signed out)")
_STUDIO = "tests/studio/test_access.py::test_another_account_and_a_signed_out_client_reach_nothing"
ELSEWHERE = {
    **dict.fromkeys((
        "api/v1/conversations/<str:conversation_id>",
        *(f"api/v1/conversations/<str:conversation_id>/{tail}" for tail in (
            "accept", "archive", "clear", "decline", "leave", "members",
            "members/<str:user_id>", "messages", "messages/<str:message_id>",
            "messages/<str:message_id>/hide", "messages/<str:message_id>/reaction", "mute",
            "pin", "read", "report"))), _MESSAGING),
    **dict.fromkeys((
        "api/v1/media/assets/<int:asset_id>/captions",
        "api/v1/media/assets/<int:asset_id>/captions/<str:language>",
        "api/v1/studio/edits/<str:edit_id>", "api/v1/studio/edits/<str:edit_id>/render",
        "api/v1/studio/previews/<str:preview_id>",
        "api/v1/studio/previews/<str:preview_id>/file"), _STUDIO),
    "api/v1/users/<str:username>/follow":
        "tests/social/test_api_writes.py::test_hidden_accounts_cannot_be_followed_blocked_or_"
        "muted, ::test_following_someone_who_blocked_you_is_a_404_as_if_they_did_not_exist",
    "api/v1/users/<str:username>/block":
        "tests/social/test_api_writes.py::test_hidden_accounts_cannot_be_followed_blocked_or_"
        "muted",
    "api/v1/users/<str:username>/mute":
        "tests/social/test_api_writes.py::test_hidden_accounts_cannot_be_followed_blocked_or_"
        "muted",
    "api/v1/notifications/<str:notification_id>/read":
        "tests/notifications/test_inbox_api.py::test_unread_count_mark_one_and_all_and_other_"
        "peoples_ids",
    "api/v1/notifications/<str:notification_id>/follow_request":
        "tests/notifications/test_inbox_api.py::test_unread_count_mark_one_and_all_and_other_"
        "peoples_ids",
    "api/v1/notifications/creators/<str:username>":
        "tests/notifications/test_inbox_api.py::test_creator_post_notifications_opt_in_only_"
        "for_followed_creators",
    **dict.fromkeys((
        "api/v1/users/<str:username>/subscription-tiers",
        "api/v1/me/subscription-tiers/<str:tier_id>",
        "api/v1/subscriptions/<str:subscription_id>",
        "api/v1/subscriptions/<str:subscription_id>/cancel",
        "api/v1/subscriptions/<str:subscription_id>/resume"),
        "tests/monetization/test_subscriptions_api.py::test_other_peoples_tiers_and_"
        "subscriptions_are_404 (another account 404, signed out 401/403, blocked 404)"),
    **dict.fromkeys((
        "api/v1/coins/purchases/<str:purchase_id>", "api/v1/posts/<str:post_id>/gifts",
        "api/v1/posts/<str:post_id>/tips", "api/v1/users/<str:username>/tips"),
        "tests/monetization/test_coins_access.py::test_other_peoples_ids_and_signed_out_are_"
        "refused (another account 404, hidden posts 404, signed out 401/403)"),
    "api/v1/me/payouts/<str:payout_id>":
        "tests/monetization/test_payouts.py::test_api_strict_amounts_idempotency_and_others_"
        "payouts (another account 404 and an empty list, signed out 401/403)",
    "api/v1/me/kyc/documents/<str:document_id>":
        "tests/monetization/test_kyc.py::test_upload_submit_review_and_staff_only_viewing "
        "(another account 404, signed out 401/403, the file stays; staff-only admin view)",
    **dict.fromkeys((
        "api/v1/live/<str:live_id>",
        *(f"api/v1/live/<str:live_id>/{tail}" for tail in ("end", "replay", "stats"))),
        "tests/live/test_api.py::test_other_people_and_signed_out_callers_get_404s_and_401s_"
        "in_the_error_shape (another account 404, a follower 404 on the host's routes, "
        "signed out 401, malformed ids 404)"),
    "api/v1/live/<str:live_id>/report":
        "tests/live/test_safety.py::test_a_report_of_a_live_keeps_its_frame_and_chat_and_the_"
        "review_page_shows_the_stream (a live the reporter may not see 404, signed out 401)",
    **dict.fromkeys((
        *(f"api/v1/live/<str:live_id>/{tail}" for tail in (
            "chat", "chat/settings", "chat/<str:message_id>", "pin", "mutes",
            "mutes/<str:user_id>", "bans", "bans/<str:user_id>", "likes", "gifts")),
        "api/v1/live/chat/moderators/<str:user_id>"),
        "tests/live/test_chat_access.py::test_outsiders_reach_nothing_and_viewers_no_host_"
        "tools (a live another account may not see 404, signed out 401/403, a viewer 403)"),
    **dict.fromkeys((
        "api/v1/marketplace/deals/<str:deal_id>",
        "api/v1/marketplace/deals/<str:deal_id>/<str:step>"),
        "tests/marketplace/test_api.py::test_the_creators_steps_through_the_api_and_others_"
        "get_404 (another account 404, signed out 401; the brand's side in the portal: "
        "tests/marketplace/test_portal.py)"),
    "api/v1/posts/<str:post_id>/branded":
        "tests/marketplace/test_disclosure.py::test_someone_elses_post_or_bad_input_is_"
        "refused_in_the_error_shape (another account 404, signed out 401)",
    **dict.fromkeys((
        "api/v1/ads/campaigns/<str:campaign_id>/adgroups",
        "api/v1/ads/adgroups/<str:group_id>"),
        "tests/ads/test_adgroups_api.py::test_another_orgs_ids_are_not_found_and_nothing_"
        "changes (another org's group or campaign 404 as unknown, its audience refused) and "
        "::test_an_analyst_reads_but_cannot_change_and_a_visitor_gets_nothing (403, signed "
        "out 401/403)"),
    # No account: a provider's name, and the request authenticated by its signature alone.
    "api/v1/payments/webhooks/<str:provider>":
        "tests/payments/test_webhooks.py::test_forged_stale_and_malformed_webhooks_are_"
        "refused (unknown providers 404; forged, stale, malformed 400)",
}


def _api_routes_with_ids() -> set[str]:
    def walk(patterns: list[Any], prefix: str) -> list[tuple[str, URLPattern]]:
        found: list[tuple[str, URLPattern]] = []
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                found += walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                found.append((route, pattern))
        return found

    return {route for route, pattern in walk(get_resolver().url_patterns, "")
            if route.startswith("api/v1/") and pattern.pattern.converters}


@pytest.mark.django_db(databases=[])
def test_every_api_route_that_takes_an_id_is_in_the_attacker_sweep():
    """A new object endpoint fails here until the sweep probes it with a second account
    and a signed-out client."""
    routes = _api_routes_with_ids()
    assert routes - set(SWEPT) - set(ELSEWHERE) == set(), "add it to the sweep"
    assert (set(SWEPT) | set(ELSEWHERE)) - routes == set(), "a route that no longer exists"
    assert set(SWEPT.values()) <= set(globals())


_GARBAGE = {"int": ["0", str(2**70)], "str": ["0", "-1", "abc", str(2**70), "1e3", "%00"],
            "path": ["hls/master.m3u8", "../../etc/passwd"]}
_PLAIN = {"int": "1", "str": "1", "path": "poster.jpg"}


@pytest.mark.parametrize("signed_in", [True, False], ids=["second_account", "signed_out"])
def test_garbage_ids_on_every_id_route_are_a_4xx_in_the_error_shape(client_for, signed_in):
    """Unknown, malformed and out-of-range ids on every route that takes one (found from the
    URL resolver): a 4xx with a message, for every method the view answers; never a 500."""
    client = client_for(UserFactory()) if signed_in else APIClient()
    checked = 0
    for route in sorted(_api_routes_with_ids()):
        parts = re.findall(r"<(\w+):\w+>", route)
        tokens = re.findall(r"<\w+:\w+>", route)

        def path_with(garbage_at: int, value: str, route: str = route,
                      parts: list[str] = parts, tokens: list[str] = tokens) -> str:
            path = "/" + route
            for n, (token, kind) in enumerate(zip(tokens, parts, strict=True)):
                path = path.replace(token, value if n == garbage_at else _PLAIN[kind], 1)
            return path

        view = get_resolver().resolve(path_with(-1, "")).func.view_class  # type: ignore[attr-defined]
        methods = [m for m in ("get", "post", "patch", "put", "delete") if hasattr(view, m)]
        for at, kind in enumerate(parts):
            for value in _GARBAGE[kind]:
                path = path_with(at, value)
                for method in methods:
                    response = getattr(client, method)(path, None if method == "get" else {},
                                                       format="json")
                    checked += 1
                    assert 400 <= response.status_code < 500, (method, path,
                                                               response.status_code)
                    assert response.json()["error"]["message"], (method, path)
    assert checked > 200
