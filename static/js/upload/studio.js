// The studio on the upload page (issue 16): several clips, each uploaded like any file
// (POST /api/v1/media/uploads + tus) and followed until the server can use it; reordered,
// trimmed on a filmstrip (the frames come from the file itself), a filter preset, a voice
// effect, text and stickers dragged onto the frame. The edit document goes to
// /api/v1/studio/: `previews` renders a quick low-resolution preview shown in a <video>;
// "Use this video" saves the edit, renders it into a new upload, and hands that upload to
// the page's post form (upload.js, event "studio:rendered"). Clips are reordered with the
// Earlier/Later buttons or by dragging (studio_drag.js); the sound, its volume, the clips'
// own volume and the cover frame are in studio_extras.js, the green screen in
// studio_chroma.js, the filter drawn live on the stage in studio_look.js. "Save draft" keeps
// the edit on the server; /upload?edit=<id> reopens it (its latest version) to go on with
// it. Every refusal of the server's validator is shown in its own words, with the field it
// names.
import { ApiError, api, get, post } from "../lib/api.js";
import { videoFrames } from "./frames.js";
import { remix } from "./remix.js";
import { TusUpload, terminate } from "./tus.js";
import { dragToReorder } from "./studio_drag.js";
import { loadSound, outputParts, setUpCover, setUpSound, soundPart } from "./studio_extras.js";
import { stageLook } from "./studio_look.js";
import { chromaPart, chromaReady, loadChroma, setUpChroma } from "./studio_chroma.js";

const config = JSON.parse(document.getElementById("upload-config").textContent);
const $ = (selector) => document.querySelector(selector);

const studio = $("[data-studio]");
const openButton = $("[data-studio-open]");
const closeButton = $("[data-studio-close]");
const filesInput = $("[data-studio-files]");
const recordButton = $("[data-record]");
const recordStop = $("[data-record-stop]");
const clipList = $("[data-clips]");
const total = $("[data-total]");
const stage = $("[data-stage]");
const stageVideo = $("[data-stage-video]");
const stageEmpty = $("[data-stage-empty]");
const filterSelect = $("[data-filter]");
const voiceSelect = $("[data-voice]");
const textInput = $("[data-text-input]");
const textAdd = $("[data-text-add]");
const overlayList = $("[data-overlays]");
const stickerField = $("[data-sticker-field]");
const stickerPalette = $("[data-stickers]");
const errorBox = $("[data-studio-error]");
const statusLine = $("[data-studio-status]");
const previewButton = $("[data-preview-edit]");
const useButton = $("[data-use-edit]");
const resultBox = $("[data-result]");
const resultVideo = $("[data-result-video]");
const saveButton = $("[data-save-edit]");
const savedLine = $("[data-saved-edit]");

const FILMSTRIP_FRAMES = 8;
const POLL_MS = 1000;
const USABLE = new Set(["processing", "ready"]); // the studio renders from the source file
const REFUSED = new Set(["rejected", "failed"]);

const state = {
  options: null, clips: [], selected: null, overlays: [], busy: false, recorder: null,
  nextKey: 1,
  editId: null,  // a saved edit being continued (?edit=<id>, or after "Save draft")
  kept: {},      // parts of a reopened document this editor does not change (burned captions)
};
// /upload?edit=<id>: reopen a saved edit or draft (its latest version) and go on with it
const wantedEdit = new URLSearchParams(location.search).get("edit");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

// --- messages -----------------------------------------------------------------------------

// The server's words, and for each refused field its dotted path told as a place in the
// edit ("Clip 2 · out_ms: Must be after in_ms.").
function fieldName(path) {
  const parts = path.split(".");
  const names = { clips: "Clip", texts: "Text", stickers: "Sticker" };
  if (names[parts[0]] && /^\d+$/.test(parts[1] || "")) {
    return [`${names[parts[0]]} ${Number(parts[1]) + 1}`, ...parts.slice(2)].join(" · ");
  }
  return path;
}

function showError(error) {
  const fields = Object.entries(error.fields || {}).map(
    ([path, problems]) => `${fieldName(path)}: ${[].concat(problems).join(" ")}`);
  errorBox.replaceChildren();
  const head = document.createElement("p");
  head.textContent = error.message || "Something went wrong; try again.";
  errorBox.append(head);
  if (fields.length) {
    const list = document.createElement("ul");
    for (const text of fields) {
      const item = document.createElement("li");
      item.textContent = text;
      list.append(item);
    }
    errorBox.append(list);
  }
  errorBox.hidden = false;
  errorBox.focus?.();
}

function clearError() { errorBox.hidden = true; errorBox.replaceChildren(); }
function say(text) { statusLine.textContent = text; }

// --- the document --------------------------------------------------------------------------

