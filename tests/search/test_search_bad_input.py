"""Bad input to GET /api/v1/search: a 400 in the error shape or an empty answer, never a
5xx. The raw query strings are sent as clients (and attackers) send them."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import signing
from rest_framework.test import APIClient

from tests.content.factories import PostFactory
from tests.search.query_helpers import URL, empty_index, index, search

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_index")]
__all__ = ["empty_index"]


def _raw(client: APIClient, query_string: str) -> Any:
    return client.generic("GET", f"{URL}?{query_string}")


def _error(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message", "fields"} <= set(body["error"])
    assert body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


@pytest.fixture(autouse=True)
def _some_posts(empty_index: None) -> None:
    index(*[PostFactory(caption=f"select star from cats {i} (a|b)* ; drop table") for i in
            range(3)])


@pytest.mark.parametrize("q", ["", "   ", "\t\n", "!!!", "?.,;:", "🙂🙂", "🐈‍⬛", "#", "@",
                               "x", "é"])
def test_nothing_to_search_is_an_empty_answer(api_client: APIClient, q: str) -> None:
    body = search(api_client, q)
    assert body["results"] == []
    assert body["next_cursor"] is None
    assert body["notice"] is None


def test_one_character_as_you_type_is_not_an_error(api_client: APIClient) -> None:
    assert search(api_client, "s", mode="prefix", tab="videos")["query"] == "s"


@pytest.mark.parametrize("q", [
    "' OR 1=1 --", "'; DROP TABLE content_post; --", "%", "_", "\\", "(a|b)*", "[a-z]+$",
    "^.*$", "select * from", "cats\\", "a:b", "title:cats", "cats AND", "NOT cats", '"cats',
    "cats~2", "cats^10", "*", "?", "{}", "+-&&||!(){}[]^\"~*?:\\/",
])
def test_sql_and_query_syntax_metacharacters_are_just_text(api_client: APIClient,
                                                           q: str) -> None:
    for tab in ("top", "accounts", "videos", "sounds", "hashtags"):
        for mode in ("full", "prefix"):
            response = api_client.get(URL, {"q": q, "tab": tab, "mode": mode})
            assert response.status_code == 200, (q, tab, mode, response.content)


def test_metacharacters_around_words_still_find_them(api_client: APIClient) -> None:
    assert len(search(api_client, "(cats)*", tab="videos")["results"]) == 3


def test_ten_thousand_characters_is_query_too_long(api_client: APIClient) -> None:
    error = _error(api_client.get(URL, {"q": "a" * 10_000}))
    assert error["code"] == "query_too_long"
    assert "q" in error["fields"]
    # 200 characters after trimming are fine; leading and trailing blanks do not count.
    assert api_client.get(URL, {"q": "  " + "a" * 200 + "  "}).status_code == 200
    assert _error(api_client.get(URL, {"q": "a" * 201}))["code"] == "query_too_long"


def test_nul_bytes_are_refused(api_client: APIClient) -> None:
    error = _error(_raw(api_client, "q=cats%00dogs"))
    assert error["code"] == "invalid_query"


@pytest.mark.parametrize("query_string", ["q=%FF", "q=caf%E9", "q=%C3", "q=%ED%A0%80",
                                          "q=cats&tab=%FF", "q=ok&cursor=%FE%FF"])
def test_invalid_utf8_is_refused(api_client: APIClient, query_string: str) -> None:
    assert _error(_raw(api_client, query_string))["code"] == "invalid_encoding"


def test_a_genuine_replacement_character_is_just_text(api_client: APIClient) -> None:
    assert _raw(api_client, "q=%EF%BF%BDcats").status_code == 200


@pytest.mark.parametrize("tab", ["people", "TOP", "", "videos ", "x" * 500])
def test_unknown_tab(api_client: APIClient, tab: str) -> None:
    response = api_client.get(URL, {"q": "cats", "tab": tab})
    if tab == "":
        assert response.status_code == 200  # blank: the default tab
        return
    error = _error(response)
    assert error["code"] == "invalid_tab"
    assert "tab" in error["fields"]


@pytest.mark.parametrize("params", [{"mode": "fuzzy"}, {"limit": "0"}, {"limit": "31"},
                                    {"limit": "-1"}, {"limit": "ten"}, {"limit": "1e3"},
                                    {"limit": "9" * 50}, {"limit": "٣"}])
def test_bad_mode_or_limit(api_client: APIClient, params: dict[str, str]) -> None:
    error = _error(api_client.get(URL, {"q": "cats", **params}))
    assert set(error["fields"]) & {"mode", "limit"}


@pytest.mark.parametrize("cursor", [
    "garbage", "x" * 5000, "eyJvIjoxfQ", "é", "0:1:2", "{}", "%00",
    # ids of their own: a signature holds the time, and xdist's workers must collect the
    # same test ids
    pytest.param(signing.dumps({"b": "0", "o": 20, "s": "abc"}, salt="another.salt"),
                 id="signed-with-another-salt"),
    pytest.param(signing.dumps({"b": "0", "o": 20, "s": "abc"}, salt="search.cursor"),
                 id="signed-for-a-foreign-query"),
])
def test_bad_or_forged_cursor(api_client: APIClient, cursor: str) -> None:
    error = _error(api_client.get(URL, {"q": "cats", "tab": "videos", "cursor": cursor}))
    assert error["code"] == "invalid_cursor"


def test_a_cursor_with_its_position_tampered_is_refused(api_client: APIClient) -> None:
    body = search(api_client, "cats", tab="videos", limit=1)
    cursor = body["next_cursor"]
    payload, _, signature = cursor.rpartition(":")
    value = signing.loads(cursor, salt="search.cursor")
    forged = signing.dumps({**value, "o": 2}, salt="search.cursor").rpartition(":")[0]
    assert _error(api_client.get(URL, {"q": "cats", "tab": "videos",
                                       "cursor": f"{forged}:{signature}"}))["code"] == \
        "invalid_cursor"
    assert payload


def test_a_cursor_in_as_you_type_mode_is_refused(api_client: APIClient) -> None:
    cursor = search(api_client, "cats", tab="videos", limit=1)["next_cursor"]
    error = _error(api_client.get(URL, {"q": "cats", "tab": "videos", "mode": "prefix",
                                        "cursor": cursor}))
    assert error["code"] == "invalid_cursor"


def test_repeated_and_unknown_parameters_do_not_break_it(api_client: APIClient) -> None:
    assert _raw(api_client, "q=cats&q=dogs&tab=videos&tab=videos&foo=bar").status_code == 200
    assert _raw(api_client, "q").status_code == 200
    assert _raw(api_client, "&&&=&q==cats").status_code == 200
