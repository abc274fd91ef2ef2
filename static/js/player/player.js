// One feed video: hls.js over Media Source Extensions (the browser's own HLS where MSE is
// missing, as on iOS; the MP4 fallback where neither is), with
// - a start level chosen from the measured bandwidth (not the lowest rendition),
// - a "preload" mode that fetches the manifest and the first segment only,
// - release(): the decoder and buffers go (hls.destroy, src removed, load()),
// - QoE figures: time to first frame, rebuffers, rendition switches, bitrate, errors.
import Hls from "hls.js/light";
import { bandwidthEstimate, rememberBandwidth, startLevelFor } from "./bandwidth.js";
import { captionsFromMaster, inlineMasterLoader, masterText } from "./inline_master.js";
import { playbackRenditions } from "./codecs.js";
import { attachSource, chooseEngine } from "./source.js";
import { addTrack, loadSubtitleTracks } from "./subtitles.js";

const PRELOAD_BUFFER_S = 1;
// A parked video waits this long (s) before its second frame is due: see cueFirstFrame.
const PARK_LEAD_S = 0.004;
const PLAY_BUFFER_S = 30;
// watch_progress every 5 s of actual playback; a gap between two timeupdates longer than
// MAX_TICK_S is a seek, not playback.
const HEARTBEAT_MS = 5000;
const MAX_TICK_S = 1.5;

export const engine = chooseEngine(Hls);

