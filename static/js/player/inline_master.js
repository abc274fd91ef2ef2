// Starting without the master playlist (issue 22): the post API lists every rendition with
// its media playlist URL (apps.media.playback), so the master is written here and handed to
// hls.js by its playlist loader without a request. hls.js then asks for the start rung's
// media playlist first: one round trip less before the first frame, and ABR still has the
// whole ladder to climb. Caption tracks are in the real master only: after the first frame
// `captionsFromMaster` reads them from it (off the start's critical path).

/** The master playlist of `renditions` (ascending), or null when one lacks its playlist. */
export function masterText(renditions) {
  if (!Array.isArray(renditions) || !renditions.length) return null;
  if (!renditions.every((r) => r && r.playlist && r.bandwidth && r.codecs)) return null;
  const lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"];
  for (const r of renditions) {
    const average = r.average_bandwidth ? `,AVERAGE-BANDWIDTH=${r.average_bandwidth}` : "";
    const rate = r.frame_rate ? `,FRAME-RATE=${Number(r.frame_rate).toFixed(3)}` : "";
    lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${r.bandwidth}${average},`
      + `RESOLUTION=${r.width}x${r.height},CODECS="${r.codecs}"${rate}`);
    lines.push(new URL(r.playlist, window.location.href).href);
  }
  return `${lines.join("\n")}\n`;
}

/** An hls.js playlist loader (`pLoader`) that answers the manifest with `text`. */
export function inlineMasterLoader(Hls, text) {
  const Base = Hls.DefaultConfig.loader;
  return class InlineMasterLoader extends Base {
    loadInternal() {
      if (!this.context || this.context.type !== "manifest") {
        super.loadInternal();
        return;
      }
      const { context, stats } = this;
      self.setTimeout(() => {
        if (!this.callbacks) return; // destroyed meanwhile
        stats.loading.first = stats.loading.end = self.performance.now();
        stats.loaded = stats.total = text.length;
        this.callbacks.onSuccess({ url: context.url, data: text, code: 200 }, stats, context, null);
      }, 0);
    }
  };
}

const MEDIA = /^#EXT-X-MEDIA:(.*)$/;
const ATTRIBUTE = /([A-Z0-9-]+)=("[^"]*"|[^,]*)/g;

/** The SUBTITLES options of the master at `url`, as hls.js lists them ({lang, name, url}). */
export async function captionsFromMaster(url) {
  let text;
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return [];
    text = await response.text();
  } catch {
    return []; // offline: the video plays without captions
  }
  const options = [];
  for (const line of text.split(/\r?\n/)) {
    const match = MEDIA.exec(line.trim());
    if (!match) continue;
    const attributes = {};
    for (const [, key, value] of match[1].matchAll(ATTRIBUTE)) {
      attributes[key] = value.replace(/^"|"$/g, "");
    }
    if (attributes.TYPE !== "SUBTITLES" || !attributes.URI) continue;
    options.push({ lang: attributes.LANGUAGE || "", name: attributes.NAME || "",
                   url: new URL(attributes.URI, new URL(url, window.location.href)).href });
  }
  return options;
}
