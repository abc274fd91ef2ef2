// The review page: the video through hls.js (native HLS where the browser has it) and one
// key per decision. A key clicks the button that carries it, so the keypress is exactly the
// POST the button makes (the server checks the claim and the moderator's permissions).
import { attachSource } from "../player/source.js";

const root = document.getElementById("review");

function startPlayer() {
  const video = document.getElementById("player");
  if (!video) return;
  // A live (a case on a live on air) plays at its edge without LL-HLS's blocking reload:
  // the page's own route serves the playlists as they are, without waiting.
  const config = video.dataset.live ? { lowLatencyMode: false, liveSyncDurationCount: 2 } : {};
  attachSource(video, { hls: video.dataset.hls, mp4: video.dataset.mp4 }, { config });
}

// Keys typed into a field are text; a ticked checkbox or a pressed button keeps the focus
// but not the keyboard, so the shortcuts still work after "then the next case" is unticked.
const NOT_TYPING = ["checkbox", "radio", "button", "submit", "reset", "range"];

function typing(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target instanceof HTMLInputElement) return !NOT_TYPING.includes(target.type);
  return target.isContentEditable || ["TEXTAREA", "SELECT"].includes(target.tagName);
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
  if (event.key === "?") {
    const help = document.getElementById("shortcuts");
    if (help) help.hidden = !help.hidden;
    return;
  }
  if (event.key === " ") {
    const video = document.getElementById("player");
    if (video) {
      event.preventDefault();
      if (video.paused) video.play(); else video.pause();
    }
    return;
  }
  const button = root.querySelector(`button[data-key="${CSS.escape(event.key.toLowerCase())}"]`);
  if (!button || button.disabled) return;
  event.preventDefault();
  if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
  button.click();
}

if (root) {
  // hls.js is loaded with `defer`; module scripts run after deferred ones.
  startPlayer();
  document.addEventListener("keydown", onKey);
  // A confirm on click too, for mouse users.
  root.querySelectorAll("button[data-confirm]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (event.isTrusted && !window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });
}
