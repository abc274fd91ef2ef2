// The go-live page (/studio/live, templates/web/studio_live.html): copy buttons for the
// server URLs and the key (shown once), a confirmation before rotating or revoking the
// key, and "waiting for your encoder" turning into "you're live" (and back when the
// connection drops) without a reload: the live's detail, every 2 s while the page is open.
import { ApiError, get } from "../lib/api.js";

const page = document.querySelector("[data-golive]");
const STATES = {
  created: ["Waiting for your encoder…", "Not yet", "Start streaming from OBS or your phone app with the server and key below. Your live starts as soon as video arrives."],
  live: ["You're live", "LIVE", "People can watch you now."],
  reconnecting: ["Your connection dropped", "Reconnecting", "Come back within 30 seconds to carry on the same live."],
};

function say(text, isError = false) {
  const line = page.querySelector("[data-golive-status]");
  line.textContent = text;
  line.classList.toggle("form-error", isError);
}

async function copy(button) {
  const text = button.dataset.copy;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // no clipboard permission (http, an old browser): select the text for Ctrl+C
    const code = button.previousElementSibling;
    if (code) window.getSelection().selectAllChildren(code);
    say("Press Ctrl+C (or ⌘C) to copy.");
    return;
  }
  const was = button.textContent;
  button.textContent = "Copied";
  say("Copied.");
  setTimeout(() => { button.textContent = was; }, 1500);
}

function showState(state) {
  const words = STATES[state];
  const status = page.querySelector("[data-live-status]");
  if (!status) return;
  if (state === "ended") { location.href = `/studio/live/${page.dataset.liveId}`; return; }
  if (!words || page.dataset.state === state) return;
  page.dataset.state = state;
  status.querySelector("[data-status-title]").textContent = words[0];
  const badge = status.querySelector("[data-status-badge]");
  badge.textContent = words[1];
  badge.classList.toggle("off", state !== "live");
  status.querySelector("[data-status-text]").textContent = words[2];
  status.querySelector("[data-watch-link]").hidden = state === "created";
  const end = status.querySelector("[data-end-form] button");
  if (end && state !== "created") end.textContent = "End the live";
}

async function poll() {
  try {
    const live = await get(`/api/v1/live/${page.dataset.liveId}`);
    showState(live.state);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return;
  }
  if (page.dataset.state !== "ended") setTimeout(poll, 2000);
}

if (page) {
  page.querySelectorAll("[data-copy]").forEach((button) => button.addEventListener("click", () => copy(button)));
  page.querySelectorAll("[data-confirm]").forEach((button) => button.addEventListener("click", (event) => {
    if (!window.confirm(button.dataset.confirm)) event.preventDefault();
  }));
  if (page.dataset.liveId) setTimeout(poll, 2000);
}
