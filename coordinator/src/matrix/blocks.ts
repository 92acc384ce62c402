/**
 * The planner's first phase: per scenario of a spec, refuse it (no service
 * provider, no agents) or fill its client/server roles over the selected
 * nodes and pick the parameter combinations it runs, noting the ones it
 * skips. The second phase (planner.ts) crosses the two into cases. Pure.
 */
import { findEndpoints, indexAgents, type Endpoints } from "./endpoints.js";
import { hash64, joinLane1, joinLane2 } from "./hash.js";
import type { NodeSelection } from "./pairs.js";
import type { PlannerAgent, PlannerOptions } from "./planner-types.js";
import type { RefusalLog } from "./refusals.js";
import { SCENARIO_SHAPES, type ScenarioName, type Via } from "../../../common/src/scenarios.js";
import type { MatrixSpec } from "./spec.js";
import type { Variant } from "./variants.js";
import { drivers } from "../../../tools/src/index.js";
import type { Steps } from "./steps.js";

/** One scenario's filled units and the parameter combinations to cross them with. */
export interface Block {
  scenario: ScenarioName;
  via: Via;
  cross: boolean;
  found: Endpoints;
  labels: Labels;
  /** Indices into the combination list. */
  combos: number[];
}

/** Per scenario: refuse it, or fill its units and pick the combinations it runs (noting the skipped ones). Yields after each scenario. */
export function* expand(
  spec: MatrixSpec,
  agents: readonly PlannerAgent[],
  provider: PlannerOptions["serviceProvider"],
  selection: NodeSelection,
  combos: readonly Variant[],
  notes: RefusalLog,
): Steps<Block[]> {
  const index = indexAgents(agents);
  const nodeHashes = new Map<string, [number, number]>();
  const blocks: Block[] = [];
  for (const scenario of spec.scenarios) {
    yield;
    const shape = SCENARIO_SHAPES[scenario];
    if (shape.serviceKind) {
      if (!provider) {
        notes.add("refused", scenario, undefined, 0, `${scenario}: no service provider is configured (the lab provides iptables DNAT, Kubernetes provides Services)`);
        continue;
      }
      if (!provider.kinds.includes(shape.serviceKind)) {
        notes.add("refused", scenario, undefined, 0, `${scenario}: needs a ${shape.serviceKind} service, the service provider offers ${provider.kinds.join(", ") || "none"}`);
        continue;
      }
    }
    // Why a tool cannot take this scenario's path (ping has no port to forward; qperf's data port does not survive a NodePort).
    const cannot = (v: Variant): string | undefined => (shape.via === "direct" ? undefined : drivers[v.tool].capabilities.cannotCross[shape.via]);
    const runnable = (v: Variant): boolean => !v.skip && cannot(v) === undefined;
    const found = findEndpoints(shape, agents, selection, index);
    const units = found.client.length;
    const perUnit = combos.filter(runnable).length;
    for (const r of found.problems) notes.add("refused", scenario, undefined, r.count * perUnit, `${scenario}: ${r.reason}`);
    if (units === 0) continue;
    const chosen: number[] = [];
    combos.forEach((v, k) => {
      const why = v.skip ?? cannot(v);
      if (why !== undefined) notes.add("skipped", scenario, v.tool, units, why);
      else chosen.push(k);
    });
    blocks.push({ scenario, via: shape.via, cross: shape.placement === "cross", found, labels: unitLabels(agents, found, nodeHashes), combos: chosen });
  }
  return blocks;
}

/** Unit labels "n1→n2" and the hash lanes `caseId` uses for them. */
export interface Labels {
  text: string[];
  lane1: Uint32Array;
  lane2: Uint32Array;
}

/** Label every unit; each node name is hashed once (cached in `nodeHashes`), then joined per unit. */
function unitLabels(agents: readonly PlannerAgent[], found: Endpoints, nodeHashes: Map<string, [number, number]>): Labels {
  const n = found.client.length;
  const text = new Array<string>(n);
  const lane1 = new Uint32Array(n);
  const lane2 = new Uint32Array(n);
  const hashOf = (node: string): [number, number] => {
    let h = nodeHashes.get(node);
    if (!h) nodeHashes.set(node, (h = hash64(node)));
    return h;
  };
  for (let i = 0; i < n; i++) {
    const c = agents[found.client[i]!]!.node;
    const s = agents[found.server[i]!]!.node;
    const hc = hashOf(c);
    const hs = hashOf(s);
    text[i] = `${c}→${s}`;
    lane1[i] = joinLane1(hc[0], hs[0]);
    lane2[i] = joinLane2(hc[1], hs[1]);
  }
  return { text, lane1, lane2 };
}
