// Feature flags in the web client. The server evaluates them for this viewer and puts them
// in the page (json_script "swipeme-flags", no inline script: CSP); this module reads them.
//
//   import { flag } from "/static/js/flags.js";   // or window.swipemeFlags.flag(...)
//   if (flag("ui.new_player", false)) { ... }
//
// Reading a value an experiment decided reports the exposure (POST /api/v1/flags/exposures)
// once per experiment and day in this browser; the server finds the arm itself. Reading a
// flag no experiment decided sends nothing. A signed-out visitor gets a device id cookie on
// the first page, so that later pages (and the For You feed) keep the same arm.
import { post } from "./lib/api.js";

const DEVICE_COOKIE = "swipeme_did";
const SEEN_KEY = "swipeme-exposed";
const TWO_YEARS = 2 * 365 * 24 * 3600;

function randomId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function ensureDeviceId() {
  if (document.cookie.split("; ").some((c) => c.startsWith(`${DEVICE_COOKIE}=`))) return;
  const secure = location.protocol === "https:" ? "; secure" : "";
  document.cookie = `${DEVICE_COOKIE}=${randomId()}; path=/; max-age=${TWO_YEARS}; samesite=lax${secure}`;
}

function readBootstrap() {
  const node = document.getElementById("swipeme-flags");
  if (!node) return {};
  try {
    return JSON.parse(node.textContent).flags || {};
  } catch {
    return {};
  }
}

const flags = readBootstrap();
const today = new Date().toISOString().slice(0, 10);
let seen;
try {
  seen = new Set(JSON.parse(sessionStorage.getItem(SEEN_KEY) || "[]"));
} catch {
  seen = new Set();
}
const pending = new Set();
let timer = null;

function flush() {
  timer = null;
  const experiments = [...pending];
  pending.clear();
  if (!experiments.length) return;
  // keepalive: the page may be leaving; a lost exposure costs the analysis one unit-day.
  post("/api/v1/flags/exposures", { experiments }, { keepalive: true }).catch(() => {});
}

function expose(experiment) {
  const mark = `${experiment}@${today}`;
  if (seen.has(mark)) return;
  seen.add(mark);
  try {
    sessionStorage.setItem(SEEN_KEY, JSON.stringify([...seen]));
  } catch {
    // storage full or disabled: the server dedupes by day as well
  }
  pending.add(experiment);
  if (!timer) timer = setTimeout(flush, 200);
}

/** The flag's value for this viewer (`fallback` when the page does not know the flag). */
export function flag(key, fallback = undefined) {
  const entry = flags[key];
  if (!entry) return fallback;
  if (entry.experiment) expose(entry.experiment);
  return entry.value;
}

/** Every flag's value, without reporting exposures (debugging, the console). */
export function peek() {
  return Object.fromEntries(Object.entries(flags).map(([k, v]) => [k, v.value]));
}

ensureDeviceId();
window.swipemeFlags = { flag, peek };
addEventListener("pagehide", flush);
