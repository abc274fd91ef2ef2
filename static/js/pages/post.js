// The post's own page (the permalink and the share link /p/<id>/): the player, started by
// the shared start-up (player/source.js: hls.js, native HLS or the MP4), muted (autoplay
// rules; the native controls unmute), counting one view after a little watching; like,
// share (the Web Share API where there is one, else copy the link), the comment thread
// (lib/comments.js) and Report (lib/report.js through actions.js). A signed-out visitor
// who tries to act is asked to log in, with a link back here. Plays are reported to the
// event log like the feed's (play_start with where the visitor came from, completion,
// watch_end when the page goes away): creator analytics' retention and traffic sources.
import { del, post } from "../lib/api.js";
import { CommentThread } from "../lib/comments.js";
import { Telemetry } from "../lib/events.js";
import { REPORTS_URL } from "../lib/report.js";
import { compact } from "../feed/text.js";
import { captionsToggle } from "../player/captions.js";
import { attachSource } from "../player/source.js";

const VIEW_AFTER_MS = 1500; // the view API counts a view after 1 s (half of a shorter clip)
const stateNode = document.getElementById("post-state");
const state = stateNode ? JSON.parse(stateNode.textContent) : null;

/** play_start's source (apps/events/schema.py PLAY_SOURCES): the share link says so
 * itself; otherwise the page of this site the visitor came from. */
export function playSource(given, referrer = document.referrer) {
  if (given) return given;
  let from;
  try { from = new URL(referrer); } catch { return "other"; }
  if (from.origin !== location.origin) return "other";
  const path = from.pathname;
  if (path.startsWith("/search")) return "search";
  if (path.startsWith("/sound/")) return "sound";
  if (path.startsWith("/tag/")) return "hashtag";
  if (path.startsWith("/messages")) return "share"; // a post sent in a direct message
  if (/^\/@[^/]+(\/(liked)?)?$/.test(path)) return "profile";
  return "other";
}

/** One play of the page's video, told to the event log the way the feed tells its plays. */
function trackPlays(video, config) {
  const telemetry = new Telemetry();
  const source = playSource(config.source);
  let playing = false;
  let watched = 0;
  let last = null;
  let completed = false;
  const duration = () => Math.round((video.duration || 0) * 1000);
  const end = () => {
    if (!playing || !duration()) return;
    playing = false;
    const data = { watched_ms: Math.round(watched), duration_ms: duration() };
    telemetry.track(watched < 1000 ? "skip" : "watch_end", config.post_id, data);
    telemetry.flushAll();
  };
  const start = () => {
    if (playing) return;
    playing = true; watched = 0; last = null; completed = false;
    telemetry.track("play_start", config.post_id, { source });
  };
  video.addEventListener("playing", start);
  video.addEventListener("timeupdate", () => {
    const now = video.currentTime;
    if (!playing) return;
    if (last !== null && now > last && now - last < 1) watched += (now - last) * 1000;
    if (last !== null && now + 0.5 < last && last > (video.duration || 0) - 1) {
      telemetry.track(completed ? "rewatch" : "completion", config.post_id); // looped
      completed = true;
    }
    last = now;
  });
  video.addEventListener("seeking", () => { last = null; });
  // a hidden page may never come back: the play ends there (and a new one starts if the
  // video is still playing when it does)
  window.addEventListener("pagehide", end);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") end();
    else if (!video.paused) start();
  });
}

