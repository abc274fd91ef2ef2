// One video codec per playback (issue 23): a master may list AV1 variants after the H.264
// ones (a popular post's AV1 renditions, apps/media/av1.py). Where this browser's Media
// Source decodes AV1 (MediaSource.isTypeSupported with the variant's CODECS) the player
// keeps only the AV1 levels (fewer bytes at the same quality), else only the H.264 ones, so
// hls.js never switches codec mid-play and an H.264-only browser sees what it saw before.

const AV1 = /^av01\./;

function typeSupported(codecs) {
  const MS = typeof window !== "undefined" && (window.ManagedMediaSource || window.MediaSource);
  if (!MS || typeof MS.isTypeSupported !== "function") return false;
  return MS.isTypeSupported(`video/mp4; codecs="${codecs}"`);
}

function mseSupports(level) {
  return typeSupported([level.videoCodec, level.audioCodec].filter(Boolean).join(","));
}

function av1Renditions(playback) {
  const listed = (playback && playback.av1 && playback.av1.renditions) || [];
  return listed.filter((r) => r && AV1.test(r.codecs || "") && typeSupported(r.codecs));
}

/**
 * The renditions the feed writes its inline master from (the post API's playback, see
 * inline_master.js): the post's AV1 renditions this browser's Media Source decodes, when it
 * has any, else the H.264 ones; one codec, as `keepOneCodec` keeps for a real master.
 */
export function playbackRenditions(playback) {
  const av1 = av1Renditions(playback);
  return av1.length ? av1 : (playback && playback.renditions) || [];
}

/** The media playlist this browser starts `playback` from (what is worth warming ahead). */
export function startPlaylist(playback) {
  const av1 = av1Renditions(playback);
  if (!av1.length) return (playback && playback.start && playback.start.playlist) || null;
  const start = playback.av1.start && playback.av1.start.playlist;
  return av1.some((r) => r.playlist === start) ? start : av1[0].playlist;
}

/** The codec family this browser should play among `levels`: "av1" or "h264". */
export function chooseCodec(levels) {
  return (levels || []).some((l) => AV1.test(l.videoCodec || "") && mseSupports(l))
    ? "av1" : "h264";
}

/**
 * Registers on an hls.js instance, before the pages' own MANIFEST_PARSED listeners (their
 * start level then counts among the kept levels): removes the other codec's levels. The
 * event's `data.levels` is updated in place, so listeners after this one see the same list.
 */
export function keepOneCodec(instance, Hls) {
  instance.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
    const levels = instance.levels || [];
    if (!levels.some((l) => AV1.test(l.videoCodec || ""))) return;
    const av1 = chooseCodec(levels) === "av1";
    for (let i = levels.length - 1; i >= 0; i -= 1) {
      const isAv1 = AV1.test(levels[i].videoCodec || "");
      if (isAv1 !== av1 || (isAv1 && !mseSupports(levels[i]))) instance.removeLevel(i);
    }
    if (data && Array.isArray(data.levels)) data.levels.splice(0, data.levels.length, ...instance.levels);
    instance.swipemeCodec = av1 ? "av1" : "h264"; // for QoE figures and tests
  });
}