const TRANSITION_MS = 500;
const SPEEDS = [0.5, 0.75, 1, 1.5, 2, 3];
const transitionMs = (clip, index) => (index > 0 && clip.transition !== "cut" ? TRANSITION_MS : 0);
// The server's arithmetic (document.Document.duration_ms): each clip's length after its
// speed, less the transitions' overlaps; rounded down so timed text never ends past it.
const outputMs = () => Math.floor(state.clips.reduce(
  (sum, clip, index) => sum + (clip.outMs - clip.inMs) / clip.speed - transitionMs(clip, index),
  remix.lengthMs()));  // a stitch's part of the original plays first

// the cover frame: a time of the edited video, shown on the stage (studio_extras.js)
const cover = setUpCover({
  lengthMs: outputMs,
  parts: () => outputParts(state.clips, transitionMs, outputMs()),
  show: (clip, atMs) => select(clip, atMs),
});

function editDocument() {
  const length = Math.max(1, outputMs());
  const doc = {
    version: state.options?.schema_version ?? 1,
    clips: state.clips.map((clip, index) => ({
      asset_id: clip.assetId, in_ms: clip.inMs, out_ms: clip.outMs, speed: clip.speed,
      keep_pitch: clip.keepPitch,
      ...(transitionMs(clip, index) ? { transition: { kind: clip.transition, duration_ms: TRANSITION_MS } } : {}),
    })),
    filter: { preset: filterSelect.value, ...adjustments() },
    voice: voiceSelect.value,
    texts: [], stickers: [], cover_ms: cover.coverMs(), ...soundPart(), ...chromaPart(),
    ...state.kept,
  };
  const source = remix.source();  // a duet or stitch of another post (remix.js)
  if (source) Object.assign(doc, { version: 2, source });
  for (const overlay of state.overlays) {
    // shown for the whole video unless given times (the server refuses times outside it)
    const placed = { start_ms: overlay.startMs ?? 0, end_ms: overlay.endMs ?? length,
      x: round(overlay.x), y: round(overlay.y) };
    if (overlay.kind === "text") {
      doc.texts.push({ ...placed, text: overlay.text, size: overlay.size, colour: overlay.colour, font: overlay.font,
        ...(overlay.background ? { background: overlay.background } : {}) });
    }
    else doc.stickers.push({ ...placed, sticker_id: overlay.stickerId, scale: overlay.scale });
  }
  return doc;
}
const round = (fraction) => Math.round(fraction * 1000) / 1000;

function updateButtons() {
  const clips = state.clips;
  const waiting = clips.filter((clip) => !clip.assetId || !clip.usable);
  const refused = clips.some((clip) => clip.refused);
  // a duet or stitch waits for its original (and stops if the server refused it)
  const ready = clips.length > 0 && !waiting.length && !refused && !state.busy
    && (!remix.wanted || remix.source() !== null) && chromaReady();
  previewButton.disabled = !ready;
  useButton.disabled = !ready;
  saveButton.disabled = !ready;
  total.textContent = !clips.length ? "No clips yet."
    : `${clips.length} clip${clips.length === 1 ? "" : "s"} · ${seconds(outputMs())} in all`
      + (refused ? " · remove the clips that cannot be used"
        : waiting.length ? ` · waiting for ${waiting.length} to upload` : "");
  stageEmpty.hidden = clips.length > 0;
  cover.update();
}

// --- clips: upload and follow each one -----------------------------------------------------

async function addClip(file) {
  if (file.type && !file.type.startsWith("video/")) {
    showError({ message: `${file.name} is not a video file. Choose MP4, MOV or WebM videos.` });
    return;
  }
  if (file.size > config.max_bytes) {
    showError({ message: `${file.name} is too large; the limit is ${Math.round(config.max_bytes / 1048576)} MB.` });
    return;
  }
  const clip = {
    key: state.nextKey++, file, name: file.name, url: URL.createObjectURL(file), assetId: null,
    usable: false, refused: false, status: "Uploading…", durationMs: 0, inMs: 0, outMs: 0,
    frames: [], ratio: null, node: null, speed: 1, keepPitch: true, transition: "cut",
  };
  state.clips.push(clip);
  if (!state.selected) state.selected = clip;
  renderClips();
  loadFrames(clip);
  try {
    const asset = await post(config.uploads_url, { size: file.size, content_type: file.type || "application/octet-stream" });
    clip.assetId = String(asset.id);
    if (!asset.upload_url) throw new Error("This server expects an S3 upload, which this page does not do yet.");
    clip.uploadUrl = asset.upload_url;
    clip.tus = new TusUpload(file, asset.upload_url, {
      onProgress: (sent, size) => setStatus(clip, `Uploading… ${Math.floor((100 * sent) / size)} %`),
      onRetry: (n) => setStatus(clip, `Connection problem; resuming (attempt ${n + 1})…`),
    });
    if (!state.clips.includes(clip)) throw new Error("removed");
    await clip.tus.run();
    clip.tus = null;
  } catch (error) {
    if (!state.clips.includes(clip)) return; // removed meanwhile
    clip.refused = true;
    setStatus(clip, error.message || "The upload failed.", true);
    updateButtons();
    return;
  }
  setStatus(clip, "Uploaded; the server is checking it…");
  followClip(clip);
}

