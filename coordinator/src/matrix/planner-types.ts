/**
 * What the planner is given: the agents and its options. Their own file so
 * the planner's helpers (blocks, endpoints) can name them without importing
 * the planner.
 */
import type { ModeName } from "../../../common/src/model.js";
import type { ServiceKind } from "../../../common/src/scenarios.js";
import type { ToolName } from "../../../tools/src/index.js";

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
  /** Tools on its PATH that it cannot run, with why and the fix (as the agent reported them). */
  toolProblems?: Partial<Record<ToolName, string>>;
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
