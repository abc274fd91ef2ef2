// The live player page (/live/<id>, templates/web/live.html): the stream with hls.js at the
// live edge, the chat over the room's websocket (ws/live/<id>/), likes, gifts, the viewer
// count, the pinned message, the host's and moderators' controls and the "ended" state.
// Every write goes through the API and every refusal is shown in the server's words.
import Hls from "hls.js/light";
import { attachSource } from "../player/source.js";
import { ApiError, get } from "../lib/api.js";
import { openReport } from "../lib/report.js";
import { ChatRoom } from "./room.js";
import { Chat } from "./chat.js";
import { Likes } from "./likes.js";
import { setupGifts } from "./gifts.js";
import { setupHostControls } from "./host.js";
import { urls } from "./urls.js";

const root = document.querySelector("[data-live-page]");

const STATE_WORDS = {
  created: ["Starting soon", (host) => `@${host} is about to go live`, "The video starts when their camera does. Stay here."],
  reconnecting: ["Reconnecting", (host) => `@${host}'s connection dropped`, "Waiting for them to come back…"],
  ended: ["Ended", () => "This live has ended", "Thanks for watching."],
};

class LivePlayer {
  constructor(page) {
    this.page = page;
    this.id = page.dataset.liveId;
    this.host = page.dataset.host;
    this.video = page.querySelector("[data-live-video]");
    this.overlay = page.querySelector("[data-live-overlay]");
    this.badge = page.querySelector("[data-live-badge]");
    this.state = page.dataset.state;
    this.source = null;
    this.pollTimer = null;
  }

  start() {
    this.setState(this.state, { force: true });
    this.bindSound();
    // Back from a hidden tab: the buffer is old; jump to the live edge.
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.toLiveEdge();
    });
    this.video.addEventListener("playing", () => { this.page.dataset.playing = "1"; });
  }

  /** The live's state changed (a socket frame, the detail poll, the playlist's end). */
  setState(state, { force = false } = {}) {
    if (!force && state === this.state) return;
    if (this.state === "ended" && !force) return;  // an end is final
    this.state = state;
    this.page.dataset.state = state;
    const words = STATE_WORDS[state];
    this.badge.textContent = words ? words[0] : "LIVE";
    this.badge.classList.toggle("off", state !== "live");
    if (words) {
      this.overlay.querySelector("[data-overlay-title]").textContent = words[1](this.host);
      this.overlay.querySelector("[data-overlay-text]").textContent = words[2];
    }
    this.overlay.querySelector("[data-overlay-actions]").hidden = state !== "ended";
    // while reconnecting the last frame stays under the words; before the start and after
    // the end the box is all there is
    this.overlay.hidden = state === "live";
    this.overlay.classList.toggle("translucent", state === "reconnecting");
    if (state === "live" || state === "reconnecting") this.attach();
    if (state === "ended") this.stop();
    else this.poll();
    this.page.dispatchEvent(new CustomEvent("live:state", { detail: { state } }));
  }

  async attach() {
    if (this.source || this.waitingForPlaylist) return;
    // The live is on air as soon as the encoder connects; its first playlist is written a
    // moment later, and hls.js gives up for good on a 404 manifest: wait until it is there.
    this.waitingForPlaylist = true;
    const ready = await fetch(this.page.dataset.playback, { cache: "no-store" })
      .then((response) => response.ok, () => false);
    this.waitingForPlaylist = false;
    if (this.state === "ended" || this.source) return;
    if (!ready) {
      setTimeout(() => this.attach(), 1000);
      return;
    }
    this.source = attachSource(this.video, { hls: this.page.dataset.playback }, {
      Hls,
      // LL-HLS when the playlist has parts (H3's packager); plain short segments otherwise.
      // Join at the live edge (3 parts / segments behind it) and catch up after a stall.
      config: { lowLatencyMode: true, liveSyncDurationCount: 2, liveMaxLatencyDurationCount: 6,
        maxLiveSyncPlaybackRate: 1.5, backBufferLength: 10, manifestLoadingMaxRetry: 6,
        levelLoadingMaxRetry: 6 },
      setup: (hls, HlsClass) => {
        hls.on(HlsClass.Events.MANIFEST_PARSED, () => this.play());
        hls.on(HlsClass.Events.LEVEL_UPDATED, (_event, data) => {
          // EXT-X-ENDLIST: the live is over (the socket usually says so first)
          if (data.details && data.details.live === false) this.setState("ended");
        });
      },
    });
    if (this.source.engine !== "hls.js") this.play();
  }

  play() {
    const playing = this.video.play();
    if (playing) playing.catch(() => {});  // autoplay refused: the sound button still works
  }

  toLiveEdge() {
    const hls = this.source && this.source.hls;
    if (hls && Number.isFinite(hls.liveSyncPosition) && hls.liveSyncPosition > this.video.currentTime + 1) {
      this.video.currentTime = hls.liveSyncPosition;
    }
    if (this.state !== "ended") this.play();
  }

  stop() {
    clearTimeout(this.pollTimer);
    if (this.source && this.source.hls) this.source.hls.destroy();
    this.source = null;
    this.video.removeAttribute("src");
    this.video.load();
    this.video.hidden = true;
  }

  bindSound() {
    const button = this.page.querySelector("[data-live-sound]");
    button.addEventListener("click", () => {
      this.video.muted = !this.video.muted;
      button.setAttribute("aria-pressed", String(!this.video.muted));
      button.textContent = this.video.muted ? "Tap for sound" : "Sound on";
      button.classList.toggle("quiet", !this.video.muted);
      this.toLiveEdge();
    });
  }

  /** The detail, every few seconds while not on air (the socket says it sooner; this is
   *  the fallback when it can't connect) and as the viewer count's fallback. */
  poll() {
    clearTimeout(this.pollTimer);
    const wait = this.state === "live" ? 15000 : 3000;
    this.pollTimer = setTimeout(async () => {
      try {
        const live = await get(`/api/v1/live/${this.id}`);
        if (typeof live.viewer_count === "number") this.page.dispatchEvent(new CustomEvent("live:viewers", { detail: { count: live.viewer_count } }));
        this.setState(live.state);
      } catch (error) {
        // gone from view (ended, or the host hid it): the end
        if (error instanceof ApiError && error.status === 404) { this.setState("ended"); return; }
      }
      if (this.state !== "ended") this.poll();
    }, wait);
  }
}

