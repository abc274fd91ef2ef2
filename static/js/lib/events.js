// Telemetry to POST /api/v1/events: events are queued and sent in batches, every few
// seconds, when the batch fills, and with navigator.sendBeacon when the page is hidden or
// closed (a beacon cannot carry headers, so the CSRF token rides in the body).
import { csrfToken } from "./api.js";

const ENDPOINT = "/api/v1/events";
const FLUSH_MS = 5000;
const MAX_BATCH = 50;

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
    this.timer = setInterval(() => this.flush(), flushMs);
    const onHide = () => { if (document.visibilityState === "hidden") this.flush({ beacon: true }); };
    document.addEventListener("visibilitychange", onHide);
    window.addEventListener("pagehide", () => this.flush({ beacon: true }));
  }

  track(type, postId, data = {}) {
    if (this.queue.length >= 1000) this.queue.shift(); // offline for long: keep the newest
    this.queue.push({
      id: uuid(), type, ts: Date.now(), session_id: this.sessionId,
      post_id: postId == null ? null : String(postId), data,
    });
    if (this.queue.length >= MAX_BATCH) this.flush();
  }

  flush({ beacon = false } = {}) {
    if (!this.queue.length) return Promise.resolve();
    const events = this.queue.splice(0, MAX_BATCH);
    this.sent += events.length;
    if (beacon && navigator.sendBeacon) {
      const body = JSON.stringify({ events, csrf_token: csrfToken() });
      const ok = navigator.sendBeacon(this.endpoint, new Blob([body], { type: "application/json" }));
      if (ok) return Promise.resolve();
    }
    return fetch(this.endpoint, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ events }),
    }).then((r) => {
      // A rejected batch (bad input) is dropped; a server or network failure is retried once.
      if (r.status >= 500) this.queue.unshift(...events);
    }).catch(() => { this.queue.unshift(...events); });
  }
}
