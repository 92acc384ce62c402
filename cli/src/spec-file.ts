/** Reading a matrix spec for `netmatrix run --spec`, with the CLI's overrides applied. */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
import { NetmatrixError } from "../../common/src/errors.js";
import { parseSpec, SpecError, type MatrixSpec } from "../../coordinator/src/matrix/index.js";

/** The spec shipped with netmatrix: field report 001's eight-way table plus the host-host baseline. */
export function defaultSpecPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "specs", "default.yaml")) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, "specs", "default.yaml");
}

/** The largest spec file the CLI reads: a spec lists values to cross, not cases (specs/default.yaml is 3 KB). */
export const MAX_SPEC_BYTES = 1024 * 1024;

function tooBig(path: string, size: string): NetmatrixError {
  return new NetmatrixError(
    "invalid-argument",
    `spec ${path} is ${size}, more than the ${MAX_SPEC_BYTES} bytes (1 MiB) a spec file may have; a spec lists the values to cross (see specs/default.yaml), not the cases — split it into smaller specs`,
    { hint: "shorten the spec: list values, not cases; split a large matrix into several specs" },
  );
}

/**
 * The text of `path`, refused before reading when it is larger than
 * MAX_SPEC_BYTES; a pipe or device that says nothing of its size is read up
 * to the limit and no further.
 */
function readSpecFile(path: string): string {
  const fd = openSync(path, "r");
  try {
    const st = fstatSync(fd);
    if (st.isFile() && st.size > MAX_SPEC_BYTES) throw tooBig(path, `${st.size} bytes`);
    const buf = Buffer.alloc(MAX_SPEC_BYTES + 1);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    if (n > MAX_SPEC_BYTES) throw tooBig(path, "larger than that");
    return buf.toString("utf8", 0, n);
  } finally {
    closeSync(fd);
  }
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
    yaml = readSpecFile(path);
  } catch (err) {
    if (err instanceof NetmatrixError) throw err;
    throw new NetmatrixError("invalid-argument", `cannot read spec ${path}: ${(err as Error).message}`, { hint: "give a YAML file, or --spec default for the shipped one" });
  }
  try {
    return { spec: parseSpec(yaml, path, overrides), yaml, source: path };
  } catch (err) {
    if (err instanceof SpecError) throw new NetmatrixError("invalid-argument", err.message, { cause: err });
    throw err;
  }
}
