"""The database unreachable, in process: every connection attempt is refused for real (the
connection's port points at a closed one). API requests get 503 + Retry-After in the error
shape, site pages the styled 503 page, signed-in or not, with DEBUG on or off: never a 500,
never a traceback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from tests.conftest import _free_port
from tests.content.factories import PostFactory
from tests.factories import UserFactory


@contextmanager
def database_down() -> Iterator[None]:
    original = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = _free_port()  # nothing listens there
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = original


def _requests(client: Client, post_id: int) -> dict[str, Any]:
    return {
        "api": client.get(f"/api/v1/posts/{post_id}"),
        "api feed": client.get("/api/v1/feed/for-you"),
        "page": client.get("/@maya"),
    }


def _assert_refused(responses: dict[str, Any]) -> None:
    for label, response in responses.items():
        assert response.status_code == 503, (label, response.status_code)
        assert response["Retry-After"].isdigit(), label
        body = response.content.decode()
        assert "Traceback" not in body, label
        if label.startswith("api"):
            error = response.json()["error"]
            assert error["code"] == "unavailable", label
            assert set(error) >= {"code", "message", "fields"}, label
        else:
            assert "SwipeMe is briefly unavailable" in body, label
            assert "<html" in body.lower(), label


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("debug", [False, True])
def test_requests_while_the_database_is_unreachable_answer_503(
    debug: bool, settings: Any
) -> None:
    settings.DEBUG = debug
    post = PostFactory(author=UserFactory(username="maya"))
    signed_in = Client(raise_request_exception=False)  # as a real server: the answer counts
    signed_in.force_login(UserFactory())
    anonymous = Client(raise_request_exception=False)
    with database_down():
        _assert_refused(_requests(anonymous, post.pk))
        _assert_refused(_requests(signed_in, post.pk))
        # the feed page itself needs no database for a visitor: its script says
        # "Can't reach SwipeMe" (tests/browser/test_feed_offline.py)
        assert anonymous.get("/").status_code == 200
        _assert_refused({"home": signed_in.get("/")})
    # and back: the next requests reconnect by themselves
    assert anonymous.get(f"/api/v1/posts/{post.pk}").status_code == 200
    assert signed_in.get("/@maya").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_hung_database_is_refused_within_the_connect_timeout() -> None:
    """A server that accepts the connection and never answers (a SIGSTOPped PostgreSQL):
    the request is refused with 503 after the configured connect timeout
    (DATABASE_CONNECT_TIMEOUT), not left hanging."""
    timeout = int(connection.settings_dict["OPTIONS"].get("connect_timeout") or 0)
    assert 0 < timeout <= 10
    post = PostFactory()
    client = Client(raise_request_exception=False)
    answer: dict[str, Any] = {}

    def ask() -> None:
        started = time.monotonic()
        answer["response"] = client.get(f"/api/v1/posts/{post.pk}")
        answer["took"] = time.monotonic() - started

    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)  # the kernel completes the handshake; nobody ever answers
        original = connection.settings_dict["PORT"]
        connection.close()
        connection.settings_dict["PORT"] = hung.getsockname()[1]
        try:
            asker = threading.Thread(target=ask, daemon=True)
            asker.start()
            asker.join(timeout * 4 + 10)  # a few connection attempts in one request
            assert not asker.is_alive(), "the request hangs on a hung database"
        finally:
            connection.close()
            connection.settings_dict["PORT"] = original
    assert answer["response"].status_code == 503
    assert answer["response"]["Retry-After"].isdigit()
