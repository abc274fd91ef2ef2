// The vertical feed: one video per screen in a CSS scroll-snap column. Touch scrolls
// natively (snap, one item per swipe); the wheel, trackpad and arrow keys move exactly one
// item. The active video plays, the next one is preloaded (manifest + first segment), every
// other video element is released, so at most two hold a decoder.
import { Player } from "../player/player.js";
import { ProgressBar } from "../player/progress.js";
import { get } from "../lib/api.js";
import { Telemetry, networkType } from "../lib/events.js";
import { Rail } from "./rail.js";
import { FeedCaptions } from "./captions.js";
import { bindSnapTargets, bindWheel } from "./gestures.js";
import { captionNodes, profileUrl, soundUrl } from "./text.js";
import { OfflineState, isTemporary } from "./offline.js";
import { AdMeasurement, adCard } from "./ad.js";
import { forgetPost, keptPost, registerWorker, rememberPosition, rememberPost, warmNext } from "./resume.js";

// when this module's body started (its imports evaluated), for the benchmark's trace
const startedAt = performance.now();
const root = document.getElementById("feed");
const template = document.getElementById("feed-item-template");
const statusLine = document.getElementById("feed-status");
const soundToggle = document.getElementById("sound-toggle");
const captions = new FeedCaptions(document.getElementById("feed-captions-toggle"));
const params = new URLSearchParams(location.search);
const reducedMotion = matchMedia("(prefers-reduced-motion: reduce)");
// play_start's source (apps/events/schema.py PLAY_SOURCES)
const FEED_SOURCE = root.dataset.tab === "following" ? "following" : "for_you";

const config = {
  source: root.dataset.source,
  signedIn: root.dataset.signedIn === "1",
  me: root.dataset.me || "",
  reportsUrl: root.dataset.reportsUrl || "",
  // ?preload=0 (or localStorage swipeme.preload = "0") turns preloading off: the benchmark
  // compares both.
  preload: params.get("preload") !== "0" && root.dataset.preload !== "0"
    && (() => { try { return localStorage.getItem("swipeme.preload") !== "0"; } catch { return true; } })(),
  // a preloaded video waits muted and its sound joins at its first new frame (Player.activate);
  // ?sound_join=0 plays it with sound from play() (the benchmark compares)
  soundJoin: params.get("sound_join") !== "0",
};

// The play on screen ends when the page goes away; this runs before the telemetry's own
// pagehide handler sends the beacon.
window.addEventListener("pagehide", () => {
  if (!items[active]) return;
  keepPosition(items[active]);
  leave(items[active]);
});
// A page sent to the background may never come back: report how far the play got, and
// keep where it was for a reopened feed.
document.addEventListener("visibilitychange", () => {
  const item = items[active];
  if (document.visibilityState !== "hidden" || !item) return;
  keepPosition(item);
  if (!item.ad && item.player.watchedMs() > 0) {
    telemetry.track("watch_progress", item.post.id, watchData(item));
  }
});

/** Where the active post's play is, for a reopened feed (feed/resume.js). */
function keepPosition(item) {
  if (item.ad || !item.player.attached) return;
  rememberPosition(item.post.id, item.video.currentTime, item.video.duration);
}
// The first page came with the HTML (apps/web/views.py: the API's own answer, made for
// this viewer and, signed out, for the session id the page names): no round trip before
// the first video. A first visit adopts that session id (lib/events.js keeps it for the
// tab); the `feed_session` cookie tells the next page load which id this tab uses.
const firstPage = (() => {
  const el = document.getElementById("feed-first-page");
  if (!el) return null;
  try { return JSON.parse(el.textContent); } catch { return null; }
})();
if (firstPage && firstPage.session_id) {
  try {
    if (!sessionStorage.getItem("swipeme.session")) sessionStorage.setItem("swipeme.session", firstPage.session_id);
  } catch { /* storage disabled: the page's own id, and the API for the first page */ }
}
const telemetry = new Telemetry();
if (!config.signedIn) document.cookie = `feed_session=${telemetry.sessionId}; path=/; SameSite=Lax`;
// made for another session id (another tab's cookie): the script asks the API itself
let inlinePage = firstPage && (firstPage.session_id || "") === (config.signedIn ? "" : telemetry.sessionId)
  ? firstPage : null;
