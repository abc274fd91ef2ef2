"""Web Push (RFC 8030/8291/8292): the payload encrypted with aes128gcm for the
subscription's keys and a VAPID JWT (ES256, aud = the endpoint's origin, exp 12 h) signed
with the server's key, both by pywebpush; TTL, Urgency and Topic (the collapse key: a
newer message with the same topic replaces an undelivered one) headers."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from functools import cache
from urllib.parse import urlsplit

import requests
from django.conf import settings
from pywebpush import WebPushException, webpush

from apps.notifications.push import PushMessage
from apps.notifications.push.endpoints import endpoint_refusal
from apps.notifications.push.models import WebPushSubscription
from apps.notifications.push.payload import fit
from apps.notifications.push.retry import Answer, Result, retry_after_seconds, status_result
from apps.notifications.push.vapid import b64url, server_key

logger = logging.getLogger(__name__)

TTL_SECONDS = 24 * 3600  # a notification a day late is no longer news
URGENT_TYPES = frozenset({"security", "moderation", "appeal"})  # prefixes of type names


def topic_for(collapse_key: str) -> str:
    """RFC 8030 Topic: at most 32 base64url characters."""
    return b64url(hashlib.sha256(collapse_key.encode()).digest())[:32]


def payload_for(message: PushMessage) -> bytes:
    """What the service worker reads (static/sw.js), under 3 KB."""
    def build(title: str, body: str) -> bytes:
        return json.dumps({
            "title": title, "body": body, "url": message.url, "tag": message.collapse_key,
            "notification_id": message.notification_id, "type": message.type,
            "badge": message.badge,
        }, ensure_ascii=False, separators=(",", ":")).encode()

    return fit(build, message.title, message.body)


@cache
def _session() -> requests.Session:
    session = requests.Session()
    session.max_redirects = 0  # a push service answers; it never redirects us elsewhere
    return session


def _urgency(message: PushMessage) -> str:
    return "high" if message.type.split("_", 1)[0] in URGENT_TYPES else "normal"


def send(subscription: WebPushSubscription, message: PushMessage) -> Answer:
    """One attempt to one subscription."""
    key = server_key()
    if key is None:
        return Answer(Result.FAILED, "Web Push is not configured (no VAPID key)")
    refusal = endpoint_refusal(subscription.endpoint)
    if refusal:
        return Answer(Result.REMOVE, refusal)
    origin = urlsplit(subscription.endpoint)
    claims: dict[str, str | int] = {
        "sub": settings.SWIPEME_VAPID_SUBJECT,
        "aud": f"{origin.scheme}://{origin.netloc}",
        "exp": int(time.time()) + 12 * 3600,
    }
    try:
        response = webpush(
            subscription_info={"endpoint": subscription.endpoint,
                               "keys": {"p256dh": subscription.p256dh,
                                        "auth": subscription.auth}},
            data=payload_for(message).decode(),
            vapid_private_key=key,
            vapid_claims=claims,
            content_encoding="aes128gcm",
            ttl=TTL_SECONDS,
            timeout=settings.SWIPEME_PUSH_TIMEOUT,
            headers={"Urgency": _urgency(message), "Topic": topic_for(message.collapse_key)},
            requests_session=_session(),
        )
    except WebPushException as exc:
        answer = exc.response
        if answer is None:
            return Answer(Result.RETRY, str(exc)[:200])
        return Answer(status_result(answer.status_code),
                      f"{answer.status_code} {answer.text[:160]}",
                      retry_after_seconds(answer.headers.get("Retry-After")))
    except requests.TooManyRedirects:
        return Answer(Result.FAILED, "the push service redirected")
    except requests.RequestException as exc:
        return Answer(Result.RETRY, f"{type(exc).__name__}: {exc}"[:200])
    status = getattr(response, "status_code", 201)
    return Answer(status_result(status), str(status))
