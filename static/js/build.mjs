// Bundles the web client into static/dist (gitignored; `make setup` runs this).
// Every static/js/<name>/main.js becomes static/dist/<name>.js (an ES module; shared code,
// hls.js included, is split into static/dist/chunks/). hls.js is also copied as a classic
// script, static/dist/hls.js (window.Hls), and as an ES module, static/dist/hls.mjs, for
// pages that use it without a bundle (the moderation review view).
// Every script and stylesheet also gets its gzip and brotli copy beside it (name.gz,
// name.br): WhiteNoise serves those to browsers that accept them under every settings
// module (production's collectstatic compresses again; the result is the same), so that
// `make run`, the browser tests and bench/browser_feed.py download what production sends
// (hls.js: 371 KB as is, about a third of it gzipped; issue 22's first frame on fast-4g).
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative as relativePath, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

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
const result = await build({
  entryPoints,
  metafile: true,
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
// static/dist/imports.json: each entry's chunks (its static imports, transitively), which
// its page names as modulepreload links (apps.web.templatetags.bundles): they download
// beside the entry instead of one round trip after it.
const outputs = result.metafile.outputs;
// (the metafile's paths are relative to the working directory)
const relative = (path) => relativePath(out, resolve(path)).split(sep).join("/");
const chunksOf = (path, seen = new Set()) => {
  for (const item of (outputs[path] && outputs[path].imports) || []) {
    if (item.kind !== "import-statement" || item.external || seen.has(item.path)) continue;
    seen.add(item.path);
    chunksOf(item.path, seen);
  }
  return seen;
};
const imports = {};
for (const [path, output] of Object.entries(outputs)) {
  if (!output.entryPoint || !path.endsWith(".js")) continue;
  const name = relative(path).replace(/\.js$/, "");
  imports[name] = [...chunksOf(path)].map(relative).sort();
}
writeFileSync(join(out, "imports.json"), `${JSON.stringify(imports, null, 1)}\n`);
const hls = join(root, "node_modules", "hls.js", "dist");
copyFileSync(join(hls, "hls.min.js"), join(out, "hls.js"));
copyFileSync(join(hls, "hls.min.mjs"), join(out, "hls.mjs"));

/** The .gz and .br copies of every .js, .mjs and .css under `dir` (not the source maps). */
function compressAll(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) { compressAll(path); continue; }
    if (!/\.(m?js|css)$/.test(entry.name)) continue;
    const data = readFileSync(path);
    writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
    writeFileSync(`${path}.br`, brotliCompressSync(data, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
    }));
  }
}
compressAll(out);
console.log(`static/dist: ${Object.keys(entryPoints).join(", ") || "no entries"} + hls.js (with .gz and .br copies)`);
