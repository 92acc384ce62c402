/**
 * Typed field readers for the matrix spec validator: each reads one key of a
 * plain object and checks its type and range. A problem (a SpecError naming
 * the key's line and the fix) is recorded and the reader goes on with the
 * key's default, or without the bad list entry, so `check()` can report
 * every problem of a spec at once. Pure.
 */
import { SpecError, closest, show, type Locator, type SpecPath } from "./spec-error.js";
import type { PairSelection, Thresholds } from "./spec-types.js";
import { formatBitrateBps, formatSizeBytes, parseBitrateBps, parseSizeBytes } from "../../../common/src/units.js";
import { labelKeyProblem, nameProblem } from "../../../common/src/registration.js";

/** Inclusive bounds. */
export interface Bounds {
  min: number;
  max: number;
}

/** How list entries are read: sizes ("128K" → bytes), rates ("1G" → bits/s), or a custom reader. */
type EntryParser = "size" | "rate" | ((v: unknown) => number | undefined);

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Reads fields of one raw spec object; every failure is a SpecError, recorded until `check()`. */
export class SpecReader {
  /** Problems found so far, in the order found. */
  private readonly problems: SpecError[] = [];
  /** Top-level keys with a problem: checks across keys skip them rather than report a consequence. */
  private readonly badKeys = new Set<string>();

  constructor(
    private readonly raw: unknown,
    private readonly source: string,
    private readonly locate: Locator,
  ) {
    if (!isRecord(raw)) {
      this.fail([], "value", `the spec must be a mapping of keys (name:, scenarios:, …), got ${show(raw)}`, "start from specs/default.yaml");
    }
  }

  /** Throw a SpecError for `path` (within a reader, which records it; see `report` outside one). */
  fail(path: SpecPath, what: "key" | "value", problem: string, fix: string): never {
    throw new SpecError(this.source, this.locate(path, what), path, problem, fix);
  }

  /** Record a problem at `path` and go on. */
  report(path: SpecPath, what: "key" | "value", problem: string, fix: string): void {
    this.record(new SpecError(this.source, this.locate(path, what), path, problem, fix), path);
  }

  /** Whether none of these top-level keys had a problem (so a check across them means something). */
  valid(...keys: string[]): boolean {
    return keys.every((k) => !this.badKeys.has(k));
  }

  /** Throw every problem recorded (one SpecError, listing them all, bounded); nothing when there is none. */
  check(): void {
    if (this.problems.length) throw SpecError.all(this.problems);
  }

  private record(e: SpecError, path: SpecPath): void {
    this.problems.push(e);
    if (path.length) this.badKeys.add(String(path[0]));
  }

  /** `read()`, or `fallback` when it fails (the failure recorded). */
  private guard<T>(path: SpecPath, read: () => T, fallback: T): T {
    try {
      return read();
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      this.record(err, path);
      return fallback;
    }
  }

  /** Each entry of `list` read by `read(entry, i)`, leaving out (and recording) those that fail. */
  private entries<T>(path: SpecPath, list: unknown[], read: (v: unknown, i: number) => T): T[] {
    const out: T[] = [];
    list.forEach((v, i) => {
      const missing = Symbol("failed");
      const r = this.guard<T | typeof missing>(path, () => read(v, i), missing);
      if (r !== missing) out.push(r);
    });
    return out;
  }

  /** The raw value at `path` (undefined when absent). */
  get(path: SpecPath): unknown {
    let v: unknown = this.raw;
    for (const p of path) v = isRecord(v) || Array.isArray(v) ? (v as Record<string | number, unknown>)[p] : undefined;
    return v;
  }

  /** Reject keys of the mapping at `path` that are not in `known` (typos must not pass silently). */
  onlyKeys(path: SpecPath, known: readonly string[]): void {
    const obj = this.get(path);
    if (!isRecord(obj)) return;
    for (const key of Object.keys(obj)) {
      if (known.includes(key)) continue;
      const guess = closest(key, known);
      const where = path.length ? ` in ${path.join(".")}` : "";
      this.report([...path, key], "key", `unknown key "${key}"${where}`, guess ? `did you mean "${guess}"? (keys: ${known.join(", ")})` : `use one of: ${known.join(", ")}`);
    }
  }

  /** The run name: required, 1–64 of letters, digits, '.', '_', '-'. */
  name(path: SpecPath): string {
    return this.guard(path, () => this.readName(path), "");
  }

