"""Web Push end to end: a browser-like subscription (a real P-256 key pair and auth secret)
is registered through the API; deliver_push encrypts and signs; a local push service
decrypts the payload with the subscription's private key and checks the VAPID JWT."""

from __future__ import annotations

import base64
import os
import stat
import time
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from apps.notifications.push import PushRetry, deliver_push, vapid
from apps.notifications.push.models import WebPushSubscription
from apps.notifications.push.webpush import topic_for
from tests.conftest import open_redis_breaker
from tests.factories import UserFactory
from tests.notifications.push_servers import SUBSCRIPTIONS_URL as URL
from tests.notifications.push_servers import (
    BrowserSubscription,
    WebPushService,
    b64url,
    push_message,
)
from tests.notifications.push_servers import signed_in as _client

pytestmark = pytest.mark.django_db


def _subscribed(webpush_service: WebPushService, user) -> BrowserSubscription:
    browser = webpush_service.subscription()
    response = _client(user).post(URL, browser.to_json(), format="json")
    assert response.status_code == 201, response.content
    return browser


def test_a_subscribed_browser_receives_the_notification_decrypted(webpush_service, vapid_key):
    user = UserFactory()
    client = _client(user)
    response = client.get("/api/v1/notifications/webpush/vapid-public-key")
    assert response.status_code == 200
    assert response.json() == {"public_key": vapid_key}
    browser = webpush_service.subscription()
    response = client.post(URL, browser.to_json(), format="json")
    assert response.status_code == 201
    assert response.json()["endpoint"] == browser.endpoint

    outcome = deliver_push(user_id=user.pk, message=push_message())

    assert (outcome.sent, outcome.failed, outcome.removed_tokens, outcome.rate_limited) == (
        1, 0, 0, False)
    (arrived,) = webpush_service.to("/push/")
    assert arrived.problems == []
    assert arrived.payload == {
        "title": "maya and 41 others liked your video", "body": "“Sunset run” 🌅",
        "url": "/@maya/video/123", "tag": "like:post:123", "notification_id": "91",
        "type": "like", "badge": 3}
    assert arrived.headers["ttl"] == "86400"
    assert arrived.headers["urgency"] == "normal"
    assert arrived.headers["topic"] == topic_for("like:post:123")
    assert len(arrived.headers["topic"]) <= 32
    assert WebPushSubscription.objects.get(user=user).last_sent_at is not None


def test_a_long_body_is_cut_to_keep_the_payload_under_3_kb(webpush_service):
    user = UserFactory()
    _subscribed(webpush_service, user)
    body = "Ünïcödé comment " * 600  # ~10 KB
    deliver_push(user_id=user.pk, message=push_message(body=body))
    (arrived,) = webpush_service.to("/push/")
    assert arrived.problems == []
    assert len(arrived.body) <= 3000 + 103  # the plaintext is at most 3,000 bytes
    assert arrived.payload["body"].endswith("…")
    assert arrived.payload["body"][:-1] in body
    assert arrived.payload["url"] == "/@maya/video/123"


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_forgot_is_deleted(webpush_service, status):
    user = UserFactory()
    browser = _subscribed(webpush_service, user)
    webpush_service.script(browser.endpoint.split(webpush_service.origin)[1], (status, {}, b"gone"))
    outcome = deliver_push(user_id=user.pk, message=push_message())
    assert (outcome.sent, outcome.removed_tokens) == (0, 1)
    assert not WebPushSubscription.objects.filter(user=user).exists()


def test_429_is_retried_after_the_services_retry_after(webpush_service):
    user = UserFactory()
    browser = _subscribed(webpush_service, user)
    path = browser.endpoint.split(webpush_service.origin)[1]
    webpush_service.script(path, (429, {"Retry-After": "1"}, b"slow down"))
    started = time.monotonic()
    outcome = deliver_push(user_id=user.pk, message=push_message())
    assert time.monotonic() - started >= 1.0
    assert outcome.sent == 1
    assert len(webpush_service.to(path)) == 2


def test_5xx_through_every_attempt_raises_push_retry_and_the_retry_sends_only_the_rest(
        webpush_service, settings):
    settings.SWIPEME_PUSH_ATTEMPTS = 3
    user = UserFactory()
    healthy = _subscribed(webpush_service, user)
    flaky = _subscribed(webpush_service, user)
    flaky_path = flaky.endpoint.split(webpush_service.origin)[1]
    healthy_path = healthy.endpoint.split(webpush_service.origin)[1]
    webpush_service.script(flaky_path, *[(503, {}, b"down")] * 3)

    with pytest.raises(PushRetry) as raised:
        deliver_push(user_id=user.pk, message=push_message())
    assert (raised.value.outcome.sent, raised.value.outcome.failed) == (1, 1)
    assert raised.value.retry_after >= 1
    assert len(webpush_service.to(flaky_path)) == 3
    assert WebPushSubscription.objects.filter(user=user).count() == 2  # 5xx removes nothing

    # the caller's retry (the unread count moved meanwhile)
    outcome = deliver_push(user_id=user.pk, message=push_message(badge=4))
    assert (outcome.sent, outcome.failed) == (2, 0)
    assert len(webpush_service.to(healthy_path)) == 1  # not sent twice
    assert len(webpush_service.to(flaky_path)) == 4


def test_without_redis_nothing_is_sent_and_nothing_waits(webpush_service):
    user = UserFactory()
    _subscribed(webpush_service, user)
    open_redis_breaker()
    started = time.monotonic()
    outcome = deliver_push(user_id=user.pk, message=push_message())
    assert time.monotonic() - started < 0.5
    assert (outcome.sent, outcome.rate_limited) == (0, True)
    assert webpush_service.to("/push/") == []


