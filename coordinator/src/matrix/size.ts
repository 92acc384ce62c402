/**
 * How big a run a spec asks for, counted before anything is planned: cases,
 * case runs (cases × repetitions), the node pairs the selection draws, and a
 * lower bound of the run's duration — arithmetic over the spec, the
 * parameter combinations and the agents per node, never by materialising a
 * case. The coordinator refuses a spec past its caps with this count, so
 * planning (which allocates every case and every scheduled run) stays
 * bounded by the caps. Pure.
 */
import { NetmatrixError } from "../../../common/src/errors.js";
import { SCENARIO_SHAPES, type ScenarioShape } from "../../../common/src/scenarios.js";
import { formatDurationS } from "../../../common/src/units.js";
import { naturalCompare } from "../../../common/src/natural-compare.js";
import { drivers } from "../../../tools/src/index.js";
import { indexAgents } from "./endpoints.js";
import type { PlannerAgent, PlannerOptions } from "./planner-types.js";
import type { MatrixSpec } from "./spec-types.js";
import { crosschecked, variants, type Variant } from "./variants.js";

/** What one run may ask for. */
export interface MatrixCaps {
  /** Case runs (cases × repetitions). */
  maxCaseRuns: number;
  /** The run's estimated duration, seconds. */
  maxRunDurationS: number;
}

/**
 * The coordinator's caps unless its flags say otherwise. They fit a
 * 5000-node cluster's sampled matrix: specs/default.yaml with
 * `pairs: { sample: 5000 }` (3 cross-node rows × 2 protocols × 5000 pairs +
 * 2 same-node rows × 2 protocols × the ~4300 nodes the pairs touch ≈ 47,000
 * cases × 3 repetitions ≈ 142,000 case runs, about 19 days one case at a
 * time). Planning costs about 200 bytes per case run, so the case cap keeps
 * it near 100 MB.
 */
export const DEFAULT_MATRIX_CAPS: MatrixCaps = { maxCaseRuns: 500_000, maxRunDurationS: 30 * 86_400 };

/** What the caps themselves may be set to. */
export const CAP_BOUNDS = { maxCaseRuns: { min: 1, max: 10_000_000 }, maxRunDurationS: { min: 1, max: 366 * 86_400 } } as const;

/** Assumed time each case run takes besides its tool's run (server start, sampling, stop), ms. */
export const CASE_OVERHEAD_MS = 700;

/** Where a cap comes from, for the message that refuses a spec: the coordinator's flag, or the request's. */
export type CapSource = "coordinator" | "request";

/** Caps in force for one run, and where each comes from. */
export interface EffectiveCaps extends MatrixCaps {
  from: Record<keyof MatrixCaps, CapSource>;
}

/** The coordinator's caps, lowered (never raised) by what a request asks for (0 or absent: the coordinator's). */
export function effectiveCaps(coordinator: MatrixCaps, requested: Partial<MatrixCaps> = {}): EffectiveCaps {
  const pick = (k: keyof MatrixCaps): [number, CapSource] => {
    const r = requested[k];
    return r !== undefined && r > 0 && r < coordinator[k] ? [r, "request"] : [coordinator[k], "coordinator"];
  };
  const [maxCaseRuns, casesFrom] = pick("maxCaseRuns");
  const [maxRunDurationS, durationFrom] = pick("maxRunDurationS");
  return { maxCaseRuns, maxRunDurationS, from: { maxCaseRuns: casesFrom, maxRunDurationS: durationFrom } };
}

/** The size of the run a spec asks for on given agents. */
export interface PlanSize {
  /**
   * Cases the spec asks for: every selected node pair or node that has the
   * agents a row needs, × the row's runnable parameter combinations. The plan
   * has no more (fewer when a tool is missing on some agent, or when a sample
   * or cover draws pairs some agents cannot fill).
   */
  cases: number;
  /** cases × repetitions. */
  caseRuns: number;
  /** Ordered node pairs the planner draws for the selection (it allocates them); 0 when no row needs pairs. */
  pairs: number;
  /**
   * The run's duration at the least, ms: every case run's tool run plus
   * CASE_OVERHEAD_MS, spread over as many cases at once as the spec's
   * concurrency and the nodes allow (over `cases`, so for a sample of some
   * pairs it may count pairs the draw leaves out).
   */
  minDurationMs: number;
}

