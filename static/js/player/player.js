// One feed video: hls.js over Media Source Extensions (the browser's own HLS where MSE is
// missing, as on iOS; the MP4 fallback where neither is), with
// - a start level chosen from the measured bandwidth (not the lowest rendition),
// - a "preload" mode that fetches the manifest and the first segment only,
// - release(): the decoder and buffers go (hls.destroy, src removed, load()),
// - QoE figures: time to first frame, rebuffers, rendition switches, bitrate, errors.
import Hls from "hls.js/light";
import { bandwidthEstimate, rememberBandwidth, startLevelFor } from "./bandwidth.js";

const HLS_MIME = "application/vnd.apple.mpegurl";
const PRELOAD_BUFFER_S = 1;
const PLAY_BUFFER_S = 30;

export const engine = Hls.isSupported() ? "hls.js"
  : document.createElement("video").canPlayType(HLS_MIME) ? "native" : "mp4";

export class Player {
  constructor(video, playback, { onFirstFrame, onEnded } = {}) {
    this.video = video;
    this.playback = playback || {};
    this.onFirstFrame = onFirstFrame;
    this.onEnded = onEnded;
    this.hls = null;
    this.state = "idle"; // idle | preloading | active
    this.reset();
    this.handlers = {
      waiting: () => {
        if (this.firstFrameAt && !this.stallStart && !this.video.paused) {
          this.stallStart = performance.now();
          this.qoe.rebuffer_count += 1;
        }
      },
      playing: () => this.endStall(),
      timeupdate: () => {
        this.endStall();
        const t = this.video.currentTime;
        // looping: time jumps back near zero
        if (t + 0.5 < this.lastTime && this.lastTime > 0.5) {
          this.loops += 1;
          if (this.onEnded) this.onEnded(this.loops);
        }
        this.lastTime = t;
      },
    };
  }

  reset() {
    this.activatedAt = 0;
    this.firstFrameAt = 0;
    this.stallStart = 0;
    this.lastTime = 0;
    this.loops = 0;
    this.qoe = { ttff_ms: null, rebuffer_count: 0, rebuffer_ms: 0, bitrate_kbps: null,
                 rendition_switches: 0, error: null };
  }

  endStall() {
    if (this.stallStart) {
      this.qoe.rebuffer_ms += Math.round(performance.now() - this.stallStart);
      this.stallStart = 0;
    }
  }

  get attached() { return this.state !== "idle"; }

  /** Fetch the manifest and the first segment, show the poster, wait. */
  preload() {
    if (this.state !== "idle") return;
    this.state = "preloading";
    this.attach(PRELOAD_BUFFER_S);
    this.video.addEventListener("canplay", () => this.warm(), { once: true });
  }

  /** Start the preloaded video's decoder: play muted, pause as soon as it runs, so that the
   * swipe resumes a running pipeline instead of building one. */
  warm() {
    const v = this.video;
    if (this.state !== "preloading" || !v.paused) return;
    v.muted = true;
    v.play().then(() => { if (this.state === "preloading") v.pause(); }).catch(() => {});
  }

  attach(bufferSeconds) {
    const v = this.video;
    for (const [name, fn] of Object.entries(this.handlers)) v.addEventListener(name, fn);
    const { hls, mp4 } = this.playback;
    if (engine === "hls.js" && hls) {
      const instance = new Hls({
        autoStartLoad: false,
        startFragPrefetch: true,
        maxBufferLength: bufferSeconds,
        maxMaxBufferLength: Math.max(bufferSeconds, PLAY_BUFFER_S),
        backBufferLength: 10,
        capLevelToPlayerSize: true,
        abrEwmaDefaultEstimate: bandwidthEstimate(),
        testBandwidth: false,
        enableWorker: false, // fMP4 needs no transmuxing, and the CSP allows no blob: workers
      });
      this.hls = instance;
      this.switches = -1; // the first LEVEL_SWITCHED is the start level, not a switch
      instance.on(Hls.Events.MANIFEST_PARSED, (_e, data) => {
        instance.startLevel = startLevelFor(data.levels, v);
        instance.startLoad(-1);
      });
      instance.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => {
        this.switches += 1;
        this.qoe.rendition_switches = Math.max(0, this.switches);
        const level = instance.levels[data.level];
        if (level) this.qoe.bitrate_kbps = Math.round(level.bitrate / 1000);
      });
      instance.on(Hls.Events.ERROR, (_e, data) => {
        if (!data.fatal) return;
        this.qoe.error = data.details || data.type;
        if (data.type === Hls.ErrorTypes.NETWORK_ERROR) instance.startLoad();
        else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) instance.recoverMediaError();
        else this.fallbackToMp4();
      });
      instance.loadSource(hls);
      instance.attachMedia(v);
    } else if (engine === "native" && hls) {
      v.preload = "auto";
      v.src = hls;
    } else if (mp4) {
      v.preload = "auto";
      v.src = mp4;
    }
  }

  fallbackToMp4() {
    if (!this.playback.mp4) return;
    if (this.hls) { this.hls.destroy(); this.hls = null; }
    this.video.src = this.playback.mp4;
    if (this.state === "active") this.video.play().catch(() => {});
  }

  /** Become the playing video: full buffer, play, measure the first frame. */
  activate({ muted }) {
    if (this.state === "idle") this.attach(PLAY_BUFFER_S);
    this.state = "active";
    // hls.js reads the buffer goal on every tick: a preloaded video simply buffers on.
    if (this.hls) this.hls.config.maxBufferLength = PLAY_BUFFER_S;
    this.activatedAt = performance.now();
    this.firstFrameAt = 0;
    const v = this.video;
    v.loop = true;
    v.muted = muted;
    const firstFrame = () => {
      if (this.firstFrameAt || this.state !== "active") return;
      this.firstFrameAt = performance.now();
      this.qoe.ttff_ms = Math.round(this.firstFrameAt - this.activatedAt);
      if (this.onFirstFrame) this.onFirstFrame(this.qoe.ttff_ms);
    };
    if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(firstFrame);
    else v.addEventListener("playing", firstFrame, { once: true });
    return this.play();
  }

  play() {
    const v = this.video;
    return v.play().catch((error) => {
      // Autoplay with sound refused: play muted instead (the page unmutes on interaction).
      if (error && error.name === "NotAllowedError" && !v.muted) {
        v.muted = true;
        return v.play().catch(() => {});
      }
      return undefined;
    });
  }

  pause() { this.video.pause(); }

  /** Give back the decoder and the buffers. */
  release() {
    if (this.state === "idle") return;
    const v = this.video;
    for (const [name, fn] of Object.entries(this.handlers)) v.removeEventListener(name, fn);
    this.endStall();
    if (this.hls) {
      rememberBandwidth(this.hls.bandwidthEstimate);
      this.hls.destroy();
      this.hls = null;
    }
    v.pause();
    v.removeAttribute("src");
    v.load();
    this.state = "idle";
  }

  watchedMs() {
    return Math.round((this.loops * (this.video.duration || 0) + this.video.currentTime) * 1000);
  }
}
