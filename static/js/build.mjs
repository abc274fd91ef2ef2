// Bundles the web client into static/dist (gitignored; `make setup` runs this).
// Every static/js/<name>/main.js becomes static/dist/<name>.js (an ES module; shared code,
// hls.js included, is split into static/dist/chunks/). hls.js is also copied as a classic
// script, static/dist/hls.js (window.Hls), and as an ES module, static/dist/hls.mjs, for
// pages that use it without a bundle (the moderation review view).
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const src = join(root, "static", "js");
const out = join(root, "static", "dist");

const entryPoints = {};
for (const name of readdirSync(src, { withFileTypes: true })) {
  const main = join(src, name.name, "main.js");
  if (name.isDirectory() && existsSync(main)) entryPoints[name.name] = main;
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints,
  outdir: out,
  bundle: true,
  splitting: true,
  format: "esm",
  target: ["es2020"],
  minify: true,
  sourcemap: true,
  chunkNames: "chunks/[name]-[hash]",
  logLevel: "warning",
});
const hls = join(root, "node_modules", "hls.js", "dist");
copyFileSync(join(hls, "hls.min.js"), join(out, "hls.js"));
copyFileSync(join(hls, "hls.min.mjs"), join(out, "hls.mjs"));
console.log(`static/dist: ${Object.keys(entryPoints).join(", ") || "no entries"} + hls.js`);
