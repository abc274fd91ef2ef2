"""Creator analytics of issue 16: per-second retention (the consumer's step, arrays of
different lengths, the backfill from the log), traffic sources, followers lost, the
audience's k-threshold, earnings from monetization, and query counts that do not grow with
the number of posts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.analytics import selectors, services
from apps.analytics.models import (
    PostSecondRetention,
    RetentionAppliedEntry,
    UserPostStats,
)
from apps.analytics.selectors import AUDIENCE_MIN_COUNT
from apps.content.models import Post
from tests.analytics.test_consumer import T0, send
from tests.content.factories import PostFactory
from tests.events.helpers import URL, event, now_ms
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
K = AUDIENCE_MIN_COUNT


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def ended(post: Post, watched_ms: int, duration_ms: int = 10_000, kind: str = "watch_end"
          ) -> dict[str, object]:
    return event(kind, post_id=post.pk, ts=T0, watched_ms=watched_ms, duration_ms=duration_ms)


def curve(post: Post) -> list[int]:
    return list(PostSecondRetention.objects.get(post_id=post.pk).reached)


# --- retention per second ------------------------------------------------------------------


def test_the_consumer_counts_viewers_still_watching_at_each_second(auth_client):
    post = PostFactory()
    send(auth_client, [ended(post, 3_500), ended(post, 500, kind="skip"),
                       ended(post, 15_000)])  # looped: it reached the end (10 s)

    services.events_consume(consumer="c")

    assert curve(post) == [3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1]
    body = client_for(post.author).get(f"/api/v1/posts/{post.pk}/analytics").json()
    assert body["retention_seconds"][0] == {"second": 0, "viewers": 3, "viewers_percent": 100.0}
    assert body["retention_seconds"][3] == {"second": 3, "viewers": 2,
                                            "viewers_percent": 66.67}
    assert body["retention_seconds"][-1] == {"second": 10, "viewers": 1,
                                             "viewers_percent": 33.33}


def test_a_longer_play_extends_the_curve_and_a_shorter_one_adds_to_its_start(auth_client):
    # arrays of different lengths add element-wise (the stored one shorter, then longer)
    post = PostFactory()
    send(auth_client, [ended(post, 2_500)])
    services.events_consume(consumer="c")
    send(auth_client, [ended(post, 5_000)])
    services.events_consume(consumer="c")
    send(auth_client, [ended(post, 1_000)])
    services.events_consume(consumer="c")

    assert curve(post) == [3, 3, 2, 1, 1, 1]


def test_a_client_claiming_hours_is_clamped_to_the_longest_post(auth_client):
    post = PostFactory()
    send(auth_client, [ended(post, 3_000_000, duration_ms=3_600_000)])

    services.events_consume(consumer="c")

    assert len(curve(post)) == services.RETENTION_MAX_SECONDS + 1


def test_the_backfill_counts_what_the_log_holds_once(auth_client):
    post = PostFactory()
    send(auth_client, [ended(post, 2_000)])  # applied before the per-second step existed:
    services.events_consume(consumer="c")
    PostSecondRetention.objects.all().delete()
    RetentionAppliedEntry.objects.all().delete()
    send(auth_client, [ended(post, 4_000)])  # not consumed yet

    first = services.retention_backfill()
    services.events_consume(consumer="c")  # the second entry: aggregates yes, curve no
    again = services.retention_backfill()

    assert (first.read, first.applied) == (2, 2)
    assert (again.read, again.applied) == (2, 0)
    assert curve(post) == [2, 2, 2, 1, 1]


def test_the_backfill_leaves_out_entries_older_than_its_window(auth_client):
    post = PostFactory()
    send(auth_client, [ended(post, 2_000)])

    report = services.retention_backfill(now_ms=now_ms() + 7 * 86_400_000)

    assert (report.read, report.applied) == (0, 0)
    assert not PostSecondRetention.objects.exists()


# --- sources and followers -----------------------------------------------------------------


def test_views_by_source_and_followers_gained_and_lost(auth_client):
    creator = UserFactory()
    post = PostFactory(author=creator)
    send(auth_client, [
        event("play_start", post_id=post.pk, ts=T0, source="for_you"),
        event("play_start", post_id=post.pk, ts=T0, source="for_you"),
        event("play_start", post_id=post.pk, ts=T0, source="profile"),
        event("play_start", post_id=post.pk, ts=T0),  # an app that names no source
        event("follow", ts=T0, creator_id=str(creator.pk)),
        event("unfollow", ts=T0, creator_id=str(creator.pk)),
        event("unfollow", ts=T0, creator_id=str(creator.pk)),
    ])
    services.events_consume(consumer="c")

    body = client_for(creator).get("/api/v1/me/analytics").json()

    sources = {s["source"]: (s["views"], s["percent"]) for s in body["traffic_sources"]}
    assert sources["for_you"] == (2, 50.0)
    assert sources["profile"] == (1, 25.0)
    assert sources["not_reported"] == (1, 25.0)
    assert sources["search"] == (0, 0.0)
    assert (body["followers_gained"], body["followers_lost"]) == (1, 2)
    assert (body["daily"][-1]["followers_gained"], body["daily"][-1]["followers_lost"]) == (1, 2)
    # monetization's answer (analytics.hooks.creator_earnings): nothing earned, RPM $0
    assert body["earnings"] == {"available": True, "message": "", "currency": "USD",
                                "earned_minor": 0, "rpm_minor": 0}


def test_an_unknown_source_or_an_unfollow_without_creator_is_refused(auth_client):
    post = PostFactory()
    response = auth_client.post(URL, {"events": [
        event("play_start", post_id=post.pk, source="billboard"),
        event("unfollow"),
    ]}, format="json")

    rejected = {r["index"]: r["error"]["fields"] for r in response.json()["rejected"]}
    assert set(rejected) == {0, 1}
    assert "data.source" in rejected[0]
    assert "data.creator_id" in rejected[1]


# --- audience ------------------------------------------------------------------------------


def watched_by(post: Post, n: int, *, country: str = "FR", born: date | None = date(1995, 6, 1),
               plays: int = 1, at: datetime | None = None) -> list[User]:
    viewers: list[Any] = [UserFactory(country=country, date_of_birth=born) for _ in range(n)]
    UserPostStats.objects.bulk_create([
        UserPostStats(user_id=v.pk, post_id=post.pk, plays=plays,
                      last_event_at=at or timezone.now()) for v in viewers])
    return viewers


def audience(creator: User, **kwargs: object) -> selectors.Audience:
    return selectors.audience_for(creator_id=creator.pk, days=7, **kwargs)  # type: ignore[arg-type]


def groups(found: list[selectors.AudienceGroup]) -> list[tuple[str, int]]:
    return [(g.key, g.viewers) for g in found]


def test_an_audience_below_the_threshold_is_not_shown_at_all():
    post = PostFactory()
    watched_by(post, K - 1)

    found = audience(post.author)

    assert (found.viewers, found.countries, found.age_bands) == (None, [], [])
    body = client_for(post.author).get("/api/v1/me/analytics").json()
    assert body["audience"] == {"min_count": K, "viewers": None, "countries": [],
                                "age_bands": []}


def test_an_audience_at_the_threshold_is_shown():
    post = PostFactory()
    watched_by(post, K)

    found = audience(post.author)

    assert found.viewers == K
    assert groups(found.countries) == [("FR", K)]
    assert groups(found.age_bands) == [("25-34", K)]
    assert found.countries[0].percent == 100.0


def test_a_country_just_below_the_threshold_is_hidden_and_just_above_it_shown():
    post = PostFactory()
    watched_by(post, K, country="FR")
    watched_by(post, K - 1, country="DE")

    assert groups(audience(post.author).countries) == [("FR", K)]  # "other" (9) hidden too

    watched_by(post, 1, country="DE")

    assert groups(audience(post.author).countries) == [("DE", K), ("FR", K)]


def test_small_groups_and_unknowns_are_shown_together_as_other_only_from_the_threshold():
    post = PostFactory()
    watched_by(post, K, country="FR")
    watched_by(post, K // 2, country="DE")
    watched_by(post, K - K // 2, country="", born=None)

    found = audience(post.author)

    assert groups(found.countries) == [("FR", K), ("other", K)]
    # the unknown ages alone (5) stay hidden
    assert groups(found.age_bands) == [("25-34", K + K // 2)]


def test_age_bands_split_on_birthdays():
    post = PostFactory()
    now = datetime(2026, 6, 15, 12, tzinfo=UTC)
    watched_by(post, K, born=date(2008, 6, 15), at=now)  # 18 today
    watched_by(post, K, born=date(2008, 6, 16), at=now)  # 17 until tomorrow

    found = audience(post.author, now=now)

    assert sorted(groups(found.age_bands)) == [("13-17", K), ("18-24", K)]


def test_the_audience_counts_distinct_viewers_of_this_creator_in_the_period_only():
    creator = UserFactory()
    first, second = PostFactory(author=creator), PostFactory(author=creator)
    viewers = watched_by(first, K - 1)
    UserPostStats.objects.bulk_create([  # the same people on another post count once
        UserPostStats(user_id=v.pk, post_id=second.pk, plays=1, last_event_at=timezone.now())
        for v in viewers])
    UserPostStats.objects.create(user_id=creator.pk, post_id=first.pk, plays=1,
                                 last_event_at=timezone.now())  # the creator's own views
    watched_by(first, 1, plays=0)  # shown the post, never played it
    watched_by(first, 1, at=timezone.now() - timedelta(days=8))  # before the period
    watched_by(PostFactory(), 1)  # someone else's post

    assert audience(creator).viewers is None

    watched_by(second, 1)

    assert audience(creator).viewers == K


# --- who sees what, and how fast -----------------------------------------------------------


def test_a_removed_post_s_analytics_are_its_creator_s_only(user):
    post = PostFactory()
    Post.objects.filter(pk=post.pk).update(status=Post.Status.REMOVED)
    url = f"/api/v1/posts/{post.pk}/analytics"

    assert client_for(post.author).get(url).status_code == 200
    assert client_for(user).get(url).status_code == 404
    assert client_for(None).get(url).status_code == 401
    assert client_for(None).get("/api/v1/me/analytics").status_code == 401


def _my_analytics_queries(creator: User) -> int:
    client = client_for(creator)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/me/analytics?period=28d")
    assert response.status_code == 200
    return len(queries)


def test_my_analytics_query_count_does_not_grow_with_posts(auth_client):
    creator = UserFactory()
    first = PostFactory(author=creator)
    watched_by(first, K)
    send(auth_client, [event("play_start", post_id=first.pk, ts=T0, source="search")])
    services.events_consume(consumer="c")
    one = _my_analytics_queries(creator)

    posts = [PostFactory(author=creator) for _ in range(20)]
    send(auth_client, [event("play_start", post_id=p.pk, ts=T0) for p in posts]
         + [ended(p, 2_000) for p in posts])
    services.events_consume(consumer="c")
    for p in posts:
        watched_by(p, 1, country="DE")

    assert _my_analytics_queries(creator) == one == 6  # + the earnings account's read