if (root) {
  const player = new LivePlayer(root);
  player.start();
  const chat = new Chat(root);
  const likes = new Likes(root);
  const viewers = root.querySelector("[data-viewer-count]");
  const setViewers = (count) => { viewers.textContent = Number(count).toLocaleString(); };
  root.addEventListener("live:viewers", (event) => setViewers(event.detail.count));
  const gifts = setupGifts(root);
  const room = new ChatRoom(root.dataset.liveId, {
    onFrame(frame) {
      switch (frame.type) {
        case "ready":
          if (typeof frame.viewers === "number") setViewers(frame.viewers);
          likes.show({ likes: frame.likes });
          chat.ready(frame);
          break;
        case "tick":
          setViewers(frame.viewers);
          likes.show(frame);
          if (frame.joined) chat.joined(frame.joined);
          break;
        case "ended": player.setState("ended"); chat.ended(); break;
        case "gift": chat.gift(frame); if (gifts) gifts.animate(frame.gift); break;
        default: chat.frame(frame);
      }
    },
    onEnded() { player.setState("ended"); chat.ended(); },
    onState(state) {
      if (state === "open") root.dataset.socketOpen = "1";
      else delete root.dataset.socketOpen;
    },
  });
  chat.bind(room);
  likes.bind(room);
  setupHostControls(root);
  // Report the live (H6): the shared report dialog, to the live's own report endpoint
  const reportButton = root.querySelector("[data-live-report]");
  if (reportButton) {
    reportButton.addEventListener("click", () => openReport({
      targetType: "live", targetId: root.dataset.liveId, noun: "live", opener: reportButton,
      reportsUrl: urls.report(root.dataset.liveId), bodyFor: (policy) => ({ policy }) }));
  }
  room.connect();
  root.addEventListener("live:state", (event) => {
    if (event.detail.state === "ended") { chat.ended(); room.stop(); }
  });
}
