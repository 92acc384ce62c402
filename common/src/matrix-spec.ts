/**
 * The matrix spec message (proto/netmatrix/v1/matrix.proto) as a document
 * with the YAML's keys (specs/default.yaml): what a run directory's spec.json
 * holds, what the report shows as "the spec as run", and what the
 * coordinator's validator reads. Pure; it validates nothing — values pass
 * through as they are, so the validator names whatever is wrong (an unknown
 * enum value stays a number: `unknown tool 9`). Lists added after the
 * first release (connections, bodies, httpModes, messageRates, mss) are left out
 * when the message leaves them empty, so the validator's defaults apply.
 */
import type { MatrixSpec, PairSelection } from "../../gen/netmatrix/v1/matrix_pb.js";
import { ToolSchema } from "../../gen/netmatrix/v1/types_pb.js";
import { directions, families, httpModes, protocols } from "./model.js";

/** `pairs:` as written: all | ring | { sample: N, by?: KEY } | { cover: K, by?: KEY } | { nodes: [a, b] } (`by` only when set). */
export type PairsDocument = "all" | "ring" | { sample: number; by?: string } | { cover: number; by?: string } | { nodes: string[] };

/** A matrix spec with the YAML's keys. `pairs` and `thresholds` are absent when the message leaves them unset. */
export interface MatrixSpecDocument {
  name: string;
  scenarios: string[];
  tools: (string | number)[];
  protocols: (string | number)[];
  directions: (string | number)[];
  parallel: number[];
  lengths: number[];
  udpBitrates: number[];
  duration: number;
  omit: number;
  repetitions: number;
  pairs?: PairsDocument | Record<string, never>;
  concurrency: number;
  thresholds?: { cvPercent: number; udpLossPercent: number };
  /** Seeds `pairs: { sample: N }` and `pairs: { cover: K }`; 0 (the default) in messages from CLIs older than the field. */
  seed: number;
  /** http's lists and sockperf's rates; absent in messages from CLIs older than them (the validator's defaults apply). */
  connections?: number[];
  bodies?: number[];
  httpModes?: (string | number)[];
  messageRates?: number[];
  /** TCP MSS sizes; absent when the spec lists none (the kernel's own). */
  mss?: number[];
  /** true, false or the rows cross-checked by the other throughput tools; absent when the message leaves it unset (none). */
  crosscheck?: boolean | string[];
  /** `udp: { ladder: … }`; absent when the message leaves it unset (the fixed udpBitrates). */
  udp?: { ladder: { lossPercent: number; steps: number; duration: number } };
  /** Address families; absent in messages from CLIs older than the field (the validator's default [ipv4] applies). */
  families?: (string | number)[];
}

/**
 * Tool names are the enum's value names in lower case (TOOL_IPERF3 →
 * "iperf3"), the names the tools catalogue gives its drivers; common cannot
 * import the catalogue, so a test (coordinator/src/matrix/spec-wire.test.ts)
 * holds the two together.
 */
const TOOL_NAMES = new Map(ToolSchema.values.filter((v) => v.number !== 0).map((v) => [v.number, v.localName.toLowerCase()]));

function pairsDocument(p: PairSelection): PairsDocument | Record<string, never> {
  const s = p.selection;
  switch (s.case) {
    case "all":
    case "ring":
      return s.case;
    case "sample":
      return { sample: s.value.count, ...(s.value.by ? { by: s.value.by } : {}) };
    case "nodes":
      return { nodes: [...s.value.nodes] };
    case "cover":
      return { cover: s.value.k, ...(s.value.by ? { by: s.value.by } : {}) };
    default:
      // A selection this build does not know (or none): the validator says "needs exactly one of".
      return {};
  }
}

/** The YAML-keyed document of `spec`, keys in the order specs/default.yaml lists them. */
export function matrixSpecDocument(spec: MatrixSpec): MatrixSpecDocument {
  return {
    name: spec.name,
    scenarios: [...spec.scenarios],
    tools: spec.tools.map((t) => TOOL_NAMES.get(t) ?? t),
    protocols: spec.protocols.map((p) => protocols.toName(p) ?? p),
    directions: spec.directions.map((d) => directions.toName(d) ?? d),
    parallel: [...spec.parallel],
    lengths: [...spec.lengthsBytes],
    udpBitrates: [...spec.udpBitratesBps],
    duration: spec.durationS,
    omit: spec.omitS,
    repetitions: spec.repetitions,
    ...(spec.pairs ? { pairs: pairsDocument(spec.pairs) } : {}),
    concurrency: spec.concurrency,
    ...(spec.thresholds ? { thresholds: { cvPercent: spec.thresholds.cvPercent, udpLossPercent: spec.thresholds.udpLossPercent } } : {}),
    seed: spec.seed,
    ...(spec.connections.length ? { connections: [...spec.connections] } : {}),
    ...(spec.bodiesBytes.length ? { bodies: [...spec.bodiesBytes] } : {}),
    ...(spec.httpModes.length ? { httpModes: spec.httpModes.map((m) => httpModes.toName(m) ?? m) } : {}),
    ...(spec.messageRatesPerS.length ? { messageRates: [...spec.messageRatesPerS] } : {}),
    ...(spec.mssBytes.length ? { mss: [...spec.mssBytes] } : {}),
    ...(spec.crosscheck ? { crosscheck: spec.crosscheck.all || (spec.crosscheck.scenarios.length ? [...spec.crosscheck.scenarios] : false) } : {}),
    ...(spec.udpLadder ? { udp: { ladder: { lossPercent: spec.udpLadder.lossPercent, steps: spec.udpLadder.maxSteps, duration: spec.udpLadder.stepDurationS } } } : {}),
    ...(spec.families.length ? { families: spec.families.map((f) => families.toName(f) ?? f) } : {}),
  };
}
