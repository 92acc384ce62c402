// ESLint (flat config): typescript-eslint's recommended rules over every
// TypeScript and JavaScript file of the repository (`npm run lint`).
// Formatting is prettier's (`npm run format:check`), not ESLint's.
import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  // Generated, built, installed or recorded files.
  globalIgnores(["gen/", "dist/", "dist-dev/", "node_modules/", ".tools/", "**/fixtures/", "charts/"]),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // `_`-prefixed names are deliberately unused (callback positions, destructuring rest).
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true }],
      // A `let` that a closure reads before its one assignment cannot be a const.
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Tests and benchmarks read the CLI's JSON documents untyped; the JSON schemas check them instead.
    files: ["test/**", "bench/**", "**/*.test.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // Node scripts and configs in plain JavaScript.
    files: ["**/*.js", "**/*.cjs", "**/*.mjs"],
    languageOptions: {
      globals: { process: "readonly", console: "readonly", URL: "readonly", module: "writable", require: "readonly", __dirname: "readonly" },
    },
  },
  {
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs" },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
