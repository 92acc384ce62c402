/**
 * Expands a matrix spec over the registered agents into concrete cases: for
 * every scenario, every selected node pair (or node), and every parameter
 * combination, which agent is the client, which the server, and how the
 * client reaches it. What cannot be planned is reported with a reason —
 * never silently dropped and never faked. Pure and deterministic.
 */
import type { DirectionName, ModeName, ToolName } from "../../../common/src/model.js";
import { drivers } from "../../../agent/src/drivers/index.js";
import { fingerprint, naturalCompare } from "./hash.js";
import { selectNodes } from "./pairs.js";
import { SCENARIO_SHAPES, type ScenarioName, type ServiceKind, type Via } from "./scenarios.js";
import type { MatrixSpec } from "./spec.js";
import { variants, type CaseProtocol } from "./variants.js";
import { findEndpoints, indexAgents, short } from "./endpoints.js";

/** An agent as the planner sees it (a registry entry reduced to what planning needs). */
export interface PlannerAgent {
  /** Registry id, e.g. "n1/host", "n1/pod/a", "ext/external". */
  id: string;
  /** Node name; external agents' node names stand for machines outside the cluster. */
  node: string;
  mode: ModeName;
  /** The address a client targets; empty when the agent registered none. */
  address: string;
  /** Tools found on the agent. */
  tools: ToolName[];
}

/** Planner options. */
export interface PlannerOptions {
  /**
   * What can put a Service in front of a pod agent: Kubernetes (ClusterIP and
   * NodePort Services) or the lab (iptables DNAT). Without it the service
   * scenarios are refused.
   */
  serviceProvider?: { kinds: ServiceKind[] };
}

/** One test between two agents with fixed parameters. Units in the names. */
export interface PlannedCase {
  /** 12 hex digits hashed from `key`: short, and the same for the same spec and agents on every run. */
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
  /** UDP target rate (iperf3/iperf2 only), bits/s; undefined otherwise. */
  bitrateBps: number | undefined;
  durationS: number;
  omitS: number;
  /** Key of the planned host-host case with the same node pair and parameters; undefined for host-host itself, same-node and external cases, or when none is planned. */
  baselineKey: string | undefined;
}

/**
 * Something the spec asked for that is not planned. "refused": it cannot run
 * here (no service provider, no agents, a tool missing); "skipped": an
 * informational note about a combination that does not exist for a tool
 * (qperf reverse, ping parallel streams, …).
 */
export interface Refusal {
  kind: "refused" | "skipped";
  scenario?: ScenarioName;
  tool?: ToolName;
  /** How many cases this entry stands for (0 when a whole scenario or selection could not be expanded). */
  count: number;
  reason: string;
}

/** The planner's answer. */
export interface Plan {
  cases: PlannedCase[];
  refused: Refusal[];
}

/**
 * Plan `spec` over `agents`. Case order: scenarios in spec order, then
 * parameter combinations (tool, protocol, direction, parallel, length,
 * bitrate), then node pairs in natural node-name order.
 */
