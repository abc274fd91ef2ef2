// The upload page: pick or drop a file → POST /api/v1/media/uploads → tus PATCHes (resumed
// from the server's offset after a failure, or after a reload when the same file is picked
// again) → processing followed on /ws/media/assets/<id>/ (polling the asset when the socket
// is unavailable; while it waits in line, its place is re-read every few seconds) →
// POST /api/v1/posts. The preview and the cover frames come from the chosen file itself
// (URL.createObjectURL, frames drawn on a canvas), so both work before processing ends;
// the chosen time goes with the post and the server cuts the cover from the real media.
// A file this browser cannot decode falls back to the server's renditions and storyboard.
import { api, get, newIdempotencyKey, post, retrying } from "../lib/api.js";
import { attachSource } from "../player/source.js";
import { attachSuggestions } from "./caption.js";
import { until, videoFrames } from "./frames.js";
import { TusUpload, serverOffset, terminate } from "./tus.js";

const config = JSON.parse(document.getElementById("upload-config").textContent);
const $ = (selector) => document.querySelector(selector);

const input = $("#file-input");
const dropzone = $("[data-dropzone]");
const statusBox = $("[data-upload-status]");
const fileName = $("[data-file-name]");
const uploadBar = $("[data-upload-progress]");
const processingBar = $("[data-processing-progress]");
const stateText = $("[data-state-text]");
const retryButton = $("[data-retry]");
const replaceButton = $("[data-replace]");
const cancelButton = $("[data-cancel-upload]");
const previewBox = $("[data-preview]");
const previewVideo = $("[data-preview-video]");
const coverPicker = $("[data-cover-picker]");
const coverFrames = $("[data-cover-frames]");
const form = $("[data-post-form]");
const submit = $("[data-submit]");
const submitHelp = $("[data-submit-help]");
const formError = $("[data-form-error]");
const caption = $("#caption");
const captionCount = $("[data-caption-count]");

const STATE_TEXT = {
  uploading: "Uploading…",
  uploaded: "Uploaded. Waiting for a place in the processing queue…",
  validating: "Checking the file…",
  processing: "Processing…",
  ready: "Ready.",
  rejected: "This file can't be posted", // refused: not a video we accept (the reason says why)
  failed: "This video could not be processed", // a good file; our processing gave up
};
const TERMINAL = new Set(["ready", "rejected", "failed"]);
const COVER_FRAMES = 8;
const WAITING_REFRESH_MS = 3000;

const state = {
  file: null, asset: null, uploadUrl: null, uploaded: false, uploadState: "idle",
  assetState: null, playable: false, coverMs: null, socket: null, pollTimer: null,
  previewShown: false, storyboardShown: false, tus: null, posted: false,
  localUrl: null, localCovers: false, waitTimer: null, pendingPost: null,
};

// --- resumable across reloads: the same file picked again continues where it stopped ----

const fingerprint = (file) => `swipeme.upload:${file.name}:${file.size}:${file.lastModified}`;
function remember(file, asset) {
  try { localStorage.setItem(fingerprint(file), JSON.stringify({ id: asset.id, url: asset.upload_url })); } catch { /* private mode */ }
}
function recall(file) {
  try { return JSON.parse(localStorage.getItem(fingerprint(file)) || "null"); } catch { return null; }
}
function forget(file) {
  if (!file) return; // a studio render: no file of this browser to remember
  try { localStorage.removeItem(fingerprint(file)); } catch { /* private mode */ }
}

// --- status display ----------------------------------------------------------------------

function say(text, { error = false } = {}) {
  stateText.textContent = text;
  stateText.classList.toggle("error", error);
  stateText.setAttribute("role", error ? "alert" : "status");
}

function updateSubmit() {
  const ready = state.uploaded && !state.posted
    && !["rejected", "failed"].includes(state.assetState);
  submit.disabled = !ready;
  submitHelp.textContent = state.posted ? "" : !state.file && !state.asset ? "Choose a video first."
    : !state.uploaded ? "You can post once the upload finishes."
    : ["rejected", "failed"].includes(state.assetState) ? "Choose another file." : "";
  const when = form.elements.when.value;
  submit.textContent = when === "draft" ? "Save draft" : when === "schedule" ? "Schedule" : "Post";
}

