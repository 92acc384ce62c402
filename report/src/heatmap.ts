/**
 * Node×node heatmaps of a run: for every cross-node scenario and test
 * variant, a grid with the client node as the row and the server node as the
 * column, each cell the mean over the case's repetitions — throughput in
 * bits/s, latency in µs. Same-node pairs (the diagonal) and pairs without a
 * case are explicitly empty. Pure: built from a report document.
 */
import type { ReportDocument } from "./report-document.js";
import { SCENARIOS } from "../../common/src/scenarios.js";
import { naturalCompare } from "../../common/src/natural-compare.js";
import { isIcmpTool, driverNamed } from "../../tools/src/index.js";
import { parseBitrateBps, parseSizeBytes } from "../../common/src/units.js";
import { testLabelOf } from "./labels.js";

type Case = ReportDocument["cases"][number];

/** What a heatmap shows: "throughput" cells are bits/s (higher is better), "latency" cells are µs (lower is better). */
export type HeatmapMetric = "throughput" | "latency";

/** One measured node pair. */
export interface HeatmapCell {
  caseId: string;
  /** Mean over the successful repetitions: bits/s or µs; null when every repetition failed. */
  value: number | null;
  /** Half the width of the 95 % confidence interval of the mean, same unit; null for fewer than 2 repetitions. */
  ci95Half: number | null;
  /** Successful repetitions behind `value`. */
  n: number;
  repetitions: number;
  failed: number;
  /**
   * 0 (worst) … 1 (best) relative to the grid's best cell: value / best for
   * throughput, best / value for latency. A 1 % difference stays 0.99, so
   * the colour does not exaggerate noise. Null without a value.
   */
  score: number | null;
}

/** A node×node grid of one scenario and test variant. */
export interface Heatmap {
  /** "<scenario>/<variant>", e.g. "host-host/iperf3/tcp/forward/P1/L0". */
  id: string;
  scenario: string;
  /** The parameter part of the case keys, e.g. "iperf3/tcp/forward/P1/L0" or "ping/icmp/forward/P1/L0". */
  variant: string;
  /** A short human label of the variant, e.g. "iperf3 tcp forward". */
  label: string;
  metric: HeatmapMetric;
  /** "bps" (bits/s) or "us" (µs). */
  unit: "bps" | "us";
  /** Row and column names, sorted naturally (node-2 before node-10). */
  nodes: string[];
  /** cells[row = client][column = server]; null on the diagonal and where no case ran. */
  cells: (HeatmapCell | null)[][];
}

/** Natural order of node names ("node-2" before "node-10"): the planner's own. */
export { naturalCompare };

/** Scenarios in catalog order (host-host first), unknown ones after them by name. */
export function scenarioCompare(a: string, b: string): number {
  const rank = (s: string): number => {
    const i = (SCENARIOS as readonly string[]).indexOf(s);
    return i < 0 ? SCENARIOS.length : i;
  };
  return rank(a) - rank(b) || naturalCompare(a, b);
}

/**
 * The variant of a case: its key without the scenario prefix and the
 * "client→server" suffix ("iperf3/tcp/forward/P1/L0"). Built from the
 * parameters when the key has another shape.
 */
export function variantOf(c: Pick<Case, "key" | "scenario" | "clientNode" | "serverNode" | "tool" | "protocol" | "direction" | "parallel" | "lengthBytes" | "bitrateBps">): string {
  const prefix = `${c.scenario}/`;
  const suffix = `/${c.clientNode}→${c.serverNode}`;
  if (c.key.startsWith(prefix) && c.key.endsWith(suffix) && c.key.length > prefix.length + suffix.length) {
    return c.key.slice(prefix.length, c.key.length - suffix.length);
  }
  const protocol = isIcmpTool(c.tool) ? "icmp" : c.protocol;
  return [c.tool, protocol, c.direction, `P${c.parallel}`, `L${c.lengthBytes}`, ...(c.bitrateBps ? [`B${c.bitrateBps}`] : [])].join("/");
}