// Polls the asset until the studio may use it (processing or ready, its duration known) or
// it is refused (the reason shown).
async function followClip(clip) {
  while (state.clips.includes(clip)) {
    let asset = null;
    try { asset = await get(`${config.asset_url}${clip.assetId}`); } catch { /* next round */ }
    if (asset && REFUSED.has(asset.state)) {
      clip.refused = true;
      setStatus(clip, `This clip can't be used${asset.reason ? `: ${asset.reason}` : "."}`, true);
      break;
    }
    if (asset && USABLE.has(asset.state) && asset.duration_ms) {
      clip.usable = true;
      setDuration(clip, asset.duration_ms);
      setStatus(clip, "Ready to edit.");
      break;
    }
    await sleep(POLL_MS * 2);
  }
  updateButtons();
}

// The server's duration is the one the validator checks against: the trim is kept inside it.
function setDuration(clip, durationMs) {
  const first = !clip.durationMs;
  clip.durationMs = durationMs;
  if (first || clip.outMs > durationMs || clip.outMs === 0) clip.outMs = durationMs;
  clip.inMs = Math.min(clip.inMs, Math.max(0, clip.outMs - 100));
  renderClip(clip);
}

async function loadFrames(clip) {
  try {
    const { frames, durationMs, videoWidth, videoHeight } = await videoFrames(clip.url, FILMSTRIP_FRAMES, 96);
    clip.frames = frames;
    clip.ratio = `${videoWidth} / ${videoHeight}`;
    if (!clip.durationMs) setDuration(clip, durationMs);
    else renderClip(clip);
    if (state.selected === clip) showOnStage(clip, clip.inMs);
  } catch {
    // not decodable here (or a recording without a duration): the server's duration will do
    renderClip(clip);
  }
}

function setStatus(clip, text, error = false) {
  clip.status = text;
  clip.statusError = error;
  const line = clip.node?.querySelector("[data-clip-status]");
  if (line) { line.textContent = text; line.classList.toggle("error", error); }
}

// --- clips: the list, the filmstrip and the trim --------------------------------------------

function renderClips() {
  clipList.replaceChildren(...state.clips.map((clip) => {
    if (!clip.node) clip.node = clipNode(clip);
    renderClip(clip);
    return clip.node;
  }));
  updateButtons();
}

function clipNode(clip) {
  const item = document.createElement("li");
  item.className = "studio-clip";
  item.dataset.clipKey = String(clip.key);
  item.innerHTML = `
    <div class="studio-clip-head">
      <span class="studio-clip-drag" data-drag aria-hidden="true" title="Drag to reorder"></span>
      <button type="button" class="studio-clip-name" data-select></button>
      <span class="studio-clip-actions">
        <button type="button" class="button ghost small" data-move="-1">Earlier</button>
        <button type="button" class="button ghost small" data-move="1">Later</button>
        <button type="button" class="button ghost small" data-remove>Remove</button>
      </span>
    </div>
    <p class="help" data-clip-status role="status"></p>
    <div class="filmstrip" data-filmstrip aria-hidden="true"><div class="filmstrip-kept" data-kept></div></div>
    <div class="trim">
      <label>Start <output data-in-out></output><input type="range" data-in min="0" step="100"></label>
      <label>End <output data-out-out></output><input type="range" data-out min="0" step="100"></label>
    </div>
    <div class="clip-options">
      <label>Speed <select data-speed>${SPEEDS.map((v) => `<option value="${v}">${v}×</option>`).join("")}</select></label>
      <label data-transition-field>From the previous clip <select data-transition></select></label>
      <label class="clip-pitch" data-pitch-field hidden><input type="checkbox" data-keep-pitch checked> Keep the voice's pitch</label>
    </div>`;
  const speed = item.querySelector("[data-speed]");
  speed.value = "1";
  // faster or slower: the sound keeps its pitch (tempo only), or moves with it like tape
  const pitchField = item.querySelector("[data-pitch-field]");
  speed.addEventListener("change", () => {
    clip.speed = Number(speed.value);
    pitchField.hidden = clip.speed === 1;
    updateButtons();
  });
  item.querySelector("[data-keep-pitch]").addEventListener("change", (event) => {
    clip.keepPitch = event.target.checked;
  });
  const transition = item.querySelector("[data-transition]");
  transition.addEventListener("change", () => { clip.transition = transition.value; updateButtons(); });
  item.querySelector("[data-select]").addEventListener("click", () => select(clip, clip.inMs));
  for (const button of item.querySelectorAll("[data-move]")) {
    button.addEventListener("click", () => move(clip, Number(button.dataset.move)));
  }
  item.querySelector("[data-remove]").addEventListener("click", () => remove(clip));
  dragToReorder(item.querySelector("[data-drag]"), item, {
    nodes: () => state.clips.map((other) => other.node),
    onDrop: (to) => moveTo(clip, to),
  });
  const inRange = item.querySelector("[data-in]");
  const outRange = item.querySelector("[data-out]");
  inRange.addEventListener("input", () => {
    clip.inMs = Math.min(Number(inRange.value), clip.outMs - 100);
    renderClip(clip);
    select(clip, clip.inMs);
  });
  outRange.addEventListener("input", () => {
    clip.outMs = Math.max(Number(outRange.value), clip.inMs + 100);
    renderClip(clip);
    select(clip, clip.outMs);
  });
  return item;
}

