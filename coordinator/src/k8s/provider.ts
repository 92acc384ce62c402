/**
 * Services in front of one server agent, made of Kubernetes objects: a
 * selector-less Service (ClusterIP or NodePort) and an EndpointSlice naming
 * the agent's pod IP (see objects.ts). Talks to the API server through the
 * small {@link KubeServiceClient}; client.ts implements it with
 * @kubernetes/client-node, the tests with a fake.
 *
 * NodePort address: a NodePort answers on every node; netmatrix hands out
 * the server agent's own node (`serverNode`), so no second node forwards the
 * traffic (field report 002 shows what that extra hop costs). Its address
 * comes from `nodeAddress` (e.g. the host agent's
 * registered address on that node, which the chart sets to status.hostIP),
 * else from the Node object's InternalIP when `readNodes` is on (that needs
 * `get` on nodes, a cluster-scoped permission the chart grants only with
 * coordinator.rbac.readNodes). Without either, only ClusterIP is offered.
 */
import { NetmatrixError } from "../../../common/src/errors.js";
import type { FamilyName } from "../../../common/src/model.js";
import type { ServiceKind } from "../../../common/src/scenarios.js";
import type { ExposedService, ExposeRequest, ServiceProvider } from "../../../common/src/service-provider.js";
import {
  allocatedPorts,
  buildEndpointSlice,
  buildService,
  checkRequest,
  ipFamilyOf,
  isAddressOf,
  labelSelector,
  objectName,
  SERVICE_NAME_LABEL,
  type EndpointSliceObject,
  type ServiceObject,
} from "./objects.js";

/** An API error with its HTTP status (404 not found, 409 already exists, 403 forbidden, …). */
export class KubeStatusError extends Error {
  override readonly name = "KubeStatusError";
  constructor(
    readonly status: number,
    message: string,
    opts: { cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
  }
}

/** What the provider needs from the API server, in one namespace at a time. */
export interface KubeServiceClient {
  /** With `dryRun`, the API server validates and answers as for a create but stores nothing (`?dryRun=All`). */
  createService(namespace: string, body: ServiceObject, opts?: { dryRun?: boolean }): Promise<ServiceObject>;
  readService(namespace: string, name: string): Promise<ServiceObject>;
  listServices(namespace: string, labelSelector: string): Promise<ServiceObject[]>;
  /** Throws a KubeStatusError with status 404 when there is no such Service. */
  deleteService(namespace: string, name: string): Promise<void>;
  createEndpointSlice(namespace: string, body: EndpointSliceObject): Promise<EndpointSliceObject>;
  listEndpointSlices(namespace: string, labelSelector: string): Promise<EndpointSliceObject[]>;
  /** Throws a KubeStatusError with status 404 when there is no such EndpointSlice. */
  deleteEndpointSlice(namespace: string, name: string): Promise<void>;
  /** The Node's InternalIP (else ExternalIP) of `family` (absent: IPv4); only called when `readNodes` is on. */
  readNodeAddress?(name: string, family?: FamilyName): Promise<string | undefined>;
}

export interface KubernetesServiceProviderOptions {
  /** Where the Services and EndpointSlices live: the coordinator's own namespace. */
  namespace: string;
  /** Labels objects with this coordinator instance (the Helm release) and sweeps only those. */
  instance?: string;
  /** The address of `family` (absent: IPv4) external clients reach `node`'s NodePorts on; tried first. */
  nodeAddress?: (node: string, family?: FamilyName) => string | undefined | Promise<string | undefined>;
  /** Fall back to the Node object's InternalIP (client.readNodeAddress). */
  readNodes?: boolean;
  /** How long to wait for the ClusterIP / NodePorts, ms (default 15 s). */
  readyTimeoutMs?: number;
  /** Poll interval while waiting, ms (default 200). */
  pollMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function status(err: unknown): number | undefined {
  return err instanceof KubeStatusError ? err.status : undefined;
}

export class KubernetesServiceProvider implements ServiceProvider {
  readonly kinds: ServiceKind[];
  /**
   * The families Services can be made in: IPv4, and IPv6 once {@link detectFamilies} found the cluster
   * has an IPv6 Service range (a dual-stack or IPv6 cluster).
   */
  families: FamilyName[] = ["ipv4"];
  /** Why IPv6 is not among {@link families}, once {@link detectFamilies} has asked. */
  familiesNote: string | undefined;
  private readonly namespace: string;
  private readonly readyTimeoutMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly client: KubeServiceClient,
    private readonly opts: KubernetesServiceProviderOptions,
  ) {
    if (!opts.namespace) throw new NetmatrixError("invalid-argument", "the Kubernetes service provider needs a namespace");
    this.namespace = opts.namespace;
    const nodePorts = opts.nodeAddress !== undefined || (opts.readNodes === true && client.readNodeAddress !== undefined);
    this.kinds = nodePorts ? ["clusterip", "nodeport"] : ["clusterip"];
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 15_000;
    this.pollMs = opts.pollMs ?? 200;
  }