const items = [];
let active = -1;
let next = config.source || null;
let loading = null;
let soundOn = false;
let swallowTap = false;
let swipeAt = 0;

// Visible to tests and the benchmark.
window.swipeme = { items, telemetry, config, get active() { return active; }, go, metrics: [], startedAt };

// Loads the next page again after a failure, and starts playing if nothing played yet.
const offline = new OfflineState(document.getElementById("feed-offline"), () => {
  loadMore().then(() => { if (items.length && active < 0) setActive(0); });
});

function setStatus(text) {
  statusLine.textContent = text;
  statusLine.hidden = !text;
}

function feedUrl(url) {
  const u = new URL(url, location.origin);
  if (!u.searchParams.has("limit")) u.searchParams.set("limit", "5");
  if (!config.signedIn && u.pathname.endsWith("/for-you")) u.searchParams.set("session_id", telemetry.sessionId);
  return u.pathname + u.search;
}

async function loadMore() {
  if (loading || !next) return loading;
  loading = (async () => {
    try {
      // awaited either way: this body must not finish before `loading` is assigned
      const page = await (inlinePage || get(feedUrl(next)));
      inlinePage = null;
      next = page.next;
      // For You carries ads (type "ad", apps.ads): their own card, no post telemetry
      const fresh = (page.results || []).filter((entry) => (entry.type === "ad"
        ? entry.playback && entry.token && !items.some((item) => item.ad && item.ad.token === entry.token)
        : entry.media && entry.media.playback && !items.some((item) => !item.ad && item.post.id === entry.id)));
      offline.recovered();
      fresh.forEach((entry) => (entry.type === "ad" ? renderAd(entry) : render(entry)));
      if (!items.length) {
        setStatus(root.dataset.tab === "following"
          ? "No videos yet from people you follow." : "No videos yet. Check back soon.");
      }
    } catch (error) {
      if (isTemporary(error)) {
        // never an empty feed without a word: say so, and try again on our own
        if (!items.length) setStatus("");
        offline.failed(error, { quiet: items.length > 0 });
      } else if (!items.length) {
        setStatus(error.status === 401 ? "Log in to see this feed." : "The feed could not load.");
      }
      next = next || null;
    } finally {
      loading = null;
    }
  })();
  return loading;
}

// The other items' stills wait for the first video's first frame (or STILLS_WAIT_MS): over
// HTTP/1.1 each image takes one of the six connections the player's requests need, and
// they are off screen anyway. The first item's still was preloaded from the page's head.
const STILLS_WAIT_MS = 3000;
let stillsWaiting = [];
function showStill(index, poster, video, url) {
  const show = () => { poster.src = url; video.poster = url; };
  if (index === 0 || !stillsWaiting) show();
  else stillsWaiting.push(show);
}
function releaseStills() {
  const waiting = stillsWaiting;
  stillsWaiting = null;
  if (waiting) waiting.forEach((show) => show());
}
setTimeout(releaseStills, STILLS_WAIT_MS);

/** An ad: the post card's stage made into the ad card (feed/ad.js), measured by its token. */
function renderAd(ad) {
  const index = items.length;
  const node = adCard(template.content.firstElementChild.cloneNode(true), ad);
  node.dataset.index = String(index);
  const playback = ad.playback;
  const poster = node.querySelector(".poster");
  const video = node.querySelector("video");
  if (playback.poster) showStill(index, poster, video, playback.poster);
  else poster.remove();
  video.setAttribute("aria-label", `Sponsored video by ${ad.display_name}`);
  captions.watch(video);
  // the post fields the feed's shared code reads (ids, duration); never sent as telemetry
  const item = { index, ad, post: { id: `ad:${ad.id}`, media: { playback } }, el: node, video,
                 stats: null, rail: null };
  item.player = new Player(video, playback, {
    onFirstFrame: () => {
      node.classList.add("started");
      releaseStills();
      if (item.afterFirstFrame) { item.afterFirstFrame(); item.afterFirstFrame = null; }
      if (item.index === active) preloadNext();
    },
    onEnded: (loops) => { if (loops === 1) item.measurement.completed(); },
  });
  item.progress = new ProgressBar(node.querySelector(".progress"), video, playback.storyboard);
  item.measurement = new AdMeasurement(ad, node, video, { root });
  video.addEventListener("play", () => node.classList.remove("paused"));
  video.addEventListener("pause", () => { if (item.index === active) node.classList.add("paused"); });
  bindTaps(item);
  items.push(item);
  root.append(node);
  observer.observe(node);
}