function renderClip(clip) {
  const item = clip.node;
  if (!item) return;
  const index = state.clips.indexOf(clip);
  item.querySelector("[data-select]").textContent = `${index + 1}. ${clip.name}`;
  item.setAttribute("aria-current", String(state.selected === clip));
  item.querySelector('[data-move="-1"]').disabled = index <= 0;
  item.querySelector('[data-move="1"]').disabled = index >= state.clips.length - 1;
  item.querySelector("[data-transition-field]").hidden = index === 0; // nothing to come from
  fillTransitions(item.querySelector("[data-transition]"), clip);
  const status = item.querySelector("[data-clip-status]");
  status.textContent = clip.status;
  status.classList.toggle("error", Boolean(clip.statusError));
  const strip = item.querySelector("[data-filmstrip]");
  if (clip.frames.length && strip.querySelectorAll("img").length !== clip.frames.length) {
    strip.prepend(...clip.frames.map((frame) => {
      const image = document.createElement("img");
      image.src = frame.image;
      image.alt = "";
      return image;
    }));
  }
  const duration = clip.durationMs || 1;
  const kept = item.querySelector("[data-kept]");
  kept.style.left = `${(100 * clip.inMs) / duration}%`;
  kept.style.width = `${(100 * (clip.outMs - clip.inMs)) / duration}%`;
  for (const [name, value] of [["in", clip.inMs], ["out", clip.outMs]]) {
    const range = item.querySelector(`[data-${name}]`);
    range.max = String(clip.durationMs);
    range.value = String(value);
    range.disabled = !clip.durationMs;
    range.setAttribute("aria-valuetext", seconds(value));
    item.querySelector(`[data-${name}-out]`).textContent = seconds(value);
  }
  updateButtons();
}

// The server's transitions (options may arrive after the first clip was added).
function fillTransitions(select, clip) {
  const kinds = state.options?.transitions || ["cut"];
  if (select.options.length === kinds.length) return;
  select.replaceChildren(...kinds.map((kind) => {
    const option = document.createElement("option");
    option.value = kind;
    option.textContent = kind === "cut" ? "Cut" : `${kind[0].toUpperCase()}${kind.slice(1)} (${TRANSITION_MS / 1000} s)`;
    return option;
  }));
  select.value = clip.transition;
}

function select(clip, atMs) {
  const previous = state.selected;
  state.selected = clip;
  if (previous && previous !== clip) renderClip(previous);
  renderClip(clip);
  showOnStage(clip, atMs);
}

// The stage shows the selected clip's frame at the trim point being moved: the scrubber.
function showOnStage(clip, atMs) {
  if (!clip.url) return;  // a reopened clip the server has no playable file of yet
  if (stageVideo.dataset.clipKey !== String(clip.key)) {
    stageVideo.src = clip.url;
    stageVideo.dataset.clipKey = String(clip.key);
  }
  if (clip.ratio) stage.style.setProperty("--ratio", clip.ratio);
  const seek = () => { stageVideo.currentTime = atMs / 1000; };
  if (stageVideo.readyState >= 1) seek();
  else stageVideo.addEventListener("loadedmetadata", seek, { once: true });
}

function move(clip, step) {
  const at = state.clips.indexOf(clip);
  const to = at + step;
  if (to < 0 || to >= state.clips.length) return;
  state.clips.splice(at, 1);
  state.clips.splice(to, 0, clip);
  renderClips();
  clip.node.querySelector(`[data-move="${step}"]`).focus();
}

// dropped after a drag (studio_drag.js): the clip takes position `to`
function moveTo(clip, to) {
  const at = state.clips.indexOf(clip);
  if (at < 0 || at === to) return;
  state.clips.splice(at, 1);
  state.clips.splice(to, 0, clip);
  renderClips();
  say(`${clip.name} is now clip ${to + 1}.`);
}

function remove(clip) {
  state.clips = state.clips.filter((other) => other !== clip);
  // an upload still going is stopped and its bytes deleted on the server (tus termination)
  if (clip.tus) {
    clip.tus.stop();
    if (clip.uploadUrl) terminate(clip.uploadUrl).catch(() => {});
  }
  if (clip.url?.startsWith("blob:")) URL.revokeObjectURL(clip.url);
  if (state.selected === clip) {
    state.selected = state.clips[0] || null;
    if (state.selected) showOnStage(state.selected, state.selected.inMs);
    else { stageVideo.removeAttribute("src"); delete stageVideo.dataset.clipKey; }
  }
  renderClips();
}

filesInput.addEventListener("change", () => {
  clearError();
  for (const file of filesInput.files) addClip(file);
  filesInput.value = "";
});

