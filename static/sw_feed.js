// The feed's offline cache and quick resume (issue 22), appended to the push worker
// (static/sw.js) by apps/web/service_worker.py, which puts `SWIPEME_SW_VERSION` (a hash of
// both scripts and the feed's built files) in front: a deploy changes the script, the
// browser installs the new worker, and its activation deletes every cache of an older
// version. The worker's scope is the whole site (one worker per scope, and push needs "/"),
// but it only answers:
// - the feed pages (`/`, `/following`): network first, the last copy when offline. The
//   copy holds the viewer's name (the page's data-me): when a page comes from another
//   viewer (a log-out, another account) the pages and the media caches are emptied first
//   (and at a log-out's POST where the browser lacks static routing, below);
// - the static files those pages load (referred by a feed page or by a static file):
//   cache first (public, and under a new name or a new cache after a deploy);
// - the play endpoint's playlists (network first: they change while a video is processed),
//   init segments, media segments and first frames (cache first: immutable), within
//   MEDIA_BYTES: past it, the least recently used posts (every file of the asset) go
//   first (the media index below); byte-range requests go to the network.
// API JSON (the feed, posts, anything private to a user) is never cached here. The page
// asks for the next posts' start playlists to be warmed (`warm`: playlist, init and first
// segment) and keeps the last post it showed (feed/resume.js), keyed by viewer too.

/* global SWIPEME_SW_VERSION */
const SW_VERSION = typeof SWIPEME_SW_VERSION === "string" ? SWIPEME_SW_VERSION : "dev";
const SHELL = `swipeme-shell-${SW_VERSION}`;
const PAGES = `swipeme-pages-${SW_VERSION}`;
const MEDIA = `swipeme-media-${SW_VERSION}`;
const CURRENT = new Set([SHELL, PAGES, MEDIA]);
const FEED_PAGES = new Set(["/", "/following"]);
// The media cache's budget in bytes (a page may lower it: `swipeme-media-budget`). 150 MiB
// is some 5 minutes of the top rung, or some 90 posts' first 2 s on a phone's start rung.
const MEDIA_BYTES = 150 * 1024 * 1024;
// The media index (JSON in the media cache): per asset, its files' sizes and when it was
// last used; the bytes ever stored; a lowered budget.
const MEDIA_INDEX = "/__swipeme/media-index";
const PLAY = "/api/v1/media/play/";
const IMMUTABLE_MEDIA = /\/(init(_[0-9a-f]{8})?\.mp4|seg_([0-9a-f]{8}_)?\d{4,6}\.m4s|first_frame\.jpg|poster(-[0-9a-f]{8})?\.jpg)$/;
const VIEWER_KEY = "/__swipeme/viewer";

// What this worker never answers goes straight to the network, without a fetch event (the
// static routing API, where the browser has it): the API (but the play endpoint) and every
// write, the feed's keepalive telemetry on page hide among them.
self.addEventListener("install", (event) => {
  if (!event.addRoutes || typeof URLPattern !== "function") return;
  try {
    event.waitUntil(event.addRoutes([
      { condition: { urlPattern: new URLPattern({ pathname: `${PLAY}*` }) }, source: "fetch-event" },
      { condition: { urlPattern: new URLPattern({ pathname: "/api/*" }) }, source: "network" },
      { condition: { requestMethod: "POST" }, source: "network" },
    ]).catch(() => {}));
  } catch { /* an older form of the API: every request has its fetch event */ }
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("swipeme-") && !CURRENT.has(name)) await caches.delete(name);
    }
  })());
});

function isFeedPage(url) {
  return url.origin === self.location.origin && FEED_PAGES.has(url.pathname);
}

/** Empty what belongs to a viewer: the pages (their HTML names the viewer) and the media. */
async function forgetViewer() {
  await serial(async () => {
    index = null;
    await caches.delete(PAGES);
    await caches.delete(MEDIA);
  });
}

