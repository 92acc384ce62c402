/**
 * Pure builders for the Kubernetes objects that put a Service in front of
 * exactly one server agent (the pod-service and external-nodeport scenarios):
 * a selector-less Service and an EndpointSlice naming the agent's pod IP.
 *
 * - The Service has no selector, so Kubernetes never fills its endpoints; the
 *   EndpointSlice (label kubernetes.io/service-name) does, with exactly one
 *   address. kube-proxy then DNATs the ClusterIP (or NodePort) to it.
 * - Ports are named (`tool-tcp`, `tool-udp`, `data-tcp`, `data-udp`): kube-proxy
 *   matches Service ports to EndpointSlice ports by name. Protocol "udp" adds
 *   a TCP port of the same number, since iperf3 keeps its control connection
 *   on TCP even for UDP tests.
 * - Every object carries app.kubernetes.io/managed-by=netmatrix and the run
 *   and case ids, so a sweep finds what a crash left behind.
 *
 * Nothing here talks to an API server; see provider.ts and client.ts.
 */
import { createHash } from "node:crypto";
import { isAddressOf as isFamilyAddress } from "../../../common/src/addresses.js";
import { NetmatrixError } from "../../../common/src/errors.js";
import type { ServiceKind } from "../../../common/src/scenarios.js";
import type { ExposeRequest } from "../../../common/src/service-provider.js";

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "netmatrix";
export const RUN_ID_LABEL = "netmatrix.dev/run-id";
export const CASE_ID_LABEL = "netmatrix.dev/case-id";
/** Which coordinator (Helm release) owns the object, when it was told its name. */
export const INSTANCE_LABEL = "netmatrix.dev/instance";
/** Ties an EndpointSlice to its Service (read by kube-proxy). */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
/** Tells the EndpointSlice controllers the slice is someone else's to manage. */
export const SLICE_MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
/** A label value, so no "/" (the API server refuses one): named like the controllers' own, endpointslice-controller.k8s.io. */
export const SLICE_MANAGER = "coordinator.netmatrix.dev";
/** The original run and case ids, when the labels had to shorten them. */
export const RUN_ID_ANNOTATION = "netmatrix.dev/run-id";
export const CASE_ID_ANNOTATION = "netmatrix.dev/case-id";

/** Kubernetes' limit for a DNS-1035 label (Service names) and for label values. */
export const MAX_NAME = 63;

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** The Kubernetes name of a case's address family: its Service's ipFamilies and its EndpointSlice's addressType. */
export type IpFamily = "IPv4" | "IPv6";

/** The family of `req` as Kubernetes names it (absent: IPv4). */
export function ipFamilyOf(req: Pick<ExposeRequest, "family">): IpFamily {
  return req.family === "ipv6" ? "IPv6" : "IPv4";
}

/** Whether `address` is a targetable address of `family` (common/src/addresses.ts: no zone, no link-local). */
export function isAddressOf(address: string, family: IpFamily): boolean {
  return isFamilyAddress(address, family === "IPv6" ? "ipv6" : "ipv4");
}

/** A Service name Kubernetes accepts: DNS-1035 label, at most 63 characters. */
export function isDns1035Label(s: string): boolean {
  return s.length <= MAX_NAME && DNS1035_LABEL.test(s);
}

/** A node name Kubernetes accepts: DNS-1123 subdomain, at most 253 characters. */
export function isDns1123Subdomain(s: string): boolean {
  return s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
}

/** A label value Kubernetes accepts: at most 63 characters, alphanumeric at both ends. */
export function isLabelValue(s: string): boolean {
  return s.length <= MAX_NAME && LABEL_VALUE.test(s);
}

function hashHex(text: string, chars: number): string {
  return createHash("sha256").update(text).digest("hex").slice(0, chars);
}

/** Lowercase, runs of anything but [a-z0-9] as one "-", no "-" at either end, at most `max` characters. */
function slug(s: string, max: number): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, max)
    .replace(/^-+|-+$/g, "");
}

/**
 * The name of the Service (and its EndpointSlice) of a run's case:
 * `nm-<run>-<case>-<hash>`, readable where the ids allow, unique through a
 * hash of both ids, always a DNS-1035 label of at most 63 characters.
 */
export function objectName(runId: string, caseId: string): string {
  const parts = ["nm", slug(runId, 24), slug(caseId, 16), hashHex(`${runId}\u0000${caseId}`, 8)].filter((p) => p !== "");
  return parts.join("-");
}

/**
 * `id` itself when it is a valid label value, else a readable prefix plus a
 * hash (deterministic, so a sweep can select by it).
 */
