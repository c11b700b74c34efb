// eslint's flat config for the page's JavaScript (app/static/js): native ES modules that run
// in the browser, next to the vendored marked and DOMPurify (classic scripts, not linted).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["app/static/vendor/**", "node_modules/**", ".venv/**"] },
  js.configs.recommended,
  {
    files: ["app/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: {
        ...globals.browser,
        // Defined by app/static/vendor/marked.umd.js and purify.min.js.
        marked: "readonly",
        DOMPurify: "readonly",
      },
    },
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { sourceType: "module", globals: globals.node },
  },
];
