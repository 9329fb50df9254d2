// ESLint flat config for the project's JavaScript (run by scripts/lint.sh).
// Small on purpose: the recommended rules plus the globals each place really runs with.
import js from "@eslint/js";
import globals from "globals";

const nodeFiles = ["wasm/*.mjs", "tests/js/**/*.mjs", "tests/browser/**/*.mjs", "bench/*.mjs", "tools/**/*.mjs",
                   "scripts/*.mjs", "eslint.config.mjs"];
const pageFiles = ["web/**/*.mjs"];

export default [
  // Generated or installed code is not ours to lint.
  { ignores: ["build/**", "node_modules/**", "test-results/**"] },
  {
    files: [...nodeFiles, ...pageFiles],
    ...js.configs.recommended,
    languageOptions: { ecmaVersion: 2022, sourceType: "module" },
    rules: {
      ...js.configs.recommended.rules,
      // A leading underscore marks an argument kept for its position in a callback's signature.
      "no-unused-vars": ["error", { argsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  // wasm/ runs in node and in the page's workers alike; tests drive a browser (page.evaluate
  // bodies use its globals); bench and tools run in node.
  { files: nodeFiles, languageOptions: { globals: { ...globals.node, ...globals.browser, ...globals.worker } } },
  // The page and its workers never see node's globals.
  { files: pageFiles, languageOptions: { globals: { ...globals.browser, ...globals.worker } } },
];
