"""GET /api/v1/search: the answer's shape per tab, Top's mix, paging with the signed cursor,
constant queries per page, throttles."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.search.models import SearchHistory
from apps.search.services import retrieval
from apps.social.models import Follow
from tests.conftest import open_redis_breaker
from tests.content.factories import LibrarySoundFactory, PostFactory
from tests.factories import UserFactory
from tests.search.query_helpers import URL, empty_index, ids, index, search, tag_post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_index")]
__all__ = ["empty_index"]


def test_every_tab_answers_its_items_with_real_urls(api_client: APIClient) -> None:
    creator = UserFactory(username="skatequeen", display_name="Skate Queen", is_verified=True)
    post = PostFactory(author=creator, caption="kickflip at the skatepark", views_count=9)
    tag = tag_post(post, "skatepark")
    sound = LibrarySoundFactory(title="Skatepark Anthem", artist="The Rollers")
    index(creator, post, tag, sound)

    accounts = search(api_client, "skatequeen", tab="accounts")
    assert accounts["tab"] == "accounts"
    assert accounts["notice"] is None
    assert accounts["results"] == [{
        "type": "account", "id": str(creator.pk), "username": "skatequeen",
        "display_name": "Skate Queen", "avatar_url": None, "is_verified": True,
        "follower_count": 0, "you_follow": False, "url": "/@skatequeen"}]
    videos = search(api_client, "kickflip", tab="videos")["results"]
    assert [v["id"] for v in videos] == [str(post.pk)]
    assert videos[0]["url"] == f"/@skatequeen/video/{post.pk}"
    assert videos[0]["author"] == {"username": "skatequeen", "display_name": "Skate Queen",
                                   "avatar_url": None, "is_verified": True}
    assert videos[0]["view_count"] == 9
    assert videos[0]["caption"] == post.caption
    sounds = search(api_client, "skatepark anthem", tab="sounds")["results"]
    assert sounds == [{"type": "sound", "id": str(sound.pk), "title": "Skatepark Anthem",
                       "artist": "The Rollers", "use_count": 0, "url": f"/sound/{sound.pk}"}]
    tags = search(api_client, "skatepark", tab="hashtags")["results"]
    assert tags == [{"type": "hashtag", "name": "skatepark", "post_count": 1,
                     "url": "/tag/skatepark"}]


def test_top_puts_the_named_account_first_then_a_strong_hashtag_then_videos(
        api_client: APIClient) -> None:
    creator = UserFactory(username="bakewithmia", display_name="Bake with Mia")
    posts = [PostFactory(caption=f"bakewithmia sourdough day {i}") for i in range(3)]
    tag = tag_post(posts[0], "bakewithmia")
    index(creator, tag, *posts)

    body = search(api_client, "bakewithmia")
    kinds = [item["type"] for item in body["results"]]
    assert kinds == ["account", "hashtag", "video", "video", "video"]
    assert body["results"][0]["username"] == "bakewithmia"
    # A query that names nobody starts with videos.
    assert [i["type"] for i in search(api_client, "sourdough")["results"]] == ["video"] * 3


def test_paging_walks_one_ranking_with_a_signed_cursor_and_one_search_id(
        api_client: APIClient) -> None:
    posts = [PostFactory(caption=f"origami crane tutorial part {i}") for i in range(7)]
    index(*posts)
    seen: list[str] = []
    body = search(api_client, "origami", tab="videos", limit=3)
    search_id = body["search_id"]
    while True:
        seen += ids(body)
        assert body["search_id"] == search_id
        if body["next_cursor"] is None:
            break
        body = search(api_client, "origami", tab="videos", limit=3, cursor=body["next_cursor"])
    assert sorted(seen) == sorted(str(p.pk) for p in posts)
    assert len(seen) == len(set(seen)) == 7


def test_a_cursor_from_another_query_or_tab_is_refused(api_client: APIClient) -> None:
    index(*[PostFactory(caption=f"juggling lesson {i}") for i in range(4)])
    cursor = search(api_client, "juggling", tab="videos", limit=2)["next_cursor"]
    assert cursor
    for params in ({"q": "unicycle", "tab": "videos"}, {"q": "juggling", "tab": "top"}):
        response = api_client.get(URL, {**params, "cursor": cursor})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_cursor"


def test_prefix_mode_matches_the_last_word_as_typed_and_has_one_page(
        api_client: APIClient) -> None:
    creator = UserFactory(username="volcanologist", display_name="Volcano Vic")
    index(creator, *[PostFactory(caption=f"volcano eruption {i}") for i in range(4)])
    body = search(api_client, "volca", mode="prefix", tab="accounts")
    assert ids(body) == [str(creator.pk)]
    videos = search(api_client, "volcano erup", mode="prefix", tab="videos", limit=2)
    assert len(videos["results"]) == 2
    assert videos["next_cursor"] is None


def test_signed_in_viewer_sees_whom_they_follow(api_client: APIClient) -> None:
    viewer = UserFactory()
    star = UserFactory(username="gardenguru", display_name="Garden Guru")
    Follow.objects.create(follower=viewer, followee=star)
    index(star)
    api_client.force_authenticate(viewer)
    [item] = search(api_client, "gardenguru", tab="accounts")["results"]
    assert item["you_follow"] is True


@pytest.mark.parametrize("tab", ["top", "videos", "accounts"])
def test_queries_per_page_do_not_grow_with_the_page(
        api_client: APIClient, tab: str) -> None:
    viewer = UserFactory()
    authors = [UserFactory(username=f"surfer{i}", display_name=f"Surf Rider {i}")
               for i in range(30)]
    posts = [PostFactory(author=authors[i], caption=f"surf session number {i}")
             for i in range(30)]
    for post in posts[:10]:
        tag_post(post, "surf")
    index(*authors, *posts, *[LibrarySoundFactory(title=f"Surf Song {i}") for i in range(3)])
    api_client.force_authenticate(viewer)
    # The query's embedding done first: with keyword videos enough for a page, Top fuses the
    # semantic ones only once it is ready (made in the background), so without this the two
    # pages could differ by that one statement depending on how fast the machine is.
    retrieval.prefetch_query_vector("surf")
    for _ in range(600):
        if retrieval.query_vector_ready("surf"):
            break
        time.sleep(0.1)

    def queries(limit: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            body = search(api_client, "surf", tab=tab, limit=limit)
        assert len(body["results"]) >= min(limit, 5)
        return len(captured.captured_queries)

    small, large = queries(5), queries(30)
    assert large == small, (small, large)


def test_search_is_throttled_per_user_and_per_ip_in_the_error_shape(
        api_client: APIClient, settings: pytest.FixtureRequest) -> None:
    settings.SEARCH_THROTTLE_USER_RATE = "3/min"  # type: ignore[attr-defined]
    settings.SEARCH_THROTTLE_IP_RATE = "5/min"  # type: ignore[attr-defined]
    first, second = UserFactory(), UserFactory()
    api_client.force_authenticate(first)
    assert [api_client.get(URL, {"q": "cats"}).status_code for _ in range(4)] == [
        200, 200, 200, 429]
    refused = api_client.get(URL, {"q": "cats"})
    assert refused.json()["error"]["code"] == "throttled"
    # Another account from the same address has its own user budget but shares the IP's.
    api_client.force_authenticate(second)
    assert [api_client.get(URL, {"q": "cats"}).status_code for _ in range(3)] == [200, 200, 429]
    # Signed out, from another address: its own budget.
    other = APIClient(REMOTE_ADDR="203.0.113.9")
    assert other.get(URL, {"q": "cats"}).status_code == 200


def test_search_answers_while_redis_is_down(api_client: APIClient,
                                            settings: pytest.FixtureRequest) -> None:
    """The throttles' counts live in Redis: with its breaker open, reads fail open (as every
    read in the project) and a search still answers, signed in or out, typed or in full."""
    settings.SEARCH_THROTTLE_USER_RATE = "1/min"  # type: ignore[attr-defined]
    post = PostFactory(caption="harbour lights at night")
    index(post)
    open_redis_breaker()
    viewer = UserFactory()
    for client_user in (None, viewer):
        api_client.force_authenticate(client_user)
        for mode in ("full", "prefix", "full"):
            body = search(api_client, "harbour lights", tab="videos", mode=mode)
            assert ids(body) == [str(post.pk)]
    assert SearchHistory.objects.filter(user=viewer, query="harbour lights").exists()


def test_a_full_search_signed_in_is_kept_in_history_as_you_type_is_not(
        api_client: APIClient) -> None:
    viewer = UserFactory()
    index(*[PostFactory(caption=f"pottery wheel {i}") for i in range(3)])
    api_client.force_authenticate(viewer)
    search(api_client, "pott", mode="prefix")
    body = search(api_client, "Pottery  wheel", limit=1)
    search(api_client, "pottery wheel", limit=1, cursor=body["next_cursor"])  # page 2
    kept = list(SearchHistory.objects.filter(user=viewer).values_list("query", flat=True))
    assert kept == ["Pottery wheel"]
