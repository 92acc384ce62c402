/**
 * Which tools this agent has, and their versions: looked up on PATH and asked
 * for their version once at start-up.
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { exec } from "../../common/src/exec.js";
import type { Driver, ToolName } from "../../tools/src/index.js";

/** What the agent found for one tool. */
export interface FoundTool {
  driver: Driver<ToolName>;
  /** Absolute path, undefined when missing. */
  path: string | undefined;
  version: string | undefined;
}

/** The first executable named `name` on `pathEnv`, or undefined. */
export function which(name: string, pathEnv = process.env.PATH ?? ""): string | undefined {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Look up every driver's binary and version. */
export async function discoverTools(drivers: Driver<ToolName>[]): Promise<FoundTool[]> {
  return Promise.all(
    drivers.map(async (driver) => {
      const path = which(driver.binary);
      if (!path) return { driver, path: undefined, version: undefined };
      const [, ...args] = driver.versionArgv();
      const res = await exec({ argv: [path, ...args], deadlineMs: 5000, guard: false });
      return { driver, path, version: driver.parseVersion(`${res.stdout}\n${res.stderr}`) };
    }),
  );
}
