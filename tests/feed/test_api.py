"""The feed API's contract: shapes, pagination, bad inputs, interests, not-interested."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.social.models import Follow
from tests.factories import UserFactory
from tests.feed.conftest import error_of, ids_of, make_post

pytestmark = pytest.mark.django_db
FOR_YOU = "/api/v1/feed/for-you"
FOLLOWING = "/api/v1/feed/following"


def test_for_you_shape_and_pagination_signed_out(api_client: APIClient) -> None:
    posts = [make_post(tags=("comedy",)) for _ in range(12)]
    first = api_client.get(FOR_YOU, {"limit": "5", "session_id": "sess-abcdefgh"})
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"results", "next"}
    assert len(body["results"]) == 5
    item = body["results"][0]
    detail = api_client.get(f"/api/v1/posts/{item['id']}").json()
    # The same post object as the detail endpoint, plus its type, reco and the viewer's flags.
    assert set(item) == set(detail) | {"type", "reco", "viewer"}
    assert item["type"] == "post"
    assert item["author"] == detail["author"]
    assert item["media"] == detail["media"]
    assert item["reco"]["position"] == 0
    assert item["reco"]["request_id"]
    assert item["viewer"] == {"liked": False, "favourited": False, "follows_author": False}
    assert body["next"].startswith("http://testserver/api/v1/feed/for-you?")
    seen = ids_of(first)
    page = first
    while page.json()["next"]:
        page = api_client.get(page.json()["next"])
        seen += ids_of(page)
    # Every post exactly once across the pages, then the end.
    assert sorted(seen) == sorted(str(p.pk) for p in posts)
    assert len(seen) == len(set(seen))


def test_for_you_bad_inputs_are_400(api_client: APIClient) -> None:
    for params in ({"limit": 0}, {"limit": 21}, {"limit": "x"}, {"cursor": "garbage!"},
                   {"cursor": "eyJrIjoiZm8iLCJiIjoiMSJ9"}, {"session_id": "bad id"},
                   {"limit": "9" * 40}):
        response = api_client.get(FOR_YOU, params)
        assert response.status_code == 400, params
        error_of(response)


def test_following_requires_sign_in_and_pages_newest_first(api_client: APIClient) -> None:
    assert api_client.get(FOLLOWING).status_code == 401
    me, a, b, stranger = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    Follow.objects.create(follower=me, followee=a)
    Follow.objects.create(follower=me, followee=b)
    mine = [make_post(author=a if i % 2 else b) for i in range(7)]
    make_post(author=stranger)
    api_client.force_authenticate(me)
    first = api_client.get(FOLLOWING, {"limit": 3})
    got = ids_of(first)
    nxt = first.json()["next"]
    while nxt:
        page = api_client.get(nxt)
        got += ids_of(page)
        nxt = page.json()["next"]
    assert got == [str(p.pk) for p in sorted(mine, key=lambda p: -p.pk)]
    assert first.json()["results"][0]["reco"]["source"] == "following"
    assert first.json()["results"][0]["viewer"]["follows_author"] is True
    bad = api_client.get(FOLLOWING, {"cursor": "eyJrIjoiZnkifQ"})
    assert bad.status_code == 400
    assert error_of(bad)["code"] == "invalid_cursor"


def test_interests_list_and_update(api_client: APIClient) -> None:
    topics = api_client.get("/api/v1/feed/interests").json()["results"]
    assert {"comedy", "dance"} <= {t["key"] for t in topics}
    assert api_client.put("/api/v1/me/interests", {"interests": ["comedy"]},
                          format="json").status_code == 401
    api_client.force_authenticate(UserFactory())
    ok = api_client.put("/api/v1/me/interests", {"interests": ["comedy", "dance", "comedy"]},
                        format="json")
    assert ok.status_code == 200
    assert ok.json() == {"interests": ["comedy", "dance"]}
    assert api_client.get("/api/v1/me/interests").json() == {"interests": ["comedy", "dance"]}
    bodies: list[object] = [{"interests": ["nope"]}, {"interests": "comedy"},
                            {"interests": [1]}, [], {"interests": ["comedy"] * 500}]
    for body in bodies:
        response = api_client.put("/api/v1/me/interests", body, format="json")
        assert response.status_code == 400, body
        error_of(response)
    raw = api_client.generic("PUT", "/api/v1/me/interests", "{not json",
                             content_type="application/json")
    assert raw.status_code == 400


def test_not_interested_endpoint_inputs(api_client: APIClient) -> None:
    post = make_post()
    url = f"/api/v1/posts/{post.pk}/not-interested"
    assert api_client.post(url).status_code == 401
    user = UserFactory()
    api_client.force_authenticate(user)
    assert api_client.post(url).json() == {"post_id": str(post.pk), "recorded": True}
    assert api_client.post(url).status_code == 200  # idempotent
    assert api_client.post("/api/v1/posts/123/not-interested").status_code == 404
    assert api_client.post("/api/v1/posts/abc/not-interested").status_code == 404
    private = make_post(visibility="private")
    assert api_client.post(f"/api/v1/posts/{private.pk}/not-interested").status_code == 404