// "about 40 s", "about 3 min": the server's estimate in words.
function about(seconds) {
  if (seconds < 60) return `about ${Math.max(5, Math.round(seconds / 5) * 5)} s`;
  return `about ${Math.round(seconds / 60)} min`;
}

// What the owner reads while the video waits for a worker or is being processed.
export function statusText(status) {
  if (status.queue_position) {
    const ahead = status.queue_position - 1;
    const line = ahead === 0 ? "next in line"
      : `${ahead} upload${ahead === 1 ? "" : "s"} ahead`;
    const eta = status.estimated_start_seconds === null || status.estimated_start_seconds === undefined
      ? "" : `, ${about(status.estimated_start_seconds)}`;
    return `Waiting — ${line}${eta}`;
  }
  if (status.state === "processing") {
    const playable = status.playable ? " — already playable" : "";
    return `Processing — ${status.progress ?? 0} %${playable}`;
  }
  return STATE_TEXT[status.state] || status.state;
}

function bytes(n) {
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  const mb = n / (1024 * 1024);
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
}

// --- following the asset: websocket first, polling as the fallback -------------------------

function onStatus(status) {
  state.assetState = status.state;
  state.playable = Boolean(status.playable);
  statusBox.dataset.state = status.state;
  if (status.state === "uploading") {
    uploadBar.value = status.upload_progress ?? uploadBar.value;
  } else {
    uploadBar.value = 100;
  }
  const waiting = Boolean(status.queue_position);
  statusBox.dataset.waiting = String(waiting);
  // waiting in line: an indeterminate bar (it moves) rather than a silent 0 %
  if (waiting || status.state === "uploaded" || status.state === "validating") processingBar.removeAttribute("value");
  else processingBar.value = status.progress ?? 0;
  let text = statusText(status);
  if (status.reason) text = `${text}: ${status.reason}`;
  say(text, { error: status.state === "rejected" || status.state === "failed" });
  refreshWhileWaiting(waiting && !TERMINAL.has(status.state));
  if (TERMINAL.has(status.state)) stopFollowing();
  if (status.state === "rejected" || status.state === "failed") {
    replaceButton.hidden = false;
    forget(state.file);
  }
  if (state.playable && (!state.previewShown || !state.storyboardShown)) loadPlayback();
  updateSubmit();
}

// The socket speaks when this asset changes; its place in line moves as others finish,
// so while it waits the place is read again every few seconds.
function refreshWhileWaiting(waiting) {
  if (!waiting) { clearTimeout(state.waitTimer); state.waitTimer = null; return; }
  if (state.waitTimer || state.pollTimer) return;
  state.waitTimer = setTimeout(async () => {
    state.waitTimer = null;
    if (!state.asset) return;
    try { onStatus(await get(`${config.asset_url}${state.asset.id}`)); } catch { refreshWhileWaiting(true); }
  }, WAITING_REFRESH_MS);
}

function stopFollowing() {
  clearTimeout(state.waitTimer);
  state.waitTimer = null;
  if (state.socket) { state.socket.onclose = null; state.socket.close(); state.socket = null; }
  clearInterval(state.pollTimer);
  state.pollTimer = null;
}

function poll() {
  if (state.pollTimer) return;
  const tick = async () => {
    try { onStatus(await get(`${config.asset_url}${state.asset.id}`)); } catch { /* next tick */ }
  };
  tick();
  state.pollTimer = setInterval(tick, 2000);
}

function follow() {
  if (!("WebSocket" in window)) { poll(); return; }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  let opened = false;
  const socket = new WebSocket(`${scheme}://${location.host}${config.ws_path}${state.asset.id}/`);
  state.socket = socket;
  socket.onopen = () => { opened = true; };
  socket.onmessage = (event) => {
    try { onStatus(JSON.parse(event.data)); } catch { /* ignore a malformed frame */ }
  };
  socket.onclose = () => {
    state.socket = null;
    if (!TERMINAL.has(state.assetState)) poll(); // dropped or refused: keep going by polling
    if (!opened) statusBox.dataset.transport = "polling";
  };
  statusBox.dataset.transport = "websocket";
}

// --- preview and cover frames ------------------------------------------------------------

