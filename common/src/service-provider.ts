/**
 * Services in front of exactly one server agent, for the pod-service and
 * external-nodeport scenarios. The lab implements this with iptables DNAT,
 * Kubernetes with a selector-less Service and an EndpointSlice.
 */
import type { ServiceKind } from "./scenarios.js";
import type { FamilyName } from "./model.js";

/** What the client should target instead of the server agent's own address. */
export interface ExposedService {
  /** ClusterIP or node address. */
  address: string;
  port: number;
  /** Second port for tools that use two (qperf's data port); 0 when unused. */
  dataPort: number;
  /** Remove the service (and its rules or objects). Idempotent. */
  release(): Promise<void>;
}

export interface ExposeRequest {
  kind: ServiceKind;
  runId: string;
  caseId: string;
  /** The server agent's node and address. */
  serverNode: string;
  serverAddress: string;
  /** The ports its tool server listens on (data port 0 when unused). */
  port: number;
  dataPort: number;
  protocol: "tcp" | "udp";
  /** The address family of the case (absent: IPv4); `serverAddress` is of it, and so must the service's address be. */
  family?: FamilyName;
}

export interface ServiceProvider {
  /** Which kinds it can create. */
  readonly kinds: ServiceKind[];
  /** The address families it can put a service in front of (absent: IPv4 only). */
  readonly families?: FamilyName[];
  /** Why a family is missing from `families`, for the cases skipped for it (e.g. "the cluster has no IPv6 Service range"). */
  readonly familiesNote?: string;
  expose(req: ExposeRequest): Promise<ExposedService>;
  /** Remove everything of `runId` (or of every run) a crash left behind. */
  sweep(runId?: string): Promise<number>;
}
