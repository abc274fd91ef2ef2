"""Notifications core: hooks → outbox → task → inbox rows; grouping windows, idempotency,
and every rule (self, blocks, mutes, deactivated, removed content, private accounts,
sender velocity)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from apps.accounts.models import User
from apps.content.models import Post
from apps.engagement import services as engagement_services
from apps.notifications import services, types
from apps.notifications.models import Notification, NotificationEvent, Preference
from apps.notifications.services import Candidate
from apps.social.models import Follow, FollowRequest
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory
from tests.notifications.inbox_helpers import inbox_of, run_notification_tasks
from tests.social.factories import BlockFactory, MuteFactory

pytestmark = pytest.mark.django_db


def like(user: User, post: Post) -> None:
    engagement_services.like_create(user=user, post=post)


def test_a_like_becomes_one_notification_for_the_author() -> None:
    post = PublishedPostFactory()
    fan = UserFactory(username="maya")
    like(fan, post)
    run_notification_tasks()
    [row] = inbox_of(post.author_id)
    assert (row.type, row.actor_id, row.target_type, row.target_id) == (
        "post_liked", fan.pk, "post", post.pk)
    assert row.read_at is None
    assert row.seq == 1
    from apps.notifications.services.texts import describe
    assert describe(row)[0] == "maya liked your video"


def test_likes_group_within_the_window_and_a_new_group_starts_after_it() -> None:
    post = PublishedPostFactory()
    fans = UserFactory.create_batch(4)
    start = timezone.now()

    def liked(fan: User, at: timedelta) -> list[Notification]:
        return services.notify([Candidate(
            post.author_id, "post_liked", f"post_liked:{fan.pk}:{post.pk}", actor_id=fan.pk,
            target_type="post", target_id=post.pk, group_key=f"post_liked:post:{post.pk}")],
            now=start + at)

    liked(fans[0], timedelta(0))
    liked(fans[1], timedelta(hours=5))
    liked(fans[2], types.POST_LIKED.group_window - timedelta(minutes=1))  # type: ignore[operator]
    [group] = inbox_of(post.author_id)
    assert group.actor_count == 3
    assert group.actor_ids == [fans[2].pk, fans[1].pk, fans[0].pk]
    assert group.seq == 3  # grew: a new state each time
    liked(fans[3], types.POST_LIKED.group_window + timedelta(minutes=1))  # type: ignore[operator]
    newer, older = inbox_of(post.author_id)
    assert (newer.actor_count, older.actor_count) == (1, 3)
    from apps.notifications.services.texts import describe
    assert describe(older)[0].endswith("and 2 others liked your video")


def test_a_read_group_that_grows_is_unread_again() -> None:
    post = PublishedPostFactory()
    a, b = UserFactory.create_batch(2)
    like(a, post)
    run_notification_tasks()
    services.notifications_mark_all_read(user=post.author)
    like(b, post)
    run_notification_tasks()
    [row] = inbox_of(post.author_id)
    assert row.actor_count == 2
    assert row.read_at is None


def test_a_hook_that_fires_twice_makes_one_notification() -> None:
    post = PublishedPostFactory()
    fan = UserFactory()
    like(fan, post)
    engagement_services.like_delete(user=fan, post_id=post.pk)
    like(fan, post)  # the hook fires again for the new like
    run_notification_tasks()
    services.event_handle(event="post_liked", payload={"user_id": fan.pk, "post_id": post.pk})
    [row] = inbox_of(post.author_id)
    assert row.actor_count == 1
    assert NotificationEvent.objects.filter(notification=row).count() == 1


def test_nobody_is_told_about_their_own_like() -> None:
    post = PublishedPostFactory()
    like(post.author, post)
    run_notification_tasks()
    assert inbox_of(post.author_id) == []


@pytest.mark.parametrize("relation", ["recipient_blocked", "actor_blocked", "muted"])
def test_nothing_from_blocked_or_muted_people(relation: str) -> None:
    post = PublishedPostFactory()
    fan = UserFactory()
    like(fan, post)  # liked before the block: the task runs after it
    if relation == "recipient_blocked":
        BlockFactory(blocker=post.author, blocked=fan)
    elif relation == "actor_blocked":
        BlockFactory(blocker=fan, blocked=post.author)
    else:
        MuteFactory(muter=post.author, muted=fan)
    run_notification_tasks()
    assert inbox_of(post.author_id) == []


def test_nothing_to_a_deactivated_account() -> None:
    post = PublishedPostFactory()
    like(UserFactory(), post)
    User.objects.filter(pk=post.author_id).update(deactivated_at=timezone.now())
    run_notification_tasks()
    assert inbox_of(post.author_id) == []


def test_nothing_about_a_post_removed_before_delivery() -> None:
    post = PublishedPostFactory()
    like(UserFactory(), post)
    Post.objects.filter(pk=post.pk).update(status=Post.Status.REMOVED)
    run_notification_tasks()
    assert inbox_of(post.author_id) == []


def test_a_type_turned_off_in_app_is_not_stored_but_security_always_is() -> None:
    post = PublishedPostFactory()
    Preference.objects.create(user=post.author, type="post_liked", channel="in_app",
                              enabled=False)
    Preference.objects.create(user=post.author, type="security", channel="in_app",
                              enabled=False)  # not offered by the API; ignored anyway
    like(UserFactory(), post)
    services.event_handle(event="security", payload={
        "user_id": post.author_id, "kind": "password_changed", "detail": {}, "uid": "x1"})
    run_notification_tasks()
    assert [row.type for row in inbox_of(post.author_id)] == ["security"]


@override_settings(NOTIFICATIONS_NEW_SENDER_BUDGET_PER_HOUR=3)
def test_a_new_account_liking_many_posts_notifies_only_within_its_budget() -> None:
    storm = UserFactory()  # joined now: the new-account budget
    posts = PublishedPostFactory.create_batch(6)
    for post in posts:
        like(storm, post)
    run_notification_tasks()
    told = Notification.objects.filter(actor=storm).count()
    assert told == 3
    # an older account is not limited by the new-account budget
    veteran = UserFactory()
    User.objects.filter(pk=veteran.pk).update(date_joined=timezone.now() - timedelta(days=30))
    for post in posts:
        like(veteran, post)
    run_notification_tasks()
    assert Notification.objects.filter(actor_ids__contains=[veteran.pk]).count() == 6


@pytest.mark.django_db(transaction=True)
def test_follow_public_is_a_follow_private_is_a_request_answered_from_the_notification(
) -> None:
    from rest_framework.test import APIClient

    from apps.social import services as social_services

    public, private = UserFactory(), UserFactory(is_private=True)
    fan = UserFactory()
    social_services.follow_create(follower=fan, followee=public)
    social_services.follow_create(follower=fan, followee=private)
    run_notification_tasks()
    assert [r.type for r in inbox_of(public.pk)] == ["follow"]
    [request_row] = inbox_of(private.pk)
    assert request_row.type == "follow_request"  # not "started following you"
    client = APIClient()
    client.force_authenticate(private)
    listed = client.get("/api/v1/notifications?tab=followers").json()["results"]
    assert listed[0]["request_pending"] is True
    answer = client.post(f"/api/v1/notifications/{request_row.pk}/follow_request",
                         {"action": "accept"}, format="json")
    assert answer.status_code == 204
    assert Follow.objects.filter(follower=fan, followee=private).exists()
    run_notification_tasks()
    # the private account is not told "started following you" about what it approved;
    # the requester is told it was accepted
    assert [r.type for r in inbox_of(private.pk)] == ["follow_request"]
    assert [r.type for r in inbox_of(fan.pk)] == ["follow_accepted"]
    listed = client.get("/api/v1/notifications?tab=followers").json()["results"]
    assert listed[0]["request_pending"] is False
    assert listed[0]["read"] is True
    # decline another one
    other = UserFactory()
    social_services.follow_create(follower=other, followee=private)
    run_notification_tasks()
    newest = inbox_of(private.pk)[0]
    assert client.post(f"/api/v1/notifications/{newest.pk}/follow_request",
                       {"action": "decline"}, format="json").status_code == 204
    assert not FollowRequest.objects.filter(requester=other).exists()
    assert not Follow.objects.filter(follower=other, followee=private).exists()
    # a notification that is not a request: 404 in the error shape
    stranger = client.post(f"/api/v1/notifications/{inbox_of(fan.pk)[0].pk}/follow_request",
                           {"action": "accept"}, format="json")
    assert stranger.status_code == 404
    assert stranger.json()["error"]["code"] == "not_found"