// --- recording with the camera, where the browser allows ----------------------------------

if (navigator.mediaDevices?.getUserMedia && window.MediaRecorder) recordButton.hidden = false;

recordButton.addEventListener("click", async () => {
  clearError();
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  } catch (error) {
    showError({ message: `The camera is not available: ${error.message || error.name}.` });
    return;
  }
  const chunks = [];
  const recorder = new MediaRecorder(stream);
  state.recorder = recorder;
  recorder.ondataavailable = (event) => { if (event.data.size) chunks.push(event.data); };
  recorder.onstop = () => {
    for (const track of stream.getTracks()) track.stop();
    stageVideo.srcObject = null;
    delete stageVideo.dataset.clipKey;
    state.recorder = null;
    recordButton.hidden = false;
    recordStop.hidden = true;
    const type = (recorder.mimeType || "video/webm").split(";")[0];
    const stamp = new Date().toISOString().slice(11, 19).replaceAll(":", "-");
    addClip(new File(chunks, `recording-${stamp}.webm`, { type }));
  };
  stageVideo.srcObject = stream;
  stageVideo.play().catch(() => {});
  recorder.start(1000);
  recordButton.hidden = true;
  recordStop.hidden = false;
  say("Recording…");
});
recordStop.addEventListener("click", () => { state.recorder?.stop(); say(""); });

// --- text and stickers on the frame ---------------------------------------------------------

function addOverlay(overlay) {
  const node = document.createElement(overlay.kind === "text" ? "div" : "img");
  node.className = `studio-overlay studio-${overlay.kind}`;
  node.tabIndex = 0;
  if (overlay.kind === "text") {
    node.textContent = overlay.text;
    node.style.setProperty("--size", String(overlay.size));
    styleText(overlay, node);
    node.setAttribute("aria-label", `Text “${overlay.text}”: drag, or use the arrow keys, to move it`);
  } else {
    node.src = overlay.url;
    node.alt = `Sticker ${overlay.name}: drag, or use the arrow keys, to move it`;
    node.draggable = false;
    node.style.width = `${overlay.scale * 100}%`;
  }
  overlay.node = node;
  place(overlay);
  draggable(overlay);
  stage.append(node);
  state.overlays.push(overlay);
  renderOverlayList();
}

function place(overlay) {
  overlay.node.style.left = `${overlay.x * 100}%`;
  overlay.node.style.top = `${overlay.y * 100}%`;
  overlay.node.dataset.x = String(round(overlay.x));
  overlay.node.dataset.y = String(round(overlay.y));
}

const clamp = (value) => Math.min(1, Math.max(0, value));

function draggable(overlay) {
  const node = overlay.node;
  node.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    node.setPointerCapture(event.pointerId);
    node.classList.add("dragging");
    const moveTo = (e) => {
      const box = stage.getBoundingClientRect();
      overlay.x = clamp((e.clientX - box.left) / box.width);
      overlay.y = clamp((e.clientY - box.top) / box.height);
      place(overlay);
    };
    const up = () => {
      node.classList.remove("dragging");
      node.removeEventListener("pointermove", moveTo);
      node.removeEventListener("pointerup", up);
      node.removeEventListener("pointercancel", up);
    };
    node.addEventListener("pointermove", moveTo);
    node.addEventListener("pointerup", up);
    node.addEventListener("pointercancel", up);
  });
  node.addEventListener("keydown", (event) => {
    const step = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[event.key];
    if (!step) return;
    event.preventDefault();
    overlay.x = clamp(overlay.x + step[0] * 0.02);
    overlay.y = clamp(overlay.y + step[1] * 0.02);
    place(overlay);
  });
}

function renderOverlayList() {
  overlayList.replaceChildren(...state.overlays.map((overlay) => {
    const item = document.createElement("li");
    const label = document.createElement("span");
    label.textContent = overlay.kind === "text" ? `Text: ${overlay.text}` : `Sticker: ${overlay.name}`;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button ghost small";
    button.textContent = "Remove";
    button.setAttribute("aria-label", `Remove ${label.textContent}`);
    button.addEventListener("click", () => {
      overlay.node.remove();
      state.overlays = state.overlays.filter((other) => other !== overlay);
      renderOverlayList();
    });
    const times = document.createElement("span");
    times.className = "studio-times";
    for (const [name, key] of [["From", "startMs"], ["To", "endMs"]]) {
      const field = document.createElement("label");
      field.textContent = `${name} `;
      const input = document.createElement("input");
      input.type = "number";
      input.min = "0";
      input.step = "0.1";
      input.inputMode = "decimal";
      input.placeholder = name === "From" ? "0" : "end";
      input.value = overlay[key] === undefined ? "" : String(overlay[key] / 1000);
      input.setAttribute("aria-label", `${label.textContent}: ${name.toLowerCase()} (seconds)`);
      input.addEventListener("change", () => {
        overlay[key] = input.value === "" ? undefined : Math.round(Number(input.value) * 1000);
      });
      field.append(input);
      times.append(field);
    }
    item.append(label, times, button, ...(overlay.kind === "text" ? [textStyle(overlay, label.textContent)] : []));
    return item;
  }));
}

