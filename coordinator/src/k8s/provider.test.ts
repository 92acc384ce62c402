/**
 * KubernetesServiceProvider through the real @kubernetes/client-node client
 * (client.ts) against a small fake API server on loopback: it allocates
 * ClusterIPs and NodePorts as Kubernetes does (one NodePort for the TCP and
 * UDP twins of a port), refuses duplicates with 409, answers 404 for what
 * is gone, and rejects any object that fails the OpenAPI checks with 422.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { NetmatrixError } from "../../../common/src/errors.js";
import type { ExposeRequest } from "../../../common/src/service-provider.js";
import { kubeServiceClient } from "./client.js";
import { kubernetesServiceProviderFromEnv, kubernetesServicesRequested } from "./index.js";
import { buildService, labelValue, objectName, type ServicePort } from "./objects.js";
import { validateK8sObject } from "./openapi.js";
import { KubernetesServiceProvider, type KubeServiceClient } from "./provider.js";

type Obj = { metadata: { name: string; namespace?: string; uid?: string; labels?: Record<string, string> }; spec?: { clusterIP?: string; ports?: ServicePort[] } } & Record<
  string,
  unknown
>;

/** A fake API server holding Services, EndpointSlices and Nodes. */
class FakeApiServer {
  readonly services = new Map<string, Obj>();
  readonly slices = new Map<string, Obj>();
  readonly nodes = new Map<string, { status: { addresses: { type: string; address: string }[] } }>();
  readonly requests: { method: string; path: string; auth: string | undefined }[] = [];
  /** Create Services without a ClusterIP; GETs hand it out after this many reads (Infinity: never). */
  allocateAfterReads = 0;
  /** Answer every request with this status (e.g. 403) when set. */
  forceStatus: number | undefined;
  /** Refuse EndpointSlice creation with 500 when set. */
  failSlices = false;
  private next = 1;
  private server!: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  reset(): void {
    this.services.clear();
    this.slices.clear();
    this.requests.length = 0;
    this.allocateAfterReads = 0;
    this.forceStatus = undefined;
    this.failSlices = false;
  }

