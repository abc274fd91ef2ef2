// The caption editor (/studio/captions/<post id>): the author's caption tracks of a video,
// one language at a time, as rows of start, end and words. Every change is checked here
// first, in words naming the caption ("Caption 2: the end comes before the start"), and
// then by the server, whose refusals are shown the same way (its "Cue N" and its field
// paths point at the row). Saving sends the whole list (PATCH), which the server publishes
// as a new version of the track. Automatic captions and WebVTT/SRT files are asked for or
// uploaded from here too. The video plays beside the rows with the caption at its current
// time drawn under it, and "Use video time" copies the playhead into a row. "Burn captions
// into the video" makes a studio edit of the post with the saved captions drawn in.
import { ApiError, api, csrfToken, del, get, post } from "../lib/api.js";
import { attachSource } from "../player/source.js";

const configNode = document.getElementById("captions-config");
const config = configNode ? JSON.parse(configNode.textContent) : null;

/** "m:ss.mmm" for a time in ms. */
export function formatTime(ms) {
  const total = Math.max(0, Math.round(ms));
  const minutes = Math.floor(total / 60000);
  const seconds = ((total % 60000) / 1000).toFixed(3).padStart(6, "0");
  return `${minutes}:${seconds}`;
}

/** ms from "m:ss.mmm", "h:mm:ss.mmm" or plain seconds ("3.25"); null when not a time. */
export function parseTime(text) {
  const value = String(text || "").trim().replace(",", ".");
  if (!/^(\d+:){0,2}\d+(\.\d{1,3})?$/.test(value)) return null;
  const parts = value.split(":");
  let seconds = 0;
  for (const part of parts) seconds = seconds * 60 + Number(part);
  if (parts.length > 1 && parts.slice(1).some((p) => Number(p.split(".")[0]) >= 60)) return null;
  return Math.round(seconds * 1000);
}

/** Problems of the rows, in words, by row index (and `all` for the list as a whole). */
export function checkCues(rows, { durationMs, maxChars, maxCues }) {
  const problems = new Map();
  const say = (i, words) => { if (!problems.has(i)) problems.set(i, words); };
  if (!rows.length) problems.set("all", "A caption track needs at least one caption; delete the track instead.");
  if (rows.length > maxCues) problems.set("all", `At most ${maxCues} captions.`);
  const limit = durationMs ? durationMs + 1000 : null;
  rows.forEach((row, i) => {
    const n = i + 1;
    if (row.start === null) say(i, `Caption ${n}: the start "${row.startText}" is not a time; write it as 0:03.250 or 3.25.`);
    if (row.end === null) say(i, `Caption ${n}: the end "${row.endText}" is not a time; write it as 0:03.250 or 3.25.`);
    if (row.start !== null && row.end !== null && row.end <= row.start) {
      say(i, `Caption ${n}: the end (${formatTime(row.end)}) must come after the start (${formatTime(row.start)}).`);
    }
    if (limit !== null && row.end !== null && row.end > limit) {
      say(i, `Caption ${n}: it ends at ${formatTime(row.end)}, after the video (${formatTime(durationMs)}).`);
    }
    if (!row.text.trim()) say(i, `Caption ${n} has no words; write them or remove the caption.`);
    if (row.text.trim().length > maxChars) say(i, `Caption ${n} is longer than ${maxChars} characters.`);
    if (row.text.includes("-->")) say(i, `Caption ${n} contains "-->", which subtitles cannot show.`);
  });
  return problems;
}

/** The row a server refusal points at: "Cue 3 …" or a field path "cues.2.end_ms". */
export function rowOfServerError(error) {
  const paths = Object.keys((error && error.fields) || {});
  for (const path of paths) {
    const match = /^cues\.(\d+)\./.exec(path);
    if (match) return Number(match[1]);
  }
  const match = /\bCue (\d+)\b/.exec((error && error.message) || "");
  return match ? Number(match[1]) - 1 : null;
}

