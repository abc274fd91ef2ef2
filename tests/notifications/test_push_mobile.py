"""Mobile push against local services that speak the protocols: FCM HTTP v1 (the OAuth2
service-account exchange, messages:send and its error bodies) for Android devices, APNs
(HTTP/2 over TLS with a provider JWT) for iOS devices."""

from __future__ import annotations

import json
import time

import pytest

from apps.accounts.models import Device
from apps.notifications.push import PushRetry, deliver_push
from tests.accounts.conftest import APP, MobileClient
from tests.factories import UserFactory
from tests.notifications.push_servers import (
    INVALID_ARGUMENT,
    QUOTA_EXCEEDED,
    UNAVAILABLE,
    UNREGISTERED,
    ApnsService,
    apns_error,
    push_device,
    push_message,
)

pytestmark = pytest.mark.django_db


# --- FCM ------------------------------------------------------------------------------------


def test_fcm_sends_with_an_oauth_token_it_caches_and_the_collapse_key(fcm_service):
    user = UserFactory()
    push_device(user, "android", "android-token-1")
    outcome = deliver_push(user_id=user.pk, message=push_message(1))
    assert (outcome.sent, outcome.failed, outcome.rate_limited) == (1, 0, False)
    outcome = deliver_push(user_id=user.pk, message=push_message(2, body="and one more"))
    assert outcome.sent == 1
    assert fcm_service.token_requests == 1  # the access token is reused until it expires

    first, second = fcm_service.to("android-token-1")
    assert first.problems == []
    message = first.payload
    assert message["notification"] == {"title": "maya and 41 others liked your video",
                                       "body": "“Sunset run” 🌅"}
    assert message["android"]["collapse_key"] == "like:post:123"
    assert message["android"]["notification"]["tag"] == "like:post:123"
    assert message["android"]["notification"]["notification_count"] == 3
    assert message["data"] == {"url": "/@maya/video/123", "notification_id": "91",
                               "type": "like", "collapse_key": "like:post:123"}
    assert second.payload["notification"]["body"] == "and one more"


def test_fcm_a_revoked_access_token_is_fetched_again(fcm_service):
    user = UserFactory()
    push_device(user, "android", "android-token-1")
    deliver_push(user_id=user.pk, message=push_message(1))
    fcm_service.issued.clear()  # the service forgets (revokes) every token
    outcome = deliver_push(user_id=user.pk, message=push_message(2))
    assert outcome.sent == 1
    assert fcm_service.token_requests == 2


def test_fcm_unregistered_removes_the_token(fcm_service):
    user = UserFactory()
    device = push_device(user, "android", "stale-token")
    fcm_service.script("stale-token", UNREGISTERED)
    outcome = deliver_push(user_id=user.pk, message=push_message())
    assert (outcome.sent, outcome.removed_tokens) == (0, 1)
    device.refresh_from_db()
    assert device.push_token == ""


def test_fcm_invalid_argument_fails_without_retry_and_keeps_the_token(fcm_service):
    user = UserFactory()
    device = push_device(user, "android", "odd-token")
    fcm_service.script("odd-token", INVALID_ARGUMENT)
    outcome = deliver_push(user_id=user.pk, message=push_message())
    assert (outcome.sent, outcome.failed, outcome.removed_tokens) == (0, 1, 0)
    assert len(fcm_service.to("odd-token")) == 1
    device.refresh_from_db()
    assert device.push_token == "odd-token"


def test_fcm_quota_exceeded_is_retried_after_retry_after(fcm_service):
    user = UserFactory()
    push_device(user, "android", "busy-token")
    fcm_service.script("busy-token", QUOTA_EXCEEDED)
    started = time.monotonic()
    outcome = deliver_push(user_id=user.pk, message=push_message())
    assert time.monotonic() - started >= 1.0
    assert outcome.sent == 1
    assert len(fcm_service.to("busy-token")) == 2


