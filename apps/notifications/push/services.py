"""Web Push subscriptions: a browser subscribes (or moves its subscription to the account
now logged in) and unsubscribes. Validation of what browsers send lives here too, so the
API and any other caller refuse the same things."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec
from django.db import transaction

from apps.accounts.models import User
from apps.notifications.push.models import WebPushSubscription
from apps.notifications.push.vapid import b64url_decode

MAX_SUBSCRIPTIONS_PER_USER = 20  # browsers and profiles; the oldest go first


def p256dh_refusal(value: str) -> str | None:
    try:
        raw = b64url_decode(value)
    except ValueError:
        return "keys.p256dh must be base64url."
    if len(raw) != 65 or raw[0] != 4:
        return "keys.p256dh must be an uncompressed P-256 public key (65 bytes)."
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        return "keys.p256dh is not a point on the P-256 curve."
    return None


def auth_refusal(value: str) -> str | None:
    try:
        raw = b64url_decode(value)
    except ValueError:
        return "keys.auth must be base64url."
    if len(raw) != 16:
        return "keys.auth must be a 16-byte secret."
    return None


def webpush_subscribe(*, user: User, endpoint: str, p256dh: str, auth: str,
                      session_key: str, user_agent: str = "",
                      replaces: str = "") -> WebPushSubscription:
    """Create or take over the subscription of this endpoint (one browser profile is one
    endpoint: logging in as someone else there moves it), bound to the session that
    registers it. `replaces`: the endpoint this one succeeds (the service worker's
    `pushsubscriptionchange`), deleted if it is the user's. Inputs are validated already."""
    with transaction.atomic():
        if replaces and replaces != endpoint:
            WebPushSubscription.objects.filter(user=user, endpoint=replaces).delete()
        subscription, _ = WebPushSubscription.objects.update_or_create(
            endpoint=endpoint,
            defaults={"user": user, "p256dh": p256dh.rstrip("="), "auth": auth.rstrip("="),
                      "session_key": session_key, "user_agent": user_agent[:500]},
        )
        extra = WebPushSubscription.objects.filter(user=user).order_by("-id").values_list(
            "id", flat=True)[MAX_SUBSCRIPTIONS_PER_USER:]
        WebPushSubscription.objects.filter(id__in=list(extra)).delete()
    return subscription


def webpush_unsubscribe(*, user: User, endpoint: str) -> bool:
    """Whether the user had that subscription (it is gone either way)."""
    deleted, _ = WebPushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    return deleted > 0
