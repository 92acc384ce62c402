/**
 * Expands a matrix spec over the registered agents into concrete cases: for
 * every scenario, every selected node pair (or node), and every parameter
 * combination, which agent is the client, which the server, and how the
 * client reaches it. What cannot be planned is reported with a reason —
 * never silently dropped and never faked. Pure and deterministic.
 */
import type { DirectionName } from "../../../common/src/model.js";
import { drivers, tools, type ToolName } from "../../../tools/src/index.js";
import { bits48, fingerprint, hash64, hex12, joinLane1, joinLane2 } from "./hash.js";
import { naturalCompare } from "../../../common/src/natural-compare.js";
import { selectNodes } from "./pairs.js";
import type { ScenarioName, Via } from "../../../common/src/scenarios.js";
import type { MatrixSpec } from "./spec.js";
import { variants, type CaseProtocol } from "./variants.js";
import { short } from "./endpoints.js";
import { expand } from "./blocks.js";
import { RefusalLog, type Refusal } from "./refusals.js";
import type { PlannerAgent, PlannerOptions } from "./planner-types.js";
import { runSteps, STEP_MASK, type Steps } from "./steps.js";
import { SCENARIO_SHAPES } from "../../../common/src/scenarios.js";

export type { Refusal } from "./refusals.js";
export type { PlannerAgent, PlannerOptions } from "./planner-types.js";

/** One test between two agents with fixed parameters. Units in the names. */
export interface PlannedCase {
  /**
   * `caseId(key)`: 12 hex digits hashed from `key`, so the same on every run
   * of the same spec and agents (should two keys of one plan share those 48
   * bits, the later case gets the fingerprint of "key#2" instead).
   */
  id: string;
  /** "scenario/tool/protocol/direction/P<streams>/L<length>[/B<udp rate>]/<client node>→<server node>". */
  key: string;
  scenario: ScenarioName;
  /** Client agent id. */
  client: string;
  /** Server agent id (behind the Service or NodePort when `via` says so). */
  server: string;
  via: Via;
  clientNode: string;
  serverNode: string;
  tool: ToolName;
  /** "icmp" for ping (see CaseProtocol). */
  protocol: CaseProtocol;
  direction: DirectionName;
  parallel: number;
  /** 0 = tool default. */
  lengthBytes: number;
  /** UDP target rate (tools that pace), bits/s; undefined otherwise. */
  bitrateBps: number | undefined;
  durationS: number;
  omitS: number;
  /** Key of the planned host-host case with the same node pair and parameters; undefined for host-host itself, same-node and external cases, or when none is planned. */
  baselineKey: string | undefined;
}

/** The planner's answer. */
export interface Plan {
  cases: PlannedCase[];
  refused: Refusal[];
}

/** One bit per tool of the catalogue, for a per-agent "has this tool" mask. */
const TOOL_BIT = Object.fromEntries(tools.names.map((t, i) => [t, 2 ** i])) as Record<ToolName, number>;

/**
 * Plan `spec` over `agents`. Case order: scenarios in spec order, then
 * parameter combinations (tool, protocol, direction, parallel, length,
 * bitrate), then node pairs in natural node-name order.
 */
export function plan(spec: MatrixSpec, agents: readonly PlannerAgent[], opts: PlannerOptions = {}): Plan {
  return runSteps(planSteps(spec, agents, opts));
}

/**
 * `plan` as steps: it yields every few thousand cases, so that a caller can
 * let the event loop in and stop it (`runStepsAsync`). Check the plan's size
 * first (size.ts `planSize`): this allocates every case.
 */
