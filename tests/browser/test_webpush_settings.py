"""Web Push in the web client (issue 14), headless Chromium at phone and desktop sizes:
settings → Account → "Turn on notifications" registers the service worker (/sw.js, root
scope), asks permission, subscribes with the server's VAPID key and registers the
subscription; a notification delivered to it is decrypted by the local push service.

Headless Chromium has no push service to subscribe at (Chrome's is Google's), so the page
gets a browser-side PushManager whose subscription carries a real key pair made here and
points at the local push service: everything from the page's script on is ours and real."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from apps.notifications.push import deliver_push
from apps.notifications.push.models import WebPushSubscription
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.factories import UserFactory
from tests.notifications.push_servers import (
    WebPushService,
    b64url_decode,
    made_vapid_key,
    push_message,
    running_webpush_service,
)

SIZES = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]
SHOTS = Path("/tmp/shots-h8")

FAKE_PUSH_MANAGER = """
(() => {
  const subscription = %s;
  let current = null;
  const made = { endpoint: subscription.endpoint, toJSON: () => subscription,
                 unsubscribe: async () => { current = null; return true; } };
  PushManager.prototype.subscribe = async function (options) {
    window.__applicationServerKey = Array.from(new Uint8Array(options.applicationServerKey));
    window.__userVisibleOnly = options.userVisibleOnly;
    current = made;
    return made;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
})();
"""


def _shot(page: Page, name: str) -> None:
    path = screenshot(page, name)
    SHOTS.mkdir(exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


@pytest.fixture(scope="module")
def server_key() -> str:
    """The key the live server reads (test settings: under its media root)."""
    return made_vapid_key()


@pytest.fixture
def push_service(server_key: str) -> Iterator[WebPushService]:
    yield from running_webpush_service(server_key)


def test_the_service_worker_is_served_at_the_root_scope(page: Page, base_url: str) -> None:
    response = page.request.get(f"{base_url}/sw.js")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["service-worker-allowed"] == "/"
    body = response.text()
    assert "showNotification" in body
    assert "notificationclick" in body


@pytest.mark.parametrize("viewport", SIZES)
def test_turning_on_notifications_subscribes_this_browser(
        logged_in_page: Callable[..., Page], push_service: WebPushService, server_key: str,
        viewport: dict[str, int]) -> None:
    user = UserFactory()
    browser_sub = push_service.subscription()
    page = logged_in_page(user, viewport=viewport, touch=viewport == PHONE)
    page.context.grant_permissions(["notifications"])
    page.add_init_script(FAKE_PUSH_MANAGER % json.dumps(browser_sub.to_json()))
    page.goto("/settings/account")

    card = page.locator("[data-webpush]")
    button = card.locator("[data-webpush-toggle]")
    expect(button).to_have_text("Turn on notifications")
    expect(card.locator("[data-webpush-state]")).to_contain_text("Off")
    box = button.bounding_box()
    assert box
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= viewport["width"]
    assert box["height"] >= 40  # a comfortable tap target on a phone
    card.scroll_into_view_if_needed()
    _shot(page, f"webpush-off-{viewport['width']}")

    button.click()
    expect(button).to_have_text("Turn off notifications")
    expect(card.locator("[data-webpush-state]")).to_contain_text("On")
    _shot(page, f"webpush-on-{viewport['width']}")

    # subscribed with the server's VAPID key, user-visible only
    key = page.evaluate("window.__applicationServerKey")
    assert bytes(key) == b64url_decode(server_key)
    assert page.evaluate("window.__userVisibleOnly") is True
    registration_scope = page.evaluate(
        "navigator.serviceWorker.getRegistration('/').then(r => r && r.scope)")
    assert registration_scope
    assert registration_scope.endswith("/")
    row = WebPushSubscription.objects.get(user=user)
    assert row.endpoint == browser_sub.endpoint

    outcome = deliver_push(user_id=user.pk, message=push_message())
    assert outcome.sent == 1
    (arrived,) = push_service.to("/push/")
    assert arrived.problems == []
    assert arrived.payload["title"] == "maya and 41 others liked your video"

    button.click()
    expect(button).to_have_text("Turn on notifications")
    assert not WebPushSubscription.objects.filter(user=user).exists()


def test_a_refused_permission_is_said_in_words(logged_in_page: Callable[..., Page],
                                               server_key: str) -> None:
    page = logged_in_page(UserFactory(), viewport=PHONE)
    page.add_init_script("Notification.requestPermission = async () => 'denied';"
                         "Object.defineProperty(Notification, 'permission', "
                         "{get: () => window.__denied ? 'denied' : 'default'});"
                         "const ask = Notification.requestPermission;"
                         "Notification.requestPermission = async () => "
                         "{ window.__denied = true; return ask(); };")
    page.goto("/settings/account")
    button = page.locator("[data-webpush-toggle]")
    button.click()
    state = page.locator("[data-webpush-state]")
    expect(state).to_contain_text("blocked")
    expect(button).to_be_hidden()
    assert not WebPushSubscription.objects.exists()