  private allocate(svc: Obj): void {
    const spec = svc.spec!;
    spec.clusterIP = `10.96.0.${this.next++}`;
    if (svc.spec && (svc as { spec: { type?: string } }).spec.type === "NodePort") {
      const byPort = new Map<number, number>();
      for (const p of spec.ports ?? []) {
        if (!byPort.has(p.port)) byPort.set(p.port, 30000 + this.next++);
        p.nodePort = byPort.get(p.port)!;
      }
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    this.requests.push({ method: req.method ?? "", path: url.pathname, auth: req.headers.authorization });
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const status = (code: number, reason: string, message: string) => send(code, { kind: "Status", apiVersion: "v1", status: "Failure", code, reason, message });
    if (this.forceStatus) return status(this.forceStatus, "Forbidden", `services is forbidden: User "system:serviceaccount:netmatrix:netmatrix" cannot ${req.method} here`);
    let body: Obj | undefined;
    if (req.method === "POST") {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Obj;
    }
    const node = /^\/api\/v1\/nodes\/([^/]+)$/.exec(url.pathname);
    if (node) {
      const n = this.nodes.get(node[1]!);
      return n ? send(200, { apiVersion: "v1", kind: "Node", metadata: { name: node[1] }, ...n }) : status(404, "NotFound", `nodes "${node[1]}" not found`);
    }
    const m = /^\/(?:api\/v1|apis\/discovery\.k8s\.io\/v1)\/namespaces\/([^/]+)\/(services|endpointslices)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return status(404, "NotFound", `no route ${url.pathname}`);
    const [, ns, resource, name] = m;
    const store = resource === "services" ? this.services : this.slices;
    const key = (n: string) => `${ns}/${n}`;
    if (req.method === "POST" && body && !name) {
      const problems = validateK8sObject(body);
      if (problems.length) return status(422, "Invalid", problems.join("; "));
      if (resource === "endpointslices" && this.failSlices) return status(500, "InternalError", "etcd is having a bad day");
      if (store.has(key(body.metadata.name))) return status(409, "AlreadyExists", `${resource} "${body.metadata.name}" already exists`);
      const obj = structuredClone(body);
      obj.metadata.uid = `uid-${this.next++}`;
      obj.metadata.namespace = ns;
      if (resource === "services") {
        (obj as { readsUntilAllocated?: number }).readsUntilAllocated = this.allocateAfterReads;
        if (this.allocateAfterReads === 0) this.allocate(obj);
      }
      store.set(key(obj.metadata.name), obj);
      return send(201, this.visible(obj));
    }
    if (req.method === "GET" && name) {
      const obj = store.get(key(name));
      if (!obj) return status(404, "NotFound", `${resource} "${name}" not found`);
      const pending = obj as { readsUntilAllocated?: number };
      if (resource === "services" && !obj.spec?.clusterIP && --pending.readsUntilAllocated! <= 0) this.allocate(obj);
      return send(200, this.visible(obj));
    }
    if (req.method === "GET") {
      const terms = (url.searchParams.get("labelSelector") ?? "")
        .split(",")
        .filter(Boolean)
        .map((t) => t.split("=") as [string, string]);
      const items = [...store.entries()]
        .filter(([k]) => k.startsWith(`${ns}/`))
        .map(([, o]) => o)
        .filter((o) => terms.every(([k, v]) => o.metadata.labels?.[k] === v));
      return send(200, { apiVersion: "v1", kind: resource === "services" ? "ServiceList" : "EndpointSliceList", metadata: {}, items: items.map((o) => this.visible(o)) });
    }
    if (req.method === "DELETE" && name) {
      if (!store.delete(key(name))) return status(404, "NotFound", `${resource} "${name}" not found`);
      return send(200, { kind: "Status", apiVersion: "v1", status: "Success" });
    }
    return status(405, "MethodNotAllowed", `${req.method} ${url.pathname}`);
  }

  private visible(o: Obj): Obj {
    const { readsUntilAllocated: _, ...rest } = o as Obj & { readsUntilAllocated?: number };
    return rest as Obj;
  }
}

const api = new FakeApiServer();
let client: KubeServiceClient;

beforeAll(async () => {
  const server = await api.start();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "fake", server, skipTLSVerify: true }],
    users: [{ name: "coordinator", token: "sa-token" }],
    contexts: [{ name: "fake", cluster: "fake", user: "coordinator" }],
    currentContext: "fake",
  });
  client = kubeServiceClient(kc);
  api.nodes.set("node-b", {
    status: {
      addresses: [
        { type: "Hostname", address: "node-b" },
        { type: "InternalIP", address: "192.0.2.12" },
      ],
    },
  });
});
afterAll(() => api.stop());
beforeEach(() => api.reset());

const REQ: ExposeRequest = {
  kind: "clusterip",
  runId: "20261123-201500-a3f9",
  caseId: "0123456789ab",
  serverNode: "node-b",
  serverAddress: "10.244.1.7",
  port: 20001,
  dataPort: 0,
  protocol: "tcp",
};

const provider = (opts: Partial<ConstructorParameters<typeof KubernetesServiceProvider>[1]> = {}) =>
  new KubernetesServiceProvider(client, { namespace: "netmatrix", instance: "netmatrix", pollMs: 10, readyTimeoutMs: 2000, ...opts });