function render(post) {
  const index = items.length;
  const node = template.content.firstElementChild.cloneNode(true);
  const playback = post.media.playback;
  const author = post.author || {};
  node.dataset.index = String(index);
  node.dataset.postId = post.id;
  node.setAttribute("aria-label", `Video by @${author.username}${post.caption ? `: ${post.caption}` : ""}`);
  const poster = node.querySelector(".poster");
  // the video's own first frame where media made one (the poster may come from later on):
  // what shows until the player draws is what it draws first
  const still = playback.first_frame || playback.poster;
  const video = node.querySelector("video");
  if (still) showStill(index, poster, video, still);
  else poster.remove();
  video.setAttribute("aria-label", `Video by @${author.username}`);
  captions.watch(video);
  const name = node.querySelector(".author-name");
  name.href = profileUrl(author.username);
  name.textContent = `@${author.username}`;
  node.querySelector(".feed-caption").append(...captionNodes(post.caption, post.entities));
  const branded = node.querySelector(".branded-label");
  if (post.branded) {  // a paid partnership: its disclosure, wherever the post is shown
    branded.textContent = post.branded.text;
    branded.hidden = false;
  } else {
    branded.remove();
  }
  const credit = node.querySelector(".derived-credit");
  if (post.derived_from) {  // a duet or stitch: the original, when this viewer may see it
    const by = post.derived_from.author.username;
    credit.textContent = `${post.derived_from.kind === "duet" ? "Duet with" : "Stitched from"} @${by}`;
    credit.href = `/@${encodeURIComponent(by)}/video/${post.derived_from.post_id}`;
    credit.hidden = false;
  } else {
    credit.remove();
  }
  const sound = node.querySelector(".sound-name");
  const disc = node.querySelector(".sound-disc");
  if (post.sound) {
    const label = post.sound.muted ? "Sound unavailable" : `${post.sound.title}${post.sound.artist ? ` · ${post.sound.artist}` : ""}`;
    sound.href = soundUrl(post.sound.id);
    sound.querySelector("span").textContent = label;
    disc.href = soundUrl(post.sound.id);
    disc.setAttribute("aria-label", `Sound: ${post.sound.title}`);
    if (post.sound.cover) disc.querySelector(".disc").style.backgroundImage = `url("${post.sound.cover}")`;
  } else {
    sound.remove();
    disc.remove();
  }
  const item = { index, post, el: node, video, stats: null };
  item.player = new Player(video, playback, {
    onFirstFrame: (ms) => {
      node.classList.add("started");
      releaseStills();
      if (item.afterFirstFrame) { item.afterFirstFrame(); item.afterFirstFrame = null; }
      // The next video loads only once this one plays: it must not compete for bandwidth
      // with the first frame on screen.
      if (item.index === active) preloadNext();
      // for the benchmark: time to first frame from activation, from the last swipe input,
      // and since navigation start
      const now = performance.now();
      window.swipeme.metrics.push({ index: item.index, ttff_ms: ms, preloaded: item.wasPreloaded,
                                    frame_ready: item.frameReady, at: now, frame: item.player.firstFrameInfo,
                                    since_input_ms: swipeAt ? Math.round(now - swipeAt) : null,
                                    // when the sound joined (Player.activate's soundJoin)
                                    sound_ms: swipeAt && item.player.soundAt
                                      ? Math.round(item.player.soundAt - swipeAt) : null });
      swipeAt = 0;
      // where the play started (creator analytics' traffic sources)
      telemetry.track("play_start", post.id, { source: post.id === startPostId ? "other" : FEED_SOURCE });
    },
    // a heartbeat every few seconds of playback: how far a play got even if the page dies
    onProgress: () => {
      if (item.index !== active) return;
      telemetry.track("watch_progress", post.id, watchData(item));
      keepPosition(item);
    },
    onEnded: (loops) => {
      // the first end of a play is its completion, every later loop a rewatch
      telemetry.track(loops === 1 ? "completion" : "rewatch", post.id);
    },
  });
  item.progress = new ProgressBar(node.querySelector(".progress"), video, playback.storyboard);
  item.rail = new Rail(item, { config, telemetry, onRemove: () => removeItem(item) });
  video.addEventListener("play", () => node.classList.remove("paused"));
  video.addEventListener("pause", () => { if (item.index === active) node.classList.add("paused"); });
  bindTaps(item);
  items.push(item);
  root.append(node);
  observer.observe(node);
}