export function labelValue(id: string): string {
  if (isLabelValue(id)) return id;
  const prefix = id
    .replace(/[^-A-Za-z0-9_.]+/g, "-")
    .slice(0, 50)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
  return prefix ? `${prefix}-${hashHex(id, 10)}` : hashHex(id, 10);
}

/** The labels of every object of a case. */
export function caseLabels(runId: string, caseId: string, instance?: string): Record<string, string> {
  return {
    [MANAGED_BY_LABEL]: MANAGED_BY,
    [RUN_ID_LABEL]: labelValue(runId),
    [CASE_ID_LABEL]: labelValue(caseId),
    ...(instance ? { [INSTANCE_LABEL]: labelValue(instance) } : {}),
  };
}

/** The label selector of everything netmatrix made (of one run, of one coordinator instance). */
export function labelSelector(runId?: string, instance?: string): string {
  const terms = [`${MANAGED_BY_LABEL}=${MANAGED_BY}`];
  if (instance) terms.push(`${INSTANCE_LABEL}=${labelValue(instance)}`);
  if (runId !== undefined) terms.push(`${RUN_ID_LABEL}=${labelValue(runId)}`);
  return terms.join(",");
}

export type L4Protocol = "TCP" | "UDP";

/** A port of the Service and the EndpointSlice, same name, same number. */
export interface CasePort {
  name: string;
  port: number;
  protocol: L4Protocol;
}

/** Named ports for `req`: tool (and data) on TCP, plus UDP twins for UDP tests. */
export function casePorts(req: Pick<ExposeRequest, "port" | "dataPort" | "protocol">): CasePort[] {
  const protocols: L4Protocol[] = req.protocol === "udp" ? ["TCP", "UDP"] : ["TCP"];
  const ports: CasePort[] = [];
  for (const [role, port] of [
    ["tool", req.port],
    ["data", req.dataPort],
  ] as const) {
    if (port === 0) continue;
    for (const p of protocols) ports.push({ name: `${role}-${p.toLowerCase()}`, port, protocol: p });
  }
  return ports;
}

function checkPort(what: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min || v > 65535) throw new NetmatrixError("invalid-argument", `${what} must be an integer in ${min}..65535, got ${String(v)}`);
}

/** Throws `invalid-argument` for a request no Service can be built for. */
export function checkRequest(req: ExposeRequest, kinds: readonly ServiceKind[] = ["clusterip", "nodeport"]): void {
  if (!kinds.includes(req.kind)) throw new NetmatrixError("invalid-argument", `service kind ${JSON.stringify(req.kind)} is not one of ${kinds.join(", ")}`);
  const family = ipFamilyOf(req);
  if (!isAddressOf(req.serverAddress, family)) {
    throw new NetmatrixError("invalid-argument", `server address ${JSON.stringify(req.serverAddress)} is not an ${family} address`, {
      hint:
        family === "IPv4"
          ? "the EndpointSlice is addressType IPv4: the server agent must register its pod IP (NETMATRIX_ADDRESS from status.podIP)"
          : "the EndpointSlice is addressType IPv6: the server agent must register its IPv6 pod IP (the chart passes status.podIPs)",
    });
  }
  checkPort("port", req.port, 1);
  checkPort("dataPort", req.dataPort, 0);
  if (req.dataPort === req.port) throw new NetmatrixError("invalid-argument", `dataPort must differ from port (${req.port})`);
  if (req.protocol !== "tcp" && req.protocol !== "udp") throw new NetmatrixError("invalid-argument", `protocol must be tcp or udp, got ${JSON.stringify(req.protocol)}`);
  if (!req.runId || !req.caseId) throw new NetmatrixError("invalid-argument", "runId and caseId are required");
}

// The shapes of the objects, as far as netmatrix writes or reads them.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[];
}

export interface ServicePort {
  name: string;
  port: number;
  targetPort?: number;
  protocol: L4Protocol;
  nodePort?: number;
}

export interface ServiceObject {
  apiVersion: "v1";
  kind: "Service";
  metadata: ObjectMeta;
  spec: {
    type: "ClusterIP" | "NodePort";
    ports: ServicePort[];
    clusterIP?: string;
    ipFamilies?: IpFamily[];
    ipFamilyPolicy?: "SingleStack" | "PreferDualStack" | "RequireDualStack";
    sessionAffinity?: "None" | "ClientIP";
    externalTrafficPolicy?: "Cluster" | "Local";
  };
}

export interface EndpointSliceObject {
  apiVersion: "discovery.k8s.io/v1";
  kind: "EndpointSlice";
  metadata: ObjectMeta;
  addressType: IpFamily;
  endpoints: { addresses: string[]; conditions: { ready: boolean; serving: boolean; terminating: boolean }; nodeName?: string }[];
  ports: { name: string; port: number; protocol: L4Protocol }[];
}