  private get build() {
    return { namespace: this.namespace, ...(this.opts.instance ? { instance: this.opts.instance } : {}) };
  }

  async expose(req: ExposeRequest): Promise<ExposedService> {
    checkRequest(req, this.kinds);
    // Resolve the node first: a NodePort nobody can be told about is not created at all.
    const nodeAddress = req.kind === "nodeport" ? await this.resolveNode(req) : undefined;
    const name = objectName(req.runId, req.caseId);
    const service = await this.explain(`create Service ${this.namespace}/${name}`, () =>
      this.createReplacing(name, () => this.client.createService(this.namespace, buildService(req, this.build))),
    );
    try {
      const uid = service.metadata.uid;
      await this.explain(`create EndpointSlice ${this.namespace}/${name}`, () =>
        this.createReplacing(name, () => this.client.createEndpointSlice(this.namespace, buildEndpointSlice(req, this.build, uid ? { name, uid } : undefined)), "slice"),
      );
      const ports = await this.waitAllocated(req, service);
      let released: Promise<void> | undefined;
      return {
        address: nodeAddress ?? ports.clusterIP,
        port: ports.port,
        dataPort: ports.dataPort,
        // Idempotent; a failed release may be retried.
        release: () =>
          (released ??= this.remove(name).catch((err: unknown) => {
            released = undefined;
            throw err;
          })),
      };
    } catch (err) {
      await this.remove(name).catch(() => undefined);
      throw err;
    }
  }

  /** Delete the Services and EndpointSlices of `runId` (of every run when undefined); returns how many Services went. */
  async sweep(runId?: string): Promise<number> {
    const selector = labelSelector(runId, this.opts.instance);
    const [services, slices] = await this.explain("list netmatrix Services and EndpointSlices", () =>
      Promise.all([this.client.listServices(this.namespace, selector), this.client.listEndpointSlices(this.namespace, selector)]),
    );
    const names = new Set<string>();
    for (const s of services) names.add(s.metadata.name);
    for (const s of slices) names.add(s.metadata.labels?.[SERVICE_NAME_LABEL] ?? s.metadata.name);
    await this.explain("delete netmatrix Services and EndpointSlices", () =>
      Promise.all([
        ...services.map((s) => this.ignoreMissing(() => this.client.deleteService(this.namespace, s.metadata.name))),
        ...slices.map((s) => this.ignoreMissing(() => this.client.deleteEndpointSlice(this.namespace, s.metadata.name))),
      ]),
    );
    return names.size;
  }