// A text's font (the server's DejaVu faces, `options.fonts`) and colour, drawn on the stage
// as the render draws them (static/css/studio.css: .studio-text[data-font]).
const FONT_LABELS = { sans: "Sans", "sans-bold": "Sans bold", serif: "Serif", "serif-bold": "Serif bold", mono: "Mono" };

const TEXT_SIZES = [["Small", 0.045], ["Medium", 0.06], ["Large", 0.09]];
const TEXT_BOX = "#000000a0";  // a dark box behind the words, a little see-through

function styleText(overlay, node) {
  node.dataset.font = overlay.font;
  node.style.color = overlay.colour;
  node.style.setProperty("--size", String(overlay.size));
  node.classList.toggle("boxed", Boolean(overlay.background));
}

function textStyle(overlay, name) {
  const style = document.createElement("span");
  style.className = "studio-style";
  const fontField = document.createElement("label");
  fontField.textContent = "Font ";
  const font = document.createElement("select");
  fill(font, state.options?.fonts || ["sans-bold"], FONT_LABELS);
  font.value = overlay.font;
  font.setAttribute("aria-label", `${name}: font`);
  font.addEventListener("change", () => { overlay.font = font.value; styleText(overlay, overlay.node); });
  fontField.append(font);
  const colourField = document.createElement("label");
  colourField.textContent = "Colour ";
  const colour = document.createElement("input");
  colour.type = "color";
  colour.value = overlay.colour;
  colour.setAttribute("aria-label", `${name}: colour`);
  colour.addEventListener("input", () => { overlay.colour = colour.value; styleText(overlay, overlay.node); });
  colourField.append(colour);
  const sizeField = document.createElement("label");
  sizeField.textContent = "Size ";
  const size = document.createElement("select");
  for (const [label, value] of TEXT_SIZES) size.append(new Option(label, String(value)));
  size.value = String(overlay.size);
  size.setAttribute("aria-label", `${name}: size`);
  size.addEventListener("change", () => { overlay.size = Number(size.value); styleText(overlay, overlay.node); });
  sizeField.append(size);
  const boxField = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.checked = Boolean(overlay.background);
  box.setAttribute("aria-label", `${name}: box behind`);
  box.addEventListener("change", () => {
    overlay.background = box.checked ? TEXT_BOX : undefined;
    styleText(overlay, overlay.node);
  });
  boxField.append(box, " Box");
  style.append(fontField, colourField, sizeField, boxField);
  return style;
}

function addText() {
  const text = textInput.value;
  if (!text.trim()) { textInput.focus(); return; }
  addOverlay({ kind: "text", text, x: 0.5, y: 0.2 + 0.1 * (state.overlays.length % 6), size: 0.06,
    font: "sans-bold", colour: "#ffffff" });
  textInput.value = "";
}
textAdd.addEventListener("click", addText);
textInput.addEventListener("keydown", (event) => {
  if (event.key === "Enter") { event.preventDefault(); addText(); }
});

// A sticker from the palette: pressed, it lands in the middle; dragged, where it is dropped.
function renderStickers(stickers) {
  stickerField.hidden = !stickers.length;
  stickerPalette.replaceChildren(...stickers.map((sticker) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "studio-sticker-choice";
    button.setAttribute("aria-label", `Add the sticker ${sticker.name}`);
    const image = document.createElement("img");
    image.src = sticker.url;
    image.alt = "";
    image.draggable = false;
    button.append(image);
    const overlayOf = (x, y) => ({ kind: "sticker", stickerId: sticker.id, name: sticker.name,
      url: sticker.url, scale: 0.25, x, y });
    button.addEventListener("click", () => addOverlay(overlayOf(0.5, 0.5)));
    button.addEventListener("pointerdown", (event) => {
      if (event.pointerType === "mouse" && event.button !== 0) return;
      const up = (e) => {
        document.removeEventListener("pointerup", up);
        const box = stage.getBoundingClientRect();
        const inside = e.clientX >= box.left && e.clientX <= box.right && e.clientY >= box.top && e.clientY <= box.bottom;
        if (!inside) return;
        addOverlay(overlayOf(clamp((e.clientX - box.left) / box.width), clamp((e.clientY - box.top) / box.height)));
        button.dataset.dropped = "true"; // the click that follows adds nothing more
      };
      document.addEventListener("pointerup", up);
    });
    button.addEventListener("click", (event) => {
      if (button.dataset.dropped) { event.stopImmediatePropagation(); delete button.dataset.dropped; }
    }, { capture: true });
    return button;
  }));
}

// --- preview and render -------------------------------------------------------------------

async function run(work) {
  if (state.busy) return;
  clearError();
  state.busy = true;
  updateButtons();
  try {
    await work();
  } catch (error) {
    say("");
    showError(error instanceof ApiError || error.message ? error : { message: String(error) });
  } finally {
    state.busy = false;
    updateButtons();
  }
}

