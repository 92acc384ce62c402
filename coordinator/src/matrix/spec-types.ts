/**
 * The matrix spec's types: what the validator (spec.ts) returns and the
 * planner reads. Apart from spec.ts so that the field readers
 * (spec-reader.ts) can name them without an import cycle.
 */
import type { DirectionName, FamilyName, HttpModeName, ProtocolName } from "../../../common/src/model.js";
import type { ToolName } from "../../../tools/src/index.js";
import type { ScenarioName } from "../../../common/src/scenarios.js";

/**
 * Which node pairs cross-node scenarios run between:
 * - all: every ordered pair of nodes (A→B and B→A);
 * - ring: node i → node i+1 in natural name order, the last wrapping to the first;
 * - sample: `count` ordered pairs drawn deterministically from the node names and the spec's `seed`;
 *   with `by` (a node label key), stratified: every (client label value,
 *   server label value) combination gets an equal share of `count`;
 * - nodes: every ordered pair among the listed nodes only;
 * - cover: every node client `k` times and server `k` times against seeded
 *   random partners, preferring partners whose label `by` differs (k·N pairs).
 * Same-node scenarios run on every node the selection covers (all nodes for
 * all/ring/cover, the listed ones, or those the sampled pairs touch), and external
 * scenarios from every external agent to each of those nodes.
 */
export type PairSelection =
  { kind: "all" } | { kind: "ring" } | { kind: "sample"; count: number; by?: string } | { kind: "nodes"; nodes: string[] } | { kind: "cover"; k: number; by?: string };

/** When a case's summary gets a warning flag (see stats.ts `flags`). */
export interface Thresholds {
  /** Coefficient of variation over repetitions above which a case is flagged, percent. */
  cvPercent: number;
  /** Mean UDP loss above which a case is flagged, percent. */
  udpLossPercent: number;
}

/** A validated matrix spec. YAML key in parentheses where it differs from the field. */
export interface MatrixSpec {
  /** Names the run (and nothing else: the sample of pairs is seeded by `seed`). */
  name: string;
  scenarios: ScenarioName[];
  tools: ToolName[];
  protocols: ProtocolName[];
  directions: DirectionName[];
  /** Parallel stream counts, 1–128. */
  parallel: number[];
  /** Buffer / datagram / message / ping payload lengths in bytes, 0 = the tool's default (`lengths`). */
  lengthsBytes: number[];
  /** UDP target rates in bits/s (`udpBitrates`); TCP cases ignore them. */
  udpBitratesBps: number[];
  /** Measurement duration, seconds (`duration`). */
  durationS: number;
  /** Seconds omitted at the start, iperf3 only (`omit`). */
  omitS: number;
  /** Repetitions of every case, 1–1000. */
  repetitions: number;
  pairs: PairSelection;
  /** At most this many node-disjoint cases run at once. */
  concurrency: number;
  thresholds: Thresholds;
  /**
   * Seeds `pairs: { sample: N }` and `pairs: { cover: K }`, 0..2^32−1: the
   * same node names (and labels, with `by`) and seed always draw the same
   * pairs, whatever the spec's name.
   */
  seed: number;
  /** http only: concurrent connections (wrk -c), 1–10000 (`connections`); other tools ignore them. */
  connections: number[];
  /** http only: response body sizes, bytes, up to 64 MiB (`bodies`); other tools ignore them. */
  bodiesBytes: number[];
  /** http only: keepalive (requests/s) and/or new-connection (connections/s) (`httpModes`); other tools ignore them. */
  httpModes: HttpModeName[];
  /** sockperf only: messages/s, 0 = ping-pong, N = under load at N messages/s (`messageRates`); other tools ignore them. */
  messageRatesPerS: number[];
  /** TCP maximum segment sizes, bytes (`mss`); [] = the kernel's own. UDP and ICMP cases ignore them; tools that cannot set one skip their TCP cases. */
  mssBytes: number[];
  /**
   * Cross-tool agreement: true = every row, false = none, else the rows
   * (scenarios) whose paths the other throughput tools also measure
   * (drivers' `crosscheck` capability), for the report's `tools-disagree`.
   */
  crosscheck: boolean | ScenarioName[];
  /** UDP cases of pacing tools run as a rate ladder instead of at each udpBitrates entry (`udp: ladder`); undefined = the fixed bitrates. */
  udpLadder?: UdpLadderSpec;
  /** Address families every case runs over, each once (`families`); default [ipv4]. */
  families: FamilyName[];
}

/** `udp: ladder`: the loss threshold, the steps at most and each step's length. */
export interface UdpLadderSpec {
  /** A step is good when its loss is below this, %. */
  lossPercent: number;
  maxSteps: number;
  stepDurationS: number;
}
