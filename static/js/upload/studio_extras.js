// The studio's sound and cover (upload page): a library sound from the same list the post
// form offers (the sounds this account may use), its volume and the clips' own audio
// volume (the document's `sound` and `original_volume`), and the cover frame, a time of the
// edited video shown on the stage as the clip's frame at that moment (`cover_ms`).
const $ = (selector) => document.querySelector(selector);

const soundSelect = $("[data-studio-sound]");
const soundVolume = $("[data-sound-volume]");
const originalVolume = $("[data-original-volume]");
const coverRange = $("[data-cover]");
const percent = (value) => `${Math.round(Number(value) * 100)} %`;

function showValue(input) {
  const output = input.closest("label").querySelector("output");
  if (output) output.textContent = percent(input.value);
  input.setAttribute("aria-valuetext", percent(input.value));
}

/** Copy the post form's sounds (server-rendered) into the studio's sound list. */
export function setUpSound() {
  const offered = document.getElementById("sound");
  if (offered) {
    for (const option of offered.options) {
      if (option.value) soundSelect.append(new Option(option.textContent, option.value));
    }
  }
  const sync = () => { soundVolume.closest("label").hidden = !soundSelect.value; };
  soundSelect.addEventListener("change", sync);
  for (const input of [soundVolume, originalVolume]) {
    input.addEventListener("input", () => showValue(input));
    showValue(input);
  }
  sync();
}

/** A saved document's sound back into the controls (reopening an edit). */
export function loadSound(sound, original) {
  if (sound) {
    const id = String(sound.sound_id);
    if (![...soundSelect.options].some((o) => o.value === id)) {
      soundSelect.append(new Option("The saved edit's sound", id));  // not among the offered ones
    }
    soundSelect.value = id;
    soundVolume.value = String(sound.volume ?? 1);
  } else {
    soundSelect.value = "";
  }
  originalVolume.value = String(original ?? 1);
  for (const input of [soundVolume, originalVolume]) showValue(input);
  soundSelect.dispatchEvent(new Event("change"));
}

/** The document's sound fields. */
export function soundPart() {
  return {
    original_volume: Number(originalVolume.value),
    sound: soundSelect.value
      ? { sound_id: soundSelect.value, volume: Number(soundVolume.value), start_ms: 0 } : null,
  };
}

/** Where each clip's part lies in the edited video of `totalMs` (the clips end it; a
 * stitch's part of another post plays before them): [{clip, startMs, lengthMs}]. */
export function outputParts(clips, transitionMs, totalMs) {
  const lengths = clips.map((clip) => (clip.outMs - clip.inMs) / clip.speed);
  const clipsMs = lengths.reduce((sum, ms, index) => sum + ms - transitionMs(clips[index], index), 0);
  let at = Math.max(0, totalMs - clipsMs);
  return clips.map((clip, index) => {
    at -= transitionMs(clip, index);
    const part = { clip, startMs: at, lengthMs: lengths[index] };
    at += part.lengthMs;
    return part;
  });
}

/** The cover range follows the video's length; moving it shows that frame on the stage. */
export function setUpCover({ lengthMs, parts, show }) {
  const output = coverRange.closest(".field").querySelector("output");
  const update = () => {
    const max = Math.max(0, Math.floor(lengthMs()));
    coverRange.max = String(max);
    if (Number(coverRange.value) > max) coverRange.value = String(max);
    const at = Number(coverRange.value);
    output.textContent = `${(at / 1000).toFixed(1)} s`;
    coverRange.setAttribute("aria-valuetext", output.textContent);
    coverRange.disabled = max === 0;
  };
  coverRange.addEventListener("input", () => {
    update();
    const at = Number(coverRange.value);
    // the last part starting at or before `at` (a transition's overlap shows the later clip)
    const part = parts().filter((p) => p.startMs <= at).pop();
    if (part) show(part.clip, Math.round(part.clip.inMs + (at - part.startMs) * part.clip.speed));
  });
  update();
  const set = (ms) => { coverRange.max = String(Math.max(ms, Number(coverRange.max))); coverRange.value = String(ms); update(); };
  return { update, set, coverMs: () => Math.min(Number(coverRange.value), Math.floor(lengthMs())) };
}