// The feed's first page comes with the HTML (apps/web/views.py), the first video's start
// preloaded: neither is kept (API JSON is never cached, and an offline reload plays what
// the media cache holds, not a stale page's signed URLs).
const FIRST_PAGE = /<script id="feed-first-(?:page|start)"[^>]*>[\s\S]*?<\/script>|<link [^>]*data-first-page[^>]*>/g;

async function pageFromNetwork(event) {
  const response = await fetch(event.request);
  // the page goes to the browser as it arrives; the copy is kept meanwhile
  if (response.ok && response.type === "basic") event.waitUntil(keepPage(event.request, response.clone()));
  return response;
}

/** Keep the page's copy (without its first page) for offline; a page of another viewer
 * (or signed out) empties the pages and media caches first. */
async function keepPage(request, response) {
  const html = (await response.text()).replace(FIRST_PAGE, "");
  const match = html.match(/data-me="([^"]*)"/);
  const viewer = match ? match[1] : "";
  const pages = await caches.open(PAGES);
  const known = await pages.match(VIEWER_KEY);
  if (known && (await known.text()) !== viewer) await forgetViewer();
  const fresh = await caches.open(PAGES);
  await fresh.put(VIEWER_KEY, new Response(viewer));
  const url = new URL(request.url);
  await fresh.put(url.pathname, new Response(html, {
    status: response.status, headers: { "Content-Type": "text/html; charset=utf-8" } }));
}

