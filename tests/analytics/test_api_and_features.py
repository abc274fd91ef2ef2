"""Creator analytics (owner only) and the online features the feed reads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rest_framework.test import APIClient

from apps.analytics import online, selectors, services
from apps.content.models import Post
from tests.analytics.test_consumer import T0, known_sequence, send
from tests.content.factories import PostFactory
from tests.events.helpers import event, now_ms
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def watched_post(auth_client) -> tuple[Post, object]:  # type: ignore[no-untyped-def]
    creator = UserFactory()
    post = PostFactory(author=creator)
    first, second, anonymous = known_sequence(post.pk, creator.pk)
    send(auth_client, first)
    send(auth_client, second)
    send(APIClient(), anonymous)
    services.events_consume(consumer="c")
    return post, creator


def test_a_creator_sees_their_totals_days_and_top_posts(watched_post, auth_client):
    post, creator = watched_post
    quiet = PostFactory(author=creator)
    send(auth_client, [event("play_start", post_id=quiet.pk, ts=T0)])
    services.events_consume(consumer="c")

    response = client_for(creator).get("/api/v1/me/analytics?period=28d")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["period"] == "28d"
    assert len(body["daily"]) == 28
    assert (body["views"], body["impressions"], body["watch_time_ms"], body["completions"],
            body["likes"], body["comments"], body["shares"], body["followers_gained"]) == \
        (4, 2, 20_500, 1, 1, 1, 1, 1)
    assert body["average_watch_percent"] == pytest.approx(100 * 1.55 / 3, abs=0.01)
    assert sum(d["views"] for d in body["daily"]) == 4
    assert body["daily"][-1]["day"] == body["until"]
    assert [(p["post_id"], p["views"]) for p in body["top_posts"]] == \
        [(str(post.pk), 3), (str(quiet.pk), 1)]


def test_someone_elses_numbers_are_not_in_my_analytics(watched_post, user):
    response = client_for(user).get("/api/v1/me/analytics")

    body = response.json()
    assert body["period"] == "7d"
    assert (body["views"], body["top_posts"], body["average_watch_percent"]) == (0, [], None)


def test_my_analytics_take_a_fixed_number_of_queries(watched_post,
                                                     django_assert_num_queries):
    _post, creator = watched_post
    for _ in range(3):
        PostFactory(author=creator)
    client = client_for(creator)

    # the days, the top posts, their captions, the audience by country (too small for the
    # age bands' query), the earnings (monetization's hook, one query)
    with django_assert_num_queries(5):
        client.get("/api/v1/me/analytics?period=7d")


def test_a_post_owner_sees_its_analytics_and_retention(watched_post):
    post, creator = watched_post

    response = client_for(creator).get(f"/api/v1/posts/{post.pk}/analytics?period=7d")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["post_id"] == str(post.pk)
    totals = body["totals"]
    assert (totals["impressions"], totals["views"], totals["watch_time_ms"], totals["skips"],
            totals["rebuffer_count"], totals["not_interested"]) == (2, 3, 20_500, 1, 2, 1)
    assert body["average_ttff_ms"] == 400
    assert body["average_watch_percent"] == pytest.approx(51.67, abs=0.01)
    assert len(body["daily"]) == 7
    assert body["retention"][0] == {"at_percent": 0, "viewers_percent": 100.0}
    assert body["retention"][10] == {"at_percent": 50, "viewers_percent": 66.67}
    assert body["retention"][20] == {"at_percent": 100, "viewers_percent": 33.33}


def test_post_analytics_are_for_the_owner_only(watched_post, user):
    post, _creator = watched_post
    private = PostFactory(visibility=Post.Visibility.PRIVATE)

    assert client_for(user).get(f"/api/v1/posts/{post.pk}/analytics").status_code == 403
    response = client_for(user).get(f"/api/v1/posts/{private.pk}/analytics")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert APIClient().get(f"/api/v1/posts/{post.pk}/analytics").status_code == 401
    assert APIClient().get("/api/v1/me/analytics").status_code == 401
    for raw in ("abc", "0", str(2**64), "9000000000000000001"):
        assert client_for(user).get(f"/api/v1/posts/{raw}/analytics").status_code == 404


def test_an_owner_sees_analytics_of_their_private_post(user):
    private = PostFactory(author=user, visibility=Post.Visibility.PRIVATE)

    response = client_for(user).get(f"/api/v1/posts/{private.pk}/analytics")

    assert response.status_code == 200
    assert response.json()["retention"] == []


@pytest.mark.parametrize("period", ["1d", "7", "28d;drop", "7D"])
def test_a_bad_period_is_a_400(user, period):
    response = client_for(user).get(f"/api/v1/me/analytics?period={period}")

    assert response.status_code == 400
    assert "period" in response.json()["error"]["fields"]


# --- online features ---------------------------------------------------------------------


def test_the_seen_set_holds_shown_posts_newest_first(auth_client, user):
    posts = [PostFactory() for _ in range(3)]
    send(auth_client, [event("impression", post_id=posts[0].pk, ts=T0),
                       event("skip", post_id=posts[1].pk, ts=T0 + 2, watched_ms=100,
                             duration_ms=9_000),
                       event("impression", post_id=posts[2].pk, ts=T0 + 1),
                       event("like", post_id=posts[2].pk, ts=T0 + 5)])
    send(APIClient(), [event("impression", post_id=posts[0].pk, ts=T0, session_id="anon")])

    services.events_consume(consumer="c")

    assert selectors.seen_post_ids(user_id=user.pk) == [posts[1].pk, posts[2].pk, posts[0].pk]
    assert selectors.seen_post_ids(user_id=None, session_id="anon") == [posts[0].pk]
    assert selectors.seen_post_ids(user_id=None, session_id="other") == []
    assert selectors.seen_among(user_id=user.pk, post_ids=[posts[0].pk, 1, posts[1].pk]) == \
        {posts[0].pk, posts[1].pk}
    # With a set of the caller's (the feed's served posts), one round trip: either set.
    online.read_client().sadd("t:served", 1, 2)
    asked = [posts[0].pk, 1, posts[1].pk, 3]
    assert selectors.seen_among_with(user_id=user.pk, post_ids=asked, own_set="t:served") \
        == {posts[0].pk, posts[1].pk, 1}
    assert selectors.seen_among_with(user_id=None, session_id="other", post_ids=asked,
                                     own_set="t:served") == {1}
    assert selectors.seen_among_with(user_id=None, post_ids=asked, own_set="t:served") == {1}
    assert selectors.seen_among_with(user_id=user.pk, post_ids=[], own_set="t:served") == set()
    online.read_client().delete("t:served")


def test_velocity_counts_the_last_hour(auth_client):
    hot, cold = PostFactory(), PostFactory()
    send(auth_client, [event("impression", post_id=hot.pk, ts=T0),
                       event("impression", post_id=hot.pk, ts=T0),
                       event("play_start", post_id=hot.pk, ts=T0),
                       event("completion", post_id=hot.pk, ts=T0),
                       event("share", post_id=hot.pk, ts=T0),
                       event("like", post_id=hot.pk, ts=T0)])
    services.events_consume(consumer="c")

    found = selectors.post_velocity([hot.pk, cold.pk])

    assert found[hot.pk] == selectors.Velocity(impressions=2, plays=1, completions=1,
                                               likes=1, shares=1)
    assert found[cold.pk] == selectors.Velocity()
    later = selectors.post_velocity([hot.pk], now_ms=now_ms() + 61 * 60 * 1000)
    assert later[hot.pk] == selectors.Velocity()


def test_watch_stats_and_completed_posts_for_the_feed(watched_post, user):
    post, _creator = watched_post

    stats = selectors.watch_stats_for(user_id=user.pk)

    assert [(s.post_id, s.completed) for s in stats] == [(post.pk, True)]
    assert selectors.completed_post_ids(user_id=user.pk) == [post.pk]
    since = selectors.period_bounds(1)[0]
    from datetime import UTC, datetime

    totals = selectors.post_totals([post.pk, 1], since=datetime.combine(
        since, datetime.min.time(), tzinfo=UTC).replace(hour=0))
    assert totals[post.pk].plays == 3
    assert totals[1] == selectors.PostTotals()


@pytest.fixture
def dead_redis(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The feed's reads against a Redis port where nothing listens."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    online.read_client.cache_clear()
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    yield
    online.read_client.cache_clear()


def test_the_feed_reads_answer_empty_when_redis_is_down(dead_redis, user):
    assert selectors.seen_post_ids(user_id=user.pk) == []
    assert selectors.seen_among(user_id=user.pk, post_ids=[1, 2]) == set()
    # this one says so (None), so the feed knows its own set went unread too
    assert selectors.seen_among_with(user_id=user.pk, post_ids=[1, 2], own_set="t") is None
    assert selectors.not_interested_for(user_id=user.pk) == selectors.NotInterested()
    assert selectors.post_velocity([1]) == {1: selectors.Velocity()}
