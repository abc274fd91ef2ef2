"""The service worker's `pushsubscriptionchange` (static/sw.js) in headless Chromium: the
real worker, registered at /sw.js on the live server, subscribes again with the old
subscription's applicationServerKey and POSTs the new subscription to the API with the
page's session and CSRF token, replacing the old one; a push then reaches the new
endpoint. Headless Chromium has no push service (Chrome's is Google's) and fires no such
event by itself, so the worker's PushManager.subscribe is given a subscription made here
(a real key pair at the local push service) and its handler is called as the event does."""

from __future__ import annotations

import json
from collections.abc import Callable

from playwright.sync_api import Page

from apps.notifications.push import deliver_push
from apps.notifications.push.models import WebPushSubscription
from tests.browser.conftest import DESKTOP
from tests.browser.test_webpush_settings import push_service, server_key  # noqa: F401
from tests.factories import UserFactory
from tests.notifications.push_servers import WebPushService, b64url_decode, push_message

SUBSCRIBE = """async (subscription) => {
  const response = await fetch("/api/v1/notifications/webpush/subscriptions", {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json",
              "X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content},
    body: JSON.stringify(subscription)});
  return response.status;
}"""

FAKE_SUBSCRIBE = """(made) => {
  self.__subscribed = [];
  PushManager.prototype.subscribe = async function (options) {
    self.__subscribed.push({key: Array.from(new Uint8Array(options.applicationServerKey)),
                            userVisibleOnly: options.userVisibleOnly});
    return {endpoint: made.endpoint, toJSON: () => made};
  };
}"""

CHANGE = """async ({oldEndpoint, key, fresh}) => {
  const old = {endpoint: oldEndpoint,
               options: {applicationServerKey: Uint8Array.from(key).buffer}};
  const given = fresh ? {endpoint: fresh.endpoint, toJSON: () => fresh} : null;
  const ok = await onSubscriptionChange(old, given);
  return {ok, subscribed: self.__subscribed};
}"""


def test_a_changed_subscription_is_replaced_on_the_server(
        logged_in_page: Callable[..., Page],
        push_service: WebPushService,  # noqa: F811 (the settings test's fixtures)
        server_key: str) -> None:  # noqa: F811
    user = UserFactory()
    page = logged_in_page(user, viewport=DESKTOP, touch=False)
    page.context.grant_permissions(["notifications"])
    page.goto("/inbox/settings")
    old, new, later = (push_service.subscription() for _ in range(3))
    assert page.evaluate(SUBSCRIBE, old.to_json()) == 201
    session = WebPushSubscription.objects.get(user=user).session_key

    with page.context.expect_event("serviceworker") as registered:
        page.evaluate("navigator.serviceWorker.register('/sw.js', {scope: '/'})"
                      ".then(() => navigator.serviceWorker.ready).then(() => true)")
    worker = registered.value
    assert worker.url.endswith("/sw.js")
    worker.evaluate(FAKE_SUBSCRIBE, new.to_json())
    key = list(b64url_decode(server_key))

    result = worker.evaluate(CHANGE, {"oldEndpoint": old.endpoint, "key": key,
                                      "fresh": None})
    assert result["ok"] is True
    # subscribed again with the same applicationServerKey, user-visible only
    assert result["subscribed"] == [{"key": key, "userVisibleOnly": True}]
    rows = list(WebPushSubscription.objects.filter(user=user))
    assert [(r.endpoint, r.session_key) for r in rows] == [(new.endpoint, session)]
    assert deliver_push(user_id=user.pk, message=push_message()).sent == 1
    (arrived,) = push_service.to("/push/")
    assert arrived.path == new.endpoint.split(push_service.origin, 1)[1]
    assert arrived.problems == []

    # the browser made the new subscription itself: posted as it is, no second subscribe
    result = worker.evaluate(CHANGE, {"oldEndpoint": new.endpoint, "key": key,
                                      "fresh": json.loads(json.dumps(later.to_json()))})
    assert result["ok"] is True
    assert len(result["subscribed"]) == 1
    assert list(WebPushSubscription.objects.filter(user=user).values_list(
        "endpoint", flat=True)) == [later.endpoint]