/**
 * Ordered node pairs `selection` draws on `nodes` nodes (for `nodes`, the
 * listed ones that run agents), in O(1): all and nodes m(m−1); ring m (2 for
 * two nodes, none for one); sample min(count, m(m−1)), stratified or not;
 * cover k·m, or m(m−1) when k ≥ m−1 (none on one node).
 */
export function drawnPairs(selection: MatrixSpec["pairs"], nodes: number): number {
  const m = nodes;
  const all = m * (m - 1);
  switch (selection.kind) {
    case "all":
    case "nodes":
      return all;
    case "ring":
      return m < 2 ? 0 : m === 2 ? 2 : m;
    case "sample":
      return Math.min(selection.count, all);
    case "cover":
      return m < 2 ? 0 : selection.k >= m - 1 ? all : selection.k * m;
  }
}

/** The size of the run `spec` asks for on `agents`, counted without planning it. Cost: O(agents + parameter combinations + nodes). */
export function planSize(spec: MatrixSpec, agents: readonly PlannerAgent[], opts: PlannerOptions = {}): PlanSize {
  const index = indexAgents(agents);
  const clusterNodes = [...index.entries()]
    .filter(([, m]) => m.host.length + m.pod.length > 0)
    .map(([node]) => node)
    .sort(naturalCompare);
  const k = clusterNodes.length;
  // The agent a role takes on a node (the first of its mode in natural id order, as findEndpoints), and whether it can be a server.
  const has = (node: string, mode: "host" | "pod", nth = 0): boolean => index.get(node)?.[mode][nth] !== undefined;
  const serves = (node: string, mode: "host" | "pod", nth = 0): boolean => {
    const i = index.get(node)?.[mode][nth];
    return i !== undefined && agents[i]!.address !== "";
  };
  const externals = [...index.values()].filter((m) => m.external.length > 0).length;

  // The selection: its nodes, and how many ordered pairs it draws.
  const sel = spec.pairs;
  const listed = sel.kind === "nodes" ? new Set(sel.nodes) : undefined;
  // A sample's nodes are those its pairs touch: none on fewer than two nodes.
  const selected = listed ? clusterNodes.filter((n) => listed.has(n)) : sel.kind === "sample" && k < 2 ? [] : clusterNodes;
  const m = selected.length;
  const allCount = m * (m - 1);
  const drawn = drawnPairs(sel, m);
  // A sample or cover of fewer than every pair: which pairs is not known before the draw. A sample touches at most two nodes per pair; a cover every node.
  const partialSample = (sel.kind === "sample" || sel.kind === "cover") && drawn < allCount;
  const nodesCovered = partialSample && sel.kind === "sample" ? Math.min(k, 2 * drawn) : m;

  /** Selected ordered pairs whose client node has a `c` agent and whose server node a `s` agent with an address. */
  const crossUnits = (shape: ScenarioShape): number => {
    const c = shape.clientMode as "host" | "pod";
    const s = shape.serverMode as "host" | "pod";
    if (sel.kind === "ring" && m > 2) {
      let n = 0;
      for (let i = 0; i < m; i++) if (has(selected[i]!, c) && serves(selected[(i + 1) % m]!, s)) n++;
      return n;
    }
    // Every ordered pair (all, nodes, a ring of two, a sample of everything): C·S minus the nodes that are both.
    let clients = 0;
    let servers = 0;
    let both = 0;
    for (const node of selected) {
      const hc = has(node, c);
      const hs = serves(node, s);
      if (hc) clients++;
      if (hs) servers++;
      if (hc && hs) both++;
    }
    // Which pairs a sample or cover draws is not known before the draw: as many as it draws, or as there are
    // (a cover's k per client and k per server at the most).
    if (!partialSample) return clients * servers - both;
    return sel.kind === "cover" ? Math.min(drawn, sel.k * clients, sel.k * servers, clients * servers - both) : Math.min(drawn, clients * servers - both);
  };
  const sameUnits = (): number => Math.min(nodesCovered, selected.filter((n) => has(n, "pod", 0) && serves(n, "pod", 1)).length);
  const externalUnits = (shape: ScenarioShape): number => {
    const s = shape.serverMode as "host" | "pod";
    return externals * Math.min(nodesCovered, selected.filter((n) => serves(n, s)).length);
  };

  const combos = variants(spec);
  const runMs = (v: Variant): number => drivers[v.tool].runMs({ durationS: v.durationS, omitS: v.omitS });
  let cases = 0;
  let workMs = 0;
  let needsPairs = sel.kind === "sample";
  for (const scenario of spec.scenarios) {
    const shape = SCENARIO_SHAPES[scenario];
    if (shape.placement === "cross") needsPairs = true;
    if (shape.serviceKind && !opts.serviceProvider?.kinds.includes(shape.serviceKind)) continue; // refused, no cases
    const runnable = combos.filter(
      (v) => (!v.crosscheck || crosschecked(spec, scenario)) && !v.skip && (shape.via === "direct" || drivers[v.tool].capabilities.cannotCross[shape.via] === undefined),
    );
    if (runnable.length === 0) continue;
    const units = shape.placement === "cross" ? crossUnits(shape) : shape.placement === "same" ? sameUnits() : externalUnits(shape);
    cases += units * runnable.length;
    workMs += units * runnable.reduce((ms, v) => ms + runMs(v) + CASE_OVERHEAD_MS, 0);
  }
  // A case occupies at least one node, so no more run at once than there are nodes (nor than the spec's concurrency).
  const slots = Math.max(1, Math.min(spec.concurrency, nodesCovered + externals));
  return { cases, caseRuns: cases * spec.repetitions, pairs: needsPairs ? drawn : 0, minDurationMs: (workMs * spec.repetitions) / slots };
}

