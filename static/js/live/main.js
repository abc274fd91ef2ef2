// Live notifications on every signed-in page (issue 14, "Delivery → Live"): one websocket to
// /ws/notifications/ that keeps the header bell's and the tab bar's Inbox badge current,
// says new notifications in an aria-live region, and on /inbox (All tab, first page) puts
// new and grown notifications on top without a reload.
// - Resume: the last seq seen is kept in sessionStorage; a reconnect sends ?after=<seq> and
//   the server replays what was missed before live ones (no loss, no duplicates: it drops
//   what it replayed; here a grown notification replaces its row by id).
// - Reconnects with exponential backoff (1 s doubling to 30 s, with jitter); a refusal
//   (close code 44xx: logged out, deactivated) stops it.
// - A direct message told here (its sender saw this person away from the messages pages)
//   refreshes the Messages link's badge too, so it is live on every page.
// The page works without it: the badges are rendered by the server.
import { el } from "../feed/text.js";
import { refreshUnread } from "../messages/badge.js";

const SEQ_KEY = "swipeme:notifications:seq";
const MIN_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;

const inboxList = () => document.querySelector("[data-live-inbox]");
let announcer = null;
let delay = MIN_DELAY_MS;
let reconnecting = false; // a page's first replay is what it already counts: not said again

