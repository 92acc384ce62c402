/**
 * What the planner is given: the agents and its options. Their own file so
 * the planner's helpers (blocks, endpoints) can name them without importing
 * the planner.
 */
import type { ModeName } from "../../../common/src/model.js";
import type { ToolName } from "../../../tools/src/index.js";
import type { FamilyName } from "../../../common/src/model.js";
import type { ScenarioName, ServiceKind, Via } from "../../../common/src/scenarios.js";
import type { TestParameters } from "./variants.js";
import type { Refusal } from "./refusals.js";

/** An agent as the planner sees it (a registry entry reduced to what planning needs). */
export interface PlannerAgent {
  /** Registry id, e.g. "n1/host", "n1/pod/a", "ext/external". */
  id: string;
  /** Node name; external agents' node names stand for machines outside the cluster. */
  node: string;
  mode: ModeName;
  /** The address a client targets; empty when the agent registered none. */
  address: string;
  /** Every address it registered (`address` first), for the families it can be reached over; absent: `address` only. */
  addresses?: readonly string[];
  /** Tools found on the agent. */
  tools: ToolName[];
  /** Tools on its PATH that it cannot run, with why and the fix (as the agent reported them). */
  toolProblems?: Partial<Record<ToolName, string>>;
  /** Labels of its node (the agent's --label flags), e.g. { "topology.kubernetes.io/zone": "eu-1a" }: what `pairs: { sample, by }` and `pairs: { cover, by }` group by (pairs.ts `nodeLabels`). */
  labels?: Readonly<Record<string, string>>;
}

/** Planner options. */
export interface PlannerOptions {
  /**
   * What can put a Service in front of a pod agent: Kubernetes (ClusterIP and
   * NodePort Services) or the lab (iptables DNAT). Without it the service
   * scenarios are refused.
   */
  serviceProvider?: { kinds: ServiceKind[]; families?: FamilyName[]; familiesNote?: string };
}

/** One test between two agents with fixed parameters. Units in the names. */
export interface PlannedCase extends TestParameters {
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
  /** The address family, when not IPv4 (absent: IPv4, as every case before families). */
  family?: FamilyName;
  /** Key of the planned host-host case with the same node pair and parameters; undefined for host-host itself, same-node and external cases, or when none is planned. */
  baselineKey: string | undefined;
}

/** The planner's answer. */
export interface Plan {
  cases: PlannedCase[];
  refused: Refusal[];
}