// --- which item is on screen -----------------------------------------------------------

const observer = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (entry.isIntersecting && entry.intersectionRatio >= 0.6) {
      setActive(Number(entry.target.dataset.index));
    }
  }
}, { root, threshold: [0.6] });

// A touch swipe starts its target as soon as the browser knows where the snap will land.
bindSnapTargets(root, (el, inputAt) => {
  const index = Number(el.dataset.index);
  if (index === active) return;
  swipeAt = inputAt;
  setActive(index);
});

/** Make item `index` the playing one; `startAt` (seconds): a resumed post's position. */
function setActive(index, { startAt = 0 } = {}) {
  if (index === active || !items[index]) return;
  const previous = items[active];
  active = index;
  const item = items[index];
  captions.show(item);
  item.wasPreloaded = item.player.attached && item.player.video.readyState >= 2;
  // a preload parked on its decoded first frame (no poster at the swipe)
  item.frameReady = item.wasPreloaded && item.player.firstFrameTime != null;
  item.el.classList.remove("paused");
  item.enteredAt = Date.now();
  // play() first: everything else at a swipe can wait a few milliseconds, this cannot
  item.player.activate({ muted: !soundOn, startAt, soundJoin: config.soundJoin });
  if (previous) leave(previous);
  if (!item.ad) {
    telemetry.track("impression", item.post.id);
    // reopened, the feed starts here (feed/resume.js)
    rememberPost(item.post, { me: config.me, tab: root.dataset.tab });
  }
  item.progress.startTicking();
  // Rewinding the previous video and giving every other decoder back (keeping the active
  // and the next one) is media work that would compete with the new video's first frames:
  // it runs once they are on screen.
  afterFirstFrame(item, () => {
    if (previous && previous !== items[active]) previous.player.rewind();
    const keep = new Set([active, active + 1]);
    items.forEach((other, i) => { if (!keep.has(i)) other.player.release(); });
  });
  if (item.player.firstFrameAt) preloadNext();
  if (index >= items.length - 3) loadMore().then(() => {
    if (items[active] && items[active].player.firstFrameAt) preloadNext();
  });
}

/** Run `task` once the item's first frame is on screen (or after a second at most). */
function afterFirstFrame(item, task) {
  let done = false;
  const run = () => { if (!done) { done = true; task(); } };
  item.afterFirstFrame = run;
  setTimeout(run, 1000);
}

function preloadNext() {
  const following = items[active + 1];
  if (config.preload && following) following.player.preload({ muted: config.soundJoin || !soundOn });
  // the two after it: their start playlists, inits and first segments into the worker's cache
  if (config.preload) {
    warmNext(items.slice(active + 2, active + 4).filter((other) => !other.ad).map((other) => other.post));
  }
}

/** The watch figures of the item's play so far (watch_progress and watch_end). */
function watchData({ player, post, video }) {
  const duration = Math.max(1, Math.round((video.duration || (post.media.duration_ms || 0) / 1000) * 1000));
  return { watched_ms: player.watchedMs(), duration_ms: duration, loops: player.loops,
           position_ms: Math.min(duration, Math.round(video.currentTime * 1000)) };
}

