"""A method an allauth headless endpoint does not serve is a 405 in the error shape, with
Allow. allauth validated the body of any non-GET request against the view's single input
form before looking at the method, so PUT, PATCH or DELETE on a POST-only URL (log-in,
sign-up's code, password change, 2FA, token refresh, ...) answered 400 "invalid" (and
401 on the signed-in-only ones when signed out)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver

from apps.accounts import headless_urls
from tests.accounts.conftest import APP, BROWSER, MobileClient

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _endpoints(patterns: list[URLPattern | URLResolver],
               prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path under /_allauth/, the methods its view serves) for every headless endpoint."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _endpoints(list(entry.url_patterns), prefix + str(entry.pattern))
            continue
        view_class = getattr(entry.callback, "view_class", None)
        if view_class is not None and "<" not in str(entry.pattern):
            served = {m.upper() for m in view_class.http_method_names if hasattr(view_class, m)}
            yield prefix + str(entry.pattern), served


def _refusals(send: Any, client_prefix: str) -> list[tuple[str, str]]:
    """Every (path, method) of this client whose method the endpoint does not serve."""
    cases = [(path, method) for path, served in _endpoints(headless_urls.urlpatterns)
             if f"/_allauth/{path}".startswith(client_prefix)
             for method in WRITE_METHODS if method not in served]
    assert len(cases) > 20  # log-in, sign-up, password, 2FA, tokens... for this client
    wrong = []
    for path, method in cases:
        response = send(method, f"/_allauth/{path}")
        body = response.json() if response["Content-Type"].startswith("application/json") \
            else None
        error = (body or {}).get("error") or {}
        allow = {m.strip() for m in response.get("Allow", "").split(",") if m.strip()}
        if (response.status_code != 405 or error.get("code") != "method_not_allowed"
                or set(error) != {"code", "message", "fields"}
                or f'"{method}"' not in error["message"] or not allow or method in allow):
            wrong.append((f"{method} /_allauth/{path}",
                          f"{response.status_code} {response.content[:120]!r}"))
    return wrong


@pytest.mark.parametrize("signed_in", [False, True], ids=["signed-out", "signed-in"])
def test_app_endpoints_refuse_methods_they_do_not_serve_with_405(user, signed_in):
    mobile = MobileClient()
    if signed_in:
        assert mobile.login(user.username).status_code == 200

    def send(method: str, path: str) -> Any:
        return mobile.client.generic(method, path, '{"password": "x"}',
                                     content_type="application/json", **mobile._meta())

    assert _refusals(send, APP) == []


@pytest.mark.parametrize("signed_in", [False, True], ids=["signed-out", "signed-in"])
def test_browser_endpoints_refuse_methods_they_do_not_serve_with_405(user, signed_in):
    browser = Client()
    if signed_in:
        browser.force_login(user)

    def send(method: str, path: str) -> Any:
        return browser.generic(method, path, "", content_type="application/json")

    assert _refusals(send, BROWSER) == []


def test_the_refusal_names_the_method_and_what_the_endpoint_takes():
    response = Client().put(f"{APP}/auth/login", '{"username": "a", "password": "b"}',
                            content_type="application/json")
    assert response.status_code == 405
    assert response["Allow"] == "OPTIONS, POST"
    assert response.json() == {"error": {
        "code": "method_not_allowed",
        "message": 'Method "PUT" is not allowed here; this endpoint takes OPTIONS, POST.',
        "fields": {}}}


def test_served_methods_still_reach_allauth(user):
    mobile = MobileClient()
    wrong_password = mobile.post(f"{APP}/auth/login",
                                 {"username": user.username, "password": "not-it"})
    assert wrong_password.status_code == 400
    assert mobile.login(user.username).status_code == 200
    assert mobile.get(f"{APP}/auth/session").status_code == 200
    # a GET-and-POST endpoint still answers GET; DELETE on the session still logs out
    assert mobile.client.delete(f"{APP}/auth/session", **mobile._meta()).status_code == 401
