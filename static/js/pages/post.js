// The permalink player: hls.js where Media Source Extensions exist, native HLS where the
// browser has it (Safari), the MP4 fallback otherwise. Starts muted (autoplay rules); the
// native controls unmute. hls.js runs without its worker (the CSP allows no blob: scripts).
import { post } from "../lib/api.js";
import { attachSource } from "../player/source.js";

const video = document.getElementById("post-player");
const VIEW_AFTER_MS = 1500; // the view API counts a view after 1 s (half of a shorter clip)
const configNode = document.getElementById("player-config");

function start() {
  if (!video || !configNode) return;
  const config = JSON.parse(configNode.textContent);
  attachSource(video, config, { config: { startLevel: -1 } });
  video.dataset.ready = "true";
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
  // Tap / click on the picture toggles playback (the controls bar keeps its own clicks).
  video.addEventListener("keydown", (event) => {
    if (event.key === " " || event.key === "k") {
      event.preventDefault();
      if (video.paused) video.play(); else video.pause();
    }
  });
}

start();
