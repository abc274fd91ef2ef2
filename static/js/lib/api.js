// A small JSON client for /api/v1 with the Django session: same-origin cookies and the
// CSRF token (from <meta name="csrf-token">, falling back to the csrftoken cookie).

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) return meta.content;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export class ApiError extends Error {
  constructor(status, body, retryAfter = null) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.retryAfter = retryAfter;  // seconds, when a 503/429/507 said when to retry
    this.code = error.code || "";
    this.fields = error.fields || {};
  }
}

export async function api(method, url, body, { signal, keepalive, idempotencyKey } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = csrfToken();
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    signal,
    keepalive,
  });
  const text = response.status === 204 ? "" : await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) throw new ApiError(response.status, data, response.headers.get("Retry-After"));
  return data;
}

export const get = (url, options) => api("GET", url, undefined, options);
export const post = (url, body, options) => api("POST", url, body, options);
export const del = (url, options) => api("DELETE", url, undefined, options);

// A fresh Idempotency-Key for one user action (a comment): sent again on its retries, so a
// retry of a write that committed before its answer was lost returns the first result.
// crypto.randomUUID exists only in secure contexts (https, localhost); elsewhere 128 random
// bits from getRandomValues, which every browser has.
export function newIdempotencyKey() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)),
    (b) => b.toString(16).padStart(2, "0")).join("");
}

// A write refused for now (503 + Retry-After while the server recovers from an outage) or
// that never got an answer (the network) is sent again after the server's Retry-After
// (else 1 s, 2 s ...), a few times, before the caller gives up. Only for idempotent writes
// (like, follow, favourite: sending one twice changes nothing) or writes sent with an
// Idempotency-Key (a comment).
export async function retrying(send, { attempts = 4, maxWaitMs = 15000 } = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      const transient = !(error instanceof ApiError) || error.status === 503;
      if (!transient || attempt >= attempts) throw error;
      const seconds = Number(error.retryAfter) || 2 ** (attempt - 1);
      await new Promise((resolve) => setTimeout(resolve, Math.min(maxWaitMs, seconds * 1000)));
    }
  }
}
