// "Can't reach SwipeMe — retrying…": shown instead of an empty feed when the feed's API
// cannot be reached or answers a temporary error (5xx, 503 with Retry-After, 429). It
// retries on its own with backoff — the server's Retry-After when it gave one, else 1 s
// doubling to 30 s, jittered so that clients do not return in step — and at once on
// "Retry now" or when the browser comes back online.

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;

export function isTemporary(error) {
  const status = error && error.status;
  return !status || status >= 500 || status === 429 || status === 408;
}

export class OfflineState {
  constructor(el, retry) {
    this.el = el;
    this.retry = retry;
    this.detail = el.querySelector("[data-offline-detail]");
    this.attempt = 0;
    this.timer = null;
    this.ticker = null;
    el.querySelector("[data-offline-retry]").addEventListener("click", () => this.now());
    window.addEventListener("online", () => { if (!this.el.hidden) this.now(); });
  }

  /** The load failed with a temporary error: schedule the next try, and say so unless
   * `quiet` (videos are already on screen: the next page is fetched in the background). */
  failed(error, { quiet = false } = {}) {
    this.attempt += 1;
    const backoff = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (this.attempt - 1));
    const jittered = backoff / 2 + Math.random() * (backoff / 2);
    const server = Number(error && error.retryAfter) * 1000;
    const delay = server > 0 ? Math.min(MAX_DELAY_MS, server) : jittered;
    this.clear();
    this.timer = setTimeout(() => this.now(), delay);
    if (quiet && this.el.hidden) return;
    this.el.hidden = false;
    const due = Date.now() + delay;
    const tick = () => {
      const left = Math.max(0, Math.ceil((due - Date.now()) / 1000));
      this.detail.textContent = left > 0 ? `Retrying in ${left} s…` : "Retrying…";
    };
    tick();
    this.ticker = setInterval(tick, 1000);
  }

  /** A load worked: the state goes away and the backoff starts over. */
  recovered() {
    this.attempt = 0;
    this.clear();
    this.el.hidden = true;
  }

  now() {
    this.clear();
    this.detail.textContent = "Retrying…";
    this.retry();
  }

  clear() {
    clearTimeout(this.timer);
    clearInterval(this.ticker);
    this.timer = null;
    this.ticker = null;
  }
}
