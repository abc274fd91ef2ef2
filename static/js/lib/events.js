// Telemetry to POST /api/v1/events: events are queued and sent in batches, every few
// seconds and when the batch fills. When the page is hidden or left (pagehide), everything
// still queued goes out in keepalive fetches, which outlive the page; where keepalive is
// refused (its 64 KiB budget), navigator.sendBeacon carries the batch as text/plain (the
// only JSON-ish type a beacon may send without a preflight) with the CSRF token in the body.
import { csrfToken } from "./api.js";

const ENDPOINT = "/api/v1/events";
const FLUSH_MS = 5000;
const MAX_BATCH = 50;
const MAX_QUEUE = 1000;
const KEEPALIVE_BUDGET = 60 * 1024; // under the browser's 64 KiB for keepalive bodies

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function sessionId() {
  try {
    let id = sessionStorage.getItem("swipeme.session");
    if (!id) { id = uuid(); sessionStorage.setItem("swipeme.session", id); }
    return id;
  } catch { return uuid(); }
}

const NETWORK_TYPES = ["wifi", "cellular", "ethernet", "slow-2g", "2g", "3g", "4g", "5g", "offline", "unknown"];

/** The connection as the events API names it (navigator.connection where there is one). */
export function networkType() {
  const c = navigator.connection;
  if (!navigator.onLine) return "offline";
  const kind = c && (c.type && c.type !== "unknown" && c.type !== "other" ? c.type : c.effectiveType);
  return NETWORK_TYPES.includes(kind) ? kind : "unknown";
}

export class Telemetry {
  constructor({ endpoint = ENDPOINT, flushMs = FLUSH_MS } = {}) {
    this.endpoint = endpoint;
    this.sessionId = sessionId();
    this.queue = [];
    this.sent = 0;
    this.keepaliveBytes = 0;
    this.timer = setInterval(() => this.flush(), flushMs);
    const onHide = () => { if (document.visibilityState === "hidden") this.flushAll(); };
    document.addEventListener("visibilitychange", onHide);
    window.addEventListener("pagehide", () => this.flushAll());
  }

  track(type, postId, data = {}) {
    if (this.queue.length >= MAX_QUEUE) this.queue.shift(); // offline for long: keep the newest
    this.queue.push({
      id: uuid(), type, ts: Date.now(), session_id: this.sessionId,
      post_id: postId == null ? null : String(postId), data,
    });
    if (this.queue.length >= MAX_BATCH) this.flush();
  }

  /** The page is going away: send every queued event now, in requests that survive it. */
  flushAll() {
    const sending = [];
    while (this.queue.length) {
      const before = this.queue.length;
      sending.push(this.flush({ leaving: true }));
      if (this.queue.length >= before) break; // the browser took no more (its budget is spent)
    }
    return Promise.all(sending);
  }

  flush({ leaving = false } = {}) {
    if (!this.queue.length) return Promise.resolve();
    const events = this.queue.splice(0, MAX_BATCH);
    this.sent += events.length;
    const body = JSON.stringify({ events });
    const size = new TextEncoder().encode(body).length;
    // Keepalive requests share a 64 KiB budget; one over it is refused, too late to act on
    // when the page is leaving, so the choice is made here, before sending.
    if (leaving && this.keepaliveBytes + size > KEEPALIVE_BUDGET) {
      if (this.beacon(events)) return Promise.resolve();
      this.requeue(events); // the page may come back (visibilitychange)
      this.sent -= events.length;
      return Promise.resolve();
    }
    this.keepaliveBytes += size;
    return fetch(this.endpoint, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body,
    }).then((r) => {
      // A rejected batch (bad input) is dropped; a server or network failure is retried once.
      if (r.status >= 500) this.requeue(events);
    }).catch(() => { this.requeue(events); })
      .finally(() => { this.keepaliveBytes -= size; });
  }

  /** Unsent events go back to the front, within the same cap (the newest are kept). */
  requeue(events) {
    this.queue.unshift(...events);
    if (this.queue.length > MAX_QUEUE) this.queue.splice(0, this.queue.length - MAX_QUEUE);
  }

  beacon(events) {
    if (!navigator.sendBeacon) return false;
    const body = JSON.stringify({ events, csrf_token: csrfToken() });
    try {
      return navigator.sendBeacon(this.endpoint, new Blob([body], { type: "text/plain;charset=UTF-8" }));
    } catch {
      return false;
    }
  }
}
