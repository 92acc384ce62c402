#!/usr/bin/env node
// npm's `prepare` (run by `npm ci`, `npm install`, and by `npx netmatrix`, which links this
// checkout into npm's npx cache): build dist/ only when it is missing or older than a source,
// silently otherwise, and never fail an npx call because the checkout is not writable by the
// user running it (a root-owned clone): that user gets dist/ as it is, and a note when it is
// stale. `npm run build` always builds.
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const built = join(root, "dist", "cli", "src", "main.js");
const tsconfig = join(root, "tsconfig.json");

/** The newest modification time (ms) of the TypeScript sources tsc compiles, and of tsconfig.json. */
function newestSource() {
  let newest = statSync(tsconfig).mtimeMs;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of JSON.parse(readFileSync(tsconfig, "utf8")).include) if (existsSync(join(root, dir))) walk(join(root, dir));
  return newest;
}

function writable(path) {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

const missing = !existsSync(built);
if (!missing && statSync(built).mtimeMs >= newestSource()) process.exit(0);

const target = existsSync(join(root, "dist")) ? join(root, "dist") : root;
if (!writable(target) || (!missing && !writable(built))) {
  process.stderr.write(
    missing
      ? `netmatrix: not built, and ${target} is not writable by this user: run \`npm ci\` (or \`npm run build\`) in ${root} as its owner\n`
      : `netmatrix: dist/ is older than the sources, and ${target} is not writable by this user: using it as it is; run \`npm run build\` in ${root} as its owner\n`,
  );
  process.exit(missing ? 1 : 0);
}

const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
if (!existsSync(tsc)) {
  process.stderr.write(`netmatrix: cannot build: no TypeScript in ${join(root, "node_modules")}; run \`npm ci\` (with dev dependencies) in ${root}\n`);
  process.exit(missing ? 1 : 0);
}
const r = spawnSync(process.execPath, [tsc, "-p", tsconfig], { cwd: root, stdio: "inherit" });
process.exit(r.status ?? 1);
