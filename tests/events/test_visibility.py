"""POST /api/v1/events keeps only events about posts the sender may see: impressions and
watch time of private, draft, removed or unknown posts never reach the log (and so never
reach creator analytics or the ranker). One visibility query per batch."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.content.models import Post
from apps.social.models import Block, Follow
from tests.content.factories import PostFactory
from tests.events.helpers import URL, event, logged_events
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

UNKNOWN = 7_000_000_000_000_777


def send(client: APIClient, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = client.post(URL, json.dumps({"events": events}), content_type="application/json")
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def signed_in(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def watch(post_id: int) -> list[dict[str, Any]]:
    """What a client sends for one play: an impression and its watch time."""
    return [event("impression", post_id=post_id),
            event("watch_end", post_id=post_id, watched_ms=9_000, duration_ms=10_000)]


def logged_post_ids() -> set[int]:
    return {e["post_id"] for e in logged_events()}


@pytest.fixture
def viewer() -> User:
    return UserFactory()


def test_events_about_posts_the_sender_may_not_see_are_dropped(viewer: User) -> None:
    public = PostFactory()
    private_account = PostFactory(author=UserFactory(is_private=True))
    draft = PostFactory(status=Post.Status.DRAFT, published_at=None)
    removed = PostFactory(status=Post.Status.REMOVED)
    private_post = PostFactory(visibility=Post.Visibility.PRIVATE)
    blocker = UserFactory()
    Block.objects.create(blocker=blocker, blocked=viewer)
    by_blocker = PostFactory(author=blocker)
    hidden = [private_account.pk, draft.pk, removed.pk, private_post.pk, by_blocker.pk, UNKNOWN]

    body = send(signed_in(viewer), [e for pk in [public.pk, *hidden] for e in watch(pk)])

    assert body == {"accepted": 2, "duplicates": 0, "dropped": 2 * len(hidden), "rejected": []}
    assert logged_post_ids() == {public.pk}


def test_a_signed_out_sender_keeps_only_posts_anyone_may_see() -> None:
    public = PostFactory()
    private_account = PostFactory(author=UserFactory(is_private=True))
    age_restricted = PostFactory(age_restricted=True)
    friends_only = PostFactory(visibility=Post.Visibility.FRIENDS)
    events = [e for pk in (public.pk, private_account.pk, age_restricted.pk, friends_only.pk,
                           UNKNOWN) for e in watch(pk)]

    body = send(APIClient(), [{**e, "session_id": "web-anon"} for e in events])

    assert (body["accepted"], body["dropped"]) == (2, 8)
    assert logged_post_ids() == {public.pk}


def test_what_the_sender_may_see_is_kept(viewer: User) -> None:
    # an approved follower sees a private account's posts; an author their own draft
    private_author = UserFactory(is_private=True)
    Follow.objects.create(follower=viewer, followee=private_author)
    followed_private = PostFactory(author=private_author)
    own_draft = PostFactory(author=viewer, status=Post.Status.DRAFT, published_at=None)
    events = [*watch(followed_private.pk), *watch(own_draft.pk),
              event("follow", creator_id=str(private_author.pk)), event("report")]

    body = send(signed_in(viewer), events)

    assert body == {"accepted": 6, "duplicates": 0, "dropped": 0, "rejected": []}
    assert logged_post_ids() == {followed_private.pk, own_draft.pk, None}


def test_an_only_dropped_batch_appends_nothing(viewer: User) -> None:
    body = send(signed_in(viewer), watch(UNKNOWN))

    assert body == {"accepted": 0, "duplicates": 0, "dropped": 2, "rejected": []}
    assert logged_events() == []


def test_a_dropped_event_leaves_no_dedupe_marker(viewer: User) -> None:
    # the same client event id, sent again once the post is visible, is not a duplicate
    post = PostFactory(status=Post.Status.DRAFT, published_at=None)
    first = event("impression", post_id=post.pk, id_="same")
    assert send(signed_in(viewer), [first])["dropped"] == 1

    Post.objects.filter(pk=post.pk).update(status=Post.Status.PUBLISHED)

    assert send(signed_in(viewer), [first])["accepted"] == 1


def _queries_for(client: APIClient, post_ids: list[int]) -> int:
    with CaptureQueriesContext(connection) as queries:
        send(client, [e for pk in post_ids for e in watch(pk)])
    return len(queries)


def test_the_visibility_check_costs_the_same_for_any_batch_size(viewer: User) -> None:
    small = [PostFactory().pk for _ in range(2)]
    large = [PostFactory().pk for _ in range(40)]
    hidden = [PostFactory(visibility=Post.Visibility.PRIVATE).pk for _ in range(40)]
    client = signed_in(viewer)

    assert _queries_for(client, small) == _queries_for(client, [*large, *hidden]) == 1
