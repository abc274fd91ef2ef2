"""A browser's new subscription replaces its old one (the service worker's
`pushsubscriptionchange`, static/sw.js): POST the new subscription with `replaces` = the
old endpoint; the old row goes, someone else's endpoint is never touched. The worker's
handler itself runs in Chromium: tests/browser/test_sw_subscription_change.py."""

from __future__ import annotations

import pytest

from apps.notifications.push import deliver_push
from apps.notifications.push.models import WebPushSubscription
from tests.factories import UserFactory
from tests.notifications.push_servers import (
    SUBSCRIPTIONS_URL,
    WebPushService,
    push_message,
    signed_in,
)

pytestmark = pytest.mark.django_db


def test_the_new_subscription_replaces_the_old_one(webpush_service: WebPushService,
                                                   vapid_key: str) -> None:
    user, other = UserFactory(), UserFactory()
    browser = signed_in(user)
    old, new, others = (webpush_service.subscription() for _ in range(3))
    assert browser.post(SUBSCRIPTIONS_URL, old.to_json(), format="json").status_code == 201
    assert signed_in(other).post(SUBSCRIPTIONS_URL, others.to_json(),
                                 format="json").status_code == 201
    session = WebPushSubscription.objects.get(endpoint=old.endpoint).session_key

    answer = browser.post(SUBSCRIPTIONS_URL, {**new.to_json(), "replaces": old.endpoint},
                          format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["endpoint"] == new.endpoint
    rows = list(WebPushSubscription.objects.filter(user=user))
    assert [(r.endpoint, r.session_key) for r in rows] == [(new.endpoint, session)]
    # pushes go to the new endpoint only
    assert deliver_push(user_id=user.pk, message=push_message()).sent == 1
    assert len(webpush_service.to(new.endpoint.split("/", 3)[3])) == 1
    assert webpush_service.to(old.endpoint.split("/", 3)[3]) == []

    # naming someone else's endpoint deletes nothing of theirs
    again = webpush_service.subscription()
    assert browser.post(SUBSCRIPTIONS_URL, {**again.to_json(), "replaces": others.endpoint},
                        format="json").status_code == 201
    assert WebPushSubscription.objects.filter(user=other, endpoint=others.endpoint).exists()
    # replacing itself keeps it
    assert browser.post(SUBSCRIPTIONS_URL, {**again.to_json(), "replaces": again.endpoint},
                        format="json").status_code == 201
    assert WebPushSubscription.objects.filter(user=user, endpoint=again.endpoint).exists()


def test_a_bad_replaces_is_400_in_the_error_shape(webpush_service: WebPushService) -> None:
    answer = signed_in(UserFactory()).post(SUBSCRIPTIONS_URL, {
        **webpush_service.subscription().to_json(), "replaces": "x" * 3000}, format="json")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid"
    assert "replaces" in error["fields"]
    assert error["message"]
