/**
 * The conclusion table of a run: one row per scenario and test variant, each
 * figure the mean over the node pairs of the per-case means (throughput also
 * with its min–max across pairs), the ratio to host-host, and the flags with
 * how many cases raised them. Pure: built from a report document.
 */
import type { ReportDocument } from "./report-document.js";
import { naturalCompare, scenarioCompare, variantOf } from "./heatmap.js";
import { testCompare, testLabelOf } from "./labels.js";
import { flagWord } from "../../common/src/model.js";

type Case = ReportDocument["cases"][number];

/** Mean over node pairs of the case means, and the smallest and largest case mean. */
export interface AcrossPairs {
  mean: number;
  min: number;
  max: number;
  /** Cases with a value. */
  n: number;
}

export interface VariantRow {
  scenario: string;
  /** e.g. "iperf3/tcp/forward/P1/L0". */
  variant: string;
  /** e.g. "iperf3 tcp forward". */
  label: string;
  /** The cases (node pairs) in the row, in document order. */
  caseIds: string[];
  repetitions: number;
  failed: number;
  /** bits/s. */
  throughputBps: AcrossPairs | null;
  /** µs. */
  latencyUs: AcrossPairs | null;
  /** Percent of packets. */
  lossPercent: AcrossPairs | null;
  /** % of the node per Gbit/s, each end. */
  clientCpuPercentPerGbps: AcrossPairs | null;
  serverCpuPercentPerGbps: AcrossPairs | null;
  /** Wire bytes / payload bytes. */
  wireToPayload: AcrossPairs | null;
  /** Requests answered per second (tools whose headline is requests). */
  requestsPerS: AcrossPairs | null;
  /** The 99th percentile of request or message latency, µs (tools that report percentiles). */
  latencyP99Us: AcrossPairs | null;
  /** Mean of the cases' throughput ratios to their host-host baseline (1 = as fast). */
  ratioToBaseline: AcrossPairs | null;
  /** Each flag once, with how many cases raised it: "retransmits (5/6)". */
  flags: string[];
}

/** Mean, min and max of the defined values; null when there are none. */
export function acrossPairs(values: readonly (number | null | undefined)[]): AcrossPairs | null {
  const v = values.filter((x): x is number => typeof x === "number" && Number.isFinite(x));
  if (v.length === 0) return null;
  return { mean: v.reduce((a, b) => a + b, 0) / v.length, min: Math.min(...v), max: Math.max(...v), n: v.length };
}

function row(scenario: string, variant: string, cases: Case[]): VariantRow {
  const pick = (f: (c: Case) => number | null | undefined): AcrossPairs | null => acrossPairs(cases.map(f));
  const counts = new Map<string, number>();
  // Counted by word: a case's "cpu-bound (2/3)" counts as one case with cpu-bound.
  for (const c of cases) for (const f of new Set(c.summary.flags.map(flagWord))) counts.set(f, (counts.get(f) ?? 0) + 1);
  return {
    scenario,
    variant,
    label: testLabelOf(cases[0]!),
    caseIds: cases.map((c) => c.caseId),
    repetitions: cases.reduce((n, c) => n + c.summary.repetitions, 0),
    failed: cases.reduce((n, c) => n + c.summary.failed, 0),
    throughputBps: pick((c) => c.summary.throughputBps?.mean),
    latencyUs: pick((c) => c.summary.latencyUs?.mean),
    lossPercent: pick((c) => c.summary.lossPercent?.mean),
    clientCpuPercentPerGbps: pick((c) => c.summary.clientCpuPercentPerGbps?.mean),
    serverCpuPercentPerGbps: pick((c) => c.summary.serverCpuPercentPerGbps?.mean),
    wireToPayload: pick((c) => c.summary.wireToPayload?.mean),
    requestsPerS: pick((c) => c.summary.requestsPerS?.mean),
    latencyP99Us: pick((c) => c.summary.latencyP99Us?.mean),
    ratioToBaseline: pick((c) => c.summary.ratioToBaseline),
    flags: [...counts.entries()].map(([f, n]) => `${f} (${n}/${cases.length})`),
  };
}

/**
 * The cases in reading order, the same in every rendering: scenario (catalog
 * order), test ({@link testCompare}), client node, server node (natural order).
 */
export function orderedCases(doc: ReportDocument): Case[] {
  return [...doc.cases].sort(
    (a, b) => scenarioCompare(a.scenario, b.scenario) || testCompare(a, b) || naturalCompare(a.clientNode, b.clientNode) || naturalCompare(a.serverNode, b.serverNode),
  );
}

/** One row per scenario and variant, in the order of `orderedCases`. */
export function variantRows(doc: ReportDocument): VariantRow[] {
  const groups = new Map<string, { scenario: string; variant: string; cases: Case[] }>();
  for (const c of orderedCases(doc)) {
    const variant = variantOf(c);
    const key = `${c.scenario}\u0000${variant}`;
    const g = groups.get(key) ?? { scenario: c.scenario, variant, cases: [] };
    g.cases.push(c);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => row(g.scenario, g.variant, g.cases));
}