export function plan(spec: MatrixSpec, agents: readonly PlannerAgent[], opts: PlannerOptions = {}): Plan {
  const ids = new Set<string>();
  for (const a of agents) {
    if (ids.has(a.id)) throw new Error(`plan: agent id "${a.id}" appears twice`);
    ids.add(a.id);
  }
  const notes = new Notes();
  const clusterNodes = [...new Set(agents.filter((a) => a.mode !== "external").map((a) => a.node))].sort(naturalCompare);
  const selection = selectNodes(spec.pairs, clusterNodes, spec.name);
  for (const n of selection.unknown) {
    notes.add("refused", undefined, undefined, 0, `pairs.nodes: no agent runs on node "${n}" (nodes with agents: ${short(clusterNodes) || "none"})`);
  }
  const combos = variants(spec);
  const index = indexAgents(agents);
  const cases: PlannedCase[] = [];

  for (const scenario of spec.scenarios) {
    const shape = SCENARIO_SHAPES[scenario];
    if (shape.serviceKind) {
      const provider = opts.serviceProvider;
      if (!provider) {
        notes.add("refused", scenario, undefined, 0, `${scenario}: no service provider is configured (the lab provides iptables DNAT, Kubernetes provides Services)`);
        continue;
      }
      if (!provider.kinds.includes(shape.serviceKind)) {
        notes.add("refused", scenario, undefined, 0,
          `${scenario}: needs a ${shape.serviceKind} service, the service provider offers ${provider.kinds.join(", ") || "none"}`);
        continue;
      }
    }
    const found = findEndpoints(shape, agents, selection, index);
    const perUnit = combos.filter((c) => !c.skip && (c.tool !== "ping" || shape.via === "direct")).length;
    for (const r of found.problems) notes.add("refused", scenario, undefined, r.count * perUnit, `${scenario}: ${r.reason}`);
    if (found.units.length === 0) continue;

    for (const v of combos) {
      if (v.skip) {
        notes.add("skipped", scenario, v.tool, found.units.length, v.skip);
        continue;
      }
      if (v.tool === "ping" && shape.via !== "direct") {
        notes.add("skipped", scenario, v.tool, found.units.length,
          `ping: ICMP to a ${shape.via === "service" ? "ClusterIP" : "NodePort"} is not forwarded (kube-proxy and the lab's DNAT forward TCP/UDP ports only); ping runs on direct paths`);
        continue;
      }
      const needsServer = drivers[v.tool].needsServer;
      const pkg = drivers[v.tool].debianPackage;
      for (const { client, server } of found.units) {
        const missing = !client.tools.includes(v.tool) ? client : needsServer && !server.tools.includes(v.tool) ? server : undefined;
        if (missing) {
          notes.add("refused", scenario, v.tool, 1, `${v.tool} is missing on agent ${missing.id}; install the Debian package "${pkg}"`);
          continue;
        }
        const key = `${scenario}/${v.paramKey}/${client.node}→${server.node}`;
        cases.push({
          id: "",
          key,
          scenario,
          client: client.id,
          server: server.id,
          via: shape.via,
          clientNode: client.node,
          serverNode: server.node,
          tool: v.tool,
          protocol: v.protocol,
          direction: v.direction,
          parallel: v.parallel,
          lengthBytes: v.lengthBytes,
          bitrateBps: v.bitrateBps,
          durationS: v.durationS,
          omitS: v.omitS,
          baselineKey: undefined,
        });
      }
    }
  }
  assignIds(cases);
  linkBaselines(cases);
  return { cases, refused: notes.list() };
}

/** Give every case its id: 12 hex digits of its key's hash; on the (rare) collision, of "key#n". */
function assignIds(cases: PlannedCase[]): void {
  const taken = new Set<string>();
  for (const c of cases) {
    let id = fingerprint(c.key);
    for (let n = 2; taken.has(id); n++) id = fingerprint(`${c.key}#${n}`);
    taken.add(id);
    c.id = id;
  }
}

/** Point every cross-node, non-baseline case at the host-host case with the same node pair and parameters, when planned. */
function linkBaselines(cases: PlannedCase[]): void {
  const needs = cases.some((c) => c.scenario !== "host-host" && SCENARIO_SHAPES[c.scenario].placement === "cross");
  if (!needs) return;
  const baselines = new Set(cases.filter((c) => c.scenario === "host-host").map((c) => c.key));
  if (baselines.size === 0) return;
  for (const c of cases) {
    if (c.scenario === "host-host" || SCENARIO_SHAPES[c.scenario].placement !== "cross") continue;
    const candidate = `host-host${c.key.slice(c.scenario.length)}`;
    if (baselines.has(candidate)) c.baselineKey = candidate;
  }
}

/** Refusals aggregated by (kind, scenario, tool, reason), counts summed, in first-seen order. */
class Notes {
  private readonly byKey = new Map<string, Refusal>();

  add(kind: Refusal["kind"], scenario: ScenarioName | undefined, tool: ToolName | undefined, count: number, reason: string): void {
    const k = `${kind}|${scenario ?? ""}|${tool ?? ""}|${reason}`;
    const existing = this.byKey.get(k);
    if (existing) {
      existing.count += count;
      return;
    }
    this.byKey.set(k, { kind, ...(scenario ? { scenario } : {}), ...(tool ? { tool } : {}), count, reason });
  }

  list(): Refusal[] {
    return [...this.byKey.values()];
  }
}
