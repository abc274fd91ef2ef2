"""APNs for iOS devices: HTTP/2 (httpx, one kept-alive connection per process) with a
token-based provider JWT (ES256 with the .p8 key; kid = key id, iss = team id), renewed
every 50 minutes (Apple refuses one older than an hour). Headers: apns-topic,
apns-push-type, apns-collapse-id (the collapse key), apns-priority, apns-expiration."""

from __future__ import annotations

import hashlib
import json
import ssl
import threading
import time
from functools import cache
from typing import Any

import httpx
import jwt
from django.conf import settings

from apps.notifications.push import PushMessage
from apps.notifications.push.payload import fit
from apps.notifications.push.retry import Answer, Result, retry_after_seconds

TOKEN_LIFETIME = 50 * 60
EXPIRATION_SECONDS = 24 * 3600
REMOVE_REASONS = frozenset({"Unregistered"})  # 410: the app was removed from the device
REFRESH_REASONS = frozenset({"ExpiredProviderToken", "InvalidProviderToken"})


@cache
def _key(path: str) -> str:
    with open(path, encoding="utf-8") as source:
        return source.read()


class _ProviderToken:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token = ""
        self.issued_at = 0.0
        self.signer: tuple[str, str, str] = ("", "", "")

    def get(self) -> str:
        signer = (settings.SWIPEME_APNS_KEY_FILE, settings.SWIPEME_APNS_KEY_ID,
                  settings.SWIPEME_APNS_TEAM_ID)
        with self.lock:
            if (self.token and self.signer == signer
                    and time.time() - self.issued_at < TOKEN_LIFETIME):
                return self.token
            now = int(time.time())
            self.token = jwt.encode({"iss": signer[2], "iat": now}, _key(signer[0]),
                                    algorithm="ES256", headers={"kid": signer[1]})
            self.issued_at, self.signer = now, signer
            return self.token

    def clear(self) -> None:
        with self.lock:
            self.token = ""


provider_token = _ProviderToken()


@cache
def _client(base_url: str, ca_file: str) -> httpx.Client:
    context = ssl.create_default_context(cafile=ca_file or None)
    return httpx.Client(base_url=base_url, http2=True, verify=context,
                        timeout=settings.SWIPEME_PUSH_TIMEOUT)


def configured() -> bool:
    return bool(settings.SWIPEME_APNS_KEY_FILE and settings.SWIPEME_APNS_KEY_ID
                and settings.SWIPEME_APNS_TEAM_ID and settings.SWIPEME_APNS_TOPIC)


def collapse_id(collapse_key: str) -> str:
    """apns-collapse-id is at most 64 bytes."""
    if len(collapse_key.encode()) <= 64:
        return collapse_key
    return hashlib.sha256(collapse_key.encode()).hexdigest()


def payload_for(message: PushMessage) -> bytes:
    def build(title: str, body: str) -> bytes:
        aps: dict[str, Any] = {"alert": {"title": title, "body": body}, "sound": "default",
                               "thread-id": message.collapse_key}
        if message.badge is not None:
            aps["badge"] = message.badge
        return json.dumps({"aps": aps, "url": message.url,
                           "notification_id": message.notification_id,
                           "type": message.type}, ensure_ascii=False,
                          separators=(",", ":")).encode()

    return fit(build, message.title, message.body)


def send(token: str, message: PushMessage) -> Answer:
    if not configured():
        return Answer(Result.FAILED, "APNs is not configured")
    headers = {
        "authorization": f"bearer {provider_token.get()}",
        "apns-topic": settings.SWIPEME_APNS_TOPIC,
        "apns-push-type": "alert",
        "apns-collapse-id": collapse_id(message.collapse_key),
        "apns-priority": "10",
        "apns-expiration": str(int(time.time()) + EXPIRATION_SECONDS),
        "content-type": "application/json",
    }
    client = _client(settings.SWIPEME_APNS_BASE_URL, settings.SWIPEME_APNS_CA_FILE)
    try:
        response = client.post(f"/3/device/{token}", content=payload_for(message),
                               headers=headers)
    except httpx.HTTPError as exc:
        return Answer(Result.RETRY, f"{type(exc).__name__}: {exc}"[:200])
    if response.status_code == 200:
        return Answer(Result.SENT, "200")
    try:
        reason = str(response.json().get("reason", ""))
    except ValueError:
        reason = ""
    detail = f"{response.status_code} {reason}"
    if response.status_code == 410 or reason in REMOVE_REASONS:
        return Answer(Result.REMOVE, detail)
    if reason in REFRESH_REASONS:
        provider_token.clear()
        return Answer(Result.RETRY, detail, 0.0)
    if response.status_code == 429 or response.status_code >= 500:
        return Answer(Result.RETRY, detail,
                      retry_after_seconds(response.headers.get("retry-after")))
    return Answer(Result.FAILED, detail)  # BadDeviceToken, BadCollapseId, ...
