"""The API's fast path (apps.core.page_middleware): a token or cookieless call under /api/
skips the page-only middleware; the web client's cookie calls keep sessions and CSRF."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils.module_loading import import_string

from apps.core import page_middleware

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
CSRF = "a" * 32  # a valid CSRF secret: cookie and header must match


def _token_for(user) -> str:  # type: ignore[no-untyped-def]
    response = Client().post(
        "/_allauth/app/v1/auth/login",
        {"username": user.username, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    token: str = response.json()["meta"]["session_token"]
    return token


def _cookie_client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_every_page_only_middleware_is_the_wrapped_one_in_settings():
    for original, wrapper in page_middleware.WRAPPED.items():
        assert original not in settings.MIDDLEWARE
        assert wrapper in settings.MIDDLEWARE
        assert issubclass(import_string(wrapper), import_string(original))


def test_a_token_call_works_without_a_session_and_sets_no_cookie(user):
    token = _token_for(user)
    sessions = Session.objects.count()
    client = Client(enforce_csrf_checks=True)

    read = client.get("/api/v1/me", HTTP_X_SESSION_TOKEN=token)
    write = client.patch(
        "/api/v1/me",
        json.dumps({"bio": "from the app"}),
        content_type="application/json",
        HTTP_X_SESSION_TOKEN=token,
    )

    assert read.status_code == 200, read.content
    assert read.json()["username"] == user.username
    assert write.status_code == 200, write.content  # no CSRF token, none needed
    user.refresh_from_db()
    assert user.bio == "from the app"
    for response in (read, write):
        assert not response.cookies
        assert "Content-Security-Policy" not in response  # the page-only headers are skipped
    assert Session.objects.count() == sessions


def test_a_cookieless_anonymous_call_skips_and_sets_no_cookie(db):
    response = Client().get("/api/v1/ping")

    assert response.status_code == 200
    assert not response.cookies
    assert "X-Frame-Options" not in response


def test_a_cookie_write_without_csrf_is_still_refused(user):
    client = _cookie_client(user)
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF

    refused = client.patch(
        "/api/v1/me", json.dumps({"bio": "forged"}), content_type="application/json"
    )
    allowed = client.patch(
        "/api/v1/me",
        json.dumps({"bio": "mine"}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=CSRF,
    )

    assert refused.status_code == 403, refused.content
    assert "CSRF" in refused.json()["error"]["message"]
    assert allowed.status_code == 200, allowed.content
    user.refresh_from_db()
    assert user.bio == "mine"


def test_a_cookie_read_still_has_its_session_user(user):
    response = _cookie_client(user).get("/api/v1/me")

    assert response.status_code == 200
    assert response.json()["username"] == user.username


def test_a_token_header_never_lends_the_cookie_its_authority(user):
    """A cross-site page cannot set headers, but were a bogus token added to a cookie call,
    the cookie is not read at all: the call is anonymous (401), not the cookie's user."""
    client = _cookie_client(user)

    response = client.patch(
        "/api/v1/me",
        json.dumps({"bio": "forged"}),
        content_type="application/json",
        HTTP_X_SESSION_TOKEN="bogus",
    )

    assert response.status_code in (401, 403), response.content
    user.refresh_from_db()
    assert user.bio != "forged"


def test_pages_keep_the_page_middleware(db):
    docs = Client().get("/api/docs/")  # HTML under /api/: a page
    assert docs.status_code == 200
    assert docs["X-Frame-Options"] == "DENY"  # (CSP excludes the docs page on purpose)

    response = Client().get("/accounts/login/")

    assert response.status_code == 200
    assert "Content-Security-Policy" in response
    assert response["X-Frame-Options"] == "DENY"
    assert settings.CSRF_COOKIE_NAME in response.cookies


def test_the_deploy_check_finds_csrf_and_frame_options_as_wrappers_or_originals() -> None:
    from django.test import override_settings

    from apps.core.checks import page_protections_installed

    assert page_protections_installed() == []
    without = [m for m in settings.MIDDLEWARE
               if not m.endswith(("CsrfViewMiddleware", "XFrameOptionsMiddleware"))]
    with override_settings(MIDDLEWARE=without):
        assert {e.id for e in page_protections_installed()} == {"core.E001", "core.E002"}
    with override_settings(MIDDLEWARE=[*without, "django.middleware.csrf.CsrfViewMiddleware"]):
        assert {e.id for e in page_protections_installed()} == {"core.E002"}
