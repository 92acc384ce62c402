/** Where this checkout's `netmatrix` entry point is, for the lab's background processes. */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout's root: the nearest directory above this file holding package.json. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** The `netmatrix` entry point of this checkout. */
export const NETMATRIX_BIN = join(repoRoot(), "bin", "netmatrix.js");
