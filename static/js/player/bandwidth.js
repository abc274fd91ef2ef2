// The bandwidth estimate that picks the first rendition of the next video: the last
// measurement hls.js made (kept across pages in localStorage), else the browser's own
// downlink hint, else a middling default. Short videos must not start on the lowest rung.
const KEY = "swipeme.bandwidth";
const DEFAULT_BPS = 3_000_000;

export function bandwidthEstimate() {
  try {
    const saved = Number(localStorage.getItem(KEY));
    if (saved > 0) return saved;
  } catch { /* storage disabled */ }
  const c = navigator.connection;
  if (c && c.downlink > 0) return c.downlink * 1_000_000;
  return DEFAULT_BPS;
}

export function rememberBandwidth(bps) {
  if (!Number.isFinite(bps) || bps <= 0) return;
  try { localStorage.setItem(KEY, String(Math.round(bps))); } catch { /* ignore */ }
}

/** The highest level that fits 70% of the estimate and is not much bigger than the
 * element on screen; `levels` as hls.js lists them (ascending bitrate). */
export function startLevelFor(levels, video) {
  if (!levels || !levels.length) return -1;
  const budget = bandwidthEstimate() * 0.7;
  const dpr = window.devicePixelRatio || 1;
  const maxHeight = Math.max(1, (video.clientHeight || 640) * dpr) * 1.25;
  let best = 0;
  levels.forEach((level, index) => {
    const fits = level.bitrate <= budget && (level.height || 0) <= maxHeight;
    if (fits && level.bitrate >= levels[best].bitrate) best = index;
  });
  return best;
}
