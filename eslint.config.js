// ESLint (flat config) for the web client: `npm run lint:js`, part of `make test`.
// static/js is browser ES modules; static/js/build.mjs runs under Node. The bundle
// (static/dist), collected static files and installed packages are not ours to lint.
"use strict";

const js = require("@eslint/js");
const globals = require("globals");

module.exports = [
  { ignores: ["node_modules/", "static/dist/", "staticfiles/", "var/", ".venv/"] },
  js.configs.recommended,
  {
    files: ["static/js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser },
    },
    rules: {
      "no-unused-vars": ["error", { argsIgnorePattern: "^_", caughtErrors: "none" }],
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-var": "error",
      "prefer-const": "error",
    },
  },
  {
    // The service worker (Web Push; the feed's caches) runs in a worker scope, as a classic script.
    files: ["static/sw.js", "static/sw_feed.js"],
    languageOptions: {
      ecmaVersion: 2022, sourceType: "script", globals: { ...globals.serviceworker },
    },
  },
  {
    files: ["static/js/**/*.mjs"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node } },
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { sourceType: "commonjs", globals: { ...globals.node } },
  },
];
