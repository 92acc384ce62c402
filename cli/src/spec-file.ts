/** Reading a matrix spec for `netmatrix run --spec`, with the CLI's overrides applied. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
import { parse } from "yaml";
import { NetmatrixError } from "../../common/src/errors.js";
import { parseSpec, specFromObject, SpecError, type MatrixSpec } from "../../coordinator/src/matrix/index.js";

/** The spec shipped with netmatrix: seed 001's eight-way table plus the host-host baseline. */
export function defaultSpecPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "specs", "default.yaml")) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, "specs", "default.yaml");
}

export interface LoadedSpec {
  spec: MatrixSpec;
  /** What the coordinator runs: the YAML's object with the overrides, as JSON. */
  json: string;
  yaml: string;
  source: string;
}

/**
 * Read `file` ("default" for the shipped spec), validate it (errors name the
 * line and the fix), and apply `overrides` (YAML keys, e.g. { duration: 5 }).
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
    parseSpec(yaml, path);
    const raw = { ...(parse(yaml) as Record<string, unknown>), ...overrides };
    return { spec: specFromObject(raw, path), json: JSON.stringify(raw), yaml, source: path };
  } catch (err) {
    if (err instanceof SpecError) throw new NetmatrixError("invalid-argument", err.message, { cause: err });
    throw err;
  }
}
