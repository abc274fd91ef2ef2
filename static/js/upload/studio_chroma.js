// The studio's green screen (the document's `chroma_key`, rendered by ffmpeg's chromakey
// over the background: apps.studio.graph): the screen's colour, how close a colour must be
// to it to go (similarity) and the soft edge (blend), with a background colour or a
// background video uploaded like a clip (POST /api/v1/media/uploads + tus) and followed
// until the server can use it. The stage shows the clips as they are; the preview render
// shows the key.
import { get, post } from "../lib/api.js";
import { TusUpload } from "./tus.js";

const $ = (selector) => document.querySelector(selector);
const POLL_MS = 2000;
const USABLE = new Set(["processing", "ready"]);
const REFUSED = new Set(["rejected", "failed"]);

const on = $("[data-chroma-on]");
const fields = $("[data-chroma-fields]");
const colour = $("[data-chroma-colour]");
const similarity = $("[data-chroma-similarity]");
const blend = $("[data-chroma-blend]");
const kind = $("[data-chroma-kind]");
const bgColour = $("[data-chroma-bg-colour]");
const bgColourField = $("[data-chroma-bg-colour-field]");
const videoField = $("[data-chroma-video-field]");
const fileInput = $("[data-chroma-file]");
const status = $("[data-chroma-status]");

const background = { assetId: null, usable: false, busy: false };
let changed = () => {};

function sync() {
  fields.hidden = !on.checked;
  const video = kind.value === "video";
  bgColourField.hidden = video;
  videoField.hidden = !video;
  for (const input of [similarity, blend]) {
    input.closest("label").querySelector("output").textContent = Number(input.value).toFixed(2);
  }
  changed();
}

async function upload(file, config) {
  background.assetId = null;
  background.usable = false;
  background.busy = true;
  sync();
  const say = (text, error = false) => { status.textContent = text; status.classList.toggle("error", error); };
  try {
    say("Uploading the background…");
    const asset = await post(config.uploads_url, { size: file.size, content_type: file.type || "application/octet-stream" });
    if (!asset.upload_url) throw new Error("This server expects an S3 upload, which this page does not do yet.");
    await new TusUpload(file, asset.upload_url, {
      onProgress: (sent, size) => say(`Uploading the background… ${Math.floor((100 * sent) / size)} %`),
    }).run();
    say("Uploaded; the server is checking it…");
    for (;;) {
      let body = null;
      try { body = await get(`${config.asset_url}${asset.id}`); } catch { /* next round */ }
      if (body && REFUSED.has(body.state)) throw new Error(`This video can't be used${body.reason ? `: ${body.reason}` : "."}`);
      if (body && USABLE.has(body.state) && body.duration_ms) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    background.assetId = String(asset.id);
    background.usable = true;
    say(`Background: ${file.name}.`);
  } catch (error) {
    say(error.message || "The upload failed.", true);
  } finally {
    background.busy = false;
    sync();
  }
}

/** Wires the controls; `onChange` runs after any change (the page's buttons follow). */
export function setUpChroma(config, onChange) {
  changed = onChange;
  for (const input of [on, colour, similarity, blend, kind, bgColour]) {
    input.addEventListener(input.type === "range" || input.type === "color" ? "input" : "change", sync);
  }
  fileInput.addEventListener("change", () => {
    const file = fileInput.files[0];
    fileInput.value = "";
    if (file) upload(file, config);
  });
  sync();
}

/** False while a wanted background video is not usable yet (Preview and Use wait). */
export function chromaReady() {
  return !on.checked || kind.value !== "video" || background.usable;
}

/** The document's `chroma_key` (absent when the green screen is off). */
export function chromaPart() {
  if (!on.checked) return {};
  const key = { colour: colour.value, similarity: Number(similarity.value), blend: Number(blend.value) };
  if (kind.value === "video" && background.assetId) key.background_asset_id = background.assetId;
  else key.background_colour = bgColour.value;
  return { chroma_key: key };
}

/** A saved document's green screen back into the controls (reopening an edit). */
export function loadChroma(key) {
  on.checked = Boolean(key);
  if (key) {
    colour.value = key.colour;
    similarity.value = String(key.similarity);
    blend.value = String(key.blend);
    kind.value = key.background_asset_id ? "video" : "colour";
    if (key.background_asset_id) {
      Object.assign(background, { assetId: String(key.background_asset_id), usable: true });
      status.textContent = "Background: the saved edit's video.";
    } else if (key.background_colour) {
      bgColour.value = key.background_colour.slice(0, 7);
    }
  }
  sync();
}
