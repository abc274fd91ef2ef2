"""The `search` and `search_click` events (issue 13): what they carry, validated like the
other types, and kept in the log as sent."""

from __future__ import annotations

from typing import Any

import pytest

from tests.events.helpers import event, logged_events
from tests.events.test_ingest import POST, _public_post, post_batch  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

SEARCH: dict[str, Any] = {"search_id": "s-abc", "query": "Funny Cats", "tab": "top",
                          "result_count": 12}
CLICK: dict[str, Any] = {"search_id": "s-abc", "tab": "videos", "position": 3,
                         "result_type": "video", "result_id": "7000000000000001"}


def test_search_and_click_events_are_accepted_with_or_without_a_post(auth_client):
    events = [event("search", **SEARCH), event("search_click", **CLICK),
              event("search_click", post_id=POST, **CLICK),
              event("search_click", **{**CLICK, "result_type": "hashtag",
                                       "result_id": "cats", "position": 0})]

    response = post_batch(auth_client, events)

    assert response.json() == {"accepted": 4, "duplicates": 0, "dropped": 0, "rejected": []}
    logged = logged_events()
    assert logged[0]["type"] == "search"
    assert logged[0]["data"] == SEARCH
    assert logged[0]["post_id"] is None
    assert logged[2]["post_id"] == POST
    assert logged[3]["data"]["result_id"] == "cats"


@pytest.mark.parametrize(("type_", "data", "field"), [
    ("search", {k: v for k, v in SEARCH.items() if k != "search_id"}, "data.search_id"),
    ("search", {**SEARCH, "search_id": ""}, "data.search_id"),
    ("search", {**SEARCH, "search_id": "x" * 65}, "data.search_id"),
    ("search", {**SEARCH, "query": "q" * 201}, "data.query"),
    ("search", {**SEARCH, "query": 5}, "data.query"),
    ("search", {**SEARCH, "tab": "people"}, "data.tab"),
    ("search", {**SEARCH, "result_count": -1}, "data.result_count"),
    ("search", {**SEARCH, "result_count": "3"}, "data.result_count"),
    ("search", {**SEARCH, "position": 1}, "data.position"),
    ("search_click", {k: v for k, v in CLICK.items() if k != "position"}, "data.position"),
    ("search_click", {**CLICK, "position": 1000}, "data.position"),
    ("search_click", {**CLICK, "position": -1}, "data.position"),
    ("search_click", {**CLICK, "position": True}, "data.position"),
    ("search_click", {**CLICK, "result_type": "playlist"}, "data.result_type"),
    ("search_click", {**CLICK, "result_id": ""}, "data.result_id"),
    ("search_click", {**CLICK, "result_id": "x" * 101}, "data.result_id"),
    ("search_click", {**CLICK, "tab": ""}, "data.tab"),
    ("search_click", {**CLICK, "query": "cats"}, "data.query"),
])
def test_search_event_data_is_checked(auth_client, type_, data, field):
    response = post_batch(auth_client, [event(type_, **data)])

    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 0
    assert field in body["rejected"][0]["error"]["fields"]


def test_a_click_about_a_post_the_sender_may_not_see_is_dropped(auth_client):
    from apps.content.models import Post
    from tests.content.factories import PostFactory

    hidden = PostFactory(visibility=Post.Visibility.PRIVATE)

    response = post_batch(auth_client, [event("search_click", post_id=hidden.pk, **CLICK)])

    assert response.json() == {"accepted": 0, "duplicates": 0, "dropped": 1, "rejected": []}