let playbackLoading = false;
async function loadPlayback() {
  if (playbackLoading) return;
  playbackLoading = true;
  try {
    const asset = await get(`${config.asset_url}${state.asset.id}`);
    const playback = asset.playback;
    if (!playback) return;
    if (!state.previewShown && !state.localUrl && (playback.mp4 || playback.hls)) {
      state.previewShown = true;
      previewBox.hidden = false;
      if (asset.width && asset.height) previewBox.style.setProperty("--ratio", `${asset.width} / ${asset.height}`);
      if (playback.poster) previewVideo.poster = playback.poster;
      attachSource(previewVideo, playback);
    }
    if (!state.storyboardShown && !state.localCovers && playback.storyboard) {
      const board = await fetch(playback.storyboard.json).then((r) => (r.ok ? r.json() : null));
      if (board) {
        state.storyboardShown = true;
        showCovers(board, playback.storyboard.image, asset.duration_ms);
      }
    }
  } catch { /* the next status change tries again */ } finally {
    playbackLoading = false;
  }
  // A storyboard can land after the last pushed change we saw; look once more.
  if (state.playable && !state.storyboardShown && !state.localCovers && TERMINAL.has(state.assetState)) {
    setTimeout(loadPlayback, 1500);
  }
}

function showCovers(board, image, durationMs) {
  const count = Math.max(1, board.count);
  const picks = Math.min(count, COVER_FRAMES);
  const frames = [];
  for (let i = 0; i < picks; i += 1) {
    const index = picks === 1 ? 0 : Math.round((i * (count - 1)) / (picks - 1));
    const ms = Math.min(Math.round(index * board.interval * 1000), durationMs ?? Infinity);
    const x = (index % board.columns) * board.width;
    const y = Math.floor(index / board.columns) * board.height;
    frames.push({ ms, paint: (button) => {
      button.style.aspectRatio = `${board.width} / ${board.height}`;
      button.style.backgroundImage = `url("${image}")`;
      button.style.backgroundSize = `${board.columns * 100}% ${board.rows * 100}%`;
      button.style.backgroundPosition = `${board.columns > 1 ? (x / (board.width * (board.columns - 1))) * 100 : 0}% ${board.rows > 1 ? (y / (board.height * (board.rows - 1))) * 100 : 0}%`;
    } });
  }
  renderCovers(frames);
}

function renderCovers(frames) {
  coverFrames.replaceChildren();
  const choose = (button) => {
    for (const other of coverFrames.children) {
      other.setAttribute("aria-checked", String(other === button));
      other.tabIndex = other === button ? 0 : -1;
    }
    state.coverMs = Number(button.dataset.ms);
    if (!previewVideo.paused) previewVideo.pause();
    if (Number.isFinite(previewVideo.duration)) previewVideo.currentTime = state.coverMs / 1000;
  };
  frames.forEach(({ ms, paint }, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "cover-frame";
    button.setAttribute("role", "radio");
    button.setAttribute("aria-checked", String(i === 0));
    button.setAttribute("aria-label", `Frame at ${(ms / 1000).toFixed(1)} seconds`);
    button.tabIndex = i === 0 ? 0 : -1;
    button.dataset.ms = String(ms);
    paint(button);
    button.addEventListener("click", () => choose(button));
    coverFrames.append(button);
  });
  coverFrames.onkeydown = (event) => {
    const buttons = [...coverFrames.children];
    const at = buttons.indexOf(document.activeElement);
    if (at < 0) return;
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    const next = buttons[(at + step + buttons.length) % buttons.length];
    next.focus();
    choose(next);
  };
  state.coverMs = Number(coverFrames.children[0].dataset.ms);
  coverPicker.hidden = false;
}

// --- the chosen file itself: preview and cover frames before the server has processed it --

// Frames at evenly spread times (frames.js), painted as cover choices.
async function localFrames(url, count) {
  const { frames } = await videoFrames(url, count);
  return frames.map(({ ms, image, width, height }) => ({ ms, paint: (button) => {
    button.style.aspectRatio = `${width} / ${height}`;
    button.style.backgroundImage = `url("${image}")`;
    button.style.backgroundSize = "cover";
  } }));
}

