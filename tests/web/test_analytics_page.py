"""/studio/analytics (issue 16): the creator's own numbers only, someone else's or a hidden
post is a 404, a signed-out visitor is sent to log in, a removed post stays its creator's,
and the page's queries do not grow with the number of posts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import User
from apps.analytics import services
from apps.analytics.models import UserPostStats
from apps.analytics.selectors import AUDIENCE_MIN_COUNT
from apps.content.models import Post
from tests.analytics.test_consumer import T0, send
from tests.content.factories import PostFactory
from tests.events.helpers import event
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/studio/analytics"
Browser = Callable[[User | None], Client]


@pytest.fixture
def watched(auth_client) -> Post:  # type: ignore[no-untyped-def]
    post = PostFactory(caption="Sunset over the harbour")
    send(auth_client, [
        event("play_start", post_id=post.pk, ts=T0, source="profile"),
        event("watch_end", post_id=post.pk, ts=T0, watched_ms=4_000, duration_ms=8_000),
        event("follow", ts=T0, creator_id=str(post.author_id)),
    ])
    services.events_consume(consumer="c")
    return post


def test_the_creator_sees_their_numbers_and_the_top_post_s_retention(
        watched: Post, browser_for: Browser) -> None:
    response = browser_for(watched.author).get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Sunset over the harbour" in html
    assert 'data-chart="retention"' in html
    assert "Your profile" in html
    assert 'data-stat="earnings">$0.00<' in html  # monetization's answer: nothing earned
    chart = response.context["chart"]
    assert chart["retention"]["viewers"] == [1, 1, 1, 1, 1]
    assert sum(chart["views"]) == 1
    assert sum(chart["gained"]) == 1
    assert response.context["audience"].viewers is None
    assert "Shown once at least" in html


def test_someone_else_sees_neither_the_post_s_numbers_nor_the_post(
        watched: Post, browser_for: Browser, user: User) -> None:
    mine = browser_for(user).get(URL)
    assert "Sunset over the harbour" not in mine.content.decode()
    assert sum(mine.context["chart"]["views"]) == 0

    response = browser_for(user).get(f"{URL}?post={watched.pk}")

    assert response.status_code == 404
    assert "Sunset over the harbour" not in response.content.decode()


def test_a_signed_out_visitor_is_asked_to_log_in(watched: Post, browser_for: Browser) -> None:
    response = browser_for(None).get(f"{URL}?post={watched.pk}")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_removed_post_stays_its_creator_s_to_read(watched: Post, browser_for: Browser,
                                                    user: User) -> None:
    Post.objects.filter(pk=watched.pk).update(status=Post.Status.REMOVED)

    owner = browser_for(watched.author).get(f"{URL}?post={watched.pk}")
    other = browser_for(user).get(f"{URL}?post={watched.pk}")

    assert owner.status_code == 200
    assert "Removed" in owner.content.decode()
    assert other.status_code == 404


def test_a_bad_post_id_or_period_is_no_500(watched: Post, browser_for: Browser) -> None:
    client = browser_for(watched.author)

    assert client.get(f"{URL}?post=abc").status_code == 404
    assert client.get(f"{URL}?post=99999999999").status_code == 404
    assert client.get(f"{URL}?period=1y").context["period"] == "7d"


def _page_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{URL}?period=28d")
    assert response.status_code == 200
    return len(queries)


def test_the_page_s_queries_do_not_grow_with_posts(watched: Post, browser_for: Browser,
                                                   auth_client) -> None:  # type: ignore[no-untyped-def]
    creator = watched.author
    viewers = [UserFactory(country="FR") for _ in range(AUDIENCE_MIN_COUNT)]
    UserPostStats.objects.bulk_create([UserPostStats(
        user_id=v.pk, post_id=watched.pk, plays=1, last_event_at=timezone.now())
        for v in viewers])
    client = browser_for(creator)
    client.get(URL)  # a first request records the session (allauth's user sessions)
    one = _page_queries(client)

    posts = [PostFactory(author=creator) for _ in range(15)]
    send(auth_client, [event("play_start", post_id=p.pk, ts=T0, source="search")
                       for p in posts])
    services.events_consume(consumer="c")

    assert _page_queries(client) == one


def test_the_share_link_tells_its_plays_came_from_a_share(watched: Post,
                                                          browser_for: Browser) -> None:
    # the post page's script sends it as play_start's source (otherwise: the referrer)
    client = browser_for(None)
    shared = client.get(f"/p/{watched.pk}/")
    permalink = client.get(f"/@{watched.author.username}/video/{watched.pk}")

    assert shared.context["player"]["source"] == "share"
    assert permalink.context["player"]["source"] == ""