function serverWords(error) {
  if (!(error instanceof ApiError)) return "Could not reach SwipeMe; check your connection and try again.";
  const fields = Object.entries(error.fields || {});
  if (error.code === "invalid" && fields.length) {
    const [path, messages] = fields[0];
    const match = /^cues\.(\d+)\.(\w+)/.exec(path);
    const what = { start_ms: "start", end_ms: "end", text: "words" };
    if (match) return `Caption ${Number(match[1]) + 1}, ${what[match[2]] || match[2]}: ${messages[0]}`;
  }
  return error.message.replace(/\bCue (\d+)/g, "Caption $1");
}

class CaptionEditor {
  constructor(root) {
    this.root = root;
    this.base = `/api/v1/media/assets/${config.asset_id}/captions`;
    this.tracks = [];
    this.track = null;
    this.video = document.getElementById("captions-video");
    this.select = root.querySelector("[data-track-select]");
    this.info = root.querySelector("[data-track-info]");
    this.form = root.querySelector("[data-cue-form]");
    this.list = root.querySelector("[data-cues]");
    this.errorNode = root.querySelector("[data-error]");
    this.statusNode = root.querySelector("[data-status]");
    this.template = document.getElementById("cue-row");
    this.live = root.querySelector("[data-live-cue]");
    this.clock = root.querySelector("[data-video-time]");
    this.wire();
  }

