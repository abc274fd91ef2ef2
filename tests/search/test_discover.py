"""GET /api/v1/discover and the suggestions (issue 13): trending hashtags with their top
videos, rising sounds and suggested creators, only what the viewer may see, in a constant
number of queries; suggestions from history, trending and the index."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.content.models import Post
from apps.moderation.detection.models import TermList
from apps.search.models import Trending
from apps.search.services import record_search
from apps.social.models import Block, Follow
from tests.content.factories import LibrarySoundFactory, PostFactory
from tests.factories import UserFactory
from tests.search.query_helpers import empty_index, index, tag_post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_index")]
__all__ = ["empty_index"]

URL = "/api/v1/discover"
SUGGEST = "/api/v1/search/suggestions"


def discover(client: APIClient) -> dict[str, Any]:
    response = client.get(URL)
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def trend(*tags: Any) -> None:
    now = timezone.now()
    Trending.objects.bulk_create([
        Trending(kind="hashtag", rank=i, hashtag_id=tag.pk, score=10 - i, recent=5,
                 computed_at=now) for i, tag in enumerate(tags, 1)])


def video_ids(body: dict[str, Any], name: str) -> list[str]:
    tag = next(t for t in body["hashtags"] if t["name"] == name)
    return [v["id"] for v in tag["videos"]]


def test_hashtags_with_their_top_visible_videos_sounds_and_creators(auth_client, user):
    star = UserFactory(username="skatequeen", followers_count=50)
    sound = LibrarySoundFactory(title="Skate Anthem")
    best = PostFactory(author=star, views_count=900, sound=sound)
    second = PostFactory(views_count=10)
    private_author = UserFactory(is_private=True, followers_count=500)
    blocked = UserFactory(followers_count=400)
    blocker = UserFactory(followers_count=300)
    Block.objects.create(blocker=user, blocked=blocked)
    Block.objects.create(blocker=blocker, blocked=user)
    hidden = [
        PostFactory(author=private_author, views_count=10_000),
        PostFactory(author=blocked, views_count=10_000),
        PostFactory(author=blocker, views_count=10_000),
        PostFactory(views_count=10_000, status=Post.Status.REMOVED),
        PostFactory(views_count=10_000, visibility=Post.Visibility.PRIVATE),
        PostFactory(views_count=10_000, status=Post.Status.DRAFT, published_at=None),
        PostFactory(views_count=10_000, limited_reach=True),
    ]
    for post in [best, second, *hidden]:
        tag = tag_post(post, "skate")
    Post.objects.filter(sound__isnull=True, pk__in=[p.pk for p in hidden]).update(sound=sound)
    LibrarySoundFactory(title="Unused")
    from apps.content.models import Sound
    Sound.objects.filter(pk=sound.pk).update(posts_count=2)
    trend(tag)

    body = discover(auth_client)

    assert video_ids(body, "skate") == [str(best.pk), str(second.pk)]
    skate = body["hashtags"][0]
    assert (skate["name"], skate["url"]) == ("skate", "/tag/skate")
    assert skate["videos"][0]["url"] == f"/@skatequeen/video/{best.pk}"
    assert [s["title"] for s in body["sounds"]] == ["Skate Anthem"]
    assert body["sounds"][0]["url"] == f"/sound/{sound.pk}"
    creators = [c["username"] for c in body["creators"]]
    assert creators[0] == "skatequeen"
    for absent in (private_author, blocked, blocker, user):
        assert absent.username not in creators
    assert body["creators"][0]["url"] == "/@skatequeen"
    # signed out: no block applies, but private, removed and limited posts still do not show
    anonymous = discover(APIClient())
    assert sorted(video_ids(anonymous, "skate")) == sorted(
        str(p.pk) for p in [best, second, hidden[1], hidden[2]])


def test_followed_creators_are_not_suggested_again(auth_client, user):
    followed = UserFactory(followers_count=90)
    fresh = UserFactory(followers_count=10)
    PostFactory(author=followed)
    PostFactory(author=fresh)
    Follow.objects.create(follower=user, followee=followed)

    creators = [c["username"] for c in discover(auth_client)["creators"]]

    assert creators == [fresh.username]


def test_a_protected_minor_is_never_suggested_to_strangers(auth_client):
    from datetime import date

    minor = UserFactory(date_of_birth=date.today().replace(year=date.today().year - 14),
                        followers_count=1000)
    PostFactory(author=minor)

    assert discover(auth_client)["creators"] == []


def test_without_trending_rows_the_most_used_hashtags_fill_in(api_client):
    tag_post(PostFactory(), "cooking")

    assert [t["name"] for t in discover(api_client)["hashtags"]] == ["cooking"]


def test_discover_costs_the_same_queries_whatever_its_size(auth_client,
                                                           django_assert_max_num_queries):
    def arrange(tags: int, per_tag: int) -> None:
        made = []
        for t in range(tags):
            for _ in range(per_tag):
                post = PostFactory(sound=LibrarySoundFactory())
                made.append(tag_post(post, f"tag{per_tag}x{t}"))
        trend(*{tag.pk: tag for tag in made}.values())

    Trending.objects.create(kind="search", rank=1, term="pancakes", score=1, recent=3,
                            computed_at=timezone.now())
    arrange(6, 1)
    with CaptureQueriesContext(connection) as small:
        discover(auth_client)
    Trending.objects.filter(kind="hashtag").delete()
    arrange(6, 6)  # six times the videos (other tags)
    with CaptureQueriesContext(connection) as large:
        body = discover(auth_client)

    assert len(body["hashtags"]) == 6
    assert all(len(t["videos"]) == 6 for t in body["hashtags"])
    assert len(large) == len(small)
    # trending hashtags (1), the most used hashtags (1), visible hashtags (1), blocked names
    # (1), videos (1), sounds (1), creators (1), trending searches and their blocked (2)
    with django_assert_max_num_queries(9):
        discover(auth_client)


def test_suggestions_history_first_then_trending_then_the_index(auth_client, user):
    record_search(user, "cat videos")
    record_search(user, "dog videos")
    Trending.objects.create(kind="search", rank=1, term="cat memes", score=3, recent=9,
                            computed_at=timezone.now())
    Trending.objects.create(kind="search", rank=2, term="cat videos", score=2, recent=9,
                            computed_at=timezone.now())
    creator = UserFactory(username="catlover")
    tag = tag_post(PostFactory(author=creator), "catsofinstagram")
    index(creator, tag)

    response = auth_client.get(SUGGEST, {"q": "Cat"})

    assert response.status_code == 200
    assert response.json()["results"] == [
        {"query": "cat videos", "kind": "history"},
        {"query": "cat memes", "kind": "trending"},
        {"query": "catsofinstagram", "kind": "completion"},
        {"query": "catlover", "kind": "completion"},
    ]
    # signed out: no history, and someone else's never
    anonymous = APIClient().get(SUGGEST, {"q": "cat"}).json()["results"]
    assert [s["kind"] for s in anonymous] == ["trending", "trending", "completion",
                                              "completion"]


def test_suggestions_never_offer_a_blocked_term_nor_hidden_accounts(auth_client, user):
    TermList.objects.create(name="t", language="", policy="self_harm",
                            purpose=TermList.Purpose.SEARCH_BLOCKED, terms="sadthing")
    Trending.objects.create(kind="search", rank=1, term="sad songs", score=3, recent=9,
                            computed_at=timezone.now())
    Trending.objects.create(kind="search", rank=2, term="sadthing tips", score=2, recent=9,
                            computed_at=timezone.now())
    blocked = UserFactory(username="sadboy")
    Block.objects.create(blocker=blocked, blocked=user)
    index(blocked)

    results = auth_client.get(SUGGEST, {"q": "sad"}).json()["results"]

    assert results == [{"query": "sad songs", "kind": "trending"}]
    assert auth_client.get(SUGGEST, {"q": "sadthing"}).json()["results"] == []


@pytest.mark.parametrize(("q", "status"), [("", 200), ("   ", 200), ("!!!", 200),
                                           ("x" * 201, 400), ("a\x00b", 400)])
def test_suggestions_bad_input(api_client, q, status):
    response = api_client.get(SUGGEST, {"q": q})

    assert response.status_code == status
    if status == 200:
        assert response.json() == {"results": []}
    else:
        assert response.json()["error"]["code"] in ("query_too_long", "invalid_query")


def test_suggestions_refuse_invalid_utf8(api_client):
    response = api_client.get(f"{SUGGEST}?q=%FF%FE")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_encoding"