describe("KubernetesServiceProvider", () => {
  it("offers NodePorts only when it can tell clients a node address", () => {
    expect(provider().kinds).toEqual(["clusterip"]);
    expect(provider({ readNodes: true }).kinds).toEqual(["clusterip", "nodeport"]);
    expect(provider({ nodeAddress: () => "192.0.2.99" }).kinds).toEqual(["clusterip", "nodeport"]);
    expect(() => new KubernetesServiceProvider(client, { namespace: "" })).toThrow(NetmatrixError);
  });

  it("exposes a ClusterIP: a Service and an EndpointSlice owned by it, released once", async () => {
    const p = provider();
    const exposed = await p.expose(REQ);
    const name = objectName(REQ.runId, REQ.caseId);
    const svc = api.services.get(`netmatrix/${name}`)!;
    const slice = api.slices.get(`netmatrix/${name}`)!;
    expect(exposed).toMatchObject({ address: svc.spec!.clusterIP, port: 20001, dataPort: 0 });
    expect(slice.metadata.labels!["kubernetes.io/service-name"]).toBe(name);
    expect(slice.metadata).toMatchObject({ ownerReferences: [{ kind: "Service", name, uid: svc.metadata.uid }] });
    expect(slice).toMatchObject({ endpoints: [{ addresses: ["10.244.1.7"], nodeName: "node-b" }], ports: [{ name: "tool-tcp", port: 20001, protocol: "TCP" }] });
    expect(api.requests.every((r) => r.auth === "Bearer sa-token")).toBe(true);

    await exposed.release();
    await exposed.release();
    expect(api.services.size + api.slices.size).toBe(0);
    expect(api.requests.filter((r) => r.method === "DELETE")).toHaveLength(2);
  });

  it("exposes a NodePort on the server's node: UDP and TCP on one NodePort, qperf's data port too", async () => {
    const exposed = await provider({ readNodes: true }).expose({ ...REQ, kind: "nodeport", protocol: "udp", dataPort: 20002 });
    const svc = api.services.get(`netmatrix/${objectName(REQ.runId, REQ.caseId)}`)!;
    const ports = svc.spec!.ports!;
    expect(ports.map((p) => [p.name, p.protocol])).toEqual([
      ["tool-tcp", "TCP"],
      ["tool-udp", "UDP"],
      ["data-tcp", "TCP"],
      ["data-udp", "UDP"],
    ]);
    expect(exposed.address).toBe("192.0.2.12");
    expect(exposed.port).toBe(ports[0]!.nodePort);
    expect(exposed.dataPort).toBe(ports[2]!.nodePort);
    expect(exposed.port).not.toBe(exposed.dataPort);
    await exposed.release();
  });

  it("prefers the coordinator's own idea of a node's address", async () => {
    const exposed = await provider({ readNodes: true, nodeAddress: (n) => (n === "node-b" ? "192.0.2.55" : undefined) }).expose({ ...REQ, kind: "nodeport" });
    expect(exposed.address).toBe("192.0.2.55");
    expect(api.requests.some((r) => r.path.startsWith("/api/v1/nodes/"))).toBe(false);
    await exposed.release();
  });

  it("creates nothing for a NodePort on a node it has no address for", async () => {
    const err = await provider({ readNodes: true })
      .expose({ ...REQ, kind: "nodeport", serverNode: "node-z" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetmatrixError);
    expect((err as NetmatrixError).code).toBe("unavailable");
    expect(api.services.size).toBe(0);
  });

  it("refuses a NodePort when it has no way to name a node address", async () => {
    await expect(provider().expose({ ...REQ, kind: "nodeport" })).rejects.toMatchObject({ code: "invalid-argument" });
    expect(api.requests).toHaveLength(0);
  });

  it("waits for the ClusterIP when the API server allocates it late", async () => {
    api.allocateAfterReads = 3;
    const exposed = await provider().expose(REQ);
    expect(exposed.address).toMatch(/^10\.96\.0\.\d+$/);
    expect(api.requests.filter((r) => r.method === "GET")).toHaveLength(3);
    await exposed.release();
  });

  it("gives up after its deadline and removes what it created", async () => {
    api.allocateAfterReads = Infinity;
    await expect(provider({ readyTimeoutMs: 100 }).expose(REQ)).rejects.toMatchObject({ code: "deadline-exceeded" });
    expect(api.services.size + api.slices.size).toBe(0);
  });

  it("replaces a Service and EndpointSlice a crashed coordinator left under the same name", async () => {
    const first = await provider().expose(REQ);
    const exposed = await provider().expose({ ...REQ, serverAddress: "10.244.1.9" });
    expect(api.services.size).toBe(1);
    expect(api.slices.get(`netmatrix/${objectName(REQ.runId, REQ.caseId)}`)).toMatchObject({ endpoints: [{ addresses: ["10.244.1.9"] }] });
    await exposed.release();
    await first.release();
  });

  it("removes the Service when the EndpointSlice cannot be created", async () => {
    api.failSlices = true;
    await expect(provider().expose(REQ)).rejects.toMatchObject({ code: "unavailable", message: expect.stringMatching(/EndpointSlice .*bad day/) });
    expect(api.services.size).toBe(0);
  });

  it("says which permission is missing when the API server forbids it", async () => {
    api.forceStatus = 403;
    const err = (await provider()
      .expose(REQ)
      .catch((e: unknown) => e)) as NetmatrixError;
    expect(err.code).toBe("failed-precondition");
    expect(err.hint).toMatch(/services and endpointslices .* namespace netmatrix/);
  });

  it("sweeps one run's leftovers, then everything of its instance, and nothing else", async () => {
    const p = provider();
    for (const [runId, caseId] of [
      ["run-1", "a"],
      ["run-1", "b"],
      ["run-2", "a"],
    ])
      await p.expose({ ...REQ, runId: runId!, caseId: caseId! });
    // Another coordinator's Service and a Service nobody labelled as ours.
    await client.createService("netmatrix", buildService({ ...REQ, runId: "run-1", caseId: "z" }, { namespace: "netmatrix", instance: "other" }));
    await client.createService("netmatrix", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "unrelated" },
      spec: { type: "ClusterIP", ports: [{ name: "x", port: 80, protocol: "TCP" }] },
    });
    // A slice whose Service is already gone counts once.
    api.services.delete(`netmatrix/${objectName("run-2", "a")}`);

    expect(await p.sweep("run-1")).toBe(2);
    expect([...api.slices.values()].map((s) => s.metadata.labels!["netmatrix.dev/run-id"])).toEqual(["run-2"]);
    expect(await p.sweep()).toBe(1);
    expect([...api.services.keys()].sort()).toEqual(["netmatrix/unrelated", `netmatrix/${objectName("run-1", "z")}`].sort());
    expect(api.slices.size).toBe(0);
    expect(await p.sweep()).toBe(0);
  });

  it("selects runs by their label value, even for run ids that are no label value", async () => {
    const p = provider();
    await p.expose({ ...REQ, runId: "Run 7/resumed" });
    expect([...api.services.values()][0]!.metadata.labels!["netmatrix.dev/run-id"]).toBe(labelValue("Run 7/resumed"));
    expect(await p.sweep("Run 7/resumed")).toBe(1);
  });
});

