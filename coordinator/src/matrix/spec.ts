/**
 * The matrix spec: which scenarios, tools, protocols, directions and
 * parameters to cross, over which node pairs, how often. Written as YAML
 * (`parseSpec`) or built from an object such as the CLI's flags
 * (`specFromObject`); both go through one validator, so a typo is an error
 * naming the line and the fix, never a silently ignored key. Pure.
 */
import { LineCounter, isMap, isNode, isScalar, parseDocument, type Document } from "yaml";
import { LIMITS } from "../../../tools/src/limits.js";
import { drivers, tools as toolCatalogue } from "../../../tools/src/index.js";
import { SCENARIOS } from "../../../common/src/scenarios.js";
import { NO_LOCATION, SpecError, type Locator, type SpecPath } from "./spec-error.js";
import { SpecReader } from "./spec-reader.js";
import type { MatrixSpec } from "./spec-types.js";
import { ownCombinations } from "./variants.js";
import { families, httpModes } from "../../../common/src/model.js";
import { LENGTH_SWEEP_BYTES, MSS_SWEEP_BYTES } from "./sweeps.js";
import { readUdpLadder } from "./spec-ladder.js";

export type { MatrixSpec, PairSelection, Thresholds } from "./spec-types.js";

/** Every key a spec may have, in the order messages list them. */
export const SPEC_KEYS = [
  "name",
  "scenarios",
  "tools",
  "protocols",
  "directions",
  "parallel",
  "lengths",
  "udpBitrates",
  "duration",
  "omit",
  "repetitions",
  "pairs",
  "concurrency",
  "thresholds",
  "seed",
  "connections",
  "bodies",
  "httpModes",
  "messageRates",
  "mss",
  "crosscheck",
  "udp",
  "families",
] as const;

/** Values used for keys a spec leaves out (`name` and `scenarios` have none: they are required). */
export const SPEC_DEFAULTS: Omit<MatrixSpec, "name" | "scenarios"> = {
  tools: ["iperf3"],
  protocols: ["tcp"],
  directions: ["forward"],
  parallel: [1],
  lengthsBytes: [0],
  udpBitratesBps: [1e9],
  durationS: 10,
  omitS: 1,
  repetitions: 3,
  pairs: { kind: "all" },
  concurrency: 1,
  thresholds: { cvPercent: 10, udpLossPercent: 1 },
  seed: 0,
  connections: [16],
  bodiesBytes: [1024],
  httpModes: ["keepalive"],
  messageRatesPerS: [0],
  mssBytes: [],
  crosscheck: false,
  families: ["ipv4"],
};

/**
 * Bounds the validator enforces, inclusive, in the units the names state.
 * Those an agent also enforces come from the agents' own limits, so a spec
 * never plans what an agent would refuse.
 */
export const SPEC_BOUNDS = {
  durationS: LIMITS.durationS,
  omitS: LIMITS.omitS,
  parallel: LIMITS.parallel,
  /** TCP buffers up to 16 MiB; UDP datagrams above 65507 B are skipped by the planner. */
  lengthBytes: LIMITS.lengthBytesTcp,
  /** 1 bit/s to 100 Gbit/s. */
  udpBitrateBps: { min: 1, max: LIMITS.bitrateBps.max },
  repetitions: LIMITS.repetitions,
  concurrency: { min: 1, max: 10_000 },
  sample: { min: 1, max: 10_000_000 },
  /** `pairs: { cover: K }`: every node client and server at least K times. */
  cover: { min: 1, max: 100 },
  cvPercent: { min: 0, max: 1000 },
  udpLossPercent: { min: 0, max: 100 },
  /** `seed`: a protobuf uint32. */
  seed: { min: 0, max: 0xffff_ffff },
  /** http `connections`: wrk's concurrent connections (the agent's nginx takes 10240 at once). */
  connections: { min: 1, max: LIMITS.connections.max },
  /** http `bodies`: the response body, up to 64 MiB. */
  bodyBytes: LIMITS.bodyBytes,
  /** sockperf `messageRates`: messages/s, 0 = ping-pong. */
  messageRatePerS: LIMITS.messageRatePerS,
  /** `mss`: Linux's smallest TCP_MAXSEG (88) to iperf3's largest -M (9 KiB). */
  mssBytes: { min: 88, max: 9216 },
  /** Entries of `parallel`, `lengths`, `udpBitrates`, `connections`, `bodies` and `messageRates`, each (the other lists are of distinct names, so at most all of them). */
  listEntries: { min: 1, max: 32 },
  /** Node names in `pairs: { nodes }` (each a Kubernetes node name). */
  nodes: { min: 1, max: 10_000 },
  /** Parameter combinations: tools × directions × parallel × lengths × (1 for TCP + udpBitrates for UDP). */
  combinations: { min: 1, max: 20_000 },
} as const;

/**
 * Parse and validate a YAML matrix spec. `source` names it in messages
 * (usually the file path). `overrides` replace top-level keys of the file
 * (YAML keys, e.g. the CLI's `--duration` as { duration: 5 }); messages about
 * them name `source` without a line. Throws a SpecError naming `source:line`,
 * listing every problem when there are several.
 */