  private readName(path: SpecPath): string {
    const v = this.get(path);
    if (v === undefined) this.fail(path, "key", `missing key "name"`, "add e.g. `name: my-cluster-matrix`");
    if (typeof v === "number") this.fail(path, "value", `name ${v} is a number`, `quote it: \`name: "${v}"\``);
    if (typeof v !== "string" || !NAME_RE.test(v)) {
      this.fail(path, "value", `name ${show(v)} is not a valid run name`, "use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
    return v;
  }

  /** A whole number in `b` (unit for messages), or `fallback` when absent. */
  integer(path: SpecPath, b: Bounds, unit: string, fallback: number): number {
    return this.guard(path, () => this.readInteger(path, b, unit, fallback), fallback);
  }

  private readInteger(path: SpecPath, b: Bounds, unit: string, fallback: number): number {
    const v = this.get(path);
    if (v === undefined) return fallback;
    const key = path.join(".");
    const u = unit ? ` ${unit}` : "";
    if (typeof v !== "number" || !Number.isInteger(v)) {
      this.fail(path, "value", `${key} must be a whole number${u}, got ${show(v)}`, `use a whole number in ${b.min}..${b.max}${u}`);
    }
    if (v < b.min || v > b.max) this.fail(path, "value", `${key} ${v}${u} is outside ${b.min}..${b.max}${u}`, `use a value in ${b.min}..${b.max}`);
    return v;
  }

  /** A number (fractions allowed) in `b`, or `fallback` when absent. */
  number(path: SpecPath, b: Bounds, unit: string, fallback: number): number {
    return this.guard(path, () => this.readNumber(path, b, unit, fallback), fallback);
  }

  private readNumber(path: SpecPath, b: Bounds, unit: string, fallback: number): number {
    const v = this.get(path);
    if (v === undefined) return fallback;
    const key = path.join(".");
    if (typeof v !== "number" || !Number.isFinite(v) || v < b.min || v > b.max) {
      this.fail(path, "value", `${key} ${show(v)} is not a number in ${b.min}..${b.max}${unit}`, `use a number in ${b.min}..${b.max}`);
    }
    return v;
  }

  /** A non-empty list of distinct names from `allowed` (so at most all of them); `fallback` when absent (undefined = required). */
  enumList<T extends string>(path: SpecPath, allowed: readonly T[], what: string, fallback: T[] | undefined): T[] {
    const list = this.guard(path, () => this.list(path, `[${allowed.slice(0, 2).join(", ")}]`, allowed.join(", "), fallback, allowed.length), [...(fallback ?? [])]);
    const seen = new Set<string>();
    return this.entries(path, list, (v, i) => {
      if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
        const guess = typeof v === "string" ? closest(v, allowed) : undefined;
        this.fail(
          [...path, i],
          "value",
          `unknown ${what} ${show(v)}`,
          guess ? `did you mean "${guess}"? (use one of: ${allowed.join(", ")})` : `use one of: ${allowed.join(", ")}`,
        );
      }
      if (seen.has(v)) this.fail([...path, i], "value", `${what} "${v}" is listed twice`, "remove the duplicate");
      seen.add(v);
      return v as T;
    });
  }

  /** A non-empty list of at most `maxEntries` distinct whole numbers read by `parse` within `b`; `fallback` when absent. */
  numberList(path: SpecPath, what: string, parse: EntryParser, b: Bounds, unit: string, example: string, fallback: number[], maxEntries: number): number[] {
    const read = parse === "size" ? parseSizeBytes : parse === "rate" ? parseBitrateBps : parse;
    const fmt = parse === "size" ? formatSizeBytes : parse === "rate" ? formatBitrateBps : String;
    const list = this.guard(path, () => this.list(path, `[${fmt(fallback[0] ?? b.min)}]`, example, fallback, maxEntries), [...fallback]);
    const seen = new Set<number>();
    return this.entries(path, list, (v, i) => {
      const n = read(v);
      if (n === undefined) this.fail([...path, i], "value", `${what} ${show(v)} is not understood`, `write ${example}`);
      if (n < b.min || n > b.max) {
        this.fail([...path, i], "value", `${what} ${show(v)} is outside ${fmt(b.min)}..${fmt(b.max)}${unit}`, `use ${example} within that range`);
      }
      if (seen.has(n)) this.fail([...path, i], "value", `${what} ${show(v)} is listed twice`, "remove the duplicate");
      seen.add(n);
      return n;
    });
  }

  /**
   * A list key that may also be the word `sweep`: `sweep` gives the steps
   * `steps` (a copy), a list is read by `read`, any other word is refused
   * naming both forms (`example`: a list to write instead).
   */
  listOrSweep(path: SpecPath, steps: readonly number[], stepsText: string, example: string, read: () => number[]): number[] {
    const v = this.get(path);
    if (v === "sweep") return [...steps];
    if (typeof v === "string") {
      const key = path.join(".");
      this.report(path, "value", `${key} ${show(v)} is neither a list nor "sweep"`, `write \`${key}: sweep\` (${stepsText}) or a list such as ${example}`);
      return [...steps];
    }
    return read();
  }

  /**
   * `pairs`: all | ring | { sample: N, by?: KEY } | { cover: K, by?: KEY } |
   * { nodes: [a, b, …] } (at most `b.maxNodes` node names, each a valid node
   * name; `by` a Kubernetes label key).
   */
  pairs(path: SpecPath, fallback: PairSelection, b: { sample: Bounds; cover: Bounds; maxNodes: number }): PairSelection {
    return this.guard(path, () => this.readPairs(path, fallback, b), fallback);
  }

  private readPairs(path: SpecPath, fallback: PairSelection, b: { sample: Bounds; cover: Bounds; maxNodes: number }): PairSelection {
    const v = this.get(path);
    const fix =
      "write `pairs: all`, `pairs: ring`, `pairs: { sample: 10 }`, `pairs: { sample: 500, by: topology.kubernetes.io/zone }`, `pairs: { cover: 3, by: topology.kubernetes.io/zone }` or `pairs: { nodes: [node-a, node-b] }`";
    if (v === undefined) return fallback;
    if (v === "all" || v === "ring") return { kind: v };
    if (!isRecord(v)) this.fail(path, "value", `pairs ${show(v)} is not a pair selection`, fix);
    const known = ["sample", "cover", "nodes", "by"];
    this.onlyKeys(path, known);
    const keys = Object.keys(v);
    // An unknown key is reported above; guessing what it meant would only add a second problem.
    if (keys.some((k) => !known.includes(k))) return fallback;
    const kinds = keys.filter((k) => k !== "by");
    if (kinds.length !== 1) this.fail(path, "value", `pairs needs exactly one of "sample", "cover" or "nodes"`, fix);
    const kind = kinds[0]!;
    const by = v["by"] === undefined ? undefined : this.guard<string | undefined>([...path, "by"], () => this.readLabelKey([...path, "by"], kind), undefined);
    if (kind === "sample") return { kind: "sample", count: this.integer([...path, "sample"], b.sample, "", 1), ...(by ? { by } : {}) };
    if (kind === "cover") {
      const k = this.guard([...path, "cover"], () => this.readCoverK([...path, "cover"], b.cover), 1);
      return { kind: "cover", k, ...(by ? { by } : {}) };
    }
    const nodes = this.list([...path, "nodes"], "[node-a, node-b]", "node names", undefined, b.maxNodes);
    const seen = new Set<string>();
    const good = this.entries(path, nodes, (n, i) => {
      if (typeof n !== "string" || n === "") this.fail([...path, "nodes", i], "value", `node ${show(n)} is not a node name`, "write the node's name as its agents registered it");
      const problem = nameProblem(n);
      if (problem) this.fail([...path, "nodes", i], "value", `node name ${problem}`, "write the node's name as its agents registered it (a Kubernetes node name)");
      if (seen.has(n)) this.fail([...path, "nodes", i], "value", `node "${n}" is listed twice`, "remove the duplicate");
      seen.add(n);
      return n;
    });
    return { kind: "nodes", nodes: good };
  }

  /** `pairs.cover`: how many times every node is client and server, a whole number in `b`. */
  private readCoverK(path: SpecPath, b: Bounds): number {
    const v = this.get(path);
    if (typeof v !== "number" || !Number.isInteger(v) || v < b.min || v > b.max) {
      this.fail(
        path,
        "value",
        `pairs.cover ${show(v)} is not a whole number in ${b.min}..${b.max}`,
        `write how many times every node is client and server, e.g. \`pairs: { cover: 3 }\` (${b.min}..${b.max}; a full mesh is \`pairs: all\`)`,
      );
    }
    return v;
  }

  /** `pairs.by`: the node label key to stratify (`sample`) or spread (`cover`) by; only with those. */
  private readLabelKey(path: SpecPath, kind: string): string {
    const v = this.get(path);
    if (kind === "nodes") {
      this.fail(
        path,
        "key",
        `pairs.by does not apply to "nodes" (every ordered pair among them is run)`,
        "remove `by`, or use `pairs: { sample: N, by: KEY }` or `pairs: { cover: K, by: KEY }`",
      );
    }
    const example = "e.g. `by: topology.kubernetes.io/zone` (a node label the agents give with --label)";
    if (typeof v !== "string") this.fail(path, "value", `pairs.by ${show(v)} is not a node label key`, `write a Kubernetes label key, ${example}`);
    const problem = labelKeyProblem(v);
    if (problem) this.fail(path, "value", `pairs.by ${problem}`, `write a Kubernetes label key, ${example}`);
    return v;
  }

  /** `thresholds: { cvPercent, udpLossPercent }`, each optional. */
  thresholds(path: SpecPath, fallback: Thresholds, b: { cvPercent: Bounds; udpLossPercent: Bounds }): Thresholds {
    return this.guard(path, () => this.readThresholds(path, fallback, b), { ...fallback });
  }

  private readThresholds(path: SpecPath, fallback: Thresholds, b: { cvPercent: Bounds; udpLossPercent: Bounds }): Thresholds {
    const v = this.get(path);
    if (v === undefined) return { ...fallback };
    if (!isRecord(v)) this.fail(path, "value", `thresholds ${show(v)} is not a mapping`, "write `thresholds: { cvPercent: 10, udpLossPercent: 1 }`");
    this.onlyKeys(path, ["cvPercent", "udpLossPercent"]);
    return {
      cvPercent: this.number([...path, "cvPercent"], b.cvPercent, " %", fallback.cvPercent),
      udpLossPercent: this.number([...path, "udpLossPercent"], b.udpLossPercent, " %", fallback.udpLossPercent),
    };
  }

  /**
   * `crosscheck`: true (every row), false (none), or a list of distinct
   * scenario names from `known`, each one of the spec's rows `rows` (unchecked
   * when `rows` is undefined: the scenarios key had its own problem).
   */
  crosscheck<T extends string>(path: SpecPath, known: readonly T[], rows: readonly T[] | undefined, fallback: boolean | T[]): boolean | T[] {
    const v = this.get(path);
    if (v === undefined) return fallback;
    if (typeof v === "boolean") return v;
    const fix = "write `crosscheck: true` (every row), `crosscheck: false`, or the rows to cross-check, e.g. `crosscheck: [host-host, pod-pod-cross]`";
    if (!Array.isArray(v)) return this.guard(path, () => this.fail(path, "value", `crosscheck ${show(v)} is neither true, false nor a list of scenarios`, fix), fallback);
    const names = this.enumList(path, known, "scenario", undefined);
    return this.entries<T>(path, names, (raw) => {
      const n = raw as T;
      if (rows && !rows.includes(n)) {
        const i = v.indexOf(n);
        this.fail(
          [...path, i],
          "value",
          `crosscheck lists scenario "${n}", which is not one of the spec's scenarios (${rows.join(", ")})`,
          `add "${n}" to scenarios, or remove it from crosscheck`,
        );
      }
      return n;
    });
  }

  /** The non-empty list at `path` of at most `max` entries; `fallback` when absent (undefined = the key is required). */
  private list<T>(path: SpecPath, shape: string, choices: string, fallback: T[] | undefined, max: number): unknown[] {
    const v = this.get(path);
    const key = path.join(".");
    if (v === undefined) {
      if (fallback) return [...fallback];
      this.fail(path, "key", `missing key "${key}"`, `add e.g. \`${key}: ${shape}\` (${choices})`);
    }
    if (!Array.isArray(v)) this.fail(path, "value", `${key} must be a list, got ${show(v)}`, `write it in brackets, e.g. \`${key}: ${shape}\``);
    if (v.length === 0) this.fail(path, "value", `${key} is empty`, `list at least one (${choices})`);
    if (v.length > max)
      this.fail(
        path,
        "value",
        `${key} lists ${v.length} entries, more than the ${max} a spec may list`,
        `list at most ${max} (distinct) entries, or split the spec into several runs`,
      );
    return v;
  }
}
