// Frames of a local video file (a blob: URL), drawn on a canvas: the upload page's cover
// picker and the studio's filmstrips. Decoding happens in this browser, so both work before
// the server has processed anything.

export const until = (target, event, ms = 8000) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`no ${event}`)), ms);
  target.addEventListener(event, () => { clearTimeout(timer); resolve(); }, { once: true });
  target.addEventListener("error", () => { clearTimeout(timer); reject(new Error("undecodable")); }, { once: true });
});

// `count` frames at evenly spread times, from a second (hidden) video of the same file so a
// visible one keeps playing: [{ ms, image (a JPEG data: URL), width, height }] plus the
// duration. Throws when this browser cannot decode the file (or it has no duration, as a
// MediaRecorder WebM has none).
export async function videoFrames(url, count, width = 120) {
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.preload = "auto";
  video.src = url;
  await until(video, "loadeddata");
  const duration = video.duration;
  if (!Number.isFinite(duration) || duration <= 0 || !video.videoWidth) throw new Error("no duration");
  const height = Math.round((width * video.videoHeight) / video.videoWidth);
  const frames = [];
  for (let i = 0; i < count; i += 1) {
    const seconds = count === 1 ? 0 : (i * Math.max(0, duration - 0.1)) / (count - 1);
    // a "seek" to 0 where the video already is draws a black frame in Chromium: a hair later
    video.currentTime = Math.max(seconds, Math.min(0.04, duration / 2));
    await until(video, "seeked");
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    canvas.getContext("2d").drawImage(video, 0, 0, width, height);
    frames.push({ ms: Math.round(seconds * 1000), image: canvas.toDataURL("image/jpeg", 0.7), width, height });
  }
  const size = { durationMs: Math.round(duration * 1000), videoWidth: video.videoWidth, videoHeight: video.videoHeight };
  video.removeAttribute("src");
  video.load();
  return { frames, ...size };
}
