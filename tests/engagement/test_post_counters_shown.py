"""The post API's counters are the Postgres value plus the deltas journaled but not flushed
yet, read for a whole page in one Redis round trip (and never counted twice after the flush)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from redis.connection import Connection

from apps.content.models import Hashtag, Post, PostHashtag
from apps.core.ids import id_floor_for
from apps.engagement import counters
from tests.content.factories import LibrarySoundFactory
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

COUNT_NAMES = ("likes", "comments", "shares", "views", "favourites")


def _counts(body: dict[str, Any]) -> tuple[int, ...]:
    return tuple(body["counts"][name] for name in COUNT_NAMES)


def _engage(client_for, post: Post, fans: list[Any]) -> None:  # type: ignore[no-untyped-def]
    """Every fan likes; the first two favourite; the first shares and watches."""
    for i, fan in enumerate(fans):
        client = client_for(fan)
        assert client.post(f"/api/v1/posts/{post.pk}/like").status_code == 200
        if i < 2:
            assert client.post(f"/api/v1/posts/{post.pk}/favourite").status_code == 200
        if i == 0:
            assert client.post(f"/api/v1/posts/{post.pk}/share", {"channel": "copy_link"},
                               format="json").status_code == 201
            assert client.post(f"/api/v1/posts/{post.pk}/view", {"watched_ms": 9000},
                               format="json").status_code == 200
        # a comment moves comments_count in Postgres directly (nothing buffered)
        assert client.post(f"/api/v1/posts/{post.pk}/comments", {"text": f"nice {i}"},
                           format="json").status_code == 201


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the packets sent to Redis for the engagement counter keys (one per command,
    one per pipeline); throttles and caches use Redis too and are not counted."""
    sent = [0]
    real = Connection.send_packed_command

    def counting(self: Connection, command: Any, check_health: bool = True) -> None:
        packets = command if isinstance(command, list) else [command]
        if any(b"{engagement}" in bytes(packet) for packet in packets):
            sent[0] += 1
        real(self, command, check_health)

    monkeypatch.setattr(Connection, "send_packed_command", counting)
    return sent


def test_detail_and_every_list_show_the_pending_delta_and_no_double_count_after_flush(
    client_for,
):
    author = UserFactory(username="counted")
    track = LibrarySoundFactory()
    post = PublishedPostFactory(author=author, caption="counted #pending", sound=track)
    PostHashtag.objects.create(post=post, hashtag=Hashtag.objects.create(name="pending"))
    fans = [UserFactory() for _ in range(3)]
    _engage(client_for, post, fans)
    post.refresh_from_db()
    assert (post.likes_count, post.favourites_count, post.shares_count,
            post.views_count) == (0, 0, 0, 0)  # still in Redis
    assert post.comments_count == 3

    viewer = client_for(UserFactory())
    expected = (3, 3, 1, 1, 2)
    paths = ("/api/v1/users/counted/posts", "/api/v1/hashtags/pending/posts",
             f"/api/v1/sounds/{track.pk}/posts")
    assert _counts(viewer.get(f"/api/v1/posts/{post.pk}").json()) == expected
    for path in paths:
        assert [_counts(row) for row in viewer.get(path).json()["results"]] == [expected]

    assert counters.flush() == 1
    post.refresh_from_db()
    assert (post.likes_count, post.comments_count, post.shares_count, post.views_count,
            post.favourites_count) == expected
    assert _counts(viewer.get(f"/api/v1/posts/{post.pk}").json()) == expected
    for path in paths:
        assert [_counts(row) for row in viewer.get(path).json()["results"]] == [expected]

    # an unlike after the flush shows at once, as a negative pending delta
    assert client_for(fans[0]).delete(f"/api/v1/posts/{post.pk}/like").status_code == 204
    assert _counts(viewer.get(f"/api/v1/posts/{post.pk}").json())[0] == 2


@pytest.mark.parametrize("size", [3, 30])
def test_a_page_reads_its_pending_counters_in_one_redis_round_trip(
    client_for, api_client, round_trips, size
):
    author = UserFactory(username="busy")
    posts = [PublishedPostFactory(author=author) for _ in range(size)]
    fan = client_for(UserFactory())
    for post in posts:
        fan.post(f"/api/v1/posts/{post.pk}/like")

    round_trips[0] = 0
    rows = api_client.get("/api/v1/users/busy/posts", {"page_size": size}).json()["results"]
    assert len(rows) == size
    assert {row["counts"]["likes"] for row in rows} == {1}
    assert round_trips[0] == 1

    round_trips[0] = 0
    assert api_client.get(f"/api/v1/posts/{posts[0].pk}").json()["counts"]["likes"] == 1
    assert round_trips[0] == 1


def test_a_display_entry_a_failed_clear_left_behind_is_ignored_once_old(api_client):
    """A flush committed, then Redis failed before the display entry was removed: the
    entry (a journal id of long ago) no longer counts."""
    post = PublishedPostFactory(likes_count=1)
    long_ago = timezone.now() - timedelta(milliseconds=counters.SHOWN_MAX_AGE_MS + 5000)
    counters.redis_client().hset(f"{counters.PENDING_PREFIX}{post.pk}",
                                 str(id_floor_for(long_ago)), "likes_count:1")
    assert api_client.get(f"/api/v1/posts/{post.pk}").json()["counts"]["likes"] == 1


def test_a_redis_that_lost_the_display_entries_loses_no_delta(client_for, api_client):
    post = PublishedPostFactory()
    client_for(UserFactory()).post(f"/api/v1/posts/{post.pk}/like")
    counters.redis_client().flushdb()  # a restart without persistence
    assert api_client.get(f"/api/v1/posts/{post.pk}").json()["counts"]["likes"] == 0
    assert counters.flush() == 1
    assert api_client.get(f"/api/v1/posts/{post.pk}").json()["counts"]["likes"] == 1
