/**
 * Fills a scenario's client and server roles with concrete agents: for each
 * selected node pair (cross-node), node (same-node) or external agent × node
 * (external), which agent is the client and which the server — or what is
 * missing. Pure and deterministic: within a node, agents are taken in natural
 * id order, so "n1/pod/a" is pod agent #1 and "n1/pod/b" pod agent #2.
 */
import type { ModeName } from "../../../common/src/model.js";
import { naturalCompare } from "../../../common/src/natural-compare.js";
import type { NodeSelection } from "./pairs.js";
import type { PlannerAgent } from "./planner-types.js";
import type { ScenarioShape } from "../../../common/src/scenarios.js";

/** Why some units could not be filled; `count` = how many node pairs or nodes that costs. */
export interface EndpointProblem {
  count: number;
  reason: string;
}

/**
 * Filled role pairs ("units") in selection order, as indices into the agent
 * list: unit i is agents[client[i]] → agents[server[i]]. And what prevented
 * the others.
 */
export interface Endpoints {
  client: Int32Array;
  server: Int32Array;
  /** Cross-node placements: unit i's index into `selection.pairs`; empty otherwise. */
  pairIndex: Int32Array;
  problems: EndpointProblem[];
}

/** Agent indices of one node by mode, each list in natural id order. */
type ByMode = Record<ModeName, number[]>;

/** Agent indices by node and mode. */
export function indexAgents(agents: readonly PlannerAgent[]): Map<string, ByMode> {
  const byNode = new Map<string, ByMode>();
  agents.forEach((a, i) => {
    let entry = byNode.get(a.node);
    if (!entry) byNode.set(a.node, (entry = { host: [], pod: [], external: [] }));
    entry[a.mode].push(i);
  });
  for (const e of byNode.values()) for (const l of Object.values(e)) l.sort((x, y) => naturalCompare(agents[x]!.id, agents[y]!.id));
  return byNode;
}

/** Fill `shape`'s roles over `selection`. */
export function findEndpoints(shape: ScenarioShape, agents: readonly PlannerAgent[], selection: NodeSelection, index = indexAgents(agents)): Endpoints {
  const { universe } = selection;
  const { from, to } = selection.pairs;
  const externals =
    shape.placement !== "external"
      ? []
      : [...index.values()]
          .map((e) => e.external[0])
          .filter((i): i is number => i !== undefined)
          .sort((x, y) => naturalCompare(agents[x]!.node, agents[y]!.node));
  const max = shape.placement === "cross" ? from.length : selection.nodes.length * Math.max(1, externals.length);
  const client = new Int32Array(max);
  const server = new Int32Array(max);
  const pairIndex = new Int32Array(shape.placement === "cross" ? max : 0);
  let n = 0;
  const lost = new Map<string, { count: number; names: Set<string> }>();
  const lose = (why: string, name: string): void => {
    let e = lost.get(why);
    if (!e) lost.set(why, (e = { count: 0, names: new Set() }));
    e.count++;
    e.names.add(name);
  };
  const pick = (node: string, mode: ModeName, nth = 0): number => index.get(node)?.[mode][nth] ?? -1;
  const accept = (c: number, s: number, pair: number): void => {
    if (agents[s]!.address === "") return lose("registered no address (start it with --address IP)", agents[s]!.id);
    client[n] = c;
    server[n] = s;
    if (pair >= 0) pairIndex[n] = pair;
    n++;
  };
  const noAgent = (mode: ModeName) => `no ${mode} agent (the ${mode}-network DaemonSet is not running there)`;
  const done = (problems: EndpointProblem[]): Endpoints => ({
    client: client.subarray(0, n),
    server: server.subarray(0, n),
    pairIndex: pairIndex.subarray(0, pairIndex.length ? n : 0),
    problems,
  });

  if (shape.placement === "cross") {
    if (from.length === 0) return done([{ count: 0, reason: `needs at least two nodes to pair; the selection has ${selection.nodes.length}` }]);
    // One lookup per node, not per pair.
    const clientOf = Int32Array.from(universe, (node) => pick(node, shape.clientMode));
    const serverOf = Int32Array.from(universe, (node) => pick(node, shape.serverMode));
    for (let i = 0; i < from.length; i++) {
      const c = clientOf[from[i]!]!;
      const s = serverOf[to[i]!]!;
      if (c < 0) lose(noAgent(shape.clientMode), universe[from[i]!]!);
      else if (s < 0) lose(noAgent(shape.serverMode), universe[to[i]!]!);
      else accept(c, s, i);
    }
  } else if (shape.placement === "same") {
    if (selection.nodes.length === 0) return done([{ count: 0, reason: "no node is selected" }]);
    for (const node of selection.nodes) {
      const c = pick(node, "pod", 0);
      const s = pick(node, "pod", 1);
      if (c < 0 || s < 0) lose("fewer than two pod agents (the chart runs the pod variant as two DaemonSets)", node);
      else accept(c, s, -1);
    }
  } else {
    if (externals.length === 0) {
      return done([{ count: 0, reason: "no external agent is registered (run `netmatrix agent --mode external` on a machine outside the cluster)" }]);
    }
    for (const x of externals) {
      for (const node of selection.nodes) {
        const s = pick(node, shape.serverMode);
        if (s < 0) lose(noAgent(shape.serverMode), node);
        else accept(x, s, -1);
      }
    }
  }
  const unit = shape.placement === "cross" ? "node pairs" : shape.placement === "same" ? "nodes" : "external → node pairs";
  return done(
    [...lost.entries()].map(([why, e]) => {
      const subject = why.startsWith("registered") ? "agent(s)" : "node(s)";
      return { count: e.count, reason: `${subject} ${short([...e.names])}: ${why}; ${e.count} ${unit} not planned` };
    }),
  );
}

/** Up to `max` names, then "… and N more". */
export function short(names: readonly string[], max = 8): string {
  return names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")} … and ${names.length - max} more`;
}
