/**
 * Two runs (typically CNI A against CNI B) compared case by case: per matched
 * case and metric the means, the change in % of A with its 95 % CI from
 * Welch's t-test, p, and a verdict; cases that cannot be compared fairly
 * (different underlay, NIC, tool version or parameters) say why. Pure: built
 * from two `GetRun` responses.
 */
import type { CaseRecord, GetRunResponse } from "../../gen/netmatrix/v1/control_pb.js";
import { matrixSpecDocument } from "../../common/src/matrix-spec.js";
import { specDoc } from "../../tools/src/spec-doc.js";
import { caseReasons, nodesOf, podMtu, specDifferences, toolVersions, underlays, type CaseSide } from "./compare-context.js";
import { welch } from "./welch.js";
import { fingerprintNotes } from "./fingerprint.js";
import { rollup, type ScenarioRollup } from "./compare-rollup.js";
import { matchingNotes, matchSide, untestedNote } from "./compare-matching.js";
import { METRICS, type CaseComparison, type CaseIdentity, type MetricComparison, type MetricName, type Verdict } from "./compare-types.js";
import { testLabelOf } from "./labels.js";
import { driverNamed } from "../../tools/src/index.js";
import { headlinesRequests, REQUEST_FIGURES, requestFigures } from "./request-figures.js";

export const COMPARE_KIND = "netmatrix.compare/v1";

export { METRICS, type CaseComparison, type CaseIdentity, type MetricComparison, type MetricName, type Verdict } from "./compare-types.js";

export interface RunRef {
  runId: string;
  name: string;
  status: string;
  createdAt: string;
  cases: number;
}

export interface CompareDocument {
  kind: typeof COMPARE_KIND;
  a: RunRef;
  b: RunRef;
  run: { specDifferences: string[]; nodesOnlyInA: string[]; nodesOnlyInB: string[]; notes: string[] };
  cases: CaseComparison[];
  unmatched: { onlyInA: (CaseIdentity & { key: string })[]; onlyInB: (CaseIdentity & { key: string })[] };
  rollup: ScenarioRollup[];
}

interface RunCase {
  id: CaseIdentity;
  key: string;
  records: CaseRecord[];
  spec: ReturnType<typeof specDoc>;
  values: Record<MetricName, number[]>;
  failed: number;
  podMtu: number | undefined;
  versions: string[];
}

/** The parameters of the lists `tool` is crossed with (its driver's specLists), as a case identity has them; {} for other tools. */
function ownParams(s: ReturnType<typeof specDoc>): Pick<CaseIdentity, "httpMode" | "connections" | "bodyBytes" | "messageRatePerS"> {
  const lists = driverNamed(s.tool)?.capabilities.specLists ?? [];
  return {
    ...(lists.includes("connections") ? { connections: s.connections } : {}),
    ...(lists.includes("bodies") ? { bodyBytes: s.bodyBytes } : {}),
    ...(lists.includes("httpModes") ? { httpMode: s.httpMode } : {}),
    ...(lists.includes("messageRates") ? { messageRatePerS: s.messageRatePerS } : {}),
  };
}

function identity(r: CaseRecord): CaseIdentity {
  const s = specDoc(r.result?.spec);
  const own = ownParams(s);
  const test = testLabelOf({ ...s, ...own });
  const matchKey = [
    r.scenario,
    r.via,
    s.tool,
    s.protocol,
    s.direction,
    `P${s.parallel}`,
    `B${s.bitrateBps}`,
    `L${s.lengthBytes}`,
    `W${s.windowBytes}`,
    `M${s.mss}`,
    // Only for tools crossed with them, so the other tools' keys stay as they were.
    ...(own.connections !== undefined ? [`C${own.connections}`] : []),
    ...(own.bodyBytes !== undefined ? [`Body${own.bodyBytes}`] : []),
    ...(own.httpMode !== undefined ? [own.httpMode] : []),
    ...(own.messageRatePerS !== undefined ? [`R${own.messageRatePerS}`] : []),
    // IPv6 cases only: an IPv6 case never matches its IPv4 twin.
    ...(s.family ? [s.family] : []),
    `${r.clientNode}→${r.serverNode}`,
  ].join("/");
  const { tool, protocol, direction, parallel, bitrateBps, lengthBytes, windowBytes, mss } = s;
  return {
    ...own,
    matchKey,
    scenario: r.scenario,
    via: r.via,
    clientNode: r.clientNode,
    serverNode: r.serverNode,
    path: `${r.clientNode} → ${r.serverNode}${r.via && r.via !== "direct" ? ` (${r.via})` : ""}`,
    test,
    tool,
    protocol,
    direction,
    parallel,
    bitrateBps,
    lengthBytes,
    windowBytes,
    mss,
  };
}