async function feedPage(event) {
  try {
    return await pageFromNetwork(event);
  } catch (error) {
    const url = new URL(event.request.url);
    const cached = await caches.match(url.pathname, { cacheName: PAGES });
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request, cacheName) {
  const cache = await caches.open(cacheName);
  const cached = await cache.match(request, { ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.status === 200) await cache.put(request, response.clone());
  return response;
}

/** A media file, cache first (immutable): the network's answer goes to the player as it
 * streams in, and into the cache (and its budget) alongside. */
async function mediaCacheFirst(event) {
  const { request } = event;
  const cached = await caches.match(request, { cacheName: MEDIA, ignoreVary: true });
  if (cached) {
    event.waitUntil(mediaUsed(request.url));
    return cached;
  }
  const response = await fetch(request);
  if (response.status === 200) event.waitUntil(keepMedia(request.url, response.clone()));
  return response;
}

/** A media playlist: network first (it changes while a video is processed). */
async function mediaNetworkFirst(event) {
  const { request } = event;
  try {
    const response = await fetch(request);
    if (response.status === 200) event.waitUntil(keepMedia(request.url, response.clone()));
    return response;
  } catch (error) {
    const cached = await caches.match(request, { cacheName: MEDIA, ignoreVary: true });
    if (cached) {
      event.waitUntil(mediaUsed(request.url));
      return cached;
    }
    throw error;
  }
}

// --- the media cache's byte budget --------------------------------------------------------
// The Cache API has no sizes and no access times, so the worker keeps them: `index` is
// {assets: {<asset id>: {used: ms, files: {<url>: bytes}}}, playing: the asset on screen
// (the page says so: `swipeme-playing`), written: bytes ever stored, budget}, saved as
// JSON in the media cache after each change and reconciled with the cache's keys when a
// worker (re)starts (a worker stopped before a save loses nothing but the newest times).
// Every change goes through `serial`, one at a time.
let index = null;
let queue = Promise.resolve();

function serial(task) {
  const run = queue.then(task, task);
  queue = run.catch(() => {});
  return run;
}

function assetOf(url) {
  const path = new URL(url).pathname;
  const at = path.indexOf(PLAY);
  return at < 0 ? "" : path.slice(at + PLAY.length).split("/")[0];
}

async function loadIndex(cache) {
  if (index) return index;
  let saved;
  try {
    const response = await cache.match(MEDIA_INDEX);
    saved = response ? await response.json() : null;
  } catch { saved = null; /* unreadable: rebuilt from the cache */ }
  const loaded = { assets: {}, playing: "", written: 0, budget: null, ...(saved || {}) };
  // the cache is the truth: a file the index lacks is measured, a file gone is dropped
  const present = new Set();
  for (const request of await cache.keys()) {
    if (new URL(request.url).pathname === MEDIA_INDEX) continue;
    present.add(request.url);
    const asset = loaded.assets[assetOf(request.url)] ??= { used: 0, files: {} };
    if (asset.files[request.url] == null) {
      const response = await cache.match(request);
      asset.files[request.url] = response ? (await response.blob()).size : 0;
    }
  }
  for (const [id, asset] of Object.entries(loaded.assets)) {
    for (const url of Object.keys(asset.files)) if (!present.has(url)) delete asset.files[url];
    if (!Object.keys(asset.files).length) delete loaded.assets[id];
  }
  index = loaded;
  return index;
}

function budget() {
  return index && Number.isFinite(index.budget) ? Math.min(index.budget, MEDIA_BYTES) : MEDIA_BYTES;
}

function usedBytes() {
  let total = 0;
  for (const asset of Object.values(index.assets)) {
    for (const size of Object.values(asset.files)) total += size;
  }
  return total;
}

async function saveIndex(cache) {
  await cache.put(MEDIA_INDEX, new Response(JSON.stringify(index), {
    headers: { "Content-Type": "application/json" } }));
}

/** Store a media file, then evict down to the budget. */
async function keepMedia(url, response) {
  const body = await response.blob();
  await serial(async () => {
    const cache = await caches.open(MEDIA);
    await loadIndex(cache);
    await cache.put(url, new Response(body, { status: 200, headers: response.headers }));
    const asset = index.assets[assetOf(url)] ??= { used: 0, files: {} };
    asset.files[url] = body.size;
    asset.used = Date.now();
    index.written += body.size;
    await evict(cache, url);
    await saveIndex(cache);
  });
}

/** Whole posts, least recently used first, but not the post on screen; then, if that one
 * alone is over, its segments after the first, the last first (its playlists, init, first
 * segment and first frame stay, so it starts again from the cache). The file just stored
 * stays (a file larger than the budget is the one case over it). */
async function evict(cache, keep) {
  const limit = budget();
  let total = usedBytes();
  if (total <= limit) return;
  const order = Object.entries(index.assets).filter(([id]) => id !== index.playing)
    .sort(([, a], [, b]) => a.used - b.used);
  for (const [id, asset] of order) {
    if (total <= limit) return;
    for (const [url, size] of Object.entries(asset.files)) {
      if (url === keep) continue;
      await cache.delete(url);
      delete asset.files[url];
      total -= size;
    }
    if (!Object.keys(asset.files).length) delete index.assets[id];
  }
  const own = index.assets[index.playing];
  if (!own) return;
  const later = Object.keys(own.files)
    .filter((url) => url !== keep && /\/seg_[^/]*\.m4s$/.test(url) && !/\/seg_[^/]*0000\.m4s$/.test(url))
    .sort().reverse();
  for (const url of later) {
    if (total <= limit) return;
    await cache.delete(url);
    total -= own.files[url];
    delete own.files[url];
  }
}

/** The page's post on screen (its start playlist): kept before any other. */
async function nowPlaying(url) {
  await serial(async () => {
    const cache = await caches.open(MEDIA);
    await loadIndex(cache);
    index.playing = assetOf(url);
    const asset = index.assets[index.playing];
    if (asset) asset.used = Date.now();
    await saveIndex(cache);
  });
}

/** A cache hit: the post was used now (its place in the eviction order). */
function mediaUsed(url) {
  return serial(async () => {
    const cache = await caches.open(MEDIA);
    await loadIndex(cache);
    const asset = index.assets[assetOf(url)];
    if (!asset) return;
    asset.used = Date.now();
    await saveIndex(cache);
  }).catch(() => {});
}

async function lowerBudget(bytes) {
  await serial(async () => {
    const cache = await caches.open(MEDIA);
    await loadIndex(cache);
    index.budget = Math.max(0, Math.min(MEDIA_BYTES, Math.floor(bytes)));
    await evict(cache, "");
    await saveIndex(cache);
  });
}

function referredByFeed(request) {
  if (!request.referrer) return false;
  try {
    const from = new URL(request.referrer);
    return isFeedPage(from) || (from.origin === self.location.origin && from.pathname.startsWith("/static/"));
  } catch {
    return false;
  }
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") {
    const url = new URL(request.url);
    // a log-out: what this browser kept for the viewer goes with it
    if (url.origin === self.location.origin && url.pathname.startsWith("/accounts/logout")) {
      event.waitUntil(forgetViewer());
    }
    return;
  }
  const url = new URL(request.url);
  if (request.mode === "navigate") {
    if (isFeedPage(url)) event.respondWith(feedPage(event));
    return;
  }
  if (request.headers.has("range")) return;
  if (url.pathname.includes(PLAY)) {
    if (url.pathname.endsWith(".m3u8")) event.respondWith(mediaNetworkFirst(event));
    else if (IMMUTABLE_MEDIA.test(url.pathname)) event.respondWith(mediaCacheFirst(event));
    return;
  }
  if (url.origin === self.location.origin && url.pathname.startsWith("/static/") && referredByFeed(request)) {
    event.respondWith(cacheFirst(request, SHELL));
  }
});

