/**
 * The lab's Kubernetes API stand-in for real: its HTTPS server on loopback,
 * a real lab's namespaces, and the coordinator's own Kubernetes service
 * provider (coordinator/src/k8s) talking to it through @kubernetes/client-node
 * with the in-cluster configuration, read from the ServiceAccount files the
 * lab mounts into the image's coordinator. ClusterIP and NodePort Services
 * carry iperf3 from a pod and from the external host; release and sweep
 * leave the nodes' nat tables as they were; hostile requests get the API
 * server's refusals over the wire. Needs root; everything is torn down.
 */
import { X509Certificate } from "node:crypto";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExposeRequest } from "../common/src/service-provider.js";
import { kubeServiceClient } from "../coordinator/src/k8s/client.js";
import { KubernetesServiceProvider } from "../coordinator/src/k8s/provider.js";
import { IMAGE_GID, IMAGE_UID } from "../lab/src/containers.js";
import { prepareKubeApi, startKubeApi, type KubeApiFiles, type KubeApiServer } from "../lab/src/kube-api.js";
import { MAX_BODY_BYTES } from "../lab/src/kube-api-store.js";
import { buildLab, labObjects, planTopology, teardownLab, type LabTopology } from "../lab/src/topology.js";
import { inNs } from "../lab/src/topology-run.js";
import { iperfClient, startIperfServer, type IperfServer } from "./harness/topology-probe.js";
import { testSlot } from "./harness/slot.js";

const isRoot = process.getuid?.() === 0;
const slot = testSlot();
const PREFIX = slot.prefix("kapi");
const PORT = 5201;
const DATA_PORT = 5202;
const log = pino({ level: "silent" });

/** `-A` rules of the nat table (ip6tables' with `bin`) in each node namespace. */
async function natRules(topo: LabTopology, bin = "iptables"): Promise<string[][]> {
  const all: string[][] = [];
  for (const n of topo.nodes) all.push((await inNs(n.ns, [bin, "-w", "-t", "nat", "-S"])).split("\n").filter((l) => l.startsWith("-A ")));
  return all;
}

/** One HTTPS request to the stand-in, trusting its CA; status and parsed body. */
function https(
  port: number,
  ca: string,
  method: string,
  path: string,
  opts: { token?: string; body?: Buffer | string; contentType?: string } = {},
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        ca,
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.body !== undefined ? { "content-type": opts.contentType ?? "application/json", "content-length": Buffer.byteLength(opts.body) } : {}),
        },
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // text (health endpoints)
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timed out")));
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