function leave(item) {
  const { player, post } = item;
  item.progress.stopTicking();
  if (item.ad) { // an ad's plays are measured by its token (feed/ad.js), not as a post's
    player.pause();
    player.reset();
    return;
  }
  const watch = watchData(item);
  // A play ends with watch_end (after a last heartbeat), or with skip when it was abandoned
  // within about a second.
  if (player.loops === 0 && watch.watched_ms < 1000) {
    telemetry.track("skip", post.id, { watched_ms: watch.watched_ms, duration_ms: watch.duration_ms });
  } else {
    telemetry.track("watch_progress", post.id, watch);
    telemetry.track("watch_end", post.id, watch);
  }
  const qoe = Object.fromEntries(Object.entries(player.qoe).filter(([, v]) => v != null));
  if (Object.keys(qoe).length) telemetry.track("qoe", post.id, { ...qoe, network_type: networkType() });
  player.pause();
  player.reset();
}

function removeItem(item) {
  // "Not interested": the item fades out and the next one moves up into its place (no
  // scroll: scrolling away first and removing the item afterwards shifted the column under
  // the viewport, and the feed landed one video further on).
  if (!items.includes(item)) return;
  item.el.classList.add("removing");
  setTimeout(() => {
    const index = items.indexOf(item);
    if (index < 0) return;
    const wasActive = index === active;
    if (wasActive) leave(item);
    observer.unobserve(item.el);
    item.player.release();
    item.el.remove();
    items.splice(index, 1);
    items.forEach((it, i) => { it.index = i; it.el.dataset.index = String(i); });
    if (active > index) active -= 1;
    else if (wasActive) active = -1;
    const target = active >= 0 ? active : Math.min(index, items.length - 1);
    if (items[target]) root.scrollTo({ top: items[target].el.offsetTop, behavior: "instant" });
    if (active < 0) setActive(target);
    if (items.length - active <= 3) loadMore();
  }, reducedMotion.matches ? 0 : 250);
}

// --- moving ------------------------------------------------------------------------------

export function go(delta) {
  const target = Math.max(0, Math.min(items.length - 1, active + delta));
  if (target === active || !items[target]) return false;
  swipeAt = performance.now();
  // The target is known: start it now rather than when the scroll has carried it on screen.
  setActive(target);
  root.scrollTo({ top: items[target].el.offsetTop, behavior: reducedMotion.matches ? "auto" : "smooth" });
  return true;
}

bindWheel(root, go);

function typing(target) {
  return target && (target.closest("input, textarea, select, [contenteditable], dialog[open]"));
}

document.addEventListener("keydown", (event) => {
  if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
  if (document.querySelector("dialog[open]")) return;
  const item = items[active];
  switch (event.key) {
    case "ArrowDown": case "PageDown": case "j":
      event.preventDefault(); go(1); break;
    case "ArrowUp": case "PageUp": case "k":
      event.preventDefault(); go(-1); break;
    case " ":
      if (event.target.closest("button, a, [role=slider]")) return;
      event.preventDefault(); if (item) togglePause(item); break;
    case "m": setSound(!soundOn); break;
    case "l": if (item && item.rail) item.rail.like(); break;
    case "c": if (item && item.rail) item.rail.openComments(); break;
    default:
  }
});

// --- sound: muted autoplay until the first interaction, then on for the session -------------

function setSound(on) {
  soundOn = on;
  soundToggle.setAttribute("aria-pressed", String(on));
  soundToggle.setAttribute("aria-label", on ? "Mute" : "Turn sound on");
  const item = items[active];
  if (item) item.player.setMuted(!on);
  // the preloaded video follows (paused, it makes no sound; see Player.preload), unless it
  // waits muted for its sound to join at the swipe (config.soundJoin)
  const following = items[active + 1];
  if (following && following.player.state === "preloading") following.video.muted = config.soundJoin || !on;
}

function firstInteraction(event) {
  if (event.target === soundToggle || soundToggle.contains(event.target)) return;
  ["pointerdown", "keydown"].forEach((name) => document.removeEventListener(name, firstInteraction, true));
  // A first tap on a muted video turns the sound on rather than pausing it.
  if (event.target.classList && event.target.classList.contains("tap-layer")) swallowTap = true;
  setSound(true);
}
["pointerdown", "keydown"].forEach((name) => document.addEventListener(name, firstInteraction, true));
soundToggle.addEventListener("click", () => {
  ["pointerdown", "keydown"].forEach((name) => document.removeEventListener(name, firstInteraction, true));
  setSound(!soundOn);
});

