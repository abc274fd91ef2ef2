"""apps.core.asgi: /api/ calls to sync views run chain and view in one thread hop; the
same middleware answers (the API fast path, CSRF for cookie calls, the error shape)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from apps.core.asgi import OneHopASGIHandler, _sync_api_view

pytestmark = pytest.mark.django_db

CSRF = "c" * 32


@pytest.fixture(scope="module")
def handler() -> OneHopASGIHandler:
    return OneHopASGIHandler()


def _call(
    handler: OneHopASGIHandler, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
        "headers": [
            (b"host", b"testserver"),
            *((k.lower().encode(), v.encode()) for k, v in headers.items()),
        ],
    }
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()  # the client stays; Django cancels this when done
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # as Django's test client does: the test's transaction stays open across the request
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        async_to_sync(handler)(scope, receive, send)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    start = next(m for m in sent if m["type"] == "http.response.start")
    out = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], out, content


def test_which_paths_take_one_hop():
    assert _sync_api_view("/api/v1/ping")
    assert _sync_api_view("/api/v1/no-such-thing")  # the sync chain answers the 404
    assert not _sync_api_view("/live/123/hls/index.m3u8")  # an async view: Django's handler
    assert not _sync_api_view("/accounts/login/")  # pages: Django's handler


def test_a_cookieless_ping_and_an_unknown_path(handler):
    status, headers, body = _call(handler, "GET", "/api/v1/ping", {})
    assert (status, json.loads(body)) == (200, {"ok": True})
    assert "set-cookie" not in headers

    status, _headers, body = _call(handler, "GET", "/api/v1/no-such-thing", {})
    assert status == 404
    assert json.loads(body)["error"]["code"] == "not_found"


def test_a_token_read_and_a_cookie_write_without_csrf(handler, user):
    login = Client().post(
        "/_allauth/app/v1/auth/login",
        {"username": user.username, "password": "correct-horse-battery"},
        content_type="application/json",
    )
    token = login.json()["meta"]["session_token"]
    status, _headers, body = _call(handler, "GET", "/api/v1/me", {"X-Session-Token": token})
    assert status == 200, body
    assert json.loads(body)["username"] == user.username

    web = Client()
    web.force_login(user)
    cookie = (
        f"{settings.SESSION_COOKIE_NAME}={web.cookies[settings.SESSION_COOKIE_NAME].value};"
        f" {settings.CSRF_COOKIE_NAME}={CSRF}"
    )
    status, _headers, body = _call(
        handler,
        "PATCH",
        "/api/v1/me",
        {"Cookie": cookie, "Content-Type": "application/json"},
        json.dumps({"bio": "forged"}).encode(),
    )
    assert status == 403, body
    user.refresh_from_db()
    assert user.bio != "forged"


def test_a_served_request_gives_its_sync_thread_to_the_next_one():
    """Under the server (no async_to_sync caller) a request's sync work (request_started,
    the chain, the close and request_finished) runs on one pooled thread, which the next
    request reuses instead of Django's new thread per request."""
    from apps.core.asgi import _EXECUTORS

    handler = OneHopASGIHandler()
    threads: list[tuple[str, int]] = []

    def started(**kwargs: object) -> None:
        threads.append(("started", threading.get_ident()))

    def finished(**kwargs: object) -> None:
        threads.append(("finished", threading.get_ident()))

    async def ping() -> int:
        sent: list[dict[str, Any]] = []
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/api/v1/ping",
            "raw_path": b"/api/v1/ping",
            "query_string": b"",
            "root_path": "",
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 50000),
            "headers": [(b"host", b"testserver")],
        }
        body = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict[str, Any]:
            if body:
                return body.pop(0)
            await asyncio.Event().wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await handler(scope, receive, send)
        return int(next(m for m in sent if m["type"] == "http.response.start")["status"])

    async def two_pings() -> list[int]:
        return [await ping(), await ping()]

    request_started.connect(started)
    request_finished.connect(finished)
    try:
        assert asyncio.run(two_pings()) == [200, 200]
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
    assert [kind for kind, _ in threads] == ["started", "finished"] * 2
    # one thread for the whole of both requests, not the test's, and kept for the next
    assert len({ident for _, ident in threads}) == 1
    assert threads[0][1] != threading.get_ident()
    assert _EXECUTORS.idle
