// SwipeMe's service worker (served at /sw.js, scope "/"): shows Web Push notifications.
// The payload (apps/notifications/push/webpush.py) is JSON: title, body, url, tag (the
// collapse key: a newer notification of the same group replaces the shown one),
// notification_id, type, badge.

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

function sameOriginUrl(path) {
  // Only our own pages: a payload never sends the browser elsewhere.
  try {
    const url = new URL(path || "/", self.location.origin);
    return url.origin === self.location.origin ? url.href : self.location.origin + "/";
  } catch {
    return self.location.origin + "/";
  }
}

self.addEventListener("push", (event) => {
  let data = {};
  if (event.data) {
    try { data = event.data.json(); } catch { data = { body: event.data.text() }; }
  }
  const options = {
    body: data.body || "",
    data: { url: sameOriginUrl(data.url), notificationId: data.notification_id || "" },
  };
  if (data.tag) {
    options.tag = data.tag;
    options.renotify = true;  // an updated group ("…and 41 others") alerts again
  }
  event.waitUntil(self.registration.showNotification(data.title || "SwipeMe", options));
});

// The browser replaced the subscription (the push service rotated or expired it): the
// server must learn the new one, or pushes go to a dead endpoint until a 410 removes it.
// Subscribe again with the same applicationServerKey (the old subscription's, else the
// server's) unless the browser already did, and POST the new one to the API naming the
// old endpoint (`replaces`), which it deletes.
const SUBSCRIPTIONS = "/api/v1/notifications/webpush/subscriptions";
const VAPID_KEY = "/api/v1/notifications/webpush/vapid-public-key";

function keyBytes(base64url) {
  const base64 = (base64url + "=".repeat((4 - (base64url.length % 4)) % 4))
    .replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

async function csrfToken() {
  // The API checks the CSRF token of a session's write; a worker has no document.cookie.
  if (self.cookieStore) {
    const cookie = await self.cookieStore.get("csrftoken");
    if (cookie) return cookie.value;
  }
  const page = await fetch("/inbox/settings", { credentials: "same-origin" });
  const match = (await page.text()).match(/<meta name="csrf-token" content="([^"]+)"/);
  return match ? match[1] : "";
}

async function onSubscriptionChange(oldSubscription, newSubscription) {
  let subscription = newSubscription;
  if (!subscription) {
    let key = oldSubscription && oldSubscription.options
      && oldSubscription.options.applicationServerKey;
    if (!key) {
      const answer = await fetch(VAPID_KEY, { credentials: "same-origin" });
      if (!answer.ok) return;  // signed out, or Web Push is off on the server
      key = keyBytes((await answer.json()).public_key);
    }
    subscription = await self.registration.pushManager.subscribe({
      userVisibleOnly: true, applicationServerKey: key });
  }
  const body = subscription.toJSON();
  if (oldSubscription && oldSubscription.endpoint !== body.endpoint) {
    body.replaces = oldSubscription.endpoint;
  }
  const response = await fetch(SUBSCRIPTIONS, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json",
               "X-CSRFToken": await csrfToken() },
    body: JSON.stringify(body),
  });
  return response.ok;
}

self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(onSubscriptionChange(event.oldSubscription, event.newSubscription));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = (event.notification.data && event.notification.data.url) || sameOriginUrl("/");
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const client of windows) {
      if (client.url === target && "focus" in client) return client.focus();
    }
    return self.clients.openWindow(target);
  })());
});
