"""Trending searches and hashtags and click-through (issue 13), from real events: posted to
the event API, read from the Redis stream by search's consumer group, counted, ranked.
A term trends only with enough distinct signed-in users; blocked search terms never do."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.analytics import services as analytics_services
from apps.events.log import RedisStreamEventLog
from apps.moderation.detection.models import TermList
from apps.search import discovery
from apps.search.models import SearchAppliedEntry, SearchTermHour, Trending
from apps.search.services import trending
from tests.content.factories import PostFactory
from tests.events.helpers import URL as EVENTS_URL
from tests.events.helpers import event
from tests.factories import UserFactory
from tests.search.query_helpers import tag_post

pytestmark = pytest.mark.django_db

TRENDING_URL = "/api/v1/search/trending"


@pytest.fixture(autouse=True)
def _three_users(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SEARCH_TRENDING_MIN_USERS = 3


def client_of(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def send(client: APIClient, events: list[dict[str, object]]) -> None:
    response = client.post(EVENTS_URL, {"events": events}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["rejected"] == []


def searched(query: str, search_id: str, *, results: int = 5, tab: str = "top",
             **extra: Any) -> dict[str, Any]:
    return event("search", search_id=search_id, query=query, tab=tab, result_count=results,
                 **extra)


def consume_and_rank() -> dict[str, Any]:
    trending.events_consume()
    trending.trending_compute()
    response = APIClient().get(TRENDING_URL)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_a_term_searched_by_enough_people_trends_one_persons_spam_does_not():
    people = [UserFactory() for _ in range(3)]
    for n, person in enumerate(people):
        send(client_of(person), [searched("Funny Cats", f"a{n}")])
    spammer = client_of(UserFactory())
    send(spammer, [searched("buy my stuff", f"s{n}", session_id=f"sess{n}")
                   for n in range(40)])
    # signed-out sessions add volume but are no people
    for n in range(5):
        send(APIClient(), [searched("buy my stuff", f"anon{n}", session_id=f"anon-{n}")])

    body = consume_and_rank()

    assert body["searches"] == [{"query": "funny cats", "rank": 1}]
    assert SearchTermHour.objects.get(term="buy my stuff").searches == 45


def test_two_people_are_not_enough_and_a_third_makes_it_trend():
    for n in range(2):
        send(client_of(UserFactory()), [searched("origami crane", f"o{n}")])
    assert consume_and_rank()["searches"] == []

    send(client_of(UserFactory()), [searched("Origami  Crane", "o3")])
    assert consume_and_rank()["searches"] == [{"query": "origami crane", "rank": 1}]


def test_blocked_search_terms_never_trend_nor_are_suggested():
    TermList.objects.create(name="test blocked", language="", policy="self_harm",
                            purpose=TermList.Purpose.SEARCH_BLOCKED, terms="forbidden thing")
    for n in range(4):
        send(client_of(UserFactory()), [searched("forbidden thing tips", f"b{n}"),
                                        searched("pottery wheel", f"p{n}")])

    body = consume_and_rank()

    assert body["searches"] == [{"query": "pottery wheel", "rank": 1}]
    assert not Trending.objects.filter(term__contains="forbidden").exists()
    assert discovery.suggestions_for(viewer=None, prefix="forb") == []
    assert discovery.suggestions_for(viewer=None, prefix="forbidden thing") == []


def test_a_rising_term_ranks_above_a_steady_one():
    # "steady" was searched as much every day of the baseline week; "rising" is new
    week_ago = timezone.now() - timedelta(days=3)
    SearchTermHour.objects.create(term="steady", hour=week_ago.replace(minute=0, second=0,
                                                                          microsecond=0),
                                  searches=70)
    for n in range(4):
        send(client_of(UserFactory()), [searched("steady", f"s{n}"),
                                        searched("steady", f"s{n}b"),
                                        searched("rising", f"r{n}")])

    body = consume_and_rank()

    assert [row["query"] for row in body["searches"]] == ["rising", "steady"]


def test_hashtags_trend_by_distinct_viewers_of_their_posts():
    post = PostFactory()
    tag_post(post, "skatepark")
    lonely = PostFactory()
    tag_post(lonely, "mycat")
    for n in range(3):
        send(client_of(UserFactory()), [event("play_start", post_id=post.pk,
                                              session_id=f"v{n}")])
    fan = client_of(UserFactory())
    send(fan, [event("play_start", post_id=lonely.pk, session_id=f"f{n}") for n in range(30)])

    body = consume_and_rank()

    names = [tag["name"] for tag in body["hashtags"]]
    assert names[0] == "skatepark"
    assert body["hashtags"][0] == {"name": "skatepark", "post_count": 1,
                                   "url": "/tag/skatepark"}
    assert Trending.objects.filter(kind="hashtag").count() == 1  # mycat: one viewer only


def test_each_log_entry_counts_once_and_the_groups_are_independent(auth_client):
    send(auth_client, [searched("sourdough", "x1"), searched("sourdough", "x2")])

    first = trending.events_consume()
    again = trending.events_consume()
    applied = trending.entries_apply(stream=RedisStreamEventLog().stream,
                                     entries=RedisStreamEventLog().reclaim(
                                         group=trending.GROUP, consumer="other",
                                         min_idle_ms=0, count=10))
    analytics = analytics_services.events_consume(consumer="a")

    assert first.applied == 1
    assert again.applied == 0
    assert applied == (0, 0, 0)  # acked: nothing to reclaim
    assert analytics.applied == 1  # analytics' own group still got the entry
    assert SearchTermHour.objects.get(term="sourdough").searches == 2
    assert SearchAppliedEntry.objects.count() == 1


def test_clicks_are_counted_by_position_and_by_query(auth_client):
    send(auth_client, [searched("tacos", "t1", results=3, tab="videos"),
                       searched("tacos", "t2", results=1, tab="videos")])
    send(auth_client, [event("search_click", search_id="t1", tab="videos", position=2,
                             result_type="video", result_id="123"),
                       event("search_click", search_id="t2", tab="videos", position=0,
                             result_type="video", result_id="456"),
                       event("search_click", search_id="nope", tab="videos", position=0,
                             result_type="video", result_id="789")])
    trending.events_consume()

    rows = discovery.ctr_by_position(tab="videos")
    assert [(r.position, r.impressions, r.clicks) for r in rows] == [
        (0, 2, 2), (1, 1, 0), (2, 1, 1)]
    assert rows[0].ctr == 1.0
    assert rows[2].ctr == 1.0
    term = SearchTermHour.objects.get(term="tacos")
    assert (term.searches, term.clicks) == (2, 2)  # the unknown search_id counts on no query
    assert discovery.ctr_by_query() == [discovery.QueryCtr("tacos", 2, 2)]
    assert discovery.ctr_by_query()[0].ctr == 1.0


def test_a_click_in_a_later_batch_finds_its_query(auth_client):
    send(auth_client, [searched("kites", "k1")])
    trending.events_consume()
    send(auth_client, [event("search_click", search_id="k1", tab="top", position=0,
                             result_type="hashtag", result_id="kites")])
    trending.events_consume()

    assert SearchTermHour.objects.get(term="kites").clicks == 1


def test_old_counts_are_pruned(auth_client):
    send(auth_client, [searched("yesterday", "y1")])
    trending.events_consume()
    old = timezone.now() - timedelta(days=10)
    SearchTermHour.objects.create(term="ancient", hour=old, searches=5)

    trending.trending_prune()

    assert list(SearchTermHour.objects.values_list("term", flat=True)) == ["yesterday"]


@pytest.mark.django_db(transaction=True)
def test_two_computations_at_once_replace_the_lists_one_after_the_other():
    import threading
    import time

    from django.db import connection, transaction

    from apps.search.models import SearchTermUser

    now = timezone.now()
    SearchTermHour.objects.create(term="kites", hour=now.replace(minute=0, second=0,
                                                                 microsecond=0), searches=3)
    for user_id in (1, 2, 3):
        SearchTermUser.objects.create(term="kites", day=now.date(), user_id=user_id)
    errors: list[BaseException] = []

    def second() -> None:
        try:
            trending.trending_compute()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    with transaction.atomic():
        trending.trending_compute()  # holds its lock until this transaction commits
        other = threading.Thread(target=second)
        other.start()
        time.sleep(0.5)  # the second run is waiting on the first's rows or lock now
    other.join(10)

    assert errors == []
    assert list(Trending.objects.values_list("kind", "rank", "term")) == [
        ("search", 1, "kites")]
