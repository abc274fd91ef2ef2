// "Notifications on this browser" (settings, Account): asks the browser's permission,
// subscribes with the server's VAPID key through the service worker (/sw.js) and registers
// the subscription with the API; turning off unsubscribes both.
import { api } from "../lib/api.js";

const SUBSCRIPTIONS = "/api/v1/notifications/webpush/subscriptions";
const VAPID_KEY = "/api/v1/notifications/webpush/vapid-public-key";

function keyBytes(base64url) {
  const base64 = (base64url + "=".repeat((4 - (base64url.length % 4)) % 4))
    .replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

function init(card) {
  const state = card.querySelector("[data-webpush-state]");
  const button = card.querySelector("[data-webpush-toggle]");
  const say = (text) => { state.textContent = text; };

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say("This browser can't show notifications from SwipeMe. You'll still see them in your inbox.");
    return;
  }

  let registration = null;
  const show = (subscribed) => {
    if (Notification.permission === "denied") {
      say("Notifications are blocked for this site. Allow them in your browser's site settings, then reload this page.");
      button.hidden = true;
      return;
    }
    say(subscribed ? "On: this browser shows your notifications, even when SwipeMe isn't open."
                   : "Off: turn them on to hear about likes, comments and new followers on this browser.");
    button.textContent = subscribed ? "Turn off notifications" : "Turn on notifications";
    button.dataset.subscribed = subscribed ? "true" : "false";
    button.hidden = false;
  };

  async function turnOn() {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      show(false);
      if (permission === "default") say("You didn't allow notifications. Try again when you're ready.");
      return;
    }
    let key;
    try {
      key = (await api("GET", VAPID_KEY)).public_key;
    } catch (error) {
      say(error.status === 404 ? "Notifications aren't available on this site yet."
                               : error.message || "Something went wrong. Try again.");
      return;
    }
    let subscription;
    try {
      subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: keyBytes(key) });
    } catch {
      say("Your browser couldn't set up notifications (its push service didn't answer). Try again later.");
      return;
    }
    try {
      await api("POST", SUBSCRIPTIONS, subscription.toJSON());
    } catch (error) {
      await subscription.unsubscribe();
      say(error.message || "Something went wrong. Try again.");
      return;
    }
    show(true);
  }

  async function turnOff() {
    const subscription = await registration.pushManager.getSubscription();
    if (subscription) {
      try { await api("DELETE", SUBSCRIPTIONS, { endpoint: subscription.endpoint }); } catch { /* gone already */ }
      await subscription.unsubscribe();
    }
    show(false);
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      await (button.dataset.subscribed === "true" ? turnOff() : turnOn());
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  });

  (async () => {
    try {
      registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
      const existing = await registration.pushManager.getSubscription();
      if (existing && Notification.permission === "granted") {
        // The server may not know it (another account logged in here since): tell it again.
        await api("POST", SUBSCRIPTIONS, existing.toJSON()).catch(() => {});
      }
      show(Boolean(existing) && Notification.permission === "granted");
    } catch {
      say("This browser can't show notifications from SwipeMe right now. You'll still see them in your inbox.");
    }
  })();
}

const card = document.querySelector("[data-webpush]");
if (card) init(card);