export interface BuildOptions {
  namespace: string;
  /** Labels objects with the coordinator instance (e.g. the Helm release), so sweeps leave other instances' alone. */
  instance?: string;
}

function metadata(req: ExposeRequest, opts: BuildOptions): ObjectMeta {
  const annotations: Record<string, string> = {};
  if (labelValue(req.runId) !== req.runId) annotations[RUN_ID_ANNOTATION] = req.runId;
  if (labelValue(req.caseId) !== req.caseId) annotations[CASE_ID_ANNOTATION] = req.caseId;
  return {
    name: objectName(req.runId, req.caseId),
    namespace: opts.namespace,
    labels: caseLabels(req.runId, req.caseId, opts.instance),
    ...(Object.keys(annotations).length ? { annotations } : {}),
  };
}

const SERVICE_TYPE: Record<ServiceKind, ServiceObject["spec"]["type"]> = { clusterip: "ClusterIP", nodeport: "NodePort" };

/**
 * The selector-less Service of a case: ClusterIP or NodePort, single stack
 * in the case's family (IPv4 unless it asks for IPv6; the EndpointSlice is
 * of the same family), the tool's ports and nothing else. Kubernetes
 * allocates the ClusterIP and NodePorts.
 */
export function buildService(req: ExposeRequest, opts: BuildOptions): ServiceObject {
  checkRequest(req);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: metadata(req, opts),
    spec: {
      type: SERVICE_TYPE[req.kind],
      ports: casePorts(req).map((p) => ({ name: p.name, port: p.port, targetPort: p.port, protocol: p.protocol })),
      ipFamilies: [ipFamilyOf(req)],
      ipFamilyPolicy: "SingleStack",
      sessionAffinity: "None",
      ...(req.kind === "nodeport" ? { externalTrafficPolicy: "Cluster" as const } : {}),
    },
  };
}

/**
 * The EndpointSlice of a case: exactly the server agent's address, ready,
 * on its node, with the Service's port names. `owner` (the created Service)
 * makes the garbage collector remove the slice with the Service.
 */
export function buildEndpointSlice(req: ExposeRequest, opts: BuildOptions, owner?: { name: string; uid: string }): EndpointSliceObject {
  checkRequest(req);
  const meta = metadata(req, opts);
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      ...meta,
      labels: { ...meta.labels, [SERVICE_NAME_LABEL]: meta.name, [SLICE_MANAGED_BY_LABEL]: SLICE_MANAGER },
      ...(owner ? { ownerReferences: [{ apiVersion: "v1", kind: "Service", name: owner.name, uid: owner.uid }] } : {}),
    },
    addressType: ipFamilyOf(req),
    endpoints: [
      {
        addresses: [req.serverAddress],
        conditions: { ready: true, serving: true, terminating: false },
        ...(isDns1123Subdomain(req.serverNode) ? { nodeName: req.serverNode } : {}),
      },
    ],
    ports: casePorts(req),
  };
}

/** What a created Service offers, once Kubernetes has allocated it. */
export interface AllocatedPorts {
  clusterIP: string;
  /** The port to target: the Service port (ClusterIP) or the tool's NodePort. */
  port: number;
  /** The data port to target, 0 when the case has none. */
  dataPort: number;
}

/**
 * The ClusterIP and ports to target on `svc`, or undefined while Kubernetes
 * has not allocated them yet. Throws when the TCP and UDP NodePorts of one
 * port differ (iperf3's UDP test needs both on one number).
 */
export function allocatedPorts(req: ExposeRequest, svc: Pick<ServiceObject, "spec">): AllocatedPorts | undefined {
  const ip = svc.spec.clusterIP;
  if (!ip || ip === "None" || !isAddressOf(ip, ipFamilyOf(req))) return undefined;
  if (req.kind === "clusterip") return { clusterIP: ip, port: req.port, dataPort: req.dataPort };
  const nodePort = (role: "tool" | "data"): number | undefined => {
    const found = svc.spec.ports.filter((p) => p.name.startsWith(`${role}-`)).map((p) => p.nodePort ?? 0);
    if (found.length === 0 || found.some((n) => n === 0)) return undefined;
    if (new Set(found).size !== 1) {
      throw new NetmatrixError("unavailable", `the ${role} port's TCP and UDP NodePorts differ (${found.join(", ")}); iperf3 needs both on one port`);
    }
    return found[0];
  };
  const port = nodePort("tool");
  const dataPort = req.dataPort === 0 ? 0 : nodePort("data");
  if (port === undefined || dataPort === undefined) return undefined;
  return { clusterIP: ip, port, dataPort };
}