describe("kubernetesServiceProviderFromEnv", () => {
  it("is asked for with NETMATRIX_SERVICES=kubernetes", () => {
    expect(kubernetesServicesRequested({ NETMATRIX_SERVICES: "kubernetes" })).toBe(true);
    expect(kubernetesServicesRequested({ NETMATRIX_SERVICES: "off" })).toBe(false);
    expect(kubernetesServicesRequested({})).toBe(false);
  });

  it("explains what is missing outside a pod", async () => {
    await expect(kubernetesServiceProviderFromEnv({}, {})).rejects.toMatchObject({ code: "failed-precondition", message: expect.stringMatching(/namespace/) });
    await expect(kubernetesServiceProviderFromEnv({ NETMATRIX_NAMESPACE: "netmatrix" })).rejects.toMatchObject({
      code: "failed-precondition",
      message: expect.stringMatching(/KUBERNETES_SERVICE_HOST/),
    });
  });

  it("reads namespace, instance and node reading from the environment", async () => {
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    process.env.KUBERNETES_SERVICE_HOST = "127.0.0.1";
    process.env.KUBERNETES_SERVICE_PORT = "1";
    try {
      const env = { NETMATRIX_NAMESPACE: "ns1", NETMATRIX_INSTANCE: "rel", NETMATRIX_READ_NODES: "true", KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: "1" };
      const p = await kubernetesServiceProviderFromEnv(env);
      expect(p.kinds).toEqual(["clusterip", "nodeport"]);
      expect((await kubernetesServiceProviderFromEnv({ ...env, NETMATRIX_READ_NODES: "false" })).kinds).toEqual(["clusterip"]);
    } finally {
      for (const [k, v] of [
        ["KUBERNETES_SERVICE_HOST", saved.host],
        ["KUBERNETES_SERVICE_PORT", saved.port],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