export function parseSpec(text: string, source: string, overrides: Readonly<Record<string, unknown>> = {}): MatrixSpec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length) {
    // Every syntax error at once, each with its line.
    throw SpecError.all(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const reason = (e.message.split("\n")[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, "");
        const fix = e.code === "DUPLICATE_KEY" ? "write each key once" : "fix the syntax (indentation, a missing ':' or an unclosed bracket are the usual causes)";
        return new SpecError(source, pos ? { line: pos.line, column: pos.col } : undefined, [], `not valid YAML: ${reason}`, fix);
      }),
    );
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    throw new SpecError(source, { line: 1, column: 1 }, [], "the spec is empty", "start from specs/default.yaml");
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  const locate = yamlLocator(doc, lineCounter);
  const overridden = Object.keys(overrides);
  // A document that is not a mapping is refused as written, overrides or not.
  if (!overridden.length || typeof raw !== "object" || raw === null || Array.isArray(raw)) return specFromObject(raw, source, locate);
  return specFromObject({ ...(raw as Record<string, unknown>), ...overrides }, source, (path, what) => (overridden.includes(String(path[0])) ? undefined : locate(path, what)));
}

/**
 * Validate a spec given as a plain object (from YAML, JSON or CLI flags),
 * filling defaults for absent keys. `locate` maps key paths to positions for
 * messages; without it messages name only `source`.
 */
export function specFromObject(raw: unknown, source = "<spec>", locate: Locator = NO_LOCATION): MatrixSpec {
  const r = new SpecReader(raw, source, locate);
  r.onlyKeys([], SPEC_KEYS);
  const d = SPEC_DEFAULTS;
  const durationS = r.integer(["duration"], SPEC_BOUNDS.durationS, "s", d.durationS);
  const omitS = r.integer(["omit"], SPEC_BOUNDS.omitS, "s", d.omitS);
  if (r.valid("duration", "omit") && omitS > 0 && omitS >= durationS) {
    r.report(["omit"], "value", `omit ${omitS} s is not shorter than duration ${durationS} s`, `use an omit below ${durationS}, or 0`);
  }
  const entries = SPEC_BOUNDS.listEntries.max;
  const tools = r.enumList(["tools"], toolCatalogue.names, "tool", d.tools);
  // Duration and omit in range can still make a tool run past the cap (qperf runs two tests of `duration`).
  for (const tool of tools) {
    const length = { durationS, ...(drivers[tool].capabilities.omit ? { omitS } : {}) };
    const ms = drivers[tool].runMs(length);
    if (r.valid("duration", "omit") && ms > LIMITS.runS.max * 1000) {
      const { figures, shorten } = drivers[tool].describeRun(length);
      r.report(["duration"], "value", `${tool} would run for ${Math.round(ms / 1000)} s (${figures}), above the ${LIMITS.runS.max} s a test may run`, shorten);
    }
  }
  const spec: MatrixSpec = {
    name: r.name(["name"]),
    scenarios: r.enumList(["scenarios"], SCENARIOS, "scenario", undefined),
    tools,
    protocols: r.enumList(["protocols"], ["tcp", "udp"] as const, "protocol", d.protocols),
    directions: r.enumList(["directions"], ["forward", "reverse", "bidir"] as const, "direction", d.directions),
    parallel: r.numberList(
      ["parallel"],
      "stream count",
      (v) => (Number.isInteger(v) ? (v as number) : undefined),
      SPEC_BOUNDS.parallel,
      "",
      "whole numbers such as [1, 4, 8]",
      d.parallel,
      entries,
    ),
    lengthsBytes: r.listOrSweep(["lengths"], LENGTH_SWEEP_BYTES, "64 B … 64 KiB, powers of two", '[0, 1400, "128K"]', () =>
      r.numberList(["lengths"], "length", "size", SPEC_BOUNDS.lengthBytes, " B", 'bytes, e.g. 0 (tool default), 1400 or "128K"', d.lengthsBytes, entries),
    ),
    udpBitratesBps: r.numberList(
      ["udpBitrates"],
      "UDP bitrate",
      "rate",
      SPEC_BOUNDS.udpBitrateBps,
      " bit/s",
      'bits/s with k/M/G = 1e3/1e6/1e9, e.g. "100M" or "1G"',
      d.udpBitratesBps,
      entries,
    ),
    durationS,
    omitS,
    repetitions: r.integer(["repetitions"], SPEC_BOUNDS.repetitions, "", d.repetitions),
    pairs: r.pairs(["pairs"], d.pairs, { sample: SPEC_BOUNDS.sample, cover: SPEC_BOUNDS.cover, maxNodes: SPEC_BOUNDS.nodes.max }),
    concurrency: r.integer(["concurrency"], SPEC_BOUNDS.concurrency, "", d.concurrency),
    thresholds: r.thresholds(["thresholds"], d.thresholds, SPEC_BOUNDS),
    seed: r.integer(["seed"], SPEC_BOUNDS.seed, "", d.seed),
    connections: r.numberList(
      ["connections"],
      "connection count",
      (v) => (Number.isInteger(v) ? (v as number) : undefined),
      SPEC_BOUNDS.connections,
      "",
      "whole numbers of concurrent connections such as [1, 16, 64]",
      d.connections,
      entries,
    ),
    bodiesBytes: r.numberList(["bodies"], "body", "size", SPEC_BOUNDS.bodyBytes, " B", 'response body sizes in bytes, e.g. 0, 1024 or "100K"', d.bodiesBytes, entries),
    httpModes: r.enumList(["httpModes"], httpModes.names, "HTTP mode", d.httpModes),
    messageRatesPerS: r.numberList(
      ["messageRates"],
      "message rate",
      (v) => (Number.isInteger(v) ? (v as number) : undefined),
      SPEC_BOUNDS.messageRatePerS,
      " msg/s",
      "whole messages/s, 0 for ping-pong, e.g. [0, 10000]",
      d.messageRatesPerS,
      entries,
    ),
    mssBytes: r.listOrSweep(["mss"], MSS_SWEEP_BYTES, MSS_SWEEP_BYTES.join(", "), "[536, 1460]", () =>
      r.numberList(
        ["mss"],
        "MSS",
        (v) => (Number.isInteger(v) ? (v as number) : undefined),
        SPEC_BOUNDS.mssBytes,
        " B",
        "whole TCP segment sizes in bytes such as [536, 1460, 8960]",
        d.mssBytes,
        entries,
      ),
    ),
    crosscheck: d.crosscheck,
    families: r.enumList(["families"], families.names, "address family", d.families),
  };
  spec.crosscheck = r.crosscheck(["crosscheck"], SCENARIOS, r.valid("scenarios") ? spec.scenarios : undefined, d.crosscheck);
  const udpLadder = readUdpLadder(r);
  if (udpLadder) spec.udpLadder = udpLadder;
  const n = combinations(spec);
  if (
    r.valid("tools", "protocols", "directions", "parallel", "lengths", "udpBitrates", "connections", "bodies", "httpModes", "messageRates", "mss") &&
    n > SPEC_BOUNDS.combinations.max
  ) {
    const perProtocol = spec.protocols.map((p) => (p === "udp" ? `${spec.udpBitratesBps.length} for udp` : `${Math.max(1, spec.mssBytes.length)} for ${p}`)).join(" + ");
    const own = spec.tools.flatMap((t) => {
      const lists = drivers[t].capabilities.specLists ?? [];
      return lists.length ? [`${t} × ${ownCombinations(spec, lists).length} (${lists.join(" × ")})`] : [];
    });
    r.report(
      [],
      "value",
      `the spec crosses ${n} parameter combinations (${spec.tools.length} tools × ${spec.directions.length} directions × ${spec.parallel.length} parallel × ${spec.lengthsBytes.length} lengths × (${perProtocol})${own.length ? `; ${own.join(", ")}` : ""}), more than ${SPEC_BOUNDS.combinations.max}`,
      "list fewer values, or split the spec into several runs",
    );
  }
  // Every problem at once (bounded), each with its line.
  r.check();
  return spec;
}

