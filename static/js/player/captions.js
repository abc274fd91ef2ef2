// The captions toggle of a player: the master playlist lists the post's caption tracks as
// an EXT-X-MEDIA SUBTITLES group (apps/media/services/captions.py); hls.js (or the
// browser's own HLS) turns them into the video's text tracks. The button appears once a
// track exists, and switches them between showing and hidden; the choice is remembered
// on this device, for the signed-in person (base.html's swipeme-viewer), or for everyone
// signed out. The feed's CC button (feed/captions.js) shares the choice.

function key() {
  const viewer = document.querySelector('meta[name="swipeme-viewer"]');
  return viewer && viewer.content ? `swipeme.captions:${viewer.content}` : "swipeme.captions";
}

/** Whether captions are to show (on until the person turns them off). */
export function captionsWanted() {
  try { return localStorage.getItem(key()) !== "off"; } catch { return true; }
}

export function rememberCaptions(on) {
  try { localStorage.setItem(key(), on ? "on" : "off"); } catch { /* private mode */ }
}

export function subtitleTracks(video) {
  return Array.from(video.textTracks || []).filter(
    (t) => t.kind === "subtitles" || t.kind === "captions");
}

/** Wire `button` to the captions of `video`, played by `source` ({engine, hls}). */
export function captionsToggle(video, source, button) {
  if (!video || !button) return;
  let on = captionsWanted();
  const apply = () => {
    const hls = source && source.hls;
    if (hls && hls.subtitleTracks && hls.subtitleTracks.length) {
      hls.subtitleDisplay = on;
      if (on && hls.subtitleTrack < 0) hls.subtitleTrack = 0;
    }
    for (const track of subtitleTracks(video)) track.mode = on ? "showing" : "hidden";
    button.setAttribute("aria-pressed", String(on));
    button.title = on ? "Hide captions" : "Show captions";
    video.dataset.captions = on ? "on" : "off";
  };
  const reveal = () => {
    const count = (source && source.hls && source.hls.subtitleTracks
      ? source.hls.subtitleTracks.length : 0) || subtitleTracks(video).length;
    if (!count) return;
    button.hidden = false;
    apply();
  };
  button.addEventListener("click", () => {
    on = !on;
    rememberCaptions(on);
    apply();
  });
  if (source && source.hls && window.Hls) {
    source.hls.on(window.Hls.Events.SUBTITLE_TRACKS_UPDATED, reveal);
    source.hls.on(window.Hls.Events.SUBTITLE_TRACK_LOADED, apply);
  }
  if (video.textTracks && video.textTracks.addEventListener) {
    video.textTracks.addEventListener("addtrack", reveal);
  }
  reveal();
}