describe.skipIf(!isRoot)(`the lab's Kubernetes API stand-in on a real lab${isRoot ? "" : " (skipped: needs root for namespaces and iptables)"}`, () => {
  const dir = mkdtempSync(join(tmpdir(), "nm-kapi-"));
  let topo: LabTopology;
  let files: KubeApiFiles;
  let server: KubeApiServer | undefined;
  let kc: KubeConfig;
  let token: string;
  const iperf: IperfServer[] = [];
  const env = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };

  beforeAll(async () => {
    await teardownLab(PREFIX);
    // Dual stack: the stand-in makes IPv6 Services too, as a dual-stack cluster's API server does.
    topo = planTopology({ prefix: PREFIX, block: slot.block, external: true, ipv6: true });
    await buildLab(topo);
    files = await prepareKubeApi(join(dir, "lab"), { owner: { uid: IMAGE_UID, gid: IMAGE_GID } });
    token = readFileSync(files.token, "utf8");
    server = await startKubeApi({ topo, files, port: 0, log });
    // The coordinator's view: the kubelet's mount at /var/run/secrets/kubernetes.io/serviceaccount, under a root of our own.
    const root = join(dir, "root");
    mkdirSync(join(root, "var/run/secrets/kubernetes.io"), { recursive: true });
    symlinkSync(files.serviceAccountDir, join(root, "var/run/secrets/kubernetes.io/serviceaccount"));
    process.env.KUBERNETES_SERVICE_HOST = "127.0.0.1";
    process.env.KUBERNETES_SERVICE_PORT = String(server.port);
    kc = new KubeConfig();
    kc.loadFromCluster(root);
    // Backends: a pod on node-2 (cross-node) and node-1-pod-b (same node as the client node-1-pod-a).
    for (const pod of [topo.nodes[1]!.pods[0]!, topo.nodes[0]!.pods[1]!]) iperf.push(await startIperfServer(pod.ns, PORT), await startIperfServer(pod.ns, DATA_PORT));
  }, 120_000);

  afterAll(async () => {
    for (const s of iperf.splice(0)) await s.stop();
    await server?.close();
    if (env.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
    else process.env.KUBERNETES_SERVICE_HOST = env.host;
    if (env.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
    else process.env.KUBERNETES_SERVICE_PORT = env.port;
    await teardownLab(PREFIX);
    rmSync(dir, { recursive: true, force: true });
    expect(await labObjects(PREFIX)).toEqual({ namespaces: [], rootLinks: [] });
  }, 60_000);

  const provider = (instance = "nm-test") =>
    new KubernetesServiceProvider(kubeServiceClient(kc), {
      namespace: readFileSync(files.namespace, "utf8"),
      instance,
      // As the coordinator: the host agent's address of the case's family on the server's node.
      nodeAddress: (node, family) => {
        const i = topo.nodes.findIndex((n) => n.name === node);
        return family === "ipv6" ? topo.ipv6!.nodes[i]?.underlay : topo.nodes[i]?.underlayAddress;
      },
      pollMs: 50,
    });

  const req = (over: Partial<ExposeRequest> & Pick<ExposeRequest, "kind" | "caseId">, pod = topo.nodes[1]!.pods[0]!): ExposeRequest => ({
    runId: "run-1",
    serverNode: pod.node,
    serverAddress: pod.address,
    port: PORT,
    dataPort: 0,
    protocol: "tcp",
    ...over,
  });

  it("prepares a ServiceAccount the image's user reads (and no one else), a certificate for 127.0.0.1 from a CA whose key is gone, keys 0600", () => {
    for (const f of [files.token, files.ca, files.namespace]) {
      const st = statSync(f);
      expect([st.uid, st.gid, st.mode & 0o777], f).toEqual([IMAGE_UID, IMAGE_GID, 0o440]);
    }
    const sa = statSync(files.serviceAccountDir);
    expect([sa.uid, sa.gid, sa.mode & 0o777]).toEqual([IMAGE_UID, IMAGE_GID, 0o550]);
    expect(statSync(files.key).mode & 0o777).toBe(0o600);
    expect(statSync(files.dir).mode & 0o777).toBe(0o700);
    expect(() => lstatSync(join(files.dir, "ca.key"))).toThrow(/ENOENT/);
    const cert = new X509Certificate(readFileSync(files.cert));
    const ca = new X509Certificate(readFileSync(files.ca));
    expect(cert.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(ca.ca).toBe(true);
    expect(token.length).toBeGreaterThanOrEqual(40);
    expect(readFileSync(files.namespace, "utf8")).toBe("netmatrix");
  });

  it.each(["tcp", "udp"] as const)(
    "ClusterIP through the coordinator's provider and client-node's in-cluster configuration carries iperf3 %s, cross-node and same-node; release leaves the rules as they were",
    async (protocol) => {
      const p = provider();
      const before = await natRules(topo);
      for (const [where, pod] of [
        ["cross", topo.nodes[1]!.pods[0]!],
        ["same", topo.nodes[0]!.pods[1]!],
      ] as const) {
        const svc = await p.expose(req({ kind: "clusterip", caseId: `${where}-${protocol}`, protocol, dataPort: DATA_PORT }, pod));
        try {
          expect(svc.address).toMatch(/^10\.96\.\d+\.\d+$/);
          expect([svc.port, svc.dataPort]).toEqual([PORT, DATA_PORT]);
          const run = await iperfClient(topo.nodes[0]!.pods[0]!.ns, svc.address, svc.port, { seconds: 1, udp: protocol === "udp", bitrateBps: 100e6 });
          expect(run.bytesReceived).toBeGreaterThan(0);
          // The data port goes to the same backend (qperf's second port).
          const data = await iperfClient(topo.nodes[0]!.pods[0]!.ns, svc.address, svc.dataPort, { seconds: 1 });
          expect(data.bytesReceived).toBeGreaterThan(0);
        } finally {
          await svc.release();
        }
      }
      expect(await natRules(topo)).toEqual(before);
      expect(server!.store.listAll()).toEqual({ services: [], slices: [] });
    },
    60_000,
  );

  it.each(["tcp", "udp"] as const)(
    "NodePort on the server's node carries iperf3 %s from the external host",
    async (protocol) => {
      const p = provider();
      const svc = await p.expose(req({ kind: "nodeport", caseId: `np-${protocol}`, protocol }));
      try {
        expect(svc.address).toBe(topo.nodes[1]!.underlayAddress);
        expect(svc.port).toBeGreaterThanOrEqual(30000);
        expect(svc.port).toBeLessThanOrEqual(32767);
        const run = await iperfClient(topo.external!.ns, svc.address, svc.port, { seconds: 1, udp: protocol === "udp", bitrateBps: 100e6 });
        expect(run.bytesReceived).toBeGreaterThan(0);
        // Like kube-proxy's: the NodePort answers on every node.
        const other = await iperfClient(topo.external!.ns, topo.nodes[0]!.underlayAddress, svc.port, { seconds: 1 });
        expect(other.bytesReceived).toBeGreaterThan(0);
      } finally {
        await svc.release();
      }
    },
    60_000,
  );

  it("IPv6: the provider's dry run finds the dual-stack range; an IPv6 ClusterIP and NodePort carry iperf3 through ip6tables; release leaves the ip6tables rules as they were", async () => {
    const p = provider();
    expect(await p.detectFamilies()).toEqual({ families: ["ipv4", "ipv6"] });
    expect(server!.store.listAll()).toEqual({ services: [], slices: [] });
    const before = await natRules(topo, "ip6tables");
    const backend = topo.ipv6!.nodes[1]!.pods[0]!;
    const cluster = await p.expose(req({ kind: "clusterip", caseId: "v6-c", family: "ipv6", serverAddress: backend }));
    const nodePort = await p.expose(req({ kind: "nodeport", caseId: "v6-np", family: "ipv6", serverAddress: backend }));
    try {
      expect(cluster.address).toMatch(/^fd00:10:96::[0-9a-f]+$/);
      expect(nodePort.address).toBe(topo.ipv6!.nodes[1]!.underlay);
      const fromPod = await iperfClient(topo.nodes[0]!.pods[0]!.ns, cluster.address, cluster.port, { seconds: 1 });
      expect(fromPod.bytesReceived).toBeGreaterThan(0);
      const fromOutside = await iperfClient(topo.external!.ns, nodePort.address, nodePort.port, { seconds: 1 });
      expect(fromOutside.bytesReceived).toBeGreaterThan(0);
      // The IPv4 table holds none of it.
      for (const rules of await natRules(topo)) expect(rules.filter((r) => r.includes("fd00:"))).toEqual([]);
    } finally {
      await cluster.release();
      await nodePort.release();
    }
    expect(await natRules(topo, "ip6tables")).toEqual(before);
    expect(server!.store.listAll()).toEqual({ services: [], slices: [] });
  }, 60_000);

  it("sweep deletes one instance's Services and their rules, not another's; a restarted stand-in clears the rules its predecessor left", async () => {
    const before = await natRules(topo);
    const mine = provider("mine");
    const theirs = provider("theirs");
    await mine.expose(req({ kind: "clusterip", caseId: "a" }));
    await mine.expose(req({ kind: "nodeport", caseId: "b", runId: "run-2" }));
    const kept = await theirs.expose(req({ kind: "clusterip", caseId: "c" }));
    expect(await mine.sweep("run-2")).toBe(1);
    expect(await mine.sweep()).toBe(1);
    expect(server!.store.listAll().services.map((s) => s.metadata.labels?.["netmatrix.dev/instance"])).toEqual(["theirs"]);
    const during = await natRules(topo);
    expect(during.map((r) => r.length)).toEqual(before.map((r) => r.length + 2));
    // The stand-in dies (its objects with it) and comes back: no rule of the old one stays.
    await server!.close();
    server = await startKubeApi({ topo, files, port: Number(process.env.KUBERNETES_SERVICE_PORT), log });
    expect(await natRules(topo)).toEqual(before);
    await kept.release(); // its objects are gone: 404s are fine
  });

  it("over the wire: the API server's refusals, and no service to a client that does not trust the CA", async () => {
    const port = server!.port;
    const ca = readFileSync(files.ca, "utf8");
    const SVC = "/api/v1/namespaces/netmatrix/services";
    expect(await https(port, ca, "GET", "/readyz")).toEqual({ status: 200, body: "ok" });
    expect(await https(port, ca, "GET", SVC, { token: "wrong-token-wrong-token" })).toMatchObject({ status: 401, body: { kind: "Status", reason: "Unauthorized" } });
    expect(await https(port, ca, "GET", SVC)).toMatchObject({ status: 401 });
    expect(await https(port, ca, "POST", SVC, { token, body: "{not json" })).toMatchObject({ status: 400, body: { reason: "BadRequest" } });
    expect(await https(port, ca, "POST", SVC, { token, body: "x".repeat(MAX_BODY_BYTES + 1) })).toMatchObject({ status: 413, body: { reason: "RequestEntityTooLarge" } });
    expect(await https(port, ca, "POST", SVC, { token, body: JSON.stringify({ metadata: { name: "x" }, spec: { ports: [{ port: 0 }] } }) })).toMatchObject({
      status: 422,
      body: { reason: "Invalid" },
    });
    expect(await https(port, ca, "GET", "/api/v1/nodes/node-1", { token })).toMatchObject({ status: 404, body: { reason: "NotFound" } });
    expect(await https(port, ca, "GET", "//a:99999/", { token })).toMatchObject({ status: 404 });
    // Still serving after all that.
    expect(await https(port, ca, "GET", SVC, { token })).toMatchObject({ status: 200, body: { kind: "ServiceList" } });
    await expect(
      new Promise((resolve, reject) => {
        const r = request({ host: "127.0.0.1", port, path: "/readyz" }, resolve);
        r.on("error", reject);
        r.end();
      }),
    ).rejects.toThrow(/self-signed|unable to verify|certificate/i);
  });
});
