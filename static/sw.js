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