async function showLocal(file) {
  if (state.localUrl) URL.revokeObjectURL(state.localUrl);
  const url = URL.createObjectURL(file);
  state.localUrl = url;
  previewVideo.src = url;
  try {
    await until(previewVideo, "loadedmetadata");
  } catch {
    // not decodable here (e.g. HEVC): the server's renditions and storyboard will do
    if (state.localUrl === url) { URL.revokeObjectURL(url); state.localUrl = null; previewVideo.removeAttribute("src"); }
    return;
  }
  if (state.localUrl !== url) return; // another file was chosen meanwhile
  previewBox.hidden = false;
  previewBox.dataset.source = "local";
  if (previewVideo.videoWidth && previewVideo.videoHeight) {
    previewBox.style.setProperty("--ratio", `${previewVideo.videoWidth} / ${previewVideo.videoHeight}`);
  }
  state.previewShown = true;
  try {
    const frames = await localFrames(url, COVER_FRAMES);
    if (state.localUrl !== url || state.storyboardShown) return;
    state.localCovers = true;
    coverPicker.dataset.source = "local";
    renderCovers(frames);
  } catch { /* the storyboard, once processed, offers the frames */ }
}

// --- the upload ----------------------------------------------------------------------------

async function openUpload(file) {
  const previous = recall(file);
  if (previous && previous.url) {
    try {
      const { length } = await serverOffset(previous.url);
      if (length === file.size) return { id: previous.id, upload_url: previous.url };
    } catch { /* expired or gone: open a new one */ }
    forget(file);
  }
  const asset = await post(config.uploads_url, { size: file.size, content_type: file.type || "application/octet-stream" });
  remember(file, asset);
  return asset;
}

async function startUpload() {
  const file = state.file;
  retryButton.hidden = true;
  replaceButton.hidden = true;
  cancelButton.hidden = false;
  state.uploadState = "uploading";
  say("Starting the upload…");
  try {
    if (!state.asset) {
      const opened = await openUpload(file);
      if (state.uploadState === "cancelled") { // cancelled while it was being opened
        if (opened.upload_url) terminate(opened.upload_url).catch(() => {});
        forget(file);
        return;
      }
      state.asset = opened;
    }
    statusBox.dataset.assetId = state.asset.id;
    if (!state.asset.upload_url) throw new Error("This server expects an S3 upload, which this page does not do yet.");
    state.tus = new TusUpload(file, state.asset.upload_url, {
      onProgress: (sent, total) => {
        uploadBar.value = Math.floor((100 * sent) / total);
        say(`Uploading… ${bytes(sent)} of ${bytes(total)}`);
      },
      onRetry: (n) => say(`Connection problem; resuming (attempt ${n + 1})…`),
    });
    await state.tus.run();
  } catch (error) {
    if (state.uploadState === "cancelled") return;
    state.uploadState = "error";
    say(error.message || "The upload failed.", { error: true });
    if (error.status === 404 || error.status === 413 || error.status === 429 || error.status === 400) {
      forget(file);
      state.asset = error.status === 404 ? null : state.asset;
      replaceButton.hidden = false;
    }
    retryButton.hidden = error.status === 413 || error.status === 400;
    updateSubmit();
    return;
  }
  state.uploadState = "done";
  cancelButton.hidden = true;
  state.uploaded = true;
  uploadBar.value = 100;
  say(STATE_TEXT.uploaded);
  updateSubmit();
  follow();
}

function choose(file) {
  if (!file) return;
  lockSound(false); // a file of this browser: its own audio, any sound may be added
  formError.hidden = true;
  if (file.type && !file.type.startsWith("video/")) {
    statusBox.hidden = false;
    say("That is not a video file. Choose an MP4, MOV or WebM video.", { error: true });
    return;
  }
  if (file.size > config.max_bytes) {
    statusBox.hidden = false;
    say(`The file is too large (${bytes(file.size)}); the limit is ${bytes(config.max_bytes)}.`, { error: true });
    return;
  }
  stopFollowing();
  state.tus?.stop();
  Object.assign(state, { file, asset: null, uploaded: false, assetState: null, playable: false,
    coverMs: null, previewShown: false, storyboardShown: false, localCovers: false });
  previewBox.hidden = true;
  coverPicker.hidden = true;
  delete previewBox.dataset.source;
  delete coverPicker.dataset.source;
  dropzone.hidden = true;
  statusBox.hidden = false;
  fileName.textContent = `${file.name} · ${bytes(file.size)}`;
  uploadBar.value = 0;
  processingBar.value = 0;
  updateSubmit();
  startUpload();
  showLocal(file);
}

