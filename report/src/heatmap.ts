/**
 * Node×node heatmaps of a run: for every cross-node scenario and test
 * variant, a grid with the client node as the row and the server node as the
 * column, each cell the mean over the case's repetitions — throughput in
 * bits/s, latency in µs. Same-node pairs (the diagonal) and pairs without a
 * case are explicitly empty. A run over more than GRID_MAX_NODES nodes (a
 * sample or cover of a large cluster) gets no grid — 5,000 × 5,000 cells
 * would be mostly empty and too big to draw — but the list of its measured
 * pairs. When the run's spec groups nodes by a label (`pairs: { sample|cover,
 * by }`) and the nodes carry it, every heatmap also has the aggregate by that
 * label: a (client value × server value) grid of the median over its pairs.
 * Pure: built from a report document.
 */
import type { ReportDocument } from "./report-document.js";
import { SCENARIOS } from "../../common/src/scenarios.js";
import { naturalCompare } from "../../common/src/natural-compare.js";
import { isIcmpTool, driverNamed } from "../../tools/src/index.js";
import { parseBitrateBps, parseSizeBytes } from "../../common/src/units.js";
import { testLabelOf } from "./labels.js";

type Case = ReportDocument["cases"][number];

/**
 * What a heatmap shows: "throughput" cells are bits/s (higher is better),
 * "requests" cells requests/s (tools that headline them, http; higher is
 * better), "latency" cells are µs (lower is better).
 */
export type HeatmapMetric = "throughput" | "requests" | "latency";

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

/** One measured node pair of a heatmap. */
export interface HeatmapPair {
  client: string;
  server: string;
  cell: HeatmapCell;
}

/** One (client label value, server label value) combination of the aggregate: the median over its pairs' means. */
export interface HeatmapGroupCell {
  /** Median of the pairs' means (bits/s or µs); null when every pair failed. */
  median: number | null;
  /** Pairs (cases) measured in this combination. */
  cases: number;
  /** Of those, the pairs whose every repetition failed. */
  failed: number;
  /** 0 … 1 relative to the best combination, as HeatmapCell.score; null without a median. */
  score: number | null;
}

/** A heatmap aggregated by a node label (e.g. zone × zone). */
export interface HeatmapGroups {
  /** The label key (the spec's `pairs.by`), e.g. "topology.kubernetes.io/zone". */
  by: string;
  /** The label's values, in natural order; "" (nodes without the label) last, when there are such nodes. */
  values: string[];
  /** cells[row = client value][column = server value]; null where no pair was measured. */
  cells: (HeatmapGroupCell | null)[][];
}

/** Above this many nodes a heatmap is a list of its measured pairs, not a grid. */
export const GRID_MAX_NODES = 64;

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
  /** "bps" (bits/s), "rps" (requests/s) or "us" (µs). */
  unit: "bps" | "rps" | "us";
  /** Row and column names, sorted naturally (node-2 before node-10): the nodes of the measured pairs. */
  nodes: string[];
  /** "grid": `cells` is nodes × nodes; "list": more than GRID_MAX_NODES nodes, `cells` is empty and `pairs` is what there is to show. */
  layout: "grid" | "list";
  /** cells[row = client][column = server]; null on the diagonal and where no case ran. Empty for layout "list". */
  cells: (HeatmapCell | null)[][];
  /** Every measured pair, in the order of the run's cases (the same cell objects as `cells`). */
  pairs: HeatmapPair[];
  /** The aggregate by the node label the spec's `pairs.by` names, when some node carries it; absent otherwise. */
  groups?: HeatmapGroups;
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
  if (driverNamed(tool)?.capabilities.specLists?.length) {
    // "http/tcp/forward/C16/B1K/keepalive", "sockperf/udp/forward/L64/R0": B is the body, a bare word the HTTP mode (variants.ts ownParamKey).
    const num = (prefix: string): number | undefined => (param(prefix) === undefined ? undefined : Number(param(prefix)));
    const mode = rest.find((p) => /^[a-z][a-z-]*$/.test(p));
    const bodyBytes = param("B") === undefined ? undefined : parseSizeBytes(param("B")!);
    const connections = num("C");
    const messageRatePerS = num("R");
    return testLabelOf({
      tool,
      protocol,
      direction,
      parallel: Number(param("P") ?? 1) || 1,
      lengthBytes: parseSizeBytes(param("L") ?? "") ?? 0,
      ...(connections !== undefined ? { connections } : {}),
      ...(bodyBytes !== undefined ? { bodyBytes } : {}),
      ...(mode !== undefined ? { httpMode: mode } : {}),
      ...(messageRatePerS !== undefined ? { messageRatePerS } : {}),
    });
  }
  return testLabelOf({
    tool,
    protocol,
    direction,
    parallel: Number(param("P") ?? 1) || 1,
    bitrateBps: parseBitrateBps(param("B") ?? "") ?? 0,
    lengthBytes: parseSizeBytes(param("L") ?? "") ?? 0,
    // "/M1460": the case set a TCP MSS (variants.ts).
    mss: Number(param("M") ?? 0) || 0,
  });
}

