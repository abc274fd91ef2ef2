"""Protocol-level refusals (issue 11, items 5, 8 and 9): over-deep JSON, TRACE/CONNECT, and
every error under /api/ and /_allauth/ in the error shape, whatever the settings' DEBUG."""

from __future__ import annotations

import base64
import io
import logging
from typing import Any

import pytest
from django.test import Client
from rest_framework.exceptions import ParseError
from rest_framework.test import APIClient

from apps.core.parsers import MAX_JSON_DEPTH, JSONParser, json_depth_exceeds, loads_json
from tests.accounts.conftest import APP, MobileClient
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DEEP = "[" * 1000 + "]" * 1000  # a 2 KB body; json.loads raises RecursionError on it
BROWSER = "/_allauth/browser/v1"


def _error(response: Any) -> dict[str, Any]:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "fields"} <= set(body["error"])
    error: dict[str, Any] = body["error"]
    assert error["message"]
    return error


def _send(client: Client, method: str, path: str, body: str | bytes, **extra: Any) -> Any:
    return client.generic(method, path, body, content_type="application/json", **extra)


@pytest.fixture
def signed_in() -> MobileClient:
    user = UserFactory()
    client = MobileClient(device_id="phone-1")
    assert client.login(user.username).status_code == 200
    return client


# --- item 5: nested JSON --------------------------------------------------------------------


def test_the_depth_scan_ignores_brackets_in_strings_and_allows_the_limit() -> None:
    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert not json_depth_exceeds(at_limit)
    assert json_depth_exceeds("[" + at_limit + "]")
    assert json_depth_exceeds(DEEP.encode())
    in_a_string = '{"bio": "' + "[{" * 500 + '", "x": "\\"' + "[" * 500 + '"}'
    assert not json_depth_exceeds(in_a_string)
    assert loads_json(in_a_string)["bio"].startswith("[{[{")
    with pytest.raises(ValueError, match="nested too deeply"):
        loads_json(DEEP)


def test_the_drf_parser_refuses_deep_json_with_a_parse_error() -> None:
    with pytest.raises(ParseError, match="nested too deeply"):
        JSONParser().parse(io.BytesIO(DEEP.encode()), "application/json", {})
    assert JSONParser().parse(io.BytesIO(b'{"a": [[1]]}'), "application/json", {}) == {
        "a": [[1]]}


@pytest.mark.urls("tests.core.views_for_tests")
def test_drf_answers_deep_json_with_a_400_even_without_the_middleware(settings: Any) -> None:
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("GuardMiddleware")]
    response = _send(APIClient(), "POST", "/api/v1/echo", DEEP)
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "parse_error"
    assert "nested too deeply" in error["message"]


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/v1/events"),
    ("POST", "/api/v1/reports"),
    ("PATCH", "/api/v1/me"),
    ("POST", f"{APP}/auth/login"),
    ("POST", f"{APP}/auth/signup"),
    ("POST", f"{BROWSER}/auth/login"),
    ("POST", f"{APP}/auth/password/request"),
])
def test_deep_json_is_a_400_in_the_error_shape_signed_out(method: str, path: str) -> None:
    response = _send(Client(enforce_csrf_checks=True), method, path, DEEP)
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "parse_error"
    assert f"more than {MAX_JSON_DEPTH} levels" in error["message"]


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/v1/events"),
    ("POST", "/api/v1/reports"),
    ("PATCH", "/api/v1/me"),
    ("POST", "/api/v1/me/sessions/revoke-all"),
    ("POST", f"{APP}/account/email"),
    ("POST", f"{APP}/account/password/change"),
    ("DELETE", f"{APP}/auth/session"),
])
def test_deep_json_is_a_400_in_the_error_shape_signed_in(signed_in: MobileClient, method: str,
                                                          path: str) -> None:
    response = _send(signed_in.client, method, path, DEEP, **signed_in._meta())
    assert response.status_code == 400
    assert _error(response)["code"] == "parse_error"
    # nothing happened: still signed in, every session still there
    assert signed_in.get("/api/v1/me").status_code == 200


def test_json_with_ordinary_nesting_still_reaches_allauth_and_drf(signed_in: MobileClient
                                                                  ) -> None:
    bio = "[" * 100  # brackets in a string do not count
    response = signed_in.patch("/api/v1/me", {"bio": bio})
    assert response.status_code == 200, response.content
    assert response.json()["bio"] == bio
    assert signed_in.post(f"{APP}/auth/login", {"username": "nobody", "password": "x" * 9}
                          ).status_code in (400, 409)


# --- item 8: TRACE and CONNECT --------------------------------------------------------------


