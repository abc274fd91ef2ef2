"""Each type of issue 14 fires from the real action (the services people use), not only
from a hand-made candidate."""

from __future__ import annotations

import pytest

from apps.comments import services as comment_services
from apps.notifications.services.texts import describe
from apps.social import services as social_services
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory
from tests.notifications.inbox_helpers import inbox_of, run_notification_tasks

pytestmark = pytest.mark.django_db


def test_comment_reply_mention_and_comment_like_from_the_real_actions(
        django_capture_on_commit_callbacks) -> None:
    creator, fan, friend, third = (UserFactory(username=n) for n in
                                   ("creator", "fan", "friend", "third"))
    post = PublishedPostFactory(author=creator)
    with django_capture_on_commit_callbacks(execute=True):
        top = comment_services.comment_create(author=fan, post=post, text="nice @friend")
    run_notification_tasks()
    assert [(r.type, r.actor_id) for r in inbox_of(creator.pk)] == [("comment", fan.pk)]
    assert [(r.type, r.actor_id) for r in inbox_of(friend.pk)] == [("mention_comment", fan.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        reply = comment_services.comment_create(author=third, post=post, text="agreed",
                                                parent=top)
    run_notification_tasks()
    assert [(r.type, r.actor_id) for r in inbox_of(fan.pk)] == [("reply", third.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        comment_services.comment_create(author=fan, post=post, text="thanks", parent=reply)
    run_notification_tasks()
    assert [r.type for r in inbox_of(third.pk)] == ["reply"]
    comment_services.comment_like_create(user=creator, comment=top)
    run_notification_tasks()
    newest = inbox_of(fan.pk)[0]
    assert (newest.type, describe(newest)[0]) == ("comment_liked", "creator liked your comment")
    assert describe(inbox_of(third.pk)[0])[0] == "fan replied to your comment"


def test_after_a_block_or_mute_the_inbox_hides_what_they_did_and_its_unread_count() -> None:
    """The rules stop new notifications from someone blocked or muted; the ones stored
    before are hidden on reading (list, unread count, a group's names and avatars)."""
    from rest_framework.test import APIClient

    from apps.engagement import services as engagement_services
    from apps.notifications import services

    author = UserFactory()
    liked, grouped = PublishedPostFactory(author=author), PublishedPostFactory(author=author)
    muted, blocked, kept = (UserFactory(username=n) for n in ("muted", "blocked", "kept"))
    engagement_services.like_create(user=muted, post=liked)
    engagement_services.like_create(user=muted, post=grouped)
    engagement_services.like_create(user=kept, post=grouped)  # "kept and muted liked"
    social_services.follow_create(follower=blocked, followee=author)
    run_notification_tasks()
    services.notify([services.Candidate(author.pk, "security", "security:review:1",
                                        target_type="user", target_id=author.pk,
                                        data={"kind": "password_changed"})])
    client = APIClient()
    client.force_authenticate(author)
    assert client.get("/api/v1/notifications/unread_count").json()["unread"] == 4
    social_services.mute_create(muter=author, muted=muted)
    social_services.block_create(blocker=author, blocked=blocked)
    listed = client.get("/api/v1/notifications").json()["results"]
    assert [(r["type"], r["title"]) for r in listed] == [
        ("security", "Your password was changed"),
        ("post_liked", "kept liked your video"),  # counted without the muted one
    ]
    assert [a["username"] for a in listed[1]["actors"]] == ["kept"]
    assert client.get("/api/v1/notifications/unread_count").json()["unread"] == 2
    # the person blocked the author instead: the same
    social_services.block_create(blocker=kept, blocked=author)
    listed = client.get("/api/v1/notifications").json()["results"]
    assert [r["type"] for r in listed] == ["security"]


@pytest.mark.django_db(transaction=True)
def test_a_websocket_replay_leaves_out_what_the_inbox_hides() -> None:
    import asyncio

    from apps.notifications.models import Notification
    from tests.notifications.test_live import _connect, _cookie, _like, _until_count

    owner = UserFactory()
    hidden = _like(owner)
    shown = _like(owner)
    muted = Notification.objects.get(pk=hidden.pk).actor
    assert muted is not None
    social_services.mute_create(muter=owner, muted=muted)
    cookie = _cookie(owner)

    async def run() -> None:
        ws = await _connect(cookie, "?after=0")
        replay = await _until_count(ws)
        assert [m["notification"]["id"] for m in replay
                if m["type"] == "notification"] == [str(shown.pk)]
        assert replay[-1]["unread_count"] == 1
        await ws.disconnect()

    asyncio.run(run())
