// Duet and Stitch in the studio (issue 16): the upload page opened as /upload?duet=<post id>
// or ?stitch=<post id> (the Duet and Stitch actions of a post page and the feed's share
// sheet) loads the original from /api/v1/studio/originals/<id>?kind=… — the server's rule
// says whether it may be borrowed, in words — and shows it with its choices: a duet's layout
// (the original left or on top), a stitch's part of the original's first 5 s. The studio's
// edit document then carries it as `source` (document version 2); the render does the rest.
import { get } from "../lib/api.js";

const params = new URLSearchParams(location.search);
const kind = params.has("duet") ? "duet" : params.has("stitch") ? "stitch" : null;
const postId = kind ? params.get(kind) : null;

const panel = document.querySelector("[data-remix-panel]");
const state = { original: null, layout: "side_by_side", inMs: 0, outMs: 0, maxMs: 0 };

export const remix = {
  wanted: Boolean(kind && postId && panel),
  kind,

  /** The document's `source`, or null (not a duet or stitch, or the original refused). */
  source() {
    if (!state.original) return null;
    if (kind === "duet") return { kind, post_id: postId, layout: state.layout };
    return { kind, post_id: postId, in_ms: state.inMs, out_ms: state.outMs };
  },

  /** What the original adds to the edit's length (a stitch's part; a duet adds none). */
  lengthMs() {
    return state.original && kind === "stitch" ? state.outMs - state.inMs : 0;
  },

  /** Fetch the original and show it; `changed` runs when a choice changes the document. */
  async load(changed) {
    if (!remix.wanted || state.original || panel.dataset.loading) return;
    panel.dataset.loading = "true";
    panel.hidden = false;
    const status = panel.querySelector("[data-remix-status]");
    status.textContent = kind === "duet" ? "Loading the video to duet…" : "Loading the video to stitch…";
    try {
      const body = await get(`/api/v1/studio/originals/${encodeURIComponent(postId)}?kind=${kind}`);
      state.original = body.post;
      state.maxMs = body.stitch_max_ms;
      state.outMs = body.stitch_max_ms;
      show(body.post, changed);
      status.textContent = "";
    } catch (error) {
      // the server's words: private, removed, not allowed, under 16…
      panel.dataset.refused = "true";
      status.textContent = error.message || "This video can't be used.";
    } finally {
      delete panel.dataset.loading;
      changed();
    }
  },
};

function show(original, changed) {
  const by = original.author.username;
  const title = panel.querySelector("[data-remix-title]");
  title.textContent = kind === "duet" ? `Duet with @${by}` : `Stitch from @${by}`;
  const link = panel.querySelector("[data-remix-link]");
  link.href = `/@${encodeURIComponent(by)}/video/${original.id}`;
  const video = panel.querySelector("[data-remix-video]");
  const playback = original.media.playback || {};
  if (playback.poster) video.poster = playback.poster;
  if (playback.mp4) video.src = playback.mp4;
  else if (playback.hls && window.Hls?.isSupported()) {
    const hls = new window.Hls();
    hls.loadSource(playback.hls);
    hls.attachMedia(video);
  } else if (playback.hls) video.src = playback.hls;
  panel.querySelector("[data-remix-help]").textContent = kind === "duet"
    ? "Your clips play beside this video, with its sound."
    : `Your clips play after a part of this video's first ${(state.maxMs / 1000).toFixed(1)} s.`;

  const layout = panel.querySelector("[data-remix-layout]");
  layout.hidden = kind !== "duet";
  layout.querySelector("select").addEventListener("change", (event) => {
    state.layout = event.target.value;
    changed();
  });

  const range = panel.querySelector("[data-remix-range]");
  range.hidden = kind !== "stitch";
  const from = range.querySelector("[data-remix-in]");
  const to = range.querySelector("[data-remix-out]");
  const error = range.querySelector("[data-remix-range-error]");
  for (const input of [from, to]) input.max = (state.maxMs / 1000).toFixed(1);
  to.value = (state.outMs / 1000).toFixed(1);
  const update = () => {
    const inMs = Math.round(Number(from.value) * 1000);
    const outMs = Math.round(Number(to.value) * 1000);
    const ok = Number.isFinite(inMs) && Number.isFinite(outMs) && inMs >= 0
      && outMs <= state.maxMs && outMs - inMs >= 100;
    error.hidden = ok;
    error.textContent = ok ? "" : `Choose a part of at least 0.1 s within the first ${(state.maxMs / 1000).toFixed(1)} s.`;
    if (ok) {
      state.inMs = inMs;
      state.outMs = outMs;
      video.currentTime = inMs / 1000;
    }
    changed();
  };
  from.addEventListener("change", update);
  to.addEventListener("change", update);
}
