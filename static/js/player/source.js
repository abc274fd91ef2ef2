// Starting a video's source, one way for every page: hls.js over Media Source Extensions,
// the browser's own HLS where MSE is missing (Safari, iOS), the MP4 where neither plays.
// The feed's bundle passes the hls.js it imports; pages without a bundle (post, upload,
// review) load static/dist/hls.js as a classic script and this module uses window.Hls.
// hls.js always runs without its worker: fMP4 needs no transmuxing, and the CSP allows no
// blob: workers.

import { keepOneCodec } from "./codecs.js";

export const HLS_MIME = "application/vnd.apple.mpegurl";

function defaultHls() {
  return typeof window !== "undefined" ? window.Hls : undefined;
}

/** Which engine plays HLS here: "hls.js", "native" or "mp4" (none: only the MP4 plays). */
export function chooseEngine(Hls = defaultHls(), video = null) {
  if (Hls && Hls.isSupported()) return "hls.js";
  const probe = video || document.createElement("video");
  return probe.canPlayType(HLS_MIME) ? "native" : "mp4";
}

/**
 * Give `video` the source of `playback` ({hls, mp4}) through the engine this browser has.
 * Options:
 * - Hls: the hls.js class (default window.Hls);
 * - config: hls.js settings over the defaults (no worker, the level capped to the size);
 * - preload: the element's preload attribute for native HLS and MP4 (hls.js loads itself);
 * - setup(instance, Hls): called before the manifest loads, to listen to hls.js events;
 * - onFatal(data): a fatal hls.js error (network and media errors are then recovered);
 * - onFallback(): hls.js gave up and the MP4 now plays in its place.
 * Returns {engine, hls}: the engine used ("none" without a playable source) and the hls.js
 * instance (null unless hls.js plays; after a fallback the instance is destroyed).
 */
export function attachSource(video, playback, options = {}) {
  const { Hls = defaultHls(), config = {}, preload = null, setup, onFatal, onFallback } = options;
  const { hls: manifest, mp4 } = playback || {};
  const engine = chooseEngine(Hls, video);
  const useSrc = (url, used) => {
    if (preload) video.preload = preload;
    video.src = url;
    return { engine: used, hls: null };
  };
  if (engine === "hls.js" && manifest) {
    const instance = new Hls({ enableWorker: false, capLevelToPlayerSize: true, ...config });
    const source = { engine, hls: instance };
    keepOneCodec(instance, Hls); // AV1 where MSE decodes it, else H.264 (before setup's listeners)
    if (setup) setup(instance, Hls);
    instance.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal) return;
      if (onFatal) onFatal(data);
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR) instance.startLoad();
      else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) instance.recoverMediaError();
      else if (mp4) {
        instance.destroy();
        source.hls = null;
        source.engine = "mp4";
        video.src = mp4;
        if (onFallback) onFallback();
      }
    });
    instance.loadSource(manifest);
    instance.attachMedia(video);
    return source;
  }
  if (engine === "native" && manifest) return useSrc(manifest, "native");
  if (mp4) return useSrc(mp4, "mp4");
  return { engine: "none", hls: null };
}
