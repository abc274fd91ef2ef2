// Sending a video in a direct message (the composer's attach button): the file goes up the
// same way as a post's (POST /api/v1/media/uploads, then tus PATCHes that resume after a
// dropped connection), then the message is sent with its asset id. The server holds it as
// "Checking…" (for the sender) until the video is playable and has passed the checks, then
// shows it to the others; a refusal comes back with its reason in words.
import { post } from "../lib/api.js";
import { TusUpload } from "../upload/tus.js";
import { messageNode } from "./render.js";
import { clientId } from "./urls.js";

const VIDEO_TYPES = /^video\/(mp4|quicktime|webm)$/;

function megabytes(bytes) {
  return `${Math.round(bytes / 1048576)} MB`;
}

/** Wire the composer's attach input to `thread` (a Thread: deliver, messages, list, …). */
export function bindAttach(thread) {
  const input = thread.form.querySelector("[data-attach]");
  if (!input) return;
  const button = thread.form.querySelector("[data-attach-button]");
  const uploadsUrl = thread.form.dataset.uploadsUrl;
  const maxBytes = Number(thread.form.dataset.maxBytes) || 0;
  const say = (text) => { thread.composerStatus.textContent = text; };

  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    input.value = "";
    if (!file) return;
    if (!VIDEO_TYPES.test(file.type)) { say(`${file.name} is not a video. Choose an MP4, MOV or WebM video.`); return; }
    if (maxBytes && file.size > maxBytes) { say(`${file.name} is too large; the limit is ${megabytes(maxBytes)}.`); return; }
    const local = {
      client_id: clientId(), kind: "media", body: "", state: "pending", seq: null,
      sender: { id: thread.me }, reactions: [], created_at: new Date().toISOString(),
      local: { status: "sending" },
    };
    thread.messages.set(`local-${local.client_id}`, local);
    thread.list.append(messageNode(local, thread.ctx));
    thread.scrollToBottom(true);
    input.disabled = true;
    button.setAttribute("aria-disabled", "true");
    try {
      const asset = await post(uploadsUrl, { size: file.size, content_type: file.type });
      if (!asset.upload_url) throw new Error("This server expects an S3 upload, which this page does not do yet.");
      await new TusUpload(file, asset.upload_url, {
        onProgress: (sent, size) => say(`Uploading your video… ${Math.floor((100 * sent) / size)} %`),
        onRetry: (n) => say(`Connection problem; resuming the upload (attempt ${n + 1})…`),
      }).run();
      say("");
      await thread.deliver(local, { kind: "media", asset_id: String(asset.id) });
    } catch (error) {
      thread.discard(local);
      say(error.message || "The video could not be uploaded. Try again.");
    } finally {
      input.disabled = false;
      button.removeAttribute("aria-disabled");
    }
  });
}