function cell(c: Case, metric: HeatmapMetric): HeatmapCell {
  const s = metric === "throughput" ? c.summary.throughputBps : metric === "requests" ? c.summary.requestsPerS : c.summary.latencyUs;
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
  const allFailed = cases.every((c) => !c.summary.throughputBps && !c.summary.latencyUs && !c.summary.requestsPerS);
  const out: HeatmapMetric[] = [];
  // A tool that headlines requests/s (http) gets a requests/s grid in place of its throughput's.
  if (measures?.headline === "requests") {
    if (cases.some((c) => c.summary.requestsPerS) || allFailed) out.push("requests");
  } else if (cases.some((c) => c.summary.throughputBps) || (allFailed && measures?.throughput !== false)) out.push("throughput");
  if (cases.some((c) => c.summary.latencyUs) || (allFailed && measures?.latency !== undefined)) out.push("latency");
  return out;
}

/** Whether a higher value of `metric` is better (throughput, requests/s) or a lower one (latency). */
export function higherIsBetter(metric: HeatmapMetric): boolean {
  return metric !== "latency";
}

/** The best of `values` for `metric` (the largest throughput or requests/s, the smallest latency), over positive values; undefined without any. */
function bestOf(values: number[], metric: HeatmapMetric): number | undefined {
  let best: number | undefined;
  for (const v of values) if (v > 0 && (best === undefined || (higherIsBetter(metric) ? v > best : v < best))) best = v;
  return best;
}

/** 0 … 1 relative to `best`: value / best for throughput and requests/s, best / value for latency. */
function scoreOf(value: number, best: number, metric: HeatmapMetric): number {
  return value <= 0 ? 0 : higherIsBetter(metric) ? value / best : best / value;
}

/** One heatmap for `cases` (same scenario and variant) and `metric`: a grid up to GRID_MAX_NODES nodes, else a list; O(cases) beyond the grid. */
function grid(scenario: string, variant: string, cases: Case[], metric: HeatmapMetric, labelOf: NodeLabel | undefined): Heatmap {
  const nodes = [...new Set(cases.flatMap((c) => [c.clientNode, c.serverNode]))].sort(naturalCompare);
  const pairs = cases.map((c) => ({ client: c.clientNode, server: c.serverNode, cell: cell(c, metric) }));
  const best = bestOf(
    pairs.flatMap((p) => (p.cell.value != null ? [p.cell.value] : [])),
    metric,
  );
  for (const { cell: x } of pairs) if (x.value != null && best !== undefined) x.score = scoreOf(x.value, best, metric);
  const layout = nodes.length > GRID_MAX_NODES ? "list" : "grid";
  const cells: (HeatmapCell | null)[][] = [];
  if (layout === "grid") {
    const index = new Map(nodes.map((n, i) => [n, i]));
    cells.push(...nodes.map(() => nodes.map((): HeatmapCell | null => null)));
    for (const p of pairs) cells[index.get(p.client)!]![index.get(p.server)!] = p.cell;
  }
  const groups = labelOf ? groupCells(pairs, metric, labelOf) : undefined;
  return {
    id: `${scenario}/${variant}`,
    scenario,
    variant,
    label: variantLabel(variant),
    metric,
    unit: metric === "throughput" ? "bps" : metric === "requests" ? "rps" : "us",
    nodes,
    layout,
    cells,
    pairs,
    ...(groups ? { groups } : {}),
  };
}