def test_fcm_unavailable_backs_off_then_raises_push_retry(fcm_service, settings):
    settings.SWIPEME_PUSH_ATTEMPTS = 3
    user = UserFactory()
    device = push_device(user, "android", "down-token")
    fcm_service.script("down-token", *[UNAVAILABLE] * 3)
    with pytest.raises(PushRetry) as raised:
        deliver_push(user_id=user.pk, message=push_message())
    assert raised.value.outcome.failed == 1
    arrivals = fcm_service.to("down-token")
    assert len(arrivals) == 3
    device.refresh_from_db()
    assert device.push_token == "down-token"


# --- APNs -----------------------------------------------------------------------------------


def test_apns_sends_over_http2_with_the_provider_token_and_headers(apns_service):
    user = UserFactory()
    push_device(user, "ios", "a1b2c3")
    outcome = deliver_push(user_id=user.pk, message=push_message(1))
    assert (outcome.sent, outcome.failed) == (1, 0)
    outcome = deliver_push(user_id=user.pk, message=push_message(2))
    assert outcome.sent == 1

    first, _second = apns_service.to("/3/device/a1b2c3")
    assert apns_service.alpn == ["h2"]
    assert apns_service.connections == 1  # one kept-alive HTTP/2 connection
    headers = first.headers
    assert headers["apns-topic"] == ApnsService.TOPIC
    assert headers["apns-push-type"] == "alert"
    assert headers["apns-collapse-id"] == "like:post:123"
    assert headers["apns-priority"] == "10"
    assert 0 < int(headers["apns-expiration"]) - time.time() <= 24 * 3600 + 5
    assert first.payload == {
        "aps": {"alert": {"title": "maya and 41 others liked your video",
                          "body": "“Sunset run” 🌅"},
                "sound": "default", "thread-id": "like:post:123", "badge": 3},
        "url": "/@maya/video/123", "notification_id": "91", "type": "like"}


def test_apns_a_collapse_key_over_64_bytes_is_hashed_to_fit(apns_service):
    user = UserFactory()
    push_device(user, "ios", "a1b2c3")
    outcome = deliver_push(user_id=user.pk,
                           message=push_message(collapse_key="comment:post:" + "9" * 80))
    assert outcome.sent == 1
    (arrived,) = apns_service.to("/3/device/a1b2c3")
    assert len(arrived.headers["apns-collapse-id"].encode()) <= 64


def test_apns_unregistered_410_removes_the_token(apns_service):
    user = UserFactory()
    device = push_device(user, "ios", "gone-token")
    apns_service.script("gone-token", apns_error(410, "Unregistered"))
    outcome = deliver_push(user_id=user.pk, message=push_message())
    assert (outcome.sent, outcome.removed_tokens) == (0, 1)
    device.refresh_from_db()
    assert device.push_token == ""


def test_apns_bad_device_token_fails_without_retry(apns_service):
    user = UserFactory()
    device = push_device(user, "ios", "bad-token")
    apns_service.script("bad-token", apns_error(400, "BadDeviceToken"))
    outcome = deliver_push(user_id=user.pk, message=push_message())
    assert (outcome.sent, outcome.failed, outcome.removed_tokens) == (0, 1, 0)
    assert len(apns_service.to("bad-token")) == 1
    device.refresh_from_db()
    assert device.push_token == "bad-token"


def test_apns_too_many_requests_is_retried(apns_service):
    user = UserFactory()
    push_device(user, "ios", "busy-token")
    apns_service.script("busy-token", apns_error(429, "TooManyRequests", {"retry-after": "1"}))
    started = time.monotonic()
    outcome = deliver_push(user_id=user.pk, message=push_message())
    assert time.monotonic() - started >= 1.0
    assert outcome.sent == 1
    assert len(apns_service.to("busy-token")) == 2


