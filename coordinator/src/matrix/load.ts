/**
 * The one impure corner of the matrix module: read a spec file from disk and
 * hand its text to the pure `parseSpec`.
 */
import { readFile } from "node:fs/promises";
import { SpecError } from "./spec-error.js";
import { parseSpec, type MatrixSpec } from "./spec.js";

/**
 * Read and validate the YAML matrix spec at `path`. Messages name `path` as
 * given (`specs/lab.yaml:4: …`). Throws a SpecError when the file cannot be
 * read or the spec is malformed.
 */
export async function loadSpecFile(path: string): Promise<MatrixSpec> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (err as Error).message;
    throw new SpecError(path, undefined, [], `cannot read the matrix spec (${reason})`, "check the path; specs/default.yaml is the shipped example");
  }
  return parseSpec(text, path);
}
