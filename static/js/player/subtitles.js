// hls.js light (the feed's build, for its size) has no subtitle support, though it parses
// the master playlist's EXT-X-MEDIA SUBTITLES group (apps/media/services/captions.py): each
// option's media playlist names one WebVTT file, which is added to the video as a <track>
// (the browser parses and draws it; player/captions.js and feed/captions.js show or hide
// it). The full hls.js and the browser's own HLS make the text tracks themselves.

/** Add the subtitle tracks of the manifest `hls` loads to `video` (once per language). */
export function loadSubtitleTracks(hls, Hls, video) {
  hls.on(Hls.Events.MANIFEST_LOADED, (_event, data) => {
    for (const option of data.subtitles || []) addTrack(video, option);
  });
}

function has(video, key) {
  return Array.from(video.querySelectorAll("track")).some((t) => t.dataset.subtitles === key);
}

export async function addTrack(video, option) {
  const key = option.lang || option.name || "";
  if (!option.url || has(video, key)) return;
  let text;
  try {
    const response = await fetch(option.url, { credentials: "same-origin" });
    if (!response.ok) return;
    text = await response.text();
  } catch {
    return; // offline or gone: the video plays without captions
  }
  const uri = text.split(/\r?\n/).map((line) => line.trim())
    .find((line) => line && !line.startsWith("#"));
  if (!uri || has(video, key)) return;
  const track = document.createElement("track");
  track.kind = "subtitles";
  track.srclang = option.lang || "";
  track.label = option.name || option.lang || "Captions";
  track.src = new URL(uri, option.url).href;
  track.dataset.subtitles = key;
  video.append(track);
}