function casesOf(resp: GetRunResponse): Map<string, RunCase> {
  const out = new Map<string, RunCase>();
  const sorted = [...resp.records].sort((x, y) => x.repetition - y.repetition);
  for (const r of sorted) {
    const id = identity(r);
    const c = out.get(id.matchKey) ?? {
      id,
      key: r.key,
      records: [],
      spec: specDoc(r.result?.spec),
      values: Object.fromEntries(METRICS.map((d) => [d.metric, []])) as unknown as Record<MetricName, number[]>,
      failed: 0,
      podMtu: podMtu(resp, r),
      versions: [],
    };
    out.set(id.matchKey, c);
    c.records.push(r);
    const rep = r.result?.repetitions[0];
    // Request/response tools fail a repetition on any error: their error rate is a metric (lower is better).
    const requestTool = driverNamed(id.tool)?.measures.percentiles !== undefined;
    if (rep?.outcome.case !== "measurement") {
      c.failed++;
      if (requestTool) c.values.errorRate.push(1);
      continue;
    }
    if (requestTool) c.values.errorRate.push(0);
    const m = rep.outcome.value;
    const push = (k: MetricName, v: number | undefined): void => {
      if (v !== undefined && Number.isFinite(v)) c.values[k].push(v);
    };
    push("throughputBps", m.throughputBps);
    push("latencyUs", m.latency?.meanUs);
    push("lossPercent", m.lossPercent);
    push("clientCpuPercentPerGbps", rep.clientCpuPercentPerGbps);
    push("serverCpuPercentPerGbps", rep.serverCpuPercentPerGbps);
    push("wireToPayload", rep.wireToPayload);
    const f = requestFigures(id.tool, m, rep.clientUsage, rep.serverUsage);
    for (const k of REQUEST_FIGURES) push(k, f[k]);
  }
  for (const c of out.values()) c.versions = toolVersions(resp, c.records, c.records[0]?.result?.spec?.tool ?? 0);
  return out;
}

/** One metric of one case, A against B. */
export function compareMetric(def: (typeof METRICS)[number], a: readonly number[], b: readonly number[], headline: boolean): MetricComparison {
  const w = welch(a, b);
  const meanA = w.meanA ?? null;
  const meanB = w.meanB ?? null;
  const pct = (d: number): number | null => (meanA === null ? null : meanA !== 0 ? (d / Math.abs(meanA)) * 100 : d === 0 ? 0 : null);
  const changePercent = meanA !== null && meanB !== null ? pct(meanB - meanA) : null;
  const base = { metric: def.metric, label: def.label, unit: def.unit, better: def.better, headline, a: { mean: meanA, n: w.nA }, b: { mean: meanB, n: w.nB }, changePercent };
  if (!w.tested) return { ...base, changePercentCi95: null, p: null, significant: false, verdict: "not tested (n<2)", reason: w.reason };
  const low = pct(w.ci95.low);
  const high = pct(w.ci95.high);
  const significant = w.p < 0.05;
  const improved = def.better === "higher" ? w.diff > 0 : w.diff < 0;
  const verdict: Verdict = !significant ? "no significant change" : improved ? "better" : "worse";
  return { ...base, changePercentCi95: low !== null && high !== null ? { low, high } : null, p: w.p, significant, verdict, reason: null };
}

function side(c: RunCase, underlay: CaseSide["underlay"]): CaseSide {
  return { nodes: [c.id.clientNode, c.id.serverNode], spec: c.spec, tool: c.id.tool, versions: c.versions, underlay };
}

function runRef(resp: GetRunResponse, cases: number): RunRef {
  const i = resp.info;
  return { runId: i?.runId ?? "", name: i?.name ?? "", status: i?.status ?? "", createdAt: new Date(i?.createdAtMs ?? 0).toISOString(), cases };
}