@pytest.mark.parametrize("method", ["TRACE", "CONNECT"])
@pytest.mark.parametrize("path", [f"{BROWSER}/auth/login", f"{APP}/auth/login",
                                  f"{BROWSER}/auth/session", "/api/v1/me", "/api/v1/ping"])
def test_trace_and_connect_are_405_in_the_error_shape(method: str, path: str) -> None:
    user = UserFactory()
    client = Client(enforce_csrf_checks=True)
    body = f'{{"username": "{user.username}", "password": "correct-horse-battery"}}'
    response = _send(client, method, path, body)
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"
    assert "TRACE" not in response["Allow"]
    # the credentials were not acted on: no session was started
    assert client.get(f"{BROWSER}/auth/session").status_code == 401


def test_trace_is_405_on_web_pages_too() -> None:
    response = Client().generic("TRACE", "/")
    assert response.status_code == 405


# --- item 9: every /api/ and /_allauth/ error is JSON, whatever DEBUG says -------------------


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request: pytest.FixtureRequest, settings: Any) -> bool:
    settings.DEBUG = request.param
    return bool(request.param)


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/v2/me", "/api/",
                                  "/_allauth/app/v1/no-such-thing"])
def test_unknown_paths_are_json_404s(debug: bool, path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_unknown_web_paths_stay_html(debug: bool) -> None:
    response = Client().get("/no-such-page-at-all")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_allauth_refusals_are_in_the_error_shape(debug: bool) -> None:
    client = Client()
    wrong_method = client.get(f"{APP}/auth/login")
    assert wrong_method.status_code == 405
    assert _error(wrong_method)["code"] == "method_not_allowed"
    assert "POST" in wrong_method["Allow"]
    broken = client.post(f"{APP}/auth/login", '{"username": ', content_type="application/json")
    assert broken.status_code == 400
    assert _error(broken)["code"] == "bad_request"


def test_a_csrf_failure_says_so_in_the_error_shape(debug: bool) -> None:
    response = Client(enforce_csrf_checks=True).post(
        f"{BROWSER}/auth/login", {"username": "a", "password": "b"},
        content_type="application/json")
    assert response.status_code == 403
    error = _error(response)
    assert error["code"] == "permission_denied"
    assert error["message"].startswith("CSRF Failed")


def test_oversized_json_bodies_are_413(debug: bool, settings: Any,
                                       signed_in: MobileClient) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    big = '{"bio": "' + "x" * 2000 + '"}'
    for method, path, client, meta in [
        ("PATCH", "/api/v1/me", signed_in.client, signed_in._meta()),
        ("POST", "/api/v1/events", Client(), {}),
        ("POST", f"{APP}/auth/login", Client(), {}),
    ]:
        response = _send(client, method, path, big, **meta)
        assert response.status_code == 413, path
        error = _error(response)
        assert error["code"] == "too_large"
        assert error["message"] == "The request body is too large (at most 1.0 KB)."


def test_oversized_multipart_fields_are_413(debug: bool, settings: Any,
                                            auth_client: APIClient) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = auth_client.post("/api/v1/me/avatar", {"note": "x" * 4000}, format="multipart")
    assert response.status_code == 413
    assert _error(response)["code"] == "too_large"


@pytest.mark.urls("tests.core.views_for_tests")
@pytest.mark.parametrize("path", ["/api/v1/boom", "/api/v1/plain-boom", "/_allauth/plain-boom"])
def test_server_errors_are_json_and_still_logged(debug: bool, path: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    client = Client()
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get(path)
    assert response.status_code == 500
    error = _error(response)
    assert error["code"] == "server_error"
    assert "boom" not in response.content.decode()  # no internals leak, DEBUG or not
    assert any(r.name == "django.request" and r.exc_info for r in caplog.records)


@pytest.mark.urls("tests.core.views_for_tests")
def test_a_plain_text_refusal_keeps_its_words(debug: bool) -> None:
    response = Client().get("/api/v1/plain-refusal")
    assert response.status_code == 400
    assert _error(response) == {"code": "bad_request", "fields": {},
                                "message": "Upload-Offset must match the bytes received."}


# --- the same class of bug elsewhere: JSON inside pagination cursors ------------------------


def _cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


@pytest.mark.parametrize("depth", [700, 1000, 5000])
def test_deeply_nested_cursors_are_a_400(auth_client: APIClient, depth: int) -> None:
    post = PublishedPostFactory()
    deep = _cursor("[" * depth + "]" * depth)
    for path in (f"/api/v1/posts/{post.pk}/comments", "/api/v1/feed/following",
                 "/api/v1/feed/for-you"):
        response = auth_client.get(path, {"cursor": deep})
        assert response.status_code == 400, path
        assert _error(response)
