#!/usr/bin/env node
// Entry point of the `netmatrix` command: runs the compiled CLI in dist/.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const main = new URL("../dist/cli/src/main.js", import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error("netmatrix is not built yet: run `npm ci` (or `npm run build`) in the repository first.");
  process.exit(2);
}
await import(main.href);