function unmatched(c: RunCase): CaseIdentity & { key: string } {
  return { ...c.id, key: c.key };
}

/** A run's spec with the YAML's keys, for listing what differs; {} when the run came without one. */
function specOf(resp: GetRunResponse): object {
  return resp.spec ? matrixSpecDocument(resp.spec) : {};
}

/** Compare run B against run A (changes are B relative to A). */
export function compareRuns(a: GetRunResponse, b: GetRunResponse): CompareDocument {
  const ca = casesOf(a);
  const cb = casesOf(b);
  const ua = underlays(a);
  const ub = underlays(b);
  const cases: CaseComparison[] = [];
  for (const [k, x] of ca) {
    const y = cb.get(k);
    if (!y) continue;
    const headline: MetricName = headlinesRequests(x.id.tool) ? "requestsPerS" : x.values.throughputBps.length || y.values.throughputBps.length ? "throughputBps" : "latencyUs";
    // A metric measured on both sides; the headline also when one side measured nothing (all failed), so the case stays visible.
    // The error rate only when some repetition failed (all zeros on both sides say nothing a test could).
    const shown = (m: MetricName): boolean =>
      m === headline ? x.values[m].length + y.values[m].length > 0 : x.values[m].length > 0 && y.values[m].length > 0 && (m !== "errorRate" || x.failed + y.failed > 0);
    const metrics = METRICS.filter((d) => shown(d.metric)).map((d) => compareMetric(d, x.values[d.metric], y.values[d.metric], d.metric === headline));
    const reasons = caseReasons(side(x, ua), side(y, ub));
    const notes: string[] = [];
    if (x.podMtu !== undefined && y.podMtu !== undefined && x.podMtu !== y.podMtu) notes.push(`pod MTU ${x.podMtu} → ${y.podMtu}`);
    for (const [s, c] of [
      ["A", x],
      ["B", y],
    ] as const)
      if (c.failed) notes.push(`${s}: ${c.failed} of ${c.records.length} repetitions failed`);
    cases.push({ ...x.id, keyA: x.key, keyB: y.key, comparable: reasons.length === 0, reasons, notes, metrics });
  }
  // Scenarios in the order A's spec lists them, then any others in order of appearance.
  const listed = a.spec?.scenarios ?? [];
  const order = [...new Set([...listed, ...cases.map((c) => c.scenario)])];
  cases.sort((x, y) => order.indexOf(x.scenario) - order.indexOf(y.scenario));
  const nodesA = nodesOf(a);
  const nodesB = nodesOf(b);
  const nodesOnlyInA = nodesA.filter((n) => !nodesB.includes(n));
  const nodesOnlyInB = nodesB.filter((n) => !nodesA.includes(n));
  const notes: string[] = [];
  if (nodesOnlyInA.length || nodesOnlyInB.length)
    notes.push(
      `The node sets differ: ${[nodesOnlyInA.length ? `${nodesOnlyInA.join(", ")} only in A` : "", nodesOnlyInB.length ? `${nodesOnlyInB.join(", ")} only in B` : ""].filter(Boolean).join("; ")}.`,
    );
  // Environments that differ in what moves the numbers (MTU, offloads, kernel, governor, encapsulation, kube-proxy mode).
  notes.push(...fingerprintNotes(a, b));
  const onlyInA = [...ca].filter(([k]) => !cb.has(k)).map(([, c]) => unmatched(c));
  const onlyInB = [...cb].filter(([k]) => !ca.has(k)).map(([, c]) => unmatched(c));
  // Why cases did not match and why matched ones have no verdict, with the fix.
  const sideA = matchSide(a, ca.size, nodesA);
  const sideB = matchSide(b, cb.size, nodesB);
  notes.push(...matchingNotes(sideA, sideB, cases, onlyInA, onlyInB), ...untestedNote(sideA, sideB, cases));
  return {
    kind: COMPARE_KIND,
    a: runRef(a, ca.size),
    b: runRef(b, cb.size),
    run: { specDifferences: specDifferences(specOf(a), specOf(b)), nodesOnlyInA, nodesOnlyInB, notes },
    cases,
    unmatched: { onlyInA, onlyInB },
    rollup: rollup(
      cases,
      METRICS.map((m) => m.metric),
    ),
  };
}