input.addEventListener("change", () => choose(input.files[0]));
for (const name of ["dragenter", "dragover"]) {
  dropzone.addEventListener(name, (event) => { event.preventDefault(); dropzone.classList.add("dragging"); });
}
for (const name of ["dragleave", "drop"]) {
  dropzone.addEventListener(name, () => dropzone.classList.remove("dragging"));
}
dropzone.addEventListener("drop", (event) => {
  event.preventDefault();
  choose(event.dataTransfer.files[0]);
});
retryButton.addEventListener("click", () => startUpload());

function backToPicker() {
  stopFollowing();
  state.file = null;
  state.asset = null;
  previewBox.hidden = true;
  coverPicker.hidden = true;
  previewVideo.removeAttribute("src");
  if (state.localUrl) { URL.revokeObjectURL(state.localUrl); state.localUrl = null; }
  dropzone.hidden = false;
  statusBox.hidden = true;
  input.value = "";
  input.focus();
  updateSubmit();
}

// Cancelling stops sending and tells the server (tus termination): the bytes are deleted
// and the upload no longer counts among the uploads in progress.
cancelButton.addEventListener("click", async () => {
  const { asset, file } = state;
  state.uploadState = "cancelled";
  state.tus?.stop();
  cancelButton.disabled = true;
  say("Cancelling the upload…");
  try {
    if (asset?.upload_url) await terminate(asset.upload_url);
    else if (asset?.id) await api("DELETE", `${config.uploads_url}/${asset.id}`);
  } catch (error) {
    if (error.status !== 404) {
      state.uploadState = "error";
      cancelButton.disabled = false;
      say(error.message || "The upload could not be cancelled; try again.", { error: true });
      return;
    }
  }
  cancelButton.disabled = false;
  cancelButton.hidden = true;
  retryButton.hidden = true;
  if (file) forget(file);
  backToPicker();
  // the picker again, with a word on what happened
  statusBox.hidden = false;
  fileName.textContent = "";
  uploadBar.value = 0;
  processingBar.value = 0;
  say("Upload cancelled.");
});
replaceButton.addEventListener("click", () => backToPicker());
window.addEventListener("online", () => { if (state.uploadState === "error") startUpload(); });

// --- a studio edit (studio.js) rendered into a new upload: followed and posted like a file --

document.addEventListener("studio:rendered", (event) => {
  const { assetId, coverMs, name } = event.detail;
  stopFollowing();
  state.tus?.stop();
  if (state.localUrl) { URL.revokeObjectURL(state.localUrl); state.localUrl = null; }
  Object.assign(state, { file: null, asset: { id: assetId }, uploaded: true, uploadState: "done",
    assetState: null, playable: false, coverMs, previewShown: false, storyboardShown: false,
    localCovers: false, posted: false });
  previewBox.hidden = true;
  coverPicker.hidden = true;
  previewVideo.removeAttribute("src");
  dropzone.hidden = true;
  statusBox.hidden = false;
  statusBox.dataset.assetId = assetId;
  fileName.textContent = name;
  uploadBar.value = 100;
  processingBar.value = 0;
  say(STATE_TEXT.uploaded);
  // the studio mixed its sound in: the post credits it as its sound ("use this sound" leads
  // here); the server renders it as it is (content's sound-in-asset hook), so no mix is asked
  const soundId = event.detail.soundId ? String(event.detail.soundId) : "";
  if (soundId && ![...soundSelect.options].some((option) => option.value === soundId)) {
    soundSelect.append(new Option("The studio's sound", soundId));
  }
  soundSelect.value = soundId;
  form.elements.sound_mix.value = "keep";
  soundMix.hidden = true;
  // another sound picked here would be mixed over the one already in the video: both would
  // play. The editor is where it changes.
  lockSound(Boolean(soundId));
  updateSubmit();
  follow();
});

function lockSound(locked) {
  soundSelect.disabled = locked;
  soundLocked.hidden = !locked;
}

