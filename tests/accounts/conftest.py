"""Helpers for the accounts tests: drive allauth's headless app API like a mobile client."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

APP = "/_allauth/app/v1"
BROWSER = "/_allauth/browser/v1"
PASSWORD = "correct-horse-battery"
CODE = r"^\s*([A-Z0-9]{4}-?[A-Z0-9]{4}|[A-Z0-9]{6,8})\s*$"


class MobileClient:
    """A Django test client that speaks the app flow: JSON bodies, X-Session-Token."""

    def __init__(self, *, device_id: str = "", platform: str = "ios", version: str = "1.4.0"):
        self.client = Client(enforce_csrf_checks=True)
        self.token: str | None = None
        self.headers = {"HTTP_X_CLIENT_PLATFORM": platform, "HTTP_X_APP_VERSION": version,
                        "HTTP_USER_AGENT": f"SwipeMe/{version} ({platform})"}
        if device_id:
            self.headers["HTTP_X_DEVICE_ID"] = device_id

    def _meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = dict(self.headers)
        if self.token:
            meta["HTTP_X_SESSION_TOKEN"] = self.token
        return meta

    def _remember(self, response: Any) -> Any:
        if response.get("Content-Type", "").startswith("application/json"):
            body = response.json()
            meta = (body.get("meta") or {}) if isinstance(body, dict) else {}
            token = meta.get("session_token")
            if token:
                self.token = token
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self._remember(self.client.get(path, **kwargs, **self._meta()))

    def post(self, path: str, data: Any = None, **kwargs: Any) -> Any:
        return self._remember(self.client.post(path, data if data is not None else {},
                                               content_type="application/json",
                                               **kwargs, **self._meta()))

    def patch(self, path: str, data: Any, **kwargs: Any) -> Any:
        return self._remember(self.client.patch(path, data, content_type="application/json",
                                                **kwargs, **self._meta()))

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self._remember(self.client.delete(path, **kwargs, **self._meta()))

    def multipart(self, path: str, data: dict[str, Any]) -> Any:
        return self.client.post(path, data, **self._meta())

    def login(self, login: str, password: str = PASSWORD) -> Any:
        field = "email" if "@" in login else "username"
        return self.post(f"{APP}/auth/login", {field: login, "password": password})

    def reauthenticate(self, password: str = PASSWORD) -> Any:
        """allauth's headless re-authentication: sensitive calls work for 5 minutes."""
        response = self.post(f"{APP}/auth/reauthenticate", {"password": password})
        assert response.status_code == 200, response.content
        return response


def reauthenticated_api_client(user: Any, password: str = PASSWORD) -> APIClient:
    """An APIClient signed in with the web session cookie that has just re-authenticated
    through allauth's browser endpoint (as the web client would), so that endpoints behind
    apps.accounts.reauthentication.RecentlyAuthenticated let it through."""
    client = APIClient()
    client.force_login(user)
    response = client.post(f"{BROWSER}/auth/reauthenticate", {"password": password},
                           format="json")
    assert response.status_code == 200, response.content
    return client


def last_code(to: str) -> str:
    """The code in the newest e-mail sent to `to` (verification or password reset)."""
    for message in reversed(mail.outbox):
        if to in message.to:
            match = re.search(CODE, str(message.body), re.MULTILINE)
            assert match, message.body
            return match.group(1)
    raise AssertionError(f"no mail to {to}")


def totp_now(secret: str, *, at: float | None = None, digits: int = 6, period: int = 30) -> str:
    """RFC 6238 TOTP computed independently of allauth (HMAC-SHA1)."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // period)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


@pytest.fixture
def mobile() -> MobileClient:
    return MobileClient(device_id="install-aaaa-1111")


@pytest.fixture
def reauthed_client(user: Any) -> APIClient:
    return reauthenticated_api_client(user)


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "fields"} <= set(body["error"])
    error: dict[str, Any] = body["error"]
    return error