const count = (n: number): string => Math.round(n).toLocaleString("en-US");

/** "--max-cases 500,000 (this coordinator's)": a cap, its flag and where it comes from. */
function capText(caps: EffectiveCaps, key: keyof MatrixCaps): string {
  const flag = key === "maxCaseRuns" ? "--max-cases" : "--max-run-duration";
  const value = key === "maxCaseRuns" ? count(caps.maxCaseRuns) : formatDurationS(caps.maxRunDurationS);
  return `${value} (${caps.from[key] === "request" ? `this run's ${flag}` : `the coordinator's ${flag}`})`;
}

function raise(caps: EffectiveCaps, key: keyof MatrixCaps): string {
  const flag = key === "maxCaseRuns" ? "--max-cases" : "--max-run-duration";
  return caps.from[key] === "request" ? `or raise ${flag} on \`netmatrix run\`` : `or start the coordinator with a higher ${flag}`;
}

const SMALLER =
  "list fewer values (tools, protocols, directions, parallel, lengths, udpBitrates) or scenarios, select fewer pairs (e.g. `pairs: { sample: N }`), run fewer repetitions, or split the spec into several runs";

/** Refuse (invalid-argument, naming the count, the cap and the fix) a run whose size passes `caps`; before anything is planned. */
export function checkPlanSize(size: PlanSize, spec: MatrixSpec, caps: EffectiveCaps): void {
  if (size.pairs > caps.maxCaseRuns) {
    throw new NetmatrixError(
      "invalid-argument",
      `the spec's pairs selection draws ${count(size.pairs)} node pairs, more than the cap of ${capText(caps, "maxCaseRuns")} case runs`,
      {
        hint: `select fewer pairs (e.g. \`pairs: { sample: N }\` with a smaller N); ${raise(caps, "maxCaseRuns")}`,
      },
    );
  }
  if (size.caseRuns > caps.maxCaseRuns) {
    throw new NetmatrixError(
      "invalid-argument",
      `the spec asks for ${count(size.cases)} cases × ${spec.repetitions} repetitions = ${count(size.caseRuns)} case runs, more than the cap of ${capText(caps, "maxCaseRuns")}`,
      { hint: `${SMALLER}; ${raise(caps, "maxCaseRuns")}` },
    );
  }
  checkDuration(size.minDurationMs, `at least ${formatDurationS(size.minDurationMs / 1000)} (${count(size.caseRuns)} case runs, at most ${spec.concurrency} at a time)`, caps);
}

/** Refuse a run whose estimated duration (`estimatedMs`, described by `what`) passes the cap. */
export function checkDuration(estimatedMs: number, what: string, caps: EffectiveCaps): void {
  if (estimatedMs <= caps.maxRunDurationS * 1000) return;
  throw new NetmatrixError("invalid-argument", `the run would take ${what}, more than the cap of ${capText(caps, "maxRunDurationS")}`, {
    hint: `shorten it: a shorter duration, fewer cases or repetitions, or a higher concurrency (node-disjoint cases at once); ${raise(caps, "maxRunDurationS")}`,
  });
}