/**
 * The test label of a variant ("iperf3/udp/reverse/P4/L1400/B100M" →
 * "iperf3 udp reverse 4 streams 100 Mbit/s len 1400 B"), the same words as
 * every table's ({@link testLabelOf}); the tool alone for ICMP tools ("ping").
 */
export function variantLabel(variant: string): string {
  const [tool = "", protocol = "", direction = "", ...rest] = variant.split("/");
  const param = (prefix: string): string | undefined => rest.find((p) => p.startsWith(prefix))?.slice(prefix.length);
  return testLabelOf({
    tool,
    protocol,
    direction,
    parallel: Number(param("P") ?? 1) || 1,
    bitrateBps: parseBitrateBps(param("B") ?? "") ?? 0,
    lengthBytes: parseSizeBytes(param("L") ?? "") ?? 0,
  });
}

function cell(c: Case, metric: HeatmapMetric): HeatmapCell {
  const s = metric === "throughput" ? c.summary.throughputBps : c.summary.latencyUs;
  return {
    caseId: c.caseId,
    value: s?.mean ?? null,
    ci95Half: s?.ci95 ? (s.ci95.high - s.ci95.low) / 2 : null,
    n: s?.n ?? 0,
    repetitions: c.summary.repetitions,
    failed: c.summary.failed,
    score: null,
  };
}

/**
 * Which metrics a variant's cases carry: throughput for bandwidth tests,
 * latency for tools that report it (ping, qperf's tcp_lat). When every case
 * failed, what the tool measures decides, so the failures still show as a grid.
 */
function metricsOf(cases: Case[]): HeatmapMetric[] {
  const measures = driverNamed(cases[0]?.tool ?? "")?.measures;
  const allFailed = cases.every((c) => !c.summary.throughputBps && !c.summary.latencyUs);
  const out: HeatmapMetric[] = [];
  if (cases.some((c) => c.summary.throughputBps) || (allFailed && measures?.throughput !== false)) out.push("throughput");
  if (cases.some((c) => c.summary.latencyUs) || (allFailed && measures?.latency !== undefined)) out.push("latency");
  return out;
}

/** One grid for `cases` (same scenario and variant) and `metric`. */
function grid(scenario: string, variant: string, cases: Case[], metric: HeatmapMetric): Heatmap {
  const nodes = [...new Set(cases.flatMap((c) => [c.clientNode, c.serverNode]))].sort(naturalCompare);
  const index = new Map(nodes.map((n, i) => [n, i]));
  const cells: (HeatmapCell | null)[][] = nodes.map(() => nodes.map(() => null));
  for (const c of cases) cells[index.get(c.clientNode)!]![index.get(c.serverNode)!] = cell(c, metric);
  const values = cells.flat().flatMap((x) => (x?.value != null && x.value > 0 ? [x.value] : []));
  const best = metric === "throughput" ? Math.max(...values) : Math.min(...values);
  for (const x of cells.flat()) {
    if (x?.value == null || values.length === 0) continue;
    x.score = x.value <= 0 ? 0 : metric === "throughput" ? x.value / best : best / x.value;
  }
  return { id: `${scenario}/${variant}`, scenario, variant, label: variantLabel(variant), metric, unit: metric === "throughput" ? "bps" : "us", nodes, cells };
}

/**
 * Every heatmap of `doc`: per cross-node scenario (catalog order) and
 * variant (order of first appearance), one throughput grid and/or one latency grid,
 * where the cases carry that figure.
 */
export function heatmaps(doc: ReportDocument): Heatmap[] {
  const groups = new Map<string, { scenario: string; variant: string; cases: Case[] }>();
  for (const c of doc.cases) {
    if (c.clientNode === c.serverNode) continue;
    const variant = variantOf(c);
    const id = `${c.scenario}/${variant}`;
    const g = groups.get(id) ?? { scenario: c.scenario, variant, cases: [] };
    g.cases.push(c);
    groups.set(id, g);
  }
  return [...groups.values()].sort((a, b) => scenarioCompare(a.scenario, b.scenario)).flatMap((g) => metricsOf(g.cases).map((m) => grid(g.scenario, g.variant, g.cases, m)));
}
