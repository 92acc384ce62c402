/**
 * What a comparison of two runs is made of: the metrics compared and the
 * per-case, per-metric results. Types (and the metric list) only, so the
 * comparison and its roll-up both build on them without importing each other.
 */

/** The metrics compared, in display order; `better` says which direction is an improvement. */
export const METRICS = [
  { metric: "throughputBps", label: "throughput", unit: "bit/s", better: "higher" },
  { metric: "requestsPerS", label: "requests/s", unit: "requests/s", better: "higher" },
  { metric: "connectionsPerS", label: "connections/s", unit: "new connections/s", better: "higher" },
  { metric: "latencyUs", label: "latency (mean)", unit: "µs", better: "lower" },
  { metric: "latencyP50Us", label: "latency p50", unit: "µs", better: "lower" },
  { metric: "latencyP90Us", label: "latency p90", unit: "µs", better: "lower" },
  { metric: "latencyP99Us", label: "latency p99", unit: "µs", better: "lower" },
  { metric: "latencyP999Us", label: "latency p99.9", unit: "µs", better: "lower" },
  { metric: "clientCpuPercentPerGbps", label: "client CPU/Gbit/s", unit: "% of the node per Gbit/s", better: "lower" },
  { metric: "serverCpuPercentPerGbps", label: "server CPU/Gbit/s", unit: "% of the node per Gbit/s", better: "lower" },
  { metric: "clientCpuPercentPer10kRequests", label: "client CPU/10k req/s", unit: "% of the node per 10,000 requests/s", better: "lower" },
  { metric: "serverCpuPercentPer10kRequests", label: "server CPU/10k req/s", unit: "% of the node per 10,000 requests/s", better: "lower" },
  { metric: "clientCpuPercentPer1kConnections", label: "client CPU/1k conn/s", unit: "% of the node per 1,000 new connections/s", better: "lower" },
  { metric: "serverCpuPercentPer1kConnections", label: "server CPU/1k conn/s", unit: "% of the node per 1,000 new connections/s", better: "lower" },
  { metric: "wireToPayload", label: "wire/payload", unit: "wire bytes per payload byte", better: "lower" },
  { metric: "lossPercent", label: "loss", unit: "%", better: "lower" },
  // Request/response tools fail a repetition on any error (socket errors, non-2xx answers): 1 per failed repetition, 0 per measured one.
  { metric: "errorRate", label: "failed repetitions (errors)", unit: "share of repetitions", better: "lower" },
] as const;

export type MetricName = (typeof METRICS)[number]["metric"];
export type Verdict = "better" | "worse" | "no significant change" | "not tested (n<2)";

/** One metric of one matched case. Means in the metric's unit. */
export interface MetricComparison {
  metric: MetricName;
  label: string;
  unit: string;
  better: "higher" | "lower";
  /** The case's headline: requests/s for tools that headline them (http), throughput for bandwidth tests, latency for latency tests. */
  headline: boolean;
  a: { mean: number | null; n: number };
  b: { mean: number | null; n: number };
  /** (B − A) / A × 100; null when A's mean is 0 and B's is not. */
  changePercent: number | null;
  /** 95 % CI of the change, % of A (Welch CI of B − A over A's mean); null when untested. */
  changePercentCi95: { low: number; high: number } | null;
  /** Two-sided Welch p-value; null when untested. */
  p: number | null;
  significant: boolean;
  verdict: Verdict;
  /** Why there is no test, when there is none. */
  reason: string | null;
}

/** A case as the match key sees it (both runs agree on these). */
export interface CaseIdentity {
  matchKey: string;
  scenario: string;
  via: string;
  clientNode: string;
  serverNode: string;
  /** "node-1 → node-2", with the via when not direct. */
  path: string;
  /** "iperf3 tcp forward", "ping", … */
  test: string;
  tool: string;
  protocol: string;
  direction: string;
  parallel: number;
  bitrateBps: number;
  lengthBytes: number;
  windowBytes: number;
  mss: number;
  /** Only for tools crossed with them (http: connections, body, mode; sockperf: message rate). */
  httpMode?: string;
  connections?: number;
  bodyBytes?: number;
  messageRatePerS?: number;
}

export interface CaseComparison extends CaseIdentity {
  keyA: string;
  keyB: string;
  comparable: boolean;
  /** Why not comparable, as sentences. */
  reasons: string[];
  /** Worth knowing but no reason to refuse (e.g. "pod MTU 1500 → 1450"). */
  notes: string[];
  metrics: MetricComparison[];
}