/** The first segment's and the init's URLs in a media playlist. */
function playlistParts(text, base) {
  const map = text.match(/#EXT-X-MAP:URI="([^"]+)"/);
  const first = text.split(/\r?\n/).map((line) => line.trim()).find((line) => line && !line.startsWith("#"));
  return [map && map[1], first].filter(Boolean).map((uri) => new URL(uri, base).href);
}

async function warm(playlists) {
  for (const url of playlists.slice(0, 4)) {
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.status !== 200) continue;
      await keepMedia(url, response.clone());
      for (const part of playlistParts(await response.text(), url)) {
        if (await caches.match(part, { cacheName: MEDIA })) continue;
        const file = await fetch(part, { credentials: "same-origin" });
        if (file.status === 200) await keepMedia(part, file);
      }
    } catch { /* offline or gone: the player fetches it when it needs it */ }
  }
}

/** The shell's files the page loaded before this worker controlled it. */
async function keepShell(urls) {
  const cache = await caches.open(SHELL);
  for (const href of urls) {
    const url = new URL(href, self.location.origin);
    if (url.origin !== self.location.origin || !url.pathname.startsWith("/static/")) continue;
    if (await cache.match(url.href)) continue;
    try {
      const response = await fetch(url.href);
      if (response.status === 200) await cache.put(url.href, response);
    } catch { /* next time */ }
  }
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "swipeme-media-budget" && Number.isFinite(data.bytes)) {
    // a smaller media cache (a device short of storage; the browser test): never larger
    event.waitUntil(lowerBudget(data.bytes));
  } else if (data.type === "swipeme-playing" && typeof data.playlist === "string" && data.playlist.includes(PLAY)) {
    event.waitUntil(nowPlaying(data.playlist));
  } else if (data.type === "swipeme-warm" && Array.isArray(data.playlists)) {
    event.waitUntil(warm(data.playlists.filter((u) => typeof u === "string" && u.includes(PLAY))));
  } else if (data.type === "swipeme-shell" && Array.isArray(data.urls)) {
    event.waitUntil((async () => {
      await keepShell(data.urls.filter((u) => typeof u === "string"));
      if (typeof data.page === "string") {
        const url = new URL(data.page, self.location.origin);
        if (isFeedPage(url)) {
          const cached = await caches.match(url.pathname, { cacheName: PAGES });
          if (!cached) {
            try { await pageFromNetwork(new Request(url.pathname, { credentials: "same-origin" })); } catch { /* offline */ }
          }
        }
      }
      if (event.source) event.source.postMessage({ type: "swipeme-shell-kept" });
    })());
  }
});