export function* planSteps(spec: MatrixSpec, agents: readonly PlannerAgent[], opts: PlannerOptions = {}): Steps<Plan> {
  const ids = new Set<string>();
  for (const a of agents) {
    if (ids.has(a.id)) throw new Error(`plan: agent id "${a.id}" appears twice`);
    ids.add(a.id);
  }
  const notes = new RefusalLog();
  const clusterNodes = [...new Set(agents.filter((a) => a.mode !== "external").map((a) => a.node))].sort(naturalCompare);
  // Node pairs only when a cross-node row needs them (every ordered pair of 5000 nodes is 25 million).
  const crossRows = spec.scenarios.some((s) => SCENARIO_SHAPES[s].placement === "cross");
  const selection = selectNodes(spec.pairs, clusterNodes, spec.seed, { pairs: crossRows });
  yield;
  for (const n of selection.unknown) {
    notes.add("refused", undefined, undefined, 0, `pairs.nodes: no agent runs on node "${n}" (nodes with agents: ${short(clusterNodes) || "none"})`);
  }
  const combos = variants(spec);
  const blocks = yield* expand(spec, agents, opts.serviceProvider, selection, combos, notes);

  // Sizes are known now: fill preallocated arrays (a million pushes cost more than the cases).
  const capacity = blocks.reduce((n, b) => n + b.found.client.length * b.combos.length, 0);
  const cases: PlannedCase[] = new Array<PlannedCase>(capacity);
  const idBits = new Float64Array(capacity);
  const toolMask = Uint32Array.from(agents, (a) => a.tools.reduce((m, t) => m | TOOL_BIT[t], 0));
  const hostHost: Int32Array[] = []; // per combination and selected pair: index of its host-host case, or −1
  const pending = { at: new Int32Array(capacity), combo: new Int32Array(capacity), pair: new Int32Array(capacity), n: 0 };
  let n = 0;
  let work = 0;
  for (const b of blocks) {
    const { client, server, pairIndex } = b.found;
    for (const k of b.combos) {
      const v = combos[k]!;
      const { needsServer, debianPackage } = drivers[v.tool];
      const bit = TOOL_BIT[v.tool];
      const prefix = `${b.scenario}/${v.paramKey}/`;
      const [p1, p2] = hash64(prefix);
      const baseline = b.scenario === "host-host" ? (hostHost[k] ??= new Int32Array(selection.pairs.from.length).fill(-1)) : undefined;
      for (let i = 0; i < client.length; i++) {
        if ((++work & STEP_MASK) === 0) yield;
        const ci = client[i]!;
        const si = server[i]!;
        if (!(toolMask[ci]! & bit) || (needsServer && !(toolMask[si]! & bit))) {
          const missing = toolMask[ci]! & bit ? agents[si]! : agents[ci]!;
          const problem = missing.toolProblems?.[v.tool];
          notes.add(
            "refused",
            b.scenario,
            v.tool,
            1,
            problem ? `${v.tool} cannot run on agent ${missing.id}: ${problem}` : `${v.tool} is missing on agent ${missing.id}; install the Debian package "${debianPackage}"`,
          );
          continue;
        }
        const c = agents[ci]!;
        const s = agents[si]!;
        const l1 = joinLane1(p1, b.labels.lane1[i]!);
        const l2 = joinLane2(p2, b.labels.lane2[i]!);
        idBits[n] = bits48(l1, l2);
        if (baseline) baseline[pairIndex[i]!] = n;
        else if (b.cross) {
          pending.at[pending.n] = n;
          pending.combo[pending.n] = k;
          pending.pair[pending.n++] = pairIndex[i]!;
        }
        cases[n++] = {
          id: hex12(l1, l2),
          key: prefix + b.labels.text[i]!,
          scenario: b.scenario,
          client: c.id,
          server: s.id,
          via: b.via,
          clientNode: c.node,
          serverNode: s.node,
          tool: v.tool,
          protocol: v.protocol,
          direction: v.direction,
          parallel: v.parallel,
          lengthBytes: v.lengthBytes,
          bitrateBps: v.bitrateBps,
          durationS: v.durationS,
          omitS: v.omitS,
          baselineKey: undefined,
        };
      }
    }
  }
  cases.length = n;
  yield;
  resolveIdCollisions(cases, idBits.subarray(0, n));
  // Baselines last: host-host may come after the scenarios it is the baseline of.
  for (let j = 0; j < pending.n; j++) {
    const at = hostHost[pending.combo[j]!]?.[pending.pair[j]!] ?? -1;
    if (at >= 0) cases[pending.at[j]!]!.baselineKey = cases[at]!.key;
  }
  return { cases, refused: notes.list() };
}

/**
 * Ids are `caseId(key)`; two different keys sharing 48 bits is rare but
 * possible, so check (an open-addressing table over the 48-bit values, no
 * strings) and, only then, give every later duplicate the fingerprint of
 * "key#n" instead.
 */
function resolveIdCollisions(cases: PlannedCase[], idBits: Float64Array): void {
  let size = 1024;
  while (size < idBits.length * 2) size *= 2;
  const table = new Float64Array(size); // 0 = empty, else bits + 1
  const mask = size - 1;
  let clash = false;
  for (let i = 0; i < idBits.length && !clash; i++) {
    const v = idBits[i]! + 1;
    let slot = Math.floor(v / 65536) & mask; // lane 1: already well mixed
    while (table[slot] !== 0 && table[slot] !== v) slot = (slot + 1) & mask;
    clash = table[slot] === v;
    table[slot] = v;
  }
  if (!clash) return;
  const taken = new Set<string>();
  for (const c of cases) {
    for (let n = 2; taken.has(c.id); n++) c.id = fingerprint(`${c.key}#${n}`);
    taken.add(c.id);
  }
}