function startPlayer() {
  const video = document.getElementById("post-player");
  const configNode = document.getElementById("player-config");
  if (!video || !configNode) return;
  const config = JSON.parse(configNode.textContent);
  const source = attachSource(video, config, { config: { startLevel: -1 } });
  video.dataset.engine = source.engine;
  video.dataset.ready = "true";
  captionsToggle(video, source, document.getElementById("captions-toggle"));
  trackPlays(video, config);
  // Reduced motion: no autoplay (and no loop); the viewer starts it.
  if (window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
    video.removeAttribute("autoplay");
    video.loop = false;
  } else {
    const play = video.play();
    if (play && play.catch) play.catch(() => { /* autoplay refused: the controls remain */ });
  }
  // Report one view once the visitor has watched a little (time actually played).
  let watched = 0;
  let last = null;
  let reported = false;
  video.addEventListener("timeupdate", () => {
    const now = video.currentTime;
    if (last !== null && now > last && now - last < 1) watched += (now - last) * 1000;
    last = now;
    const enough = Math.min(VIEW_AFTER_MS, (video.duration || 2) * 500);
    if (!reported && watched >= enough) {
      reported = true;
      post(`/api/v1/posts/${config.post_id}/view`, { watched_ms: Math.round(watched) })
        .then(() => { video.dataset.viewReported = "true"; })
        .catch(() => { /* a view is best effort */ });
    }
  });
  video.addEventListener("seeking", () => { last = null; });
  video.addEventListener("keydown", (event) => {
    if (event.key === " " || event.key === "k") {
      event.preventDefault();
      if (video.paused) video.play(); else video.pause();
    }
  });
}

// --- signed out: say what an account is needed for --------------------------------------------

const prompt = document.querySelector("[data-signin-prompt]");

function askToLogIn(what) {
  if (!prompt) return;
  prompt.querySelector("[data-signin-what]").textContent = what;
  prompt.hidden = false;
  prompt.querySelector("a").focus();
}

function setCount(name, value) {
  const node = document.querySelector(`[data-count="${name}"]`);
  if (node) node.textContent = compact(value);
}

// --- like ---------------------------------------------------------------------------------------

function bindLike() {
  const button = document.querySelector("[data-post-like]");
  if (!button || !state) return;
  const paint = () => {
    button.setAttribute("aria-pressed", String(state.liked));
    button.querySelector(".label").textContent = state.liked ? "Liked" : "Like";
    button.setAttribute("aria-label", `${state.liked ? "Unlike" : "Like"} (${state.likes} likes)`);
    setCount("likes", state.likes);
  };
  paint();
  button.addEventListener("click", async () => {
    if (!state.signed_in) { askToLogIn("Log in to like this video."); return; }
    const liking = !state.liked;
    state.liked = liking;
    state.likes = Math.max(0, state.likes + (liking ? 1 : -1));
    paint();
    button.disabled = true;
    try {
      if (liking) await post(`/api/v1/posts/${state.id}/like`);
      else await del(`/api/v1/posts/${state.id}/like`);
    } catch {
      state.liked = !liking;
      state.likes = Math.max(0, state.likes + (liking ? -1 : 1));
      paint();
    } finally {
      button.disabled = false;
    }
  });
}

// --- share --------------------------------------------------------------------------------------

/** Record a share (signed in only; the count moves) and answer the link to hand out. */
async function recordShare(channel) {
  if (!state.signed_in) return state.share_url;
  try {
    const body = await post(`/api/v1/posts/${state.id}/share`, { channel });
    if (typeof body.shares_count === "number") setCount("shares", body.shares_count);
    return body.url || state.share_url;
  } catch {
    return state.share_url;
  }
}

function bindShare() {
  if (!state) return;
  // The copy button itself is actions.js's; here it also counts as a share.
  document.querySelector("[data-post-copy]")?.addEventListener("click", () => { recordShare("copy_link"); });
  const native = document.querySelector("[data-post-share]");
  if (!native || !navigator.share) return;
  native.hidden = false;
  native.addEventListener("click", async () => {
    try {
      await navigator.share({ title: document.title, text: state.caption, url: state.share_url });
    } catch { return; /* cancelled */ }
    recordShare("other");
  });
}

// --- comments -----------------------------------------------------------------------------------

function bindComments() {
  const section = document.getElementById("comments");
  if (!section || !state) return;
  const thread = new CommentThread(section, {
    onSignup: () => askToLogIn("Log in to comment and reply."),
    onCommented: () => { state.comments += 1; setCount("comments", state.comments); return state.comments; },
    reportsUrl: state.signed_in ? REPORTS_URL : "",
  });
  thread.open({ id: state.id, comments: state.comments, commentPolicy: state.comment_policy,
                signedIn: state.signed_in, me: state.me || "" });
}

startPlayer();
bindLike();
bindShare();
bindComments();