async function waitFor(url, done) {
  for (;;) {
    const body = await get(url);
    const result = done(body);
    if (result) return result;
    await sleep(POLL_MS);
  }
}

previewButton.addEventListener("click", () => run(async () => {
  say("Rendering a preview…");
  resultBox.hidden = true;
  const started = await post(`${config.studio_url}previews`, { document: editDocument() });
  const preview = await waitFor(`${config.studio_url}previews/${started.id}`,
    (body) => (body.state === "queued" ? null : body));
  if (preview.state !== "done") {
    throw new Error(`The preview could not be rendered${preview.state_reason ? `: ${preview.state_reason}` : "."}`);
  }
  resultVideo.src = preview.file_url;
  resultBox.hidden = false;
  resultBox.dataset.previewId = preview.id;
  say(`Preview ready (${seconds(preview.duration_ms)}).`);
}));

// Saves the document: a new edit, or the reopened one (its draft changes in place; after a
// render, the server makes the next version).
async function saveEdit() {
  const body = { document: editDocument() };
  const edit = state.editId
    ? await api("PUT", `${config.studio_url}edits/${state.editId}`, body)
    : await post(`${config.studio_url}edits`, body);
  state.editId = edit.id;
  const link = `${location.pathname}?edit=${edit.id}`;
  history.replaceState(null, "", link);
  savedLine.replaceChildren("Saved. Come back to it at ", Object.assign(
    document.createElement("a"), { href: link, textContent: `${location.origin}${link}` }), ".");
  savedLine.hidden = false;
  return edit;
}

saveButton.addEventListener("click", () => run(async () => {
  say("Saving the draft…");
  const edit = await saveEdit();
  say(`Draft saved (version ${edit.versions[edit.versions.length - 1].number}).`);
}));

useButton.addEventListener("click", () => run(async () => {
  say("Saving the edit…");
  const edit = await saveEdit();
  say("Rendering your video…");
  await post(`${config.studio_url}edits/${edit.id}/render`);
  const version = await waitFor(`${config.studio_url}edits/${edit.id}`, (body) => {
    const latest = body.versions[body.versions.length - 1];
    return latest.state === "rendering" ? null : latest;
  });
  if (version.state !== "rendered" || !version.asset_id) {
    throw new Error(`Your video could not be rendered${version.state_reason ? `: ${version.state_reason}` : "."}`);
  }
  say("Rendered. Add the details and post it.");
  studio.dataset.assetId = version.asset_id;
  document.dispatchEvent(new CustomEvent("studio:rendered", { detail: {
    assetId: version.asset_id, coverMs: version.document.cover_ms ?? 0,
    soundId: version.document.sound?.sound_id ?? null,
    name: `Studio edit · ${state.clips.length} clips · ${seconds(version.duration_ms)}`,
  } }));
  $("[data-post-form] #caption")?.focus();
}));

// --- opening the studio ---------------------------------------------------------------------

function fill(select, values, labels = {}) {
  select.replaceChildren(...values.map((value) => {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = labels[value] || value.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());
    return option;
  }));
}

async function loadOptions() {  // and reopens ?edit=<id> once they are here
  if (state.options) return;
  try {
    state.options = await get(`${config.studio_url}options`);
  } catch (error) {
    showError(error);
    return;
  }
  fill(filterSelect, state.options.filters, { none: "None" });
  fill(voiceSelect, state.options.voice_effects, { none: "None", pitch_up: "Higher pitch", pitch_down: "Lower pitch" });
  renderStickers(state.options.stickers);
  for (const clip of state.clips) renderClip(clip);
  showLook();
  listSavedEdits();
  if (wantedEdit) await reopen(wantedEdit);
  studio.dataset.ready = "true";
  remix.load(updateButtons);
}

// --- reopening a saved edit -----------------------------------------------------------------

// The account's saved edits (newest first); choosing one opens it at /upload?edit=<id>.
const savedField = $("[data-saved-edits]");
const savedSelect = $("#studio-saved");
async function listSavedEdits() {
  let page;
  try { page = await get(`${config.studio_url}edits?page_size=20`); } catch { return; }
  const others = page.results.filter((edit) => edit.id !== wantedEdit);
  for (const edit of others) {
    const when = new Date(edit.latest_updated_at).toLocaleString();
    savedSelect.append(new Option(
      `${when} · ${seconds(edit.latest_duration_ms)} · version ${edit.latest_number} (${edit.latest_state})`, edit.id));
  }
  savedField.hidden = !others.length;
}
savedSelect.addEventListener("change", () => {
  if (savedSelect.value) location.assign(`${location.pathname}?edit=${encodeURIComponent(savedSelect.value)}`);
});

