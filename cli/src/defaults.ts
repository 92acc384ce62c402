/**
 * Where things are when nobody says: the coordinator's address, its data
 * directory and the token file in it. A CLI on the coordinator's machine
 * needs no flags.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const DEFAULT_COORDINATOR = "127.0.0.1:7400";
export const COORDINATOR_ENV = "NETMATRIX_COORDINATOR";
export const DATA_DIR_ENV = "NETMATRIX_DATA_DIR";

/** $NETMATRIX_DATA_DIR, else ~/.netmatrix. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env[DATA_DIR_ENV] || join(homedir(), ".netmatrix");
}

/** The token file the coordinator writes by default. */
export function defaultTokenFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(defaultDataDir(env), "token");
}

/** The default token file when it exists (so a local CLI needs no flags), else undefined. */
export function existingDefaultTokenFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const f = defaultTokenFile(env);
  return existsSync(f) ? f : undefined;
}
