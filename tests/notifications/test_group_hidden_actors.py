"""A group whose latest actor is hidden since (blocked either way, muted, or the account
deleted) stays in the inbox with the people who remain, counted without those hidden; it
goes only when nobody it names is left (it used to vanish with its latest actor, and a
deleted account's CASCADE deleted everyone else's likes with it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.notifications import selectors, services
from apps.notifications.models import Notification
from apps.notifications.services import Candidate
from apps.social import services as social_services
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _likes(owner: User, likers: Sequence[User]) -> Notification:
    post = PublishedPostFactory(author=owner)
    for liker in likers:  # one at a time: the last one is the group's latest actor
        services.notify([Candidate(owner.pk, "post_liked", f"g:{liker.pk}:{post.pk}",
                                   actor_id=liker.pk, target_type="post", target_id=post.pk,
                                   group_key=f"post_liked:post:{post.pk}")])
    return Notification.objects.get(recipient=owner, target_id=post.pk)


def _inbox(owner: User) -> tuple[list[dict[str, Any]], int]:
    client = APIClient()
    client.force_authenticate(owner)
    listed = client.get("/api/v1/notifications").json()["results"]
    return listed, client.get("/api/v1/notifications/unread_count").json()["unread"]


@pytest.mark.parametrize("how", ["muted", "blocked", "blocked_by", "deleted"])
def test_the_group_stays_with_the_others_when_its_latest_actor_is_hidden(how: str) -> None:
    owner = UserFactory()
    maya, leo, latest = (UserFactory(username=f"{n}{how}") for n in ("maya", "leo", "late"))
    row = _likes(owner, [maya, leo, latest])
    assert row.actor_id == latest.pk
    assert row.actor_count == 3
    if how == "muted":
        social_services.mute_create(muter=owner, muted=latest)
    elif how == "blocked":
        social_services.block_create(blocker=owner, blocked=latest)
    elif how == "blocked_by":
        social_services.block_create(blocker=latest, blocked=owner)
    else:
        latest.delete()

    listed, unread = _inbox(owner)
    assert [r["id"] for r in listed] == [str(row.pk)]
    [shown] = listed
    assert shown["title"] == f"leo{how} and maya{how} liked your video"
    assert [a["username"] for a in shown["actors"]] == [f"leo{how}", f"maya{how}"]
    assert shown["actor_count"] == 2
    assert unread == 1
    assert selectors.unread_counts_of([owner.pk]) == {owner.pk: 1}  # the live count too


def test_the_group_goes_when_nobody_is_left_and_stays_for_older_actors_it_did_not_keep(
) -> None:
    owner = UserFactory()
    few = UserFactory.create_batch(2)
    gone = _likes(owner, few)
    many = UserFactory.create_batch(5)
    kept = _likes(owner, many)  # keeps the latest 3 of 5
    for user in (*few, *many[2:]):
        social_services.mute_create(muter=owner, muted=user)

    listed, unread = _inbox(owner)
    assert [r["id"] for r in listed] == [str(kept.pk)]  # `gone` named only the muted
    [shown] = listed
    assert shown["actor_count"] == 2  # the two older likers it did not keep
    assert shown["actors"] == []
    assert unread == 1
    assert selectors.unread_counts_of([owner.pk]) == {owner.pk: 1}
    assert Notification.objects.filter(pk=gone.pk).exists()  # hidden, not deleted


def test_silenced_people_hide_only_groups_with_nobody_left_and_never_a_row_without_actors(
) -> None:
    """The reader has silenced people in every way at once (the inbox passes them to the
    filter as one array): a row that names nobody (a security notice) stays, a group whose
    kept actors all went in different ways (muted, blocked, blocked by, deleted) goes, a
    group with someone left stays named after them."""
    owner = UserFactory()
    muted, blocked, blocker, deleted, friend = UserFactory.create_batch(5)
    services.notify([Candidate(owner.pk, "security", f"sec:{owner.pk}")])
    notice = Notification.objects.get(recipient=owner, type="security")
    assert notice.actor_ids == []
    assert notice.actor_id is None
    all_ways = _likes(owner, [blocker, blocked, muted])
    with_deleted = _likes(owner, [deleted, muted])
    with_friend = _likes(owner, [friend, muted])
    social_services.mute_create(muter=owner, muted=muted)
    social_services.block_create(blocker=owner, blocked=blocked)
    social_services.block_create(blocker=blocker, blocked=owner)
    deleted.delete()

    listed, unread = _inbox(owner)
    assert [r["id"] for r in listed] == [str(with_friend.pk), str(notice.pk)]
    assert [a["username"] for a in listed[0]["actors"]] == [friend.username]
    assert unread == 2
    assert selectors.unread_counts_of([owner.pk]) == {owner.pk: 2}
    assert Notification.objects.filter(pk__in=[all_ways.pk, with_deleted.pk]).count() == 2
