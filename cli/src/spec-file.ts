/** Reading a matrix spec for `netmatrix run --spec`, with the CLI's overrides applied. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
import { NetmatrixError } from "../../common/src/errors.js";
import { parseSpec, SpecError, type MatrixSpec } from "../../coordinator/src/matrix/index.js";

/** The spec shipped with netmatrix: seed 001's eight-way table plus the host-host baseline. */
export function defaultSpecPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "specs", "default.yaml")) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, "specs", "default.yaml");
}

export interface LoadedSpec {
  /** What the coordinator runs: the file's spec with the overrides, validated. */
  spec: MatrixSpec;
  /** The file as written, kept with the run. */
  yaml: string;
  /** Where it came from, for messages. */
  source: string;
}

/**
 * Read `file` ("default" for the shipped spec) and validate it once, with
 * `overrides` (YAML keys, e.g. { duration: 5 }) in place of the file's keys:
 * errors name the line and the fix. The one place a spec file is read.
 */
export function loadSpec(file: string, overrides: Record<string, unknown>): LoadedSpec {
  const path = file === "default" ? defaultSpecPath() : file;
  let yaml: string;
  try {
    yaml = readFileSync(path, "utf8");
  } catch (err) {
    throw new NetmatrixError("invalid-argument", `cannot read spec ${path}: ${(err as Error).message}`, { hint: "give a YAML file, or --spec default for the shipped one" });
  }
  try {
    return { spec: parseSpec(yaml, path, overrides), yaml, source: path };
  } catch (err) {
    if (err instanceof SpecError) throw new NetmatrixError("invalid-argument", err.message, { cause: err });
    throw err;
  }
}
