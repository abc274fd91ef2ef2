"""A mobile client's first day, through the documented API only (issue 2's "done when"):
sign up, verify, log in with a token, edit the profile, follow and block."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

APP = "/_allauth/app/v1"
DEVICE: dict[str, Any] = {
    "HTTP_X_CLIENT_PLATFORM": "ios",
    "HTTP_X_APP_VERSION": "1.0.0",
    "HTTP_X_DEVICE_ID": "ios-device-1",
}


def _code_from_last_mail() -> str:
    body = str(mail.outbox[-1].body)
    match = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4}|[A-Z0-9]{6})\s*$", body, re.MULTILINE)
    assert match, body
    return match.group(1)


def test_a_mobile_client_signs_up_verifies_logs_in_edits_follows_and_blocks():
    client = APIClient()
    maya = UserFactory(username="maya")
    troll = UserFactory(username="troll")

    # sign up: the flow waits for e-mail verification and hands out a session token
    response = client.post(
        f"{APP}/auth/signup",
        {
            "email": "new@example.com",
            "username": "new_kid",
            "password": "a long passphrase 42",
            "date_of_birth": "2001-04-05",
        },
        format="json",
        **DEVICE,
    )
    assert response.status_code == 401, response.content
    token = response.json()["meta"]["session_token"]
    pending = [f["id"] for f in response.json()["data"]["flows"] if f.get("is_pending")]
    assert pending == ["verify_email"]

    # verify with the code from the e-mail
    response = client.post(
        f"{APP}/auth/email/verify",
        {"key": _code_from_last_mail()},
        format="json",
        HTTP_X_SESSION_TOKEN=token,
        **DEVICE,
    )
    assert response.status_code == 200, response.content
    # the token rotates when the session logs in
    new_token = response.json()["meta"]["session_token"]
    assert new_token != token
    token = new_token

    # log out, then log in again with username and password: a fresh token
    client.delete(f"{APP}/auth/session", HTTP_X_SESSION_TOKEN=token)
    response = client.post(
        f"{APP}/auth/login",
        {"username": "new_kid", "password": "a long passphrase 42"},
        format="json",
        **DEVICE,
    )
    assert response.status_code == 200, response.content
    token = response.json()["meta"]["session_token"]
    auth = {"HTTP_X_SESSION_TOKEN": token}

    # the profile is ours to edit
    response = client.patch(
        "/api/v1/me", {"display_name": "New Kid", "bio": "hello"}, format="json", **auth
    )
    assert response.status_code == 200, response.content
    me = response.json()
    assert me["display_name"] == "New Kid"
    assert isinstance(me["id"], str)

    # the session list shows this device
    sessions = client.get("/api/v1/me/sessions", **auth).json()
    rows = sessions["results"] if isinstance(sessions, dict) else sessions
    assert any("ios" in str(row) for row in rows)

    # follow maya, block the troll
    response = client.post("/api/v1/users/maya/follow", **auth)
    assert response.status_code in (200, 201), response.content
    assert response.json()["state"] == "following"
    response = client.post("/api/v1/users/troll/block", **auth)
    assert response.status_code in (200, 201, 204), response.content

    # then: maya has one follower, and the troll cannot see us any more
    maya.refresh_from_db()
    assert maya.followers_count == 1
    troll_client = APIClient()
    troll_client.force_authenticate(troll)
    assert troll_client.get("/api/v1/users/new_kid").status_code == 404
    assert troll_client.post("/api/v1/users/new_kid/follow").status_code in (403, 404)
