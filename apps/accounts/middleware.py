"""allauth's session activity tracking, at most once a minute per session and process.

`allauth.usersessions.middleware.UserSessionsMiddleware` writes the session's row
(SELECT, UPDATE, COMMIT) on every authenticated request to move `last_seen_at`: a write
and an fsync in front of every read (the inbox's p99 at 10,000 notifications was mostly
that). Here the same `create_from_request` runs only when this process has not recorded
the session within `USERSESSIONS_ACTIVITY_SECONDS`, or at once when its IP or user agent
changed (allauth's `session_client_changed` stays immediate)."""

from __future__ import annotations

import time
from collections.abc import Callable

from allauth.account.adapter import get_adapter
from allauth.usersessions import app_settings
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.http import HttpRequest, HttpResponse

# A bound on the memory (sessions seen by this process); past it, forget them all once.
_MAX_REMEMBERED = 50_000


class UserSessionsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # session key -> (ip, user agent, monotonic time recorded)
        self.recorded: dict[str, tuple[str, str, float]] = {}

    def _due(self, request: HttpRequest, key: str) -> bool:
        client = (str(get_adapter().get_client_ip(request)),
                  request.META.get("HTTP_USER_AGENT", ""))
        now = time.monotonic()
        seen = self.recorded.get(key)
        if seen is not None and seen[:2] == client and (
                now - seen[2] < settings.USERSESSIONS_ACTIVITY_SECONDS):
            return False
        if len(self.recorded) >= _MAX_REMEMBERED:
            self.recorded.clear()
        self.recorded[key] = (*client, now)
        return True

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        key = session.session_key if session is not None else None
        if (app_settings.TRACK_ACTIVITY and key and hasattr(request, "user")
                and request.user.is_authenticated and self._due(request, key)):
            UserSession.objects.create_from_request(request)
        return self.get_response(request)
