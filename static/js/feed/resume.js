// Quick resume and the offline cache (issue 22). The feed registers the site's service
// worker (/sw.js: push and static/sw_feed.js's caches), tells it which static files the
// page loaded before it took control (`swipeme-shell`) and which playlists come next
// (`swipeme-warm`: the next posts' start playlists, their init and first segments).
// The last post on screen is kept in localStorage with the viewer's name and the tab, and
// where its play was when the page went away: a reopened feed asks the server whether the
// post may still be shown (a post removed or hidden since is not resumed), then plays it
// first from that position (its media from the worker's cache); a feed opened offline
// plays it from what was kept. Another viewer (or signed out) never gets it.

import { startPlaylist } from "../player/codecs.js";

const KEY = "swipeme.resume";
// a position is resumed from 1 s in up to 1 s before the end; outside that, the start
const EDGE_S = 1;
// a kept item's signed media URLs expire (MEDIA_PLAYBACK_URL_TTL, 6 h): online, an older
// one is fetched again from the API before it is shown
const FRESH_MS = 60 * 60 * 1000;

export function rememberPost(post, { me, tab }) {
  if (!post || !post.id || String(post.id).startsWith("ad:")) return;
  // the worker keeps the post on screen's media before any other (its byte budget)
  const controller = navigator.serviceWorker && navigator.serviceWorker.controller;
  const playback = post.media && post.media.playback;
  if (controller && playback && playback.start) {
    controller.postMessage({ type: "swipeme-playing", playlist: playback.start.playlist });
  }
  try {
    localStorage.setItem(KEY, JSON.stringify({ me, tab, saved_at: Date.now(), post }));
  } catch { /* storage full or disabled: no resume */ }
}

/** Where the kept post's play was (the page is going away, or a heartbeat): only for the
 * post kept, so a late call for another post changes nothing. */
export function rememberPosition(postId, position, duration) {
  try {
    const kept = JSON.parse(localStorage.getItem(KEY) || "null");
    if (!kept || !kept.post || kept.post.id !== postId) return;
    kept.position_s = Number.isFinite(position) ? Math.round(position * 1000) / 1000 : 0;
    kept.duration_s = Number.isFinite(duration) ? duration : 0;
    localStorage.setItem(KEY, JSON.stringify(kept));
  } catch { /* storage full or disabled: the start */ }
}

/** Forget the kept post (the server no longer shows it to this viewer). */
export function forgetPost() {
  try { localStorage.removeItem(KEY); } catch { /* ignore */ }
}

/** The kept post for this viewer and tab: {post, fresh, position}, or null (another viewer's
 * is dropped). `position` is where its play resumes in seconds, 0 for the start. */
export function keptPost({ me, tab }) {
  let kept;
  try {
    kept = JSON.parse(localStorage.getItem(KEY) || "null");
  } catch {
    return null;
  }
  if (!kept || !kept.post) return null;
  if (kept.me !== me) {
    forgetPost();
    return null;
  }
  if (kept.tab !== tab) return null;
  const at = Number(kept.position_s) || 0;
  const duration = Number(kept.duration_s) || 0;
  const position = at >= EDGE_S && duration > 0 && at <= duration - EDGE_S ? at : 0;
  return { post: kept.post, fresh: Date.now() - Number(kept.saved_at || 0) < FRESH_MS, position };
}

export function registerWorker() {
  if (!("serviceWorker" in navigator)) return Promise.resolve(null);
  return navigator.serviceWorker.register("/sw.js", { scope: "/" })
    .then(() => navigator.serviceWorker.ready)
    .then((registration) => {
      const urls = performance.getEntriesByType("resource").map((entry) => entry.name)
        .filter((name) => name.startsWith(`${location.origin}/static/`));
      const worker = registration.active;
      if (worker) worker.postMessage({ type: "swipeme-shell", urls, page: location.pathname });
      return registration;
    })
    .catch(() => null);
}

/** Ask the worker to fetch the start playlists (and their init and first segments) of `posts`. */
export function warmNext(posts) {
  const controller = navigator.serviceWorker && navigator.serviceWorker.controller;
  if (!controller) return;
  // the start rung of the codec this browser will play (AV1 where it decodes it, player/codecs.js)
  const playlists = posts.map((post) => startPlaylist(post && post.media && post.media.playback))
    .filter(Boolean);
  if (playlists.length) controller.postMessage({ type: "swipeme-warm", playlists });
}