  wire() {
    this.select.addEventListener("change", () => this.show(this.select.value));
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.save(); });
    this.root.querySelector("[data-add]").addEventListener("click", () => this.addRow());
    this.root.querySelector("[data-delete]").addEventListener("click", () => this.remove());
    this.root.querySelector("[data-auto]").addEventListener("click", () => this.askAuto());
    this.root.querySelector("[data-burn]").addEventListener("click", () => this.burn());
    this.root.querySelector("[data-upload]").addEventListener("change", (event) => {
      const file = event.target.files && event.target.files[0];
      event.target.value = "";
      if (file) this.upload(file);
    });
    this.list.addEventListener("input", () => this.drawLive());
    this.list.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button) return;
      const row = button.closest("[data-cue]");
      if (button.dataset.remove !== undefined) {
        row.remove();
        this.renumber();
      } else if (button.dataset.set && this.video) {
        row.querySelector(`[data-${button.dataset.set}]`).value = formatTime(this.video.currentTime * 1000);
        this.drawLive();
      }
    });
    if (this.video && (config.hls || config.mp4)) {
      // the published track is not drawn on the video: the rows being edited are, under it
      const source = attachSource(this.video, config, { config: { startLevel: -1 } });
      if (source.hls) source.hls.subtitleDisplay = false;
      const quiet = () => { for (const track of this.video.textTracks) track.mode = "disabled"; };
      if (this.video.textTracks && this.video.textTracks.addEventListener) {
        this.video.textTracks.addEventListener("addtrack", quiet);
      }
      this.video.addEventListener("timeupdate", () => this.drawLive());
      this.video.addEventListener("seeked", () => this.drawLive());
    }
  }

  say(error, status = "") {
    this.errorNode.hidden = !error;
    this.errorNode.textContent = error || "";
    this.statusNode.textContent = status;
  }

  async load(language = null) {
    try {
      this.tracks = await get(this.base);
    } catch (error) {
      this.say(serverWords(error));
      return;
    }
    this.select.replaceChildren(...this.tracks.map((t) => new Option(
      `${t.language}${t.source === "auto" ? " (automatic)" : t.source === "uploaded" ? " (uploaded)" : ""}`,
      t.language)));
    this.root.querySelector("[data-empty]").hidden = this.tracks.length > 0;
    this.select.disabled = !this.tracks.length;
    const chosen = language || (this.track && this.track.language) || (this.tracks[0] && this.tracks[0].language);
    if (chosen) await this.show(chosen);
    else { this.track = null; this.form.hidden = true; this.info.textContent = ""; }
  }

  async show(language) {
    try {
      this.track = await get(`${this.base}/${encodeURIComponent(language)}`);
    } catch (error) {
      this.say(serverWords(error));
      return;
    }
    this.select.value = this.track.language;
    const t = this.track;
    if (t.state === "pending") {
      this.info.textContent = "Being made from the video's speech… this page updates when they are ready.";
      this.form.hidden = true;
      clearTimeout(this.poll);
      this.poll = setTimeout(() => this.load(t.language), 3000);
      return;
    }
    if (t.state === "failed") {
      this.info.textContent = "";
      this.say(t.error || "These captions could not be made.");
      this.form.hidden = true;
      return;
    }
    this.info.textContent = `Version ${t.version}${t.edited ? ", edited" : ""}`;
    this.list.replaceChildren();
    for (const cue of t.cues) this.addRow(cue, { focus: false });
    this.form.hidden = false;
    this.root.querySelector("[data-burn-section]").hidden = false;
    this.drawLive();
  }

  addRow(cue = null, { focus = true } = {}) {
    const node = this.template.content.firstElementChild.cloneNode(true);
    const rows = this.readRows();
    const last = rows.length ? rows[rows.length - 1].end : 0;
    const start = cue ? cue.start_ms : (this.video && this.video.currentTime ? Math.round(this.video.currentTime * 1000) : (last || 0));
    node.querySelector("[data-start]").value = formatTime(start);
    node.querySelector("[data-end]").value = formatTime(cue ? cue.end_ms : start + 2000);
    node.querySelector("[data-text]").value = cue ? cue.text : "";
    this.list.append(node);
    this.renumber();
    if (focus) node.querySelector("[data-text]").focus();
  }

  renumber() {
    Array.from(this.list.children).forEach((row, i) => {
      row.setAttribute("aria-label", `Caption ${i + 1}`);
      for (const [selector, name] of [["[data-start]", "start"], ["[data-end]", "end"], ["[data-text]", "words"]]) {
        row.querySelector(selector).setAttribute("aria-label", `Caption ${i + 1} ${name}`);
      }
    });
  }

  readRows() {
    return Array.from(this.list.children).map((row) => {
      const startText = row.querySelector("[data-start]").value;
      const endText = row.querySelector("[data-end]").value;
      return { node: row, startText, endText, start: parseTime(startText), end: parseTime(endText),
        text: row.querySelector("[data-text]").value };
    });
  }

  mark(problems) {
    this.readRows().forEach((row, i) => {
      const words = problems.get(i);
      const node = row.node.querySelector("[data-cue-error]");
      node.hidden = !words;
      node.textContent = words || "";
      row.node.classList.toggle("invalid", Boolean(words));
      for (const input of row.node.querySelectorAll("input, textarea")) {
        if (words) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
      }
    });
  }

  drawLive() {
    if (!this.live || !this.video) return;
    const now = this.video.currentTime * 1000;
    if (this.clock) this.clock.textContent = formatTime(now);
    const cue = this.readRows().find((r) => r.start !== null && r.end !== null && r.start <= now && now < r.end);
    this.live.textContent = cue ? cue.text : "";
    this.live.hidden = !cue;
  }

  async save() {
    if (!this.track) return;
    const rows = this.readRows();
    const problems = checkCues(rows, { durationMs: config.duration_ms, maxChars: config.max_cue_chars, maxCues: config.max_cues });
    this.mark(problems);
    if (problems.size) {
      const first = problems.get("all") || problems.values().next().value;
      this.say(problems.size > 1 ? `${first} (${problems.size} captions need fixing.)` : first);
      const firstRow = rows.findIndex((_, i) => problems.has(i));
      if (firstRow >= 0) rows[firstRow].node.querySelector("input, textarea").focus();
      return;
    }
    const cues = rows.map((r) => ({ start_ms: r.start, end_ms: r.end, text: r.text.trim() }));
    const button = this.root.querySelector("[data-save]");
    button.disabled = true;
    this.say("", "Saving…");
    try {
      this.track = await api("PATCH", `${this.base}/${encodeURIComponent(this.track.language)}`, { cues });
      await this.show(this.track.language);
      this.say("", `Saved: version ${this.track.version}. Viewers see it now.`);
    } catch (error) {
      const words = serverWords(error);
      const row = rowOfServerError(error);
      if (row !== null && row < rows.length) this.mark(new Map([[row, words]]));
      this.say(words);
    } finally {
      button.disabled = false;
    }
  }

  async remove() {
    if (!this.track || !window.confirm(`Delete the ${this.track.language} captions? Viewers stop seeing them.`)) return;
    try {
      await del(`${this.base}/${encodeURIComponent(this.track.language)}`);
      this.track = null;
      this.say("", "Captions deleted.");
      await this.load();
    } catch (error) {
      this.say(serverWords(error));
    }
  }

  /** A studio edit of the post: its video with the saved captions drawn in, rendered and
   * switched in once checked (apps/studio/switching.py); followed here until it is. */
  async burn() {
    const status = this.root.querySelector("[data-burn-status]");
    const saved = this.track ? this.track.cues : [];
    const rows = this.readRows();
    const same = rows.length === saved.length && rows.every((r, i) => r.start === saved[i].start_ms
      && r.end === saved[i].end_ms && r.text.trim() === saved[i].text);
    if (!same) { status.textContent = "Save your changes first: the saved captions are burned in."; return; }
    if (!config.duration_ms) { status.textContent = "Your video is still processing; try again when it plays."; return; }
    const button = this.root.querySelector("[data-burn]");
    button.disabled = true;
    status.textContent = "Starting…";
    try {
      const document_ = { version: 2, cover_ms: 0,
        clips: [{ asset_id: config.asset_id, in_ms: 0, out_ms: config.duration_ms }],
        burned_captions: { cues: saved.map((c) => ({ start_ms: c.start_ms, end_ms: Math.min(c.end_ms, config.duration_ms), text: c.text }))
          .filter((c) => c.end_ms > c.start_ms) } };
      const edit = await post("/api/v1/studio/edits", { document: document_, post_id: config.post_id });
      await post(`/api/v1/studio/edits/${edit.id}/render`);
      this.followBurn(edit.id, status, button);
    } catch (error) {
      status.textContent = serverWords(error);
      button.disabled = false;
    }
  }

  async followBurn(editId, status, button) {
    let edit;
    try { edit = await get(`/api/v1/studio/edits/${editId}`); } catch { edit = null; }
    const version = edit && edit.versions[edit.versions.length - 1];
    let done = false;
    if (!version) status.textContent = "Checking on the video…";
    else if (version.state === "failed") { status.textContent = version.state_reason || "The render failed; try again."; done = true; }
    else if (version.state !== "rendered") status.textContent = "Rendering the video with the captions…";
    else if (version.switch === "switched") { status.textContent = "Done: your post now plays the video with the captions burned in."; done = true; }
    else if (version.switch === "refused") { status.textContent = version.switch_reason; done = true; }
    else status.textContent = "Rendered. Your post switches to it once it is processed and checked.";
    if (done) { button.disabled = false; return; }
    setTimeout(() => this.followBurn(editId, status, button), 3000);
  }

  newLanguage() {
    return this.root.querySelector("[data-new-language]").value.trim() || "en";
  }

  async askAuto() {
    try {
      const track = await post(this.base, { language: this.newLanguage() });
      this.say("", "Automatic captions are being made from the video's speech.");
      await this.load(track.language);
    } catch (error) {
      this.say(serverWords(error));
    }
  }

  async upload(file) {
    const body = new FormData();
    body.append("file", file);
    this.say("", "Uploading…");
    const language = this.newLanguage();
    const response = await fetch(`${this.base}/${encodeURIComponent(language)}`, {
      method: "PUT", body, credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    }).catch(() => null);
    if (!response) { this.say(serverWords(null)); return; }
    const data = await response.json().catch(() => null);
    if (!response.ok) { this.say(serverWords(new ApiError(response.status, data))); return; }
    this.say("", `Uploaded: ${data.cues.length} captions.`);
    await this.load(data.language);
  }
}

const root = document.querySelector("[data-captions-editor]");
if (root && config) {
  new CaptionEditor(root).load();
}
