"""FCM HTTP v1 for Android devices: the service account's JWT (RS256) is exchanged at its
token URI for an OAuth2 access token (cached until a minute before it expires), then one
POST per token to /v1/projects/<id>/messages:send with the collapse key and tag."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx
import jwt
from django.conf import settings

from apps.notifications.push import PushMessage
from apps.notifications.push.payload import fit
from apps.notifications.push.retry import Answer, Result, retry_after_seconds

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
TTL = "86400s"
# FCM's errorCode (google.firebase.fcm.v1.FcmError) -> what it means for the token.
REMOVE_CODES = frozenset({"UNREGISTERED", "SENDER_ID_MISMATCH"})
RETRY_CODES = frozenset({"QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL"})


@dataclass(frozen=True)
class ServiceAccount:
    project_id: str
    client_email: str
    private_key: str
    private_key_id: str
    token_uri: str


def service_account() -> ServiceAccount | None:
    path = settings.SWIPEME_FCM_SERVICE_ACCOUNT_FILE
    return _load(path) if path else None


@cache
def _load(path: str) -> ServiceAccount:
    with open(path, encoding="utf-8") as source:
        data = json.load(source)
    return ServiceAccount(project_id=data["project_id"], client_email=data["client_email"],
                          private_key=data["private_key"],
                          private_key_id=data.get("private_key_id", ""),
                          token_uri=data.get("token_uri", "https://oauth2.googleapis.com/token"))


class _TokenCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token = ""
        self.expires_at = 0.0

    def clear(self) -> None:
        with self.lock:
            self.token, self.expires_at = "", 0.0


_tokens = _TokenCache()


class AuthError(Exception):
    pass


@cache
def _client() -> httpx.Client:
    """One per process: its connections to Google are kept alive between sends."""
    return httpx.Client(timeout=settings.SWIPEME_PUSH_TIMEOUT)


def access_token(account: ServiceAccount) -> str:
    """The cached OAuth2 access token, fetched with a fresh signed assertion when missing
    or within a minute of expiry. Raises AuthError (or httpx.HTTPError)."""
    with _tokens.lock:
        if _tokens.token and time.time() < _tokens.expires_at - 60:
            return _tokens.token
        now = int(time.time())
        assertion = jwt.encode(
            {"iss": account.client_email, "scope": SCOPE, "aud": account.token_uri,
             "iat": now, "exp": now + 3600},
            account.private_key, algorithm="RS256",
            headers={"kid": account.private_key_id} if account.private_key_id else None,
        )
        response = _client().post(account.token_uri, data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": assertion})
        if response.status_code != 200:
            raise AuthError(f"token {response.status_code}: {response.text[:160]}")
        body = response.json()
        _tokens.token = str(body["access_token"])
        _tokens.expires_at = time.time() + float(body.get("expires_in", 3600))
        return _tokens.token


def message_for(token: str, message: PushMessage) -> bytes:
    def build(title: str, body: str) -> bytes:
        notification: dict[str, Any] = {"tag": message.collapse_key,
                                        "click_action": "OPEN_NOTIFICATION"}
        if message.badge is not None:
            notification["notification_count"] = message.badge
        return json.dumps({"message": {
            "token": token,
            "notification": {"title": title, "body": body},
            "data": {"url": message.url, "notification_id": message.notification_id,
                     "type": message.type, "collapse_key": message.collapse_key},
            "android": {"collapse_key": message.collapse_key, "priority": "high",
                        "ttl": TTL, "notification": notification},
        }}, ensure_ascii=False, separators=(",", ":")).encode()

    return fit(build, message.title, message.body)


def _error_code(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
    except ValueError:
        return ""
    for detail in error.get("details", []) or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    return str(error.get("status", ""))


def send(token: str, message: PushMessage) -> Answer:
    account = service_account()
    if account is None:
        return Answer(Result.FAILED, "FCM is not configured")
    try:
        bearer = access_token(account)
    except AuthError as exc:
        return Answer(Result.FAILED, str(exc))
    except httpx.HTTPError as exc:
        return Answer(Result.RETRY, f"token: {type(exc).__name__}")
    url = (f"{settings.SWIPEME_FCM_BASE_URL.rstrip('/')}/v1/projects/"
           f"{account.project_id}/messages:send")
    try:
        response = _client().post(url, content=message_for(token, message), headers={
            "Authorization": f"Bearer {bearer}",
            "Content-Type": "application/json; charset=UTF-8"})
    except httpx.HTTPError as exc:
        return Answer(Result.RETRY, f"{type(exc).__name__}: {exc}"[:200])
    if response.status_code == 200:
        return Answer(Result.SENT, "200")
    code = _error_code(response)
    detail = f"{response.status_code} {code}"
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    if response.status_code == 401:  # the access token was revoked or expired early
        _tokens.clear()
        return Answer(Result.RETRY, detail, 0.0)
    if code in REMOVE_CODES or response.status_code == 404:
        return Answer(Result.REMOVE, detail)
    if code in RETRY_CODES or response.status_code == 429 or response.status_code >= 500:
        return Answer(Result.RETRY, detail, retry_after)
    return Answer(Result.FAILED, detail)  # INVALID_ARGUMENT, THIRD_PARTY_AUTH_ERROR, ...