function storedSeq() {
  const raw = sessionStorage.getItem(SEQ_KEY);
  const value = Number(raw);
  return raw !== null && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

function remember(seq) {
  const known = storedSeq();
  if (Number.isSafeInteger(seq) && seq >= 0 && (known === null || seq > known)) {
    sessionStorage.setItem(SEQ_KEY, String(seq));
  }
}

function announce(text) {
  if (!announcer) {
    announcer = el("div", { class: "visually-hidden", role: "status", "aria-live": "polite", "data-live-announcer": true });
    document.body.append(announcer);
  }
  announcer.textContent = text;
}

/** One link's badge: the number (99+ above 99), and the words a screen reader hears. */
function setBadge(link, count) {
  let badge = link.querySelector("[data-unread-count]");
  const label = link.querySelector(".tab-inbox-label, span:not([data-unread-count]):not(.visually-hidden)");
  if (count > 0) {
    if (!badge) {
      badge = el("span", { class: "count-badge", "data-unread-count": true });
      if (!link.hasAttribute("aria-label")) badge.setAttribute("aria-hidden", "true");
      link.append(badge);
    }
    badge.textContent = count > 99 ? "99+" : String(count);
  } else if (badge) {
    badge.remove();
  }
  const words = count > 0 ? `, ${count} unread` : "";
  if (link.hasAttribute("aria-label")) {
    link.setAttribute("aria-label", `Inbox${words}`);
    return;
  }
  let hidden = link.querySelector(".visually-hidden");
  if (!hidden && words) {
    hidden = el("span", { class: "visually-hidden" });
    (label || link).after(hidden);
  }
  if (hidden) hidden.textContent = words;
}

function showCount(count) {
  for (const link of document.querySelectorAll("[data-notices-link], [data-inbox-tab]")) setBadge(link, count);
}

/** A moderation notice (its extra names the rule) shows as the server renders it. */
const isNotice = (item) => Boolean(item.extra && "guideline_url" in item.extra);

function avatarNodes(item) {
  const actors = (item.actors || []).slice(0, 3);
  if (!actors.length) return [el("span", { class: "avatar-letter system", text: isNotice(item) ? "!" : "•" })];
  return actors.map((a) => {
    const url = a.avatar && (a.avatar["48"] || Object.values(a.avatar)[0]);
    return url
      ? el("img", { src: url, alt: "", width: "40", height: "40" })
      : el("span", { class: "avatar-letter", text: (a.username || "?").charAt(0).toUpperCase() });
  });
}

/** A notice's links: the rule, its detail on /notices, and Appeal while the window is open. */
function noticeActions(item) {
  if (!isNotice(item)) return null;
  const { guideline_url: rule, appeal_path: appeal, appealable_until: until } = item.extra;
  const open = Boolean(appeal && until && Date.parse(until) > Date.now());
  return el("p", { class: "inbox-actions" },
    rule ? el("a", { href: rule, text: "The rule" }) : null,
    el("a", { href: "/notices", text: "Details" }),
    open ? el("a", { class: "button secondary small", href: appeal, text: "Appeal" }) : null);
}

/** The inbox row the server renders, for a notification in the API's shape. */
function inboxRow(item) {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const title = el("a", { class: "inbox-title", href: item.url, text: item.title });
  const meta = el("div", { class: "inbox-meta muted small" },
    el("time", { datetime: item.updated_at, text: "just now" }));
  if (!item.read) {
    meta.append(
      el("span", { "aria-hidden": "true", text: "·" }),
      el("span", { class: "pill new", text: "New" }),
      el("span", { "aria-hidden": "true", text: "·" }),
      el("form", { method: "post", action: `/inbox/${encodeURIComponent(item.id)}/read`, class: "inline inbox-read" },
        el("input", { type: "hidden", name: "csrfmiddlewaretoken", value: csrf }),
        el("input", { type: "hidden", name: "tab", value: "all" }),
        el("button", { type: "submit", class: "link small", "aria-label": `Mark read: ${item.title}`, text: "Mark read" })));
  }
  return el("li", { class: `inbox-item${item.read ? "" : " unread"} live-new`, "data-notification-id": item.id, "data-type": item.type },
    el("div", { class: "inbox-avatars", "aria-hidden": "true" }, ...avatarNodes(item)),
    el("div", { class: "inbox-text" }, title,
      item.body ? el("p", { class: "inbox-body", text: item.body }) : null, meta,
      noticeActions(item)));
}

function prepend(item) {
  const host = inboxList();
  if (!host) return;
  let list = host.querySelector("ol.inbox-list");
  if (!list) {
    host.querySelector("p.empty")?.remove();
    list = el("ol", { class: "inbox-list", role: "list" });
    host.append(list);
  }
  list.querySelector(`[data-notification-id="${CSS.escape(item.id)}"]`)?.remove();
  list.prepend(inboxRow(item));
}

function onMessage(message, replaying) {
  if (message.type === "notification") {
    remember(message.seq);
    prepend(message.notification);
    showCount(message.unread_count);
    if (message.notification.type === "direct_message") refreshUnread();
    if (!replaying.now) announce(`New notification: ${message.notification.title}`);
    else replaying.count += 1;
  } else if (message.type === "unread_count") {
    if (message.seq != null) {
      remember(message.seq);
      if (replaying.now && replaying.count && reconnecting) {
        announce(replaying.count === 1 ? "1 new notification" : `${replaying.count} new notifications`);
      }
      replaying.now = false;
    }
    showCount(message.unread_count);
  }
}

function connect() {
  const host = inboxList();
  // The inbox page was rendered up to its own latest seq: resume from there.
  const pageSeq = host ? Number(host.dataset.liveInbox) || 0 : 0;
  const after = host ? pageSeq : storedSeq();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = after != null ? `?after=${after}` : "";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/notifications/${query}`);
  const replaying = { now: true, count: 0 };
  socket.addEventListener("open", () => { delay = MIN_DELAY_MS; });
  socket.addEventListener("message", (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    onMessage(message, replaying);
  });
  socket.addEventListener("close", (event) => {
    if (event.code >= 4400 && event.code < 4500) return; // refused: logged out or deactivated
    const wait = delay * (0.75 + Math.random() * 0.5);
    delay = Math.min(delay * 2, MAX_DELAY_MS);
    if (host) host.dataset.liveInbox = String(Math.max(storedSeq() ?? 0, pageSeq));
    reconnecting = true;
    setTimeout(connect, wait);
  });
}

if (document.querySelector("[data-notices-link], [data-inbox-tab]") && "WebSocket" in window) connect();