/** A node's value of the grouping label ("" without it), and the label key. */
interface NodeLabel {
  by: string;
  valueOf: (node: string) => string;
}

/** The median of `values` (sorted in place). */
function median(values: number[]): number {
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
}

/** `pairs` aggregated per (client label value, server label value): median of the pairs' means, pairs measured and failed. */
function groupCells(pairs: HeatmapPair[], metric: HeatmapMetric, labelOf: NodeLabel): HeatmapGroups {
  const byKey = new Map<string, { values: number[]; cases: number; failed: number }>();
  const seen = new Set<string>();
  for (const p of pairs) {
    const a = labelOf.valueOf(p.client);
    const b = labelOf.valueOf(p.server);
    seen.add(a).add(b);
    const key = JSON.stringify([a, b]);
    const g = byKey.get(key) ?? { values: [], cases: 0, failed: 0 };
    g.cases++;
    if (p.cell.value == null) g.failed++;
    else g.values.push(p.cell.value);
    byKey.set(key, g);
  }
  const values = [...seen].sort((x, y) => ((x === "") !== (y === "") ? (x === "" ? 1 : -1) : naturalCompare(x, y)));
  const cells = values.map((a) =>
    values.map((b): HeatmapGroupCell | null => {
      const g = byKey.get(JSON.stringify([a, b]));
      return g ? { median: g.values.length ? median(g.values) : null, cases: g.cases, failed: g.failed, score: null } : null;
    }),
  );
  const best = bestOf(
    cells.flat().flatMap((c) => (c?.median != null ? [c.median] : [])),
    metric,
  );
  for (const c of cells.flat()) if (c?.median != null && best !== undefined) c.score = scoreOf(c.median, best, metric);
  return { by: labelOf.by, values, cells };
}

/**
 * The node label a run's heatmaps are aggregated by: the spec's `pairs.by`
 * (`pairs: { sample: N, by }` or `pairs: { cover: K, by }`), when some
 * agent's node carries it. A node's value: its host agent's, else its first
 * pod agent's (in id order); "" without the label.
 */
export function groupingLabel(doc: Pick<ReportDocument, "spec" | "agents">): NodeLabel | undefined {
  const p: unknown = doc.spec.pairs;
  const by = typeof p === "object" && p !== null && "by" in p && typeof p.by === "string" && p.by !== "" ? p.by : undefined;
  if (by === undefined) return undefined;
  const agents = doc.agents
    .filter((a) => a.mode !== "external" && (a.labels?.[by] ?? "") !== "")
    .sort((a, b) => (a.mode === "host" ? 0 : 1) - (b.mode === "host" ? 0 : 1) || naturalCompare(a.id, b.id));
  if (agents.length === 0) return undefined;
  const values = new Map<string, string>();
  for (const a of agents) if (!values.has(a.node)) values.set(a.node, a.labels![by]!);
  return { by, valueOf: (node) => values.get(node) ?? "" };
}

/**
 * Every heatmap of `doc`: per cross-node scenario (catalog order) and
 * variant (order of first appearance), one throughput grid and/or one latency grid,
 * where the cases carry that figure.
 */
export function heatmaps(doc: ReportDocument): Heatmap[] {
  const labelOf = groupingLabel(doc);
  const groups = new Map<string, { scenario: string; variant: string; cases: Case[] }>();
  for (const c of doc.cases) {
    if (c.clientNode === c.serverNode) continue;
    const variant = variantOf(c);
    const id = `${c.scenario}/${variant}`;
    const g = groups.get(id) ?? { scenario: c.scenario, variant, cases: [] };
    g.cases.push(c);
    groups.set(id, g);
  }
  return [...groups.values()]
    .sort((a, b) => scenarioCompare(a.scenario, b.scenario))
    .flatMap((g) => metricsOf(g.cases).map((m) => grid(g.scenario, g.variant, g.cases, m, labelOf)));
}
