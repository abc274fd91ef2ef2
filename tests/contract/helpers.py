"""Calling the app in-process as a WSGI server would, for the contract tests."""

from __future__ import annotations

import functools
from typing import Any

import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from werkzeug.test import Client as WsgiClient
from werkzeug.test import TestResponse

from swipeme_site.wsgi import application

SCHEMA_URL = "/api/schema/"
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The project's WSGI application as Django's test client runs it: the test's database
    connection (and its transaction) stays open across requests, where the handler would
    close it when the response is closed."""
    environ.setdefault("REMOTE_ADDR", "127.0.0.1")  # as every WSGI server sets it
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = application(environ, start_response)
        try:
            return [b"".join(response)]
        finally:
            response.close()  # type: ignore[attr-defined]
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def sign_in(username: str) -> str:
    client = Client()
    response = client.post("/_allauth/app/v1/auth/login",
                           {"username": username, "password": PASSWORD},
                           content_type="application/json",
                           HTTP_X_DEVICE_ID=f"contract-{username}", HTTP_X_CLIENT_PLATFORM="ios",
                           HTTP_X_APP_VERSION="1.0.0")
    assert response.status_code == 200, response.content
    token: str = response.json()["meta"]["session_token"]
    return token


def reauthenticate(token: str) -> None:
    """Confirm the password in the token's session: sensitive operations (renaming,
    deleting or exporting the account, e-mail and 2FA changes) need it, not a log-in."""
    response = Client().post("/_allauth/app/v1/auth/reauthenticate", {"password": PASSWORD},
                             content_type="application/json", HTTP_X_SESSION_TOKEN=token)
    assert response.status_code == 200, response.content


@functools.cache
def served_schema() -> Any:
    """The schema as served at SCHEMA_URL (it needs no database)."""
    return schemathesis.openapi.from_wsgi(SCHEMA_URL, app)


def call(method: str, path: str, *, token: str | None = None, **kwargs: Any) -> TestResponse:
    """One request through `app`, as a client of the API (with a session token or none)."""
    headers = {"X-Session-Token": token} if token else {}
    return WsgiClient(app).open(path, method=method, headers=headers, **kwargs)
