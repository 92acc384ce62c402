/**
 * The error a malformed matrix spec raises: it names the file and line, the
 * offending key or value, and the fix, e.g.
 * `spec.yaml:4: unknown scenario "pod-pod"; use one of: host-host, pod-pod-cross, …`.
 */
import { NetmatrixError } from "../../../common/src/errors.js";

/** A position in the spec's text, 1-based. */
export interface SpecPosition {
  line: number;
  column: number;
}

/** A key path into the spec document, e.g. ["scenarios", 1] or ["thresholds", "cvPercent"]. */
export type SpecPath = readonly (string | number)[];

/**
 * Finds where `path` is written: the key itself (`"key"`, for unknown or
 * misplaced keys) or its value (`"value"`). Undefined when the spec has no
 * text (built from CLI flags) or the path is not written (a missing key).
 */
export type Locator = (path: SpecPath, what: "key" | "value") => SpecPosition | undefined;

/** A locator for specs that have no text: every position is unknown. */
export const NO_LOCATION: Locator = () => undefined;

/** At most this many problems of one spec are listed; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 20;

/**
 * A malformed matrix spec. `message` is the whole story: `source:line:
 * problem; fix` — or, when the spec has several problems, a line saying how
 * many and then each (up to MAX_LISTED_PROBLEMS, in line order), so one
 * round of fixes covers them all.
 */
export class SpecError extends NetmatrixError {
  override readonly name = "SpecError";
  /** Where the spec came from: a file path, or e.g. "<flags>". */
  readonly source: string;
  /** 1-based line of the offending key/value (the first problem's); undefined when unknown. */
  readonly line: number | undefined;
  /** 1-based column; undefined when unknown. */
  readonly column: number | undefined;
  /** Dotted key path of the offending entry, e.g. "scenarios[1]", "pairs.sample"; "" for the document. */
  readonly path: string;
  /** Every problem found, in line order (just this one, unless built by `SpecError.all`). */
  readonly problems: readonly SpecError[];

  constructor(source: string, at: SpecPosition | undefined, path: SpecPath | string, problem: string, fix: string, problems?: readonly SpecError[]) {
    const where = at ? `${source}:${at.line}` : source;
    super("invalid-argument", fix ? `${where}: ${problem}; ${fix}` : `${where}: ${problem}`);
    this.source = source;
    this.line = at?.line;
    this.column = at?.column;
    this.path = typeof path === "string" ? path : formatPath(path);
    this.problems = problems ?? [this];
    if (problems && problems.length > 1) this.message = listProblems(source, problems);
  }

  /** One error for `errors` (at least one): the error itself when alone, else all of them, sorted by line. */
  static all(errors: readonly SpecError[]): SpecError {
    if (errors.length === 0) throw new Error("SpecError.all needs at least one error");
    if (errors.length === 1) return errors[0]!;
    // Stable: problems without a line (flags overriding the file) first, in the order found.
    const sorted = [...errors].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    const first = sorted[0]!;
    const at = first.line === undefined ? undefined : { line: first.line, column: first.column ?? 1 };
    return new SpecError(first.source, at, first.path, "", "", sorted);
  }
}

/** "spec.yaml: 3 problems:" and each problem's own message on an indented line, bounded. */
function listProblems(source: string, problems: readonly SpecError[]): string {
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => `  ${p.message}`);
  const more = problems.length - listed.length;
  if (more > 0) listed.push(`  … and ${more} more (fix these and run again to see them)`);
  return `${source}: ${problems.length} problems:\n${listed.join("\n")}`;
}

/** ["scenarios", 1] → "scenarios[1]"; ["thresholds", "cvPercent"] → "thresholds.cvPercent". */
export function formatPath(path: SpecPath): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

/** `value` for a message: strings quoted, everything else as YAML-ish JSON, bounded. */
export function show(value: unknown): string {
  const text = typeof value === "string" ? JSON.stringify(value) : value === undefined ? "nothing" : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

/**
 * The option `word` most likely meant: the only option it abbreviates
 * ("cv" → "cvPercent"), else the closest by edit distance when that is at
 * most 2 edits (a typo); undefined when nothing is close.
 */
export function closest(word: string, options: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  const prefixed = options.filter((o) => w.length >= 2 && o.toLowerCase().startsWith(w));
  if (prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestD = 3;
  for (const o of options) {
    const d = editDistance(word.toLowerCase(), o.toLowerCase());
    if (d < bestD) {
      best = o;
      bestD = d;
    }
  }
  return best;
}

/** Levenshtein distance (insert, delete, substitute each cost 1). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, prev[j]! + 1, cur[j - 1]! + 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
