/**
 * Fills a scenario's client and server roles with concrete agents: for each
 * selected node pair (cross-node), node (same-node) or external agent × node
 * (external), which agent is the client and which the server — or what is
 * missing. Pure and deterministic: within a node, agents are taken in natural
 * id order, so "n1/pod/a" is pod agent #1 and "n1/pod/b" pod agent #2.
 */
import type { ModeName } from "../../../common/src/model.js";
import { naturalCompare } from "./hash.js";
import type { NodeSelection } from "./pairs.js";
import type { PlannerAgent } from "./planner.js";
import type { ScenarioShape } from "./scenarios.js";


/** Why some units could not be filled; `count` = how many node pairs or nodes that costs. */
export interface EndpointProblem {
  count: number;
  reason: string;
}

/**
 * Filled role pairs ("units") in selection order as parallel lists — unit i
 * is clients[i] → servers[i] — and what prevented the others.
 */
export interface Endpoints {
  clients: PlannerAgent[];
  servers: PlannerAgent[];
  problems: EndpointProblem[];
}

/** Agents of one node by mode, each list in natural id order. */
type ByMode = Record<ModeName, PlannerAgent[]>;

/** Index agents by node and mode. */
export function indexAgents(agents: readonly PlannerAgent[]): Map<string, ByMode> {
  const byNode = new Map<string, ByMode>();
  for (const a of agents) {
    let entry = byNode.get(a.node);
    if (!entry) byNode.set(a.node, (entry = { host: [], pod: [], external: [] }));
    entry[a.mode].push(a);
  }
  for (const e of byNode.values()) for (const l of Object.values(e)) l.sort((x, y) => naturalCompare(x.id, y.id));
  return byNode;
}

/** Fill `shape`'s roles over `selection`. */
export function findEndpoints(shape: ScenarioShape, agents: readonly PlannerAgent[], selection: NodeSelection, index = indexAgents(agents)): Endpoints {
  const clients: PlannerAgent[] = [];
  const servers: PlannerAgent[] = [];
  const lost = new Map<string, { count: number; nodes: Set<string> }>();
  const lose = (why: string, node: string): void => {
    let e = lost.get(why);
    if (!e) lost.set(why, (e = { count: 0, nodes: new Set() }));
    e.count++;
    e.nodes.add(node);
  };
  const pick = (node: string, mode: ModeName, nth = 0): PlannerAgent | undefined => index.get(node)?.[mode][nth];
  const accept = (client: PlannerAgent, server: PlannerAgent): void => {
    if (server.address === "") lose("registered no address (start it with --address IP)", server.id);
    else {
      clients.push(client);
      servers.push(server);
    }
  };
  const noAgent = (mode: ModeName) => `no ${mode} agent (the ${mode}-network DaemonSet is not running there)`;

  if (shape.placement === "cross") {
    const { from, to } = selection.pairs;
    if (from.length === 0) {
      return { clients, servers, problems: [{ count: 0, reason: `needs at least two nodes to pair; the selection has ${selection.nodes.length}` }] };
    }
    for (let i = 0; i < from.length; i++) {
      const a = from[i]!;
      const b = to[i]!;
      const client = pick(a, shape.clientMode);
      const server = pick(b, shape.serverMode);
      if (!client) lose(noAgent(shape.clientMode), a);
      else if (!server) lose(noAgent(shape.serverMode), b);
      else accept(client, server);
    }
  } else if (shape.placement === "same") {
    if (selection.nodes.length === 0) return { clients, servers, problems: [{ count: 0, reason: "no node is selected" }] };
    for (const n of selection.nodes) {
      const client = pick(n, "pod", 0);
      const server = pick(n, "pod", 1);
      if (!client || !server) lose("fewer than two pod agents (the chart runs the pod variant as two DaemonSets)", n);
      else accept(client, server);
    }
  } else {
    const externals = [...index.entries()]
      .map(([, e]) => e.external[0])
      .filter((a): a is PlannerAgent => a !== undefined)
      .sort((x, y) => naturalCompare(x.node, y.node));
    if (externals.length === 0) {
      return { clients, servers, problems: [{ count: 0, reason: "no external agent is registered (run `netmatrix agent --mode external` on a machine outside the cluster)" }] };
    }
    for (const x of externals) {
      for (const n of selection.nodes) {
        const server = pick(n, shape.serverMode);
        if (!server) lose(noAgent(shape.serverMode), n);
        else accept(x, server);
      }
    }
  }
  const problems = [...lost.entries()].map(([why, e]) => {
    const names = [...e.nodes];
    const subject = why.startsWith("registered") ? `agent(s) ${short(names)}` : `node(s) ${short(names)}`;
    const unit = shape.placement === "cross" ? "node pairs" : shape.placement === "same" ? "nodes" : "external → node pairs";
    return { count: e.count, reason: `${subject}: ${why}; ${e.count} ${unit} not planned` };
  });
  return { clients, servers, problems };
}

/** Up to `max` names, then "… and N more". */
export function short(names: readonly string[], max = 8): string {
  return names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")} … and ${names.length - max} more`;
}