def test_a_browser_logged_out_of_the_account_is_told_nothing_more(webpush_service):
    """A shared computer: after its person logs out, their notifications stop showing."""
    user = UserFactory()
    client = _client(user)
    browser = webpush_service.subscription()
    assert client.post(URL, browser.to_json(), format="json").status_code == 201
    assert deliver_push(user_id=user.pk, message=push_message(1)).sent == 1
    client.logout()
    outcome = deliver_push(user_id=user.pk, message=push_message(2))
    assert (outcome.sent, outcome.failed) == (0, 0)
    assert len(webpush_service.to("/push/")) == 1
    assert not WebPushSubscription.objects.filter(user=user).exists()


def test_subscribing_again_or_from_another_account_moves_the_endpoint(webpush_service):
    first, second = UserFactory(), UserFactory()
    browser = webpush_service.subscription()
    assert _client(first).post(URL, browser.to_json(), format="json").status_code == 201
    assert _client(first).post(URL, browser.to_json(), format="json").status_code == 201
    assert _client(second).post(URL, browser.to_json(), format="json").status_code == 201
    (row,) = WebPushSubscription.objects.all()
    assert row.user_id == second.pk


def test_unsubscribe_removes_only_the_callers_subscription(webpush_service):
    owner, other = UserFactory(), UserFactory()
    browser = _subscribed(webpush_service, owner)
    response = _client(other).delete(URL, {"endpoint": browser.endpoint}, format="json")
    assert response.status_code == 204
    assert WebPushSubscription.objects.filter(user=owner).exists()
    response = _client(owner).delete(URL, {"endpoint": browser.endpoint}, format="json")
    assert response.status_code == 204
    assert not WebPushSubscription.objects.exists()
    assert _client(owner).delete(URL, {}, format="json").status_code == 400


def _keys() -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"p256dh": b64url(point), "auth": b64url(os.urandom(16))}


@pytest.mark.parametrize(("endpoint", "keys", "field"), [
    ("http://push.example.com/abc", None, "endpoint"),  # https only
    ("https://127.0.0.1/abc", None, "endpoint"),  # loopback
    ("https://10.1.2.3/abc", None, "endpoint"),  # private network
    ("https://169.254.169.254/latest/meta-data", None, "endpoint"),  # link-local metadata
    ("https://[::1]:8443/abc", None, "endpoint"),
    ("https://user:pw@8.8.8.8/abc", None, "endpoint"),
    ("ftp://8.8.8.8/abc", None, "endpoint"),
    ("https://8.8.8.8/" + "a" * 2100, None, "endpoint"),
    ("https://8.8.8.8/abc", {"p256dh": "not base64!", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}, "keys"),
    ("https://8.8.8.8/abc", {"p256dh": b64url(b"\x04" + b"\x01" * 64),
                             "auth": "AAAAAAAAAAAAAAAAAAAAAA"}, "keys"),  # not on the curve
    ("https://8.8.8.8/abc", {"p256dh": b64url(b"\x04" * 33), "auth": "AAAAAAAAAAAAAAAAAAAAAA"},
     "keys"),  # compressed length
    ("https://8.8.8.8/abc", {"auth": b64url(os.urandom(15))}, "keys"),  # 15-byte secret
    ("https://8.8.8.8/abc", {}, "keys"),
])
def test_bad_subscriptions_are_400_in_the_error_shape(settings, endpoint, keys, field):
    settings.SWIPEME_WEBPUSH_ALLOW_PRIVATE_ENDPOINTS = False  # production's rules
    body_keys = _keys()
    if keys is not None:
        body_keys = {**body_keys, **keys} if keys else {}
    response = _client(UserFactory()).post(URL, {"endpoint": endpoint, "keys": body_keys},
                                           format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"]
    assert field in error["fields"] or any(k.startswith(field) for k in error["fields"])
    assert not WebPushSubscription.objects.exists()


def test_a_public_https_endpoint_is_accepted_under_production_rules(settings):
    settings.SWIPEME_WEBPUSH_ALLOW_PRIVATE_ENDPOINTS = False
    response = _client(UserFactory()).post(
        URL, {"endpoint": "https://8.8.8.8/push/abc", "keys": _keys()}, format="json")
    assert response.status_code == 201, response.content


def test_subscriptions_need_a_signed_in_user():
    response = APIClient().post(URL, {"endpoint": "https://8.8.8.8/x", "keys": _keys()},
                                format="json")
    assert response.status_code == 401
    assert APIClient().get("/api/v1/notifications/webpush/vapid-public-key").status_code == 401


def test_the_vapid_key_command_keeps_the_key_and_prints_one_for_production(settings, tmp_path):
    settings.SWIPEME_VAPID_PRIVATE_KEY = ""
    path = tmp_path / "vapid" / "private_key.pem"
    settings.SWIPEME_VAPID_KEY_FILE = path
    out = StringIO()
    call_command("notifications_vapid_keys", stdout=out)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = vapid.public_key_b64url()
    assert f"Public key (applicationServerKey): {first}" in out.getvalue()
    call_command("notifications_vapid_keys", stdout=StringIO())
    assert vapid.public_key_b64url() == first  # kept: browsers' subscriptions stay valid
    call_command("notifications_vapid_keys", "--force", stdout=StringIO())
    assert vapid.public_key_b64url() != first

    out = StringIO()
    call_command("notifications_vapid_keys", "--print-env", stdout=out)
    line = out.getvalue().strip()
    assert line.startswith("SWIPEME_VAPID_PRIVATE_KEY=")
    raw = line.split("=", 1)[1]
    assert len(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))) == 32
    settings.SWIPEME_VAPID_PRIVATE_KEY = raw  # production reads it from the environment
    settings.SWIPEME_VAPID_KEY_FILE = None
    assert vapid.public_key_b64url() not in (None, first)