// --- the form ------------------------------------------------------------------------------

attachSuggestions(caption, $("#caption-suggestions"), {
  hashtagsUrl: config.suggest_hashtags_url,
  usersUrl: config.suggest_users_url,
  onChange: () => { captionCount.textContent = String([...caption.value].length); },
});
caption.addEventListener("input", () => { captionCount.textContent = String([...caption.value].length); });

const soundSelect = $("#sound");
const soundMix = $("[data-sound-mix]");
const soundLocked = $("[data-sound-locked]");
soundSelect.addEventListener("change", () => { soundMix.hidden = !soundSelect.value; });

const schedule = $("[data-schedule]");
const scheduleAt = $("#schedule-at");
form.addEventListener("change", (event) => {
  if (event.target.name === "when") {
    schedule.hidden = form.elements.when.value !== "schedule";
    if (!schedule.hidden && !scheduleAt.value) {
      const soon = new Date(Date.now() + 60 * 60 * 1000);
      soon.setSeconds(0, 0);
      scheduleAt.value = new Date(soon.getTime() - soon.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
    }
    updateSubmit();
  }
});

function showError(error) {
  const fields = Object.entries(error.fields || {}).map(([name, problems]) => `${name}: ${[].concat(problems).join(" ")}`);
  formError.textContent = [error.message, ...fields].filter(Boolean).join(" — ");
  formError.hidden = false;
  formError.focus?.();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (submit.disabled) return;
  formError.hidden = true;
  const when = form.elements.when.value;
  let publish = when;
  if (when === "schedule") {
    const at = scheduleAt.value ? new Date(scheduleAt.value) : null;
    if (!at || Number.isNaN(at.getTime())) {
      showError({ message: "Pick a date and time to publish at." });
      scheduleAt.focus();
      return;
    }
    publish = at.toISOString();
  }
  const body = {
    asset_id: state.asset.id,
    caption: caption.value,
    visibility: form.elements.visibility.value,
    comment_policy: form.elements.comment_policy.value,
    allow_download: form.elements.allow_download.checked,
    publish,
  };
  if (state.coverMs !== null) body.cover_time_ms = state.coverMs;
  if (soundSelect.value) {
    body.sound_id = soundSelect.value;
    body.sound_mix = form.elements.sound_mix.value;
  }
  submit.disabled = true;
  submit.setAttribute("aria-busy", "true");
  // One key per post the person means to make (as for comments): kept while the same post
  // is sent again (our retries, or Post pressed again), so a send that committed but lost
  // its answer (a 503 while the server recovers) answers with the post it made instead of
  // "already posted".
  const what = JSON.stringify(body);
  if (!state.pendingPost || state.pendingPost.what !== what) {
    state.pendingPost = { what, key: newIdempotencyKey() };
  }
  const idempotencyKey = state.pendingPost.key;
  let created;
  try {
    created = await retrying(() => api("POST", config.posts_url, body, { idempotencyKey }));
  } catch (error) {
    submit.removeAttribute("aria-busy");
    updateSubmit();
    showError(error);
    return;
  } finally {
    submit.removeAttribute("aria-busy");
  }
  state.posted = true;
  coverPicker.hidden = true; // the cover went with the post
  forget(state.file);
  updateSubmit();
  const link = `/@${encodeURIComponent(config.username)}/video/${created.id}`;
  const messages = {
    published: ["Posted!", "Your video is live."],
    processing: ["Posted!", "It goes live as soon as processing finishes."],
    reviewing: ["Posted!", "It goes live once it passes our checks."],
    scheduled: ["Scheduled", `It will be published on ${new Date(created.scheduled_for).toLocaleString()}.`],
    draft: ["Saved as a draft", "Only you can see it, under Drafts on your profile."],
  }[created.status] || ["Saved", ""];
  const panel = $("[data-posted]");
  $("[data-posted-title]").textContent = messages[0];
  $("[data-posted-text]").textContent = messages[1];
  $("[data-posted-link]").href = created.status === "draft" ? config.drafts_url : link;
  panel.dataset.postId = created.id;
  panel.dataset.status = created.status;
  panel.hidden = false;
  form.hidden = true;
  panel.querySelector("a").focus();
});

updateSubmit();
