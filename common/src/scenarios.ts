/**
 * The scenario catalog as data (docs/field-reports.md lists it with the field
 * reports each row reproduces): for each row of a matrix, which
 * kind of agent is the client, which is the server, whether the two are on the
 * same node, and how the client reaches the server. Pure.
 */
import type { ModeName } from "./model.js";

/** Every scenario a matrix spec may name, in catalog order. */
export const SCENARIOS = [
  "host-host",
  "pod-pod-cross",
  "pod-pod-same",
  "pod-host",
  "host-pod",
  "pod-service-cross",
  "pod-service-same",
  "external-pod",
  "external-nodeport",
] as const;

/** A row of the matrix (see SCENARIO_SHAPES, and docs/field-reports.md, "The scenario catalogue"). */
export type ScenarioName = (typeof SCENARIOS)[number];

/**
 * How the client reaches the server: its registered address ("direct"), a
 * ClusterIP Service in front of exactly that server ("service"), or a NodePort
 * of the server's node in front of it ("nodeport").
 */
export type Via = "direct" | "service" | "nodeport";

/** Which kind of Service a provider (Kubernetes, or the lab's iptables DNAT) can put in front of a pod agent. */
export type ServiceKind = "clusterip" | "nodeport";

/**
 * Where the two ends of a scenario sit:
 * - "cross": client on node A, server on node B ≠ A (one case per selected ordered node pair);
 * - "same": client and server on the same node (one case per selected node);
 * - "external": client is an agent outside the cluster, server on a selected node.
 */
export type Placement = "cross" | "same" | "external";

/** One catalog row. */
export interface ScenarioShape {
  name: ScenarioName;
  clientMode: ModeName;
  serverMode: ModeName;
  placement: Placement;
  via: Via;
  /** The Service kind the path needs, when `via` is not "direct". */
  serviceKind?: ServiceKind;
  /** What the row isolates, for reports and help text. */
  isolates: string;
}

/** The catalog, by scenario name. */
export const SCENARIO_SHAPES: Readonly<Record<ScenarioName, ScenarioShape>> = {
  "host-host": {
    name: "host-host",
    clientMode: "host",
    serverMode: "host",
    placement: "cross",
    via: "direct",
    isolates: "the baseline: NIC + underlay, no CNI",
  },
  "pod-pod-cross": {
    name: "pod-pod-cross",
    clientMode: "pod",
    serverMode: "pod",
    placement: "cross",
    via: "direct",
    isolates: "CNI datapath across nodes (encapsulation or routing)",
  },
  "pod-pod-same": {
    name: "pod-pod-same",
    clientMode: "pod",
    serverMode: "pod",
    placement: "same",
    via: "direct",
    isolates: "bridge/veth path on one node, no NIC",
  },
  "pod-host": {
    name: "pod-host",
    clientMode: "pod",
    serverMode: "host",
    placement: "cross",
    via: "direct",
    isolates: "client side through the CNI, server on the host network",
  },
  "host-pod": {
    name: "host-pod",
    clientMode: "host",
    serverMode: "pod",
    placement: "cross",
    via: "direct",
    isolates: "server side through the CNI, client on the host network",
  },
  "pod-service-cross": {
    name: "pod-service-cross",
    clientMode: "pod",
    serverMode: "pod",
    placement: "cross",
    via: "service",
    serviceKind: "clusterip",
    isolates: "CNI + kube-proxy DNAT, server pod on another node",
  },
  "pod-service-same": {
    name: "pod-service-same",
    clientMode: "pod",
    serverMode: "pod",
    placement: "same",
    via: "service",
    serviceKind: "clusterip",
    isolates: "kube-proxy DNAT on one node, no NIC",
  },
  "external-pod": {
    name: "external-pod",
    clientMode: "external",
    serverMode: "pod",
    placement: "external",
    via: "direct",
    isolates: "ingress from outside the cluster straight to a pod",
  },
  "external-nodeport": {
    name: "external-nodeport",
    clientMode: "external",
    serverMode: "pod",
    placement: "external",
    via: "nodeport",
    serviceKind: "nodeport",
    isolates: "ingress from outside through a NodePort of the server pod's node",
  },
};

/** Whether `name` is a catalog scenario. */
export function isScenario(name: unknown): name is ScenarioName {
  return typeof name === "string" && (SCENARIOS as readonly string[]).includes(name);
}
