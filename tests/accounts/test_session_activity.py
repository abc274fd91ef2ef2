"""A session's activity (allauth's last_seen_at, IP, user agent) is written at most once a
minute per session, not on every request: no write and commit in front of every read
(apps.accounts.middleware); a changed IP or user agent is still recorded at once."""

from __future__ import annotations

import pytest
from allauth.usersessions.models import UserSession
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


def _writes(client: Client, **extra: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/notifications", **extra).status_code == 200  # type: ignore[arg-type]
    return [q["sql"] for q in queries.captured_queries
            if "usersessions_usersession" in q["sql"]]


def test_a_sessions_activity_is_written_once_a_minute_not_per_request(user, settings):
    client = Client(HTTP_USER_AGENT="phone")
    client.force_login(user)
    assert _writes(client)  # the first request records the session
    row = UserSession.objects.get(user=user)
    assert _writes(client) == []  # the next ones, within the minute, touch nothing
    assert _writes(client) == []

    settings.USERSESSIONS_ACTIVITY_SECONDS = 0  # the minute has passed
    assert any(sql.startswith("UPDATE") for sql in _writes(client))
    assert UserSession.objects.get(pk=row.pk).last_seen_at > row.last_seen_at


def test_a_changed_user_agent_or_ip_is_recorded_at_once(user):
    client = Client(HTTP_USER_AGENT="phone")
    client.force_login(user)
    _writes(client)
    assert _writes(client, HTTP_USER_AGENT="laptop")
    assert UserSession.objects.get(user=user).user_agent == "laptop"
    assert _writes(client, HTTP_USER_AGENT="laptop", REMOTE_ADDR="10.1.2.3")
    assert str(UserSession.objects.get(user=user).ip) == "10.1.2.3"