  /**
   * Whether the cluster makes IPv6 Services: a dry-run create of an IPv6 single-stack ClusterIP Service
   * (nothing is stored). Accepted: {@link families} becomes IPv4 and IPv6. Refused as invalid (422, "IPv6 not
   * configured on this cluster"): IPv4 only. Any other answer leaves IPv4 only and is returned as the reason.
   */
  async detectFamilies(): Promise<{ families: FamilyName[]; reason?: string }> {
    const probe = buildService(
      { kind: "clusterip", runId: "family-probe", caseId: "ipv6", serverNode: "", serverAddress: "::1", port: 1, dataPort: 0, protocol: "tcp", family: "ipv6" },
      this.build,
    );
    try {
      await this.client.createService(this.namespace, probe, { dryRun: true });
      this.families = ["ipv4", "ipv6"];
      this.familiesNote = undefined;
      return { families: this.families };
    } catch (err) {
      this.families = ["ipv4"];
      const reason = err instanceof Error ? err.message : String(err);
      this.familiesNote =
        status(err) === 422 ? `the cluster has no IPv6 Service range: ${reason}` : `whether the cluster makes IPv6 Services could not be told at start-up: ${reason}`;
      return { families: this.families, reason: this.familiesNote };
    }
  }

  private async resolveNode(req: ExposeRequest): Promise<string> {
    const node = req.serverNode;
    const family = req.family ?? "ipv4";
    let address = await this.opts.nodeAddress?.(node, family);
    if (!address && this.opts.readNodes && this.client.readNodeAddress) {
      address = await this.explain(`read Node ${node}`, () => this.client.readNodeAddress!(node, family));
    }
    if (!address || !isAddressOf(address, ipFamilyOf(req))) {
      throw new NetmatrixError("unavailable", `no ${ipFamilyOf(req)} address known for node ${JSON.stringify(node)} to reach its NodePort on`, {
        hint: "run a host-network agent on that node (the chart's agents.host), or let the coordinator read Node objects (coordinator.rbac.readNodes=true)",
      });
    }
    return address;
  }

  /** Create; when an object of that name is left over (a crash, a retry), delete it and create again once. */
  private async createReplacing<T>(name: string, create: () => Promise<T>, what: "service" | "slice" = "service"): Promise<T> {
    try {
      return await create();
    } catch (err) {
      if (status(err) !== 409) throw err;
      await this.ignoreMissing(() => (what === "service" ? this.client.deleteService(this.namespace, name) : this.client.deleteEndpointSlice(this.namespace, name)));
      if (what === "service") await this.ignoreMissing(() => this.client.deleteEndpointSlice(this.namespace, name));
      return await create();
    }
  }

  private async waitAllocated(req: ExposeRequest, created: ServiceObject) {
    const deadline = Date.now() + this.readyTimeoutMs;
    let svc = created;
    for (;;) {
      const ports = allocatedPorts(req, svc);
      if (ports) return ports;
      if (Date.now() >= deadline) {
        throw new NetmatrixError(
          "deadline-exceeded",
          `Service ${this.namespace}/${created.metadata.name} got no ${req.kind === "nodeport" ? "NodePort" : "ClusterIP"} within ${this.readyTimeoutMs} ms`,
        );
      }
      await sleep(this.pollMs);
      svc = await this.explain(`read Service ${this.namespace}/${created.metadata.name}`, () => this.client.readService(this.namespace, created.metadata.name));
    }
  }

  private async remove(name: string): Promise<void> {
    await this.explain(`delete Service and EndpointSlice ${this.namespace}/${name}`, () =>
      Promise.all([this.ignoreMissing(() => this.client.deleteEndpointSlice(this.namespace, name)), this.ignoreMissing(() => this.client.deleteService(this.namespace, name))]),
    );
  }

  private async ignoreMissing(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (status(err) !== 404) throw err;
    }
  }

  /** Turn API errors into NetmatrixErrors that say what was attempted and, for 403, which permission is missing. */
  private async explain<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof NetmatrixError) throw err;
      const code = status(err);
      const reason = err instanceof Error ? err.message : String(err);
      if (code === 403) {
        throw new NetmatrixError("failed-precondition", `cannot ${what}: forbidden (${reason})`, {
          cause: err,
          hint: `the coordinator's ServiceAccount needs get/list/watch/create/delete on services and endpointslices (discovery.k8s.io) in namespace ${this.namespace}: the chart's Role grants them`,
        });
      }
      throw new NetmatrixError("unavailable", `cannot ${what}: ${reason}`, { cause: err });
    }
  }
}