// The latest version's document back into the editor: its clips (the server's uploads,
// shown from their playable MP4), trims, speeds, transitions, look, voice, texts,
// stickers, sound, cover and green screen. Burned-in captions are kept as they are.
async function reopen(editId) {
  let edit;
  try {
    edit = await get(`${config.studio_url}edits/${encodeURIComponent(editId)}`);
  } catch (error) {
    showError(error);  // not found: the server's words
    return;
  }
  const version = edit.versions[edit.versions.length - 1];
  const doc = version.document;
  state.editId = edit.id;
  if (doc.source) {
    showError({ message: "This edit is a duet or a stitch: open it again from the original's Duet or Stitch button." });
  }
  say("Opening your saved edit…");
  const assets = await Promise.all(doc.clips.map((c) => get(`${config.asset_url}${c.asset_id}`).catch(() => null)));
  doc.clips.forEach((saved, index) => {
    const asset = assets[index];
    const clip = {
      key: state.nextKey++, file: null, name: `Clip ${index + 1}`, url: asset?.playback?.mp4 || null,
      assetId: String(saved.asset_id), usable: Boolean(asset), refused: !asset,
      status: asset ? "Ready to edit." : "This clip is no longer available.", statusError: !asset,
      durationMs: asset?.duration_ms || saved.out_ms, inMs: saved.in_ms, outMs: saved.out_ms,
      frames: [], ratio: asset?.width ? `${asset.width} / ${asset.height}` : null, node: null,
      speed: saved.speed, keepPitch: saved.keep_pitch !== false,
      transition: saved.transition?.kind || "cut",
    };
    state.clips.push(clip);
  });
  state.selected = state.clips[0] || null;
  renderClips();
  for (const clip of state.clips) {
    const speed = clip.node.querySelector("[data-speed]");
    if (![...speed.options].some((o) => Number(o.value) === clip.speed)) speed.append(new Option(`${clip.speed}×`, String(clip.speed)));
    speed.value = [...speed.options].find((o) => Number(o.value) === clip.speed).value;
    clip.node.querySelector("[data-pitch-field]").hidden = clip.speed === 1;
    clip.node.querySelector("[data-keep-pitch]").checked = clip.keepPitch;
    clip.node.querySelector("[data-transition]").value = clip.transition;
    if (clip.url) loadFrames(clip);
  }
  filterSelect.value = doc.filter?.preset || "none";
  for (const input of studio.querySelectorAll("[data-adjust]")) {
    const value = doc.filter?.[input.dataset.adjust];
    if (value !== undefined) input.value = String(value);
  }
  voiceSelect.value = doc.voice || "none";
  const stickers = new Map((state.options.stickers || []).map((s) => [String(s.id), s]));
  // shown from the start or to the end: left open, so they follow the clips' new length
  const times = (placed) => ({ startMs: placed.start_ms || undefined,
    endMs: placed.end_ms >= version.duration_ms ? undefined : placed.end_ms });
  for (const text of doc.texts || []) {
    addOverlay({ kind: "text", text: text.text, x: text.x, y: text.y, size: text.size, font: text.font,
      colour: text.colour, background: text.background || undefined, ...times(text) });
  }
  for (const placed of doc.stickers || []) {
    const sticker = stickers.get(String(placed.sticker_id));
    if (!sticker) continue;  // retired from the library: the server would refuse it
    addOverlay({ kind: "sticker", stickerId: sticker.id, name: sticker.name, url: sticker.url,
      scale: placed.scale, x: placed.x, y: placed.y, ...times(placed) });
  }
  loadSound(doc.sound, doc.original_volume);
  loadChroma(doc.chroma_key);
  state.kept = doc.burned_captions ? { burned_captions: doc.burned_captions } : {};
  showLook();
  updateButtons();
  cover.set(doc.cover_ms || 0);
  if (state.selected) select(state.selected, state.selected.inMs);
  say(`Reopened your edit (version ${version.number}, ${version.state}): ${state.clips.length} clip${state.clips.length === 1 ? "" : "s"}, ${seconds(version.duration_ms)}.`);
}

openButton.addEventListener("click", () => {
  studio.hidden = false;
  studio.closest(".upload-page").classList.add("studio-on");
  openButton.parentElement.hidden = true;
  loadOptions();
  studio.querySelector("h2").scrollIntoView({ block: "start" });
  filesInput.focus();
});
closeButton.addEventListener("click", () => {
  studio.hidden = true;
  studio.closest(".upload-page").classList.remove("studio-on");
  openButton.parentElement.hidden = false;
  openButton.focus();
});

// the filter and the adjustments drawn live on the stage (studio_look.js)
const look = stageLook(stageVideo);
const adjustments = () => Object.fromEntries(
  [...studio.querySelectorAll("[data-adjust]")].map((input) => [input.dataset.adjust, Number(input.value)]));
function showLook() { look.show(state.options, filterSelect.value, adjustments()); }
filterSelect.addEventListener("change", showLook);
for (const input of studio.querySelectorAll("[data-adjust]")) input.addEventListener("input", showLook);

// an edit's pointer drags must not scroll the page on touch screens
stage.style.touchAction = "none";
setUpSound();
setUpChroma(config, () => updateButtons());
updateButtons();
if (remix.wanted || wantedEdit) openButton.click();  // ?duet=, ?stitch= or ?edit=<id>
