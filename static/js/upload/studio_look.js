// The filter drawn live on the studio's stage: the picked preset and the brightness,
// contrast and saturation as one SVG feColorMatrix applied to the stage's <video> with CSS
// `filter` (the overlays above it are not filtered, as in the render). The server gives
// each preset's matrix (`options.looks`, apps.studio.luts.stage_matrix: exact for the
// presets, which are affine colour maps, where no channel clips) and how the adjustments
// map onto it (`options.look_adjust`): an approximation of ffmpeg's `eq`, which works on
// the YUV planes. The preview render remains the reference.
const SVG = "http://www.w3.org/2000/svg";

function multiply(after, before) {
  // 4x5 colour matrices (row-major, 20 values): after(before(rgba))
  const out = [];
  for (let row = 0; row < 4; row += 1) {
    for (let col = 0; col < 5; col += 1) {
      let sum = col === 4 ? after[row * 5 + 4] : 0;
      for (let k = 0; k < 4; k += 1) sum += after[row * 5 + k] * before[k * 5 + col];
      out.push(sum);
    }
  }
  return out;
}

/** eq's brightness, contrast and saturation as a 4x5 matrix (apps.studio.luts.adjust_matrix). */
export function adjustMatrix(adjust, { brightness, contrast, saturation }) {
  const shift = adjust.contrast_pivot * (1 - contrast) + brightness * adjust.brightness_gain;
  const rows = [];
  for (let row = 0; row < 3; row += 1) {
    for (let col = 0; col < 3; col += 1) {
      rows.push((row === col ? saturation : 0) + (contrast - saturation) * adjust.luma[col]);
    }
    rows.push(0, shift);
  }
  return [...rows, 0, 0, 0, 1, 0];
}

/** Sets up the filter element once; `show(preset, adjustments)` redraws the stage. */
export function stageLook(video) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("width", "0");
  svg.setAttribute("height", "0");
  svg.style.position = "absolute";
  const filter = document.createElementNS(SVG, "filter");
  filter.id = "studio-look";
  // the LUT works on the encoded values, not on linear light
  filter.setAttribute("color-interpolation-filters", "sRGB");
  const matrix = document.createElementNS(SVG, "feColorMatrix");
  matrix.setAttribute("type", "matrix");
  matrix.dataset.look = "";
  filter.append(matrix);
  svg.append(filter);
  video.after(svg);
  return {
    show(options, preset, adjustments) {
      const base = options?.looks?.[preset];
      if (!base) { video.style.filter = ""; return; }
      const values = multiply(adjustMatrix(options.look_adjust, adjustments), base);
      const identity = values.every((v, i) => Math.abs(v - (i % 6 === 0 ? 1 : 0)) < 1e-9);
      matrix.setAttribute("values", values.map((v) => v.toFixed(6)).join(" "));
      video.dataset.look = identity ? "none" : preset;
      video.style.filter = identity ? "" : "url(#studio-look)";
    },
  };
}