/**
 * Parameter combinations a spec crosses (before any is skipped): tools ×
 * directions × parallel × lengths × (1 or the mss entries per TCP + udpBitrates for UDP), each
 * tool also × its own lists (http: connections × bodies × httpModes;
 * sockperf: messageRates).
 */
export function combinations(
  spec: Pick<MatrixSpec, "tools" | "protocols" | "directions" | "parallel" | "lengthsBytes" | "udpBitratesBps"> &
    Partial<Pick<MatrixSpec, "connections" | "bodiesBytes" | "httpModes" | "messageRatesPerS" | "mssBytes">>,
): number {
  const perProtocol = spec.protocols.reduce((n, p) => n + (p === "udp" ? spec.udpBitratesBps.length : Math.max(1, spec.mssBytes?.length ?? 0)), 0);
  const own = { ...SPEC_DEFAULTS, ...spec };
  const perTool = spec.tools.reduce((n, t) => n + ownCombinations(own, drivers[t]?.capabilities.specLists ?? []).length, 0);
  return perTool * spec.directions.length * spec.parallel.length * spec.lengthsBytes.length * perProtocol;
}

/** A locator over a parsed YAML document: key paths → line/column of the key or value. */
function yamlLocator(doc: Document, lc: LineCounter): Locator {
  const pos = (offset: number) => {
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const locate: Locator = (path: SpecPath, what) => {
    if (what === "key" && path.length > 0) {
      const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
      const last = path[path.length - 1];
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(last));
        if (isNode(pair?.key) && pair.key.range) return pos(pair.key.range[0]);
      }
    }
    const node = path.length === 0 ? doc.contents : doc.getIn(path, true);
    if (isNode(node) && node.range) return pos(node.range[0]);
    // Not written (a missing key): point at the enclosing collection.
    return path.length > 0 ? locate(path.slice(0, -1), "value") : { line: 1, column: 1 };
  };
  return locate;
}
