// The ad form's creative upload: the same media API and tus client as the creator upload
// page (POST /api/v1/media/uploads for a signed resumable URL, tus PATCHes in 1 MiB chunks
// that resume from the server's offset after a failure), then the asset is polled until
// it is playable and shown in the preview with the display name, "Sponsored" and the CTA.
// The form posts only the asset id; the server checks the asset is this org's.
import { get, post } from "../lib/api.js";
import { TusUpload } from "../upload/tus.js";

const config = JSON.parse(document.getElementById("creative-config")?.textContent || "{}");
const form = document.querySelector("[data-ad-form]");
const fileInput = form?.querySelector("[data-creative-file]");
const assetInput = form?.querySelector('input[name="asset_id"]');
const progress = form?.querySelector("[data-creative-progress]");
const status = form?.querySelector("[data-creative-status]");
const submit = form?.querySelector("[data-ad-submit]");
const preview = document.querySelector("[data-ad-preview]");

function say(text, { error = false } = {}) {
  if (!status) return;
  status.textContent = text;
  status.classList.toggle("field-errors", error);
}

function bytes(n) {
  if (n < 1024 * 1024) return `${Math.max(1, Math.round(n / 1024))} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

function showVideo(playback) {
  if (!preview || !playback) return;
  let video = preview.querySelector("video");
  if (!video) {
    video = document.createElement("video");
    Object.assign(video, { muted: true, loop: true, autoplay: true, playsInline: true, preload: "metadata" });
    video.dataset.previewVideo = "";
    preview.querySelector("[data-preview-placeholder]")?.replaceWith(video);
  }
  if (playback.poster) video.poster = playback.poster;
  if (playback.mp4) video.src = playback.mp4;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function follow(assetId) {
  // Until playable (or refused): the preview then shows the processed video.
  for (let attempt = 0; attempt < 300; attempt += 1) {
    let asset;
    try { asset = await get(`${config.asset_url}${assetId}`); } catch { await sleep(2000); continue; }
    if (asset.state === "rejected" || asset.state === "failed") {
      say(asset.reason || "The video could not be processed. Choose another.", { error: true });
      return;
    }
    if (asset.playback) {
      showVideo(asset.playback);
      say(asset.state === "ready" ? "Video uploaded and processed." : "Video uploaded; still processing the other sizes.");
      if (asset.state === "ready") return;
    } else {
      say("Video uploaded; processing…");
    }
    await sleep(1500);
  }
}

async function upload(file) {
  if (file.type && !file.type.startsWith("video/")) {
    say("That is not a video file. Choose an MP4, MOV or WebM video.", { error: true });
    return;
  }
  if (config.max_bytes && file.size > config.max_bytes) {
    say(`The file is too large (${bytes(file.size)}); the limit is ${bytes(config.max_bytes)}.`, { error: true });
    return;
  }
  if (submit) submit.disabled = true;
  progress.hidden = false;
  progress.value = 0;
  say("Starting the upload…");
  try {
    const asset = await post(config.uploads_url, { size: file.size, content_type: file.type || "application/octet-stream" });
    if (!asset.upload_url) throw new Error("This server expects an S3 upload, which this page does not do yet.");
    const tus = new TusUpload(file, asset.upload_url, {
      onProgress: (sent, total) => {
        progress.value = Math.floor((100 * sent) / total);
        say(`Uploading… ${bytes(sent)} of ${bytes(total)}`);
      },
      onRetry: (n) => say(`Connection problem; resuming (attempt ${n + 1})…`),
    });
    await tus.run();
    assetInput.value = String(asset.id);
    form.dataset.assetId = String(asset.id);
    progress.value = 100;
    say("Video uploaded; processing…");
    if (submit) submit.disabled = false;
    follow(asset.id);
  } catch (error) {
    say(error.message || "The upload failed. Try again.", { error: true });
    if (submit) submit.disabled = false;
  }
}

fileInput?.addEventListener("change", () => {
  const file = fileInput.files?.[0];
  if (file) upload(file);
});

// The preview follows the form's display name and call to action as they are typed.
const nameInput = form?.querySelector('[name="display_name"]');
const ctaSelect = form?.querySelector('[name="cta"]');
nameInput?.addEventListener("input", () => {
  const target = preview?.querySelector("[data-preview-name]");
  if (target) target.textContent = nameInput.value;
});
ctaSelect?.addEventListener("change", () => {
  const target = preview?.querySelector("[data-preview-cta]");
  if (target) target.textContent = ctaSelect.selectedOptions[0]?.textContent || "";
});