export class Player {
  constructor(video, playback, { onFirstFrame, onEnded, onProgress } = {}) {
    this.video = video;
    this.playback = playback || {};
    this.onFirstFrame = onFirstFrame;
    this.onEnded = onEnded;
    this.onProgress = onProgress;
    this.hls = null;
    this.state = "idle"; // idle | preloading | active
    this.generation = 0;
    this.firstFrameTime = null; // media time of the first video frame (see cueFirstFrame)
    this.parkedAt = null; // where a preloaded video waits, paused (see cueFirstFrame)
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
        this.sampleWatch();
      },
    };
  }

  /** Count the media time played since the last sample: real playback only (a preload's
   * warm-up, a pause, a stall or a seek adds nothing), a loop's wrap-around included. */
  sampleWatch() {
    const v = this.video;
    const t = v.currentTime;
    const last = this.lastTime;
    this.lastTime = t;
    if (this.state !== "active") return;
    const d = v.duration || 0;
    // looping: time jumps back from the last second to near zero (any other jump back is
    // a seek on the progress bar)
    if (t + 0.5 < last && last > 0.5 && d && last >= d - 1) {
      this.loops += 1;
      if (d) this.playedMs += Math.max(0, (d - last) + t) * 1000;
      if (this.onEnded) this.onEnded(this.loops);
    } else if (t > last && t - last < MAX_TICK_S) {
      this.playedMs += (t - last) * 1000;
    }
    if (this.onProgress && this.playedMs >= this.nextBeatMs) {
      this.nextBeatMs = (Math.floor(this.playedMs / HEARTBEAT_MS) + 1) * HEARTBEAT_MS;
      this.onProgress();
    }
  }

  reset() {
    this.activatedAt = 0;
    this.firstFrameAt = 0;
    this.stallStart = 0;
    this.lastTime = 0;
    this.loops = 0;
    this.playedMs = 0;
    this.nextBeatMs = HEARTBEAT_MS;
    this.qoe = { ttff_ms: null, rebuffer_count: 0, rebuffer_ms: 0, bitrate_kbps: null,
                 rung: null, rendition_switches: 0, error: null };
  }

  endStall() {
    if (this.stallStart) {
      this.qoe.rebuffer_ms += Math.round(performance.now() - this.stallStart);
      this.stallStart = 0;
    }
  }

  get attached() { return this.state !== "idle"; }

  /** Fetch the manifest and the first segment, decode the first frame, wait. `muted` is
   * what the play will be: Chromium gives a muted player a null audio sink, and switching
   * to the real one when a swipe unmutes it delays the first frames by some 20-30 ms. */
  preload({ muted = true } = {}) {
    if (this.state !== "idle") return;
    this.state = "preloading";
    this.video.muted = muted;
    this.attach(PRELOAD_BUFFER_S);
    this.cueFirstFrame();
  }

  /** Park the paused, preloaded video on its first frame: decoded and composited (it, not
   * the poster, scrolls in at the swipe), with the clock just short of the second frame.
   * A paused video presents its first frame to requestVideoFrameCallback, which gives that
   * frame's media time. From there, playing would hold the first frame for a whole frame
   * (33 ms at 30 fps) of media time before anything moved; parked PARK_LEAD_S before the
   * second frame is due (the first frame still the one shown: a paused element shows the
   * latest frame at or before its time), motion starts within a few milliseconds of
   * play(). The price: the sound's first frame-length (about 30 ms) is skipped. Videos
   * packaged before issue 22 also start a few frames after zero (67 ms at 30 fps). */
  cueFirstFrame() {
    const v = this.video;
    const generation = this.generation;
    if (!v.requestVideoFrameCallback) return;
    v.requestVideoFrameCallback((_now, meta) => {
      if (generation !== this.generation) return;
      this.firstFrameTime ??= meta.mediaTime;
      const park = meta.mediaTime + Math.max(0, this.frameSeconds() - PARK_LEAD_S);
      if (this.state === "preloading" && v.paused && v.currentTime < park) {
        v.currentTime = park;
        this.parkedAt = park;
      }
    });
  }

  /** One frame's duration (s): the renditions' frame rate, 30 fps where none is listed. */
  frameSeconds() {
    const rates = playbackRenditions(this.playback).map((r) => Number(r && r.frame_rate) || 0);
    const rate = Math.max(0, ...rates);
    return 1 / (rate >= 1 ? rate : 30);
  }

  /** Back to the start (the first frame) for the next play of this element. */
  rewind() {
    try { this.video.currentTime = this.firstFrameTime || 0; } catch { /* not loaded */ }
  }

  /** `startAt` (seconds, > 0): where the play starts (a resumed post), else the start. */
  attach(bufferSeconds, startAt = 0) {
    const v = this.video;
    for (const [name, fn] of Object.entries(this.handlers)) v.addEventListener(name, fn);
    // the start's steps (performance.now(), the first of each), for the benchmark's trace
    const marks = { attach: performance.now() };
    this.marks = marks;
    const mark = (name) => { marks[name] ??= performance.now(); };
    for (const name of ["loadedmetadata", "loadeddata", "canplay", "playing"]) {
      v.addEventListener(name, () => mark(name), { once: true });
    }
    this.switches = -1; // the first LEVEL_SWITCHED is the start level, not a switch
    // the master written from the API's renditions: the start rung's playlist is the first
    // request (inline_master.js); the real master is read for its captions after the start.
    // AV1 renditions where this browser decodes them, else H.264 (codecs.js)
    const master = masterText(playbackRenditions(this.playback));
    this.inlineMaster = Boolean(master);
    const source = attachSource(v, this.playback, {
      Hls,
      preload: "auto",
      config: {
        ...(master ? { pLoader: inlineMasterLoader(Hls, master) } : {}),
        autoStartLoad: false,
        startFragPrefetch: true,
        maxBufferLength: bufferSeconds,
        maxMaxBufferLength: Math.max(bufferSeconds, PLAY_BUFFER_S),
        backBufferLength: 10,
        abrEwmaDefaultEstimate: bandwidthEstimate(),
        testBandwidth: false,
      },
      setup: (instance) => {
        loadSubtitleTracks(instance, Hls, v); // the light build leaves them out
        instance.on(Hls.Events.MEDIA_ATTACHED, () => mark("media_attached"));
        instance.on(Hls.Events.LEVEL_LOADED, () => mark("level_loaded"));
        instance.on(Hls.Events.BUFFER_CREATED, () => mark("buffer_created"));
        instance.on(Hls.Events.FRAG_LOADING, (_e, data) => mark(data.frag.sn === "initSegment" ? "init_loading" : "frag_loading"));
        instance.on(Hls.Events.FRAG_LOADED, (_e, data) => mark(data.frag.sn === "initSegment" ? "init_loaded" : "frag_loaded"));
        instance.on(Hls.Events.FRAG_BUFFERED, () => mark("frag_buffered"));
        instance.on(Hls.Events.MANIFEST_PARSED, (_e, data) => {
          mark("manifest_parsed");
          instance.startLevel = startLevelFor(data.levels, v);
          instance.startLoad(startAt > 0 ? startAt : -1);
        });
        instance.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => {
          this.switches += 1;
          this.qoe.rendition_switches = Math.max(0, this.switches);
          const level = instance.levels[data.level];
          if (level) this.qoe.bitrate_kbps = Math.round(level.bitrate / 1000);
          // the rung for the QoE page's breakdown: the rendition's short edge in pixels
          if (level && level.width && level.height) this.qoe.rung = Math.min(level.width, level.height);
        });
      },
      onFatal: (data) => { this.qoe.error = data.details || data.type; },
      onFallback: () => {
        this.hls = null;
        if (this.state === "active") this.video.play().catch(() => {});
      },
    });
    this.hls = source.hls;
    // the browser's own HLS or the MP4: the element seeks once it knows the duration
    if (!this.hls && startAt > 0) {
      v.addEventListener("loadedmetadata", () => { v.currentTime = startAt; }, { once: true });
    }
  }

  /** Become the playing video: full buffer, play, measure the first frame. `startAt`
   * (seconds) starts a video that is not attached yet from there (a resumed post).
   * `soundJoin`: a preloaded video meant to play with sound starts muted and its sound is
   * turned on with its first new frame. A muted element is clocked without an audio
   * output; an unmuted one waits for its output to start (20-30 ms in Chromium) before
   * anything moves. The sound joins in sync, after those few tens of milliseconds
   * (`soundAt`), which is what the swipe no longer waits for. */
  activate({ muted, startAt = 0, soundJoin = false }) {
    const join = soundJoin && !muted && this.state === "preloading" && this.video.muted;
    this.joinSound = join;
    this.soundAt = 0;
    if (join) muted = true;
    const resumeAt = this.state === "idle" && startAt > 0 ? startAt : 0;
    if (this.state === "idle") this.attach(PLAY_BUFFER_S, resumeAt);
    this.state = "active";
    // hls.js reads the buffer goal on every tick: a preloaded video simply buffers on.
    if (this.hls) this.hls.config.maxBufferLength = PLAY_BUFFER_S;
    this.activatedAt = performance.now();
    this.firstFrameAt = 0;
    const v = this.video;
    // the play's watch time starts here (not with a preload's warm-up)
    this.lastTime = resumeAt || v.currentTime;
    this.loops = 0;
    this.playedMs = 0;
    this.nextBeatMs = HEARTBEAT_MS;
    v.loop = true;
    v.muted = muted;
    const startTime = resumeAt || v.currentTime;
    const firstFrame = (_now, meta) => {
      if (this.firstFrameAt || this.state !== "active") return;
      this.firstFrameAt = performance.now();
      if (this.joinSound) {
        this.joinSound = false;
        v.muted = false;
        this.soundAt = performance.now();
      }
      if (meta && this.firstFrameTime == null && startTime < 0.01) this.firstFrameTime = meta.mediaTime;
      // for the benchmark: which frame it was (a new one after the one already on screen?)
      if (meta) this.firstFrameInfo = { from: startTime, media_time: meta.mediaTime, presented_frames: meta.presentedFrames };
      this.qoe.ttff_ms = Math.round(this.firstFrameAt - this.activatedAt);
      if (this.onFirstFrame) this.onFirstFrame(this.qoe.ttff_ms);
      this.loadCaptions();
    };
    if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(firstFrame);
    else v.addEventListener("playing", firstFrame, { once: true });
    return this.play();
  }

  /** The caption tracks of a video started from the inline master: read from the real one. */
  loadCaptions() {
    if (!this.inlineMaster || this.captionsRead || !this.hls || !this.playback.hls) return;
    this.captionsRead = true;
    const video = this.video;
    captionsFromMaster(this.playback.hls).then((options) => {
      for (const option of options) addTrack(video, option);
    });
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

  /** Mute or unmute now (a sound waiting to join at the first frame no longer does). */
  setMuted(muted) {
    this.joinSound = false;
    this.video.muted = muted;
  }

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
    this.generation += 1; // a pending frame callback belongs to the released source
    this.firstFrameTime = null;
    this.parkedAt = null;
  }

  /** The play's watch time so far (ms of actual playback, loops included). */
  watchedMs() {
    this.sampleWatch();
    return Math.round(this.playedMs);
  }
}