// --- taps: one pauses, two like --------------------------------------------------------------

function togglePause(item) {
  if (item.video.paused) item.player.play();
  else item.player.pause();
}

function bindTaps(item) {
  const layer = item.el.querySelector(".tap-layer");
  let pending = 0;
  let lastTap = 0;
  layer.addEventListener("click", (event) => {
    const now = performance.now();
    if (now - lastTap < 300) {
      clearTimeout(pending);
      lastTap = 0;
      if (item.rail) { // an ad has no likes
        item.rail.heart(event.clientX, event.clientY);
        item.rail.like({ only: true });
      }
      return;
    }
    lastTap = now;
    if (swallowTap) { swallowTap = false; return; }
    pending = setTimeout(() => { if (item.index === active) togglePause(item); }, 300);
  });
}

/** A post as the server shows it to this viewer now (with the viewer's like and
 * favourite), or null when it has no playable media. Throws the API's error. */
async function fetchPost(id) {
  const [post, engagement] = await Promise.all([
    get(`/api/v1/posts/${id}`),
    config.signedIn ? get(`/api/v1/posts/${id}/engagement`).catch(() => null) : null,
  ]);
  if (!post.media || !post.media.playback) return null;
  if (engagement) post.viewer = { ...(post.viewer || {}), liked: engagement.liked, favourited: engagement.favourited };
  return post;
}

/** "Watch more" from a post's page (/?start=<id>): that post first, then the feed. */
let startPostId = null;
async function renderStart(id) {
  if (!/^\d{1,19}$/.test(id || "")) return;
  try {
    const post = await fetchPost(id);
    if (!post || items.some((item) => item.post.id === post.id)) return;
    startPostId = post.id;
    render(post);
  } catch { /* gone or not visible: the feed alone */ }
}

/** The asset a play URL belongs to (/api/v1/media/play/<asset>/<grant>/...). */
function assetOf(url) {
  const match = /\/media\/play\/(\d+)\//.exec(url || "");
  return match ? match[1] : null;
}

/** Reopened: the kept post first, from where its play was. Online the server says first
 * whether this viewer may still see it (a post removed, made private or blocked since is
 * not resumed, and forgotten); kept under an hour, its media keeps the kept URLs, which
 * the worker's cache holds (signed URLs differ per answer). Offline, or the server out of
 * reach, the kept copy plays (its media from the cache). */
async function resumeKept(kept) {
  const show = (post) => {
    render(post);
    setActive(items.length - 1, { startAt: kept.position });
  };
  let post = kept.post;
  if (navigator.onLine !== false) {
    try {
      const now = await fetchPost(kept.post.id);
      if (!now) { forgetPost(); return; }
      const before = kept.post.media.playback.start;
      const start = now.media.playback.start;
      if (kept.fresh && before && start && assetOf(before.playlist) === assetOf(start.playlist)) {
        now.media = kept.post.media;
      }
      post = now;
    } catch (error) {
      if (!isTemporary(error)) { forgetPost(); return; }
    }
  }
  show(post);
}

// Start: the first page, then the first item is active as soon as it is laid out.
document.documentElement.classList.add("feed-ready");
if (config.source) {
  // Reopened without ?start: the last post shown comes back first, from where its play
  // was (resumeKept).
  const kept = params.get("start") ? null : keptPost({ me: config.me, tab: root.dataset.tab });
  const first = kept ? resumeKept(kept) : renderStart(params.get("start"));
  first.then(loadMore).then(() => {
    if (items.length && active < 0) setActive(0);
  });
}
window.addEventListener("load", () => { window.swipeme.worker = registerWorker(); });
// without a network the feed says so (what plays is what this browser kept)
const offlineNote = document.getElementById("feed-offline-note");
function showOffline() { if (offlineNote) offlineNote.hidden = navigator.onLine !== false; }
window.addEventListener("offline", showOffline);
window.addEventListener("online", () => {
  showOffline();
  loadMore().then(() => { if (items[active] && items[active].player.firstFrameAt) preloadNext(); });
});
showOffline();