def test_apns_503_through_every_attempt_raises_push_retry(apns_service, settings):
    settings.SWIPEME_PUSH_ATTEMPTS = 2
    user = UserFactory()
    push_device(user, "ios", "down-token")
    apns_service.script("down-token", *[apns_error(503, "ServiceUnavailable")] * 2)
    with pytest.raises(PushRetry):
        deliver_push(user_id=user.pk, message=push_message())
    assert len(apns_service.to("down-token")) == 2


def test_an_expired_provider_token_is_signed_again(apns_service):
    user = UserFactory()
    push_device(user, "ios", "a1b2c3")
    apns_service.script("a1b2c3", apns_error(403, "ExpiredProviderToken"))
    outcome = deliver_push(user_id=user.pk, message=push_message())
    assert outcome.sent == 1
    first, second = apns_service.to("/3/device/a1b2c3")
    assert first.headers["authorization"] != second.headers["authorization"]


def test_each_device_goes_to_its_platforms_service(apns_service, fcm_service):
    user = UserFactory()
    push_device(user, "ios", "iphone")
    push_device(user, "android", "pixel")
    push_device(user, "web", "browser-token")  # web devices use Web Push subscriptions
    Device.objects.create(user=user, platform="ios", push_token="logged-out",
                          session_key="")  # its session ended
    outcome = deliver_push(user_id=user.pk, message=push_message())
    assert outcome.sent == 2
    assert [a.path for a in apns_service.arrived] == ["/3/device/iphone"]
    assert [a.path for a in fcm_service.arrived] == ["pixel"]


def test_a_phone_logged_out_of_the_account_is_told_nothing_more(fcm_service):
    """Logging out keeps the device row (and its token); pushes must stop with the session,
    or the next person using the phone reads the account's notifications."""
    user = UserFactory()
    phone = MobileClient(device_id="pixel-1", platform="android")
    assert phone.login(user.username).status_code == 200
    device = Device.objects.get(user=user)
    assert phone.patch(f"/api/v1/me/devices/{device.pk}",
                       {"push_token": "pixel-token"}).status_code == 200
    assert deliver_push(user_id=user.pk, message=push_message(1)).sent == 1

    assert phone.delete(f"{APP}/auth/session").status_code == 401  # allauth: logged out
    outcome = deliver_push(user_id=user.pk, message=push_message(2))
    assert (outcome.sent, outcome.failed) == (0, 0)
    assert len(fcm_service.to("pixel-token")) == 1


def test_a_long_notification_is_cut_to_fit_both_services_never_its_link(apns_service,
                                                                        fcm_service):
    # Multi-byte text far over the 4 KB both services take: the body, then the title, is
    # shortened by characters to 3,000 bytes of JSON; the link and ids arrive whole.
    user = UserFactory()
    push_device(user, "ios", "a1b2c3")
    push_device(user, "android", "android-token-1")
    long_title, long_body = "🌅 " * 2000, "Ünïcödé “words” " * 1000
    outcome = deliver_push(user_id=user.pk, message=push_message(
        1, title=long_title, body=long_body, url="/@maya/video/123?from=push"))
    assert (outcome.sent, outcome.failed) == (2, 0)
    (ios,) = apns_service.to("/3/device/a1b2c3")
    (android,) = fcm_service.to("android-token-1")
    assert len(ios.body) <= 3000
    alert = ios.payload["aps"]["alert"]
    assert ios.payload["url"] == "/@maya/video/123?from=push"
    message = android.payload
    assert message["data"]["url"] == "/@maya/video/123?from=push"
    fcm_json = json.dumps({"message": message}, ensure_ascii=False,
                          separators=(",", ":")).encode()
    assert len(fcm_json) <= 3000
    for title, body in ((alert["title"], alert["body"]),
                        (message["notification"]["title"], message["notification"]["body"])):
        # the body went first: cut to nothing before the title was touched
        assert body in ("", "…") or long_body.startswith(body[:-1])
        assert title.endswith("…")
        assert long_title.startswith(title[:-1])
        assert len(title) > 100  # the title kept as much as fits
