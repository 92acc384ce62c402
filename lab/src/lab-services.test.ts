/**
 * LabServiceProvider on real labs: ClusterIP and NodePort rules carry real
 * iperf3 traffic in every CNI mode, and release()/sweep() remove exactly
 * their rules. Needs root; every lab is torn down and nothing may remain.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExposeRequest } from "../../common/src/service-provider.js";
import { isLabClusterIp6, LabKubeProxy, LabServiceProvider } from "./lab-services.js";
import { buildLab, CNI_MODES, labObjects, planTopology, teardownLab, type LabTopology } from "./topology.js";
import type { LabOptions } from "./topology-plan.js";
import { iperfClient, startIperfServer, type IperfServer } from "../../test/harness/topology-probe.js";
import { testSlot } from "../../test/harness/slot.js";
import { inNs } from "./topology-run.js";

const slot = testSlot();
const PREFIX = slot.prefix("lsvc");
const BLOCK = slot.block;
const isRoot = process.getuid?.() === 0;
const PORT = 5201;
/** The backends of most tests, [node, pod]: node-1-pod-b (the client node-1-pod-a's node) and node-2-pod-a (another node). */
const WHERE: [string, [number, number]][] = [
  ["same-node", [0, 1]],
  ["cross-node", [1, 0]],
];
const BACKENDS = WHERE.map(([, backend]) => backend);

/** `-A` rules of the nat table (ip6tables' with `bin`) in each node namespace. */
async function natRules(topo: LabTopology, bin = "iptables"): Promise<string[][]> {
  const all: string[][] = [];
  for (const n of topo.nodes) all.push((await inNs(n.ns, [bin, "-t", "nat", "-S"])).split("\n").filter((l) => l.startsWith("-A ")));
  return all;
}

async function expectGone(): Promise<void> {
  await teardownLab(PREFIX);
  expect(await labObjects(PREFIX)).toEqual({ namespaces: [], rootLinks: [] });
}

/**
 * A lab built before the enclosing describe's tests, handed to `built`, with an iperf3 server on PORT in each
 * `backends` pod ([node, pod] indices); the servers stopped and the lab torn down after, checked gone.
 */
function labWithServers(options: Omit<LabOptions, "prefix" | "block">, backends: [number, number][], built: (topo: LabTopology) => void): void {
  const servers: IperfServer[] = [];
  beforeAll(async () => {
    const topo = planTopology({ prefix: PREFIX, block: BLOCK, ...options });
    await buildLab(topo);
    built(topo);
    for (const [n, p] of backends) servers.push(await startIperfServer(topo.nodes[n]!.pods[p]!.ns, PORT));
  });
  afterAll(async () => {
    for (const s of servers.splice(0)) await s.stop();
    await expectGone();
  });
}

function request(topo: LabTopology, over: Partial<ExposeRequest> & Pick<ExposeRequest, "kind" | "caseId">, serverPod: [number, number]): ExposeRequest {
  const pod = topo.nodes[serverPod[0]]!.pods[serverPod[1]]!;
  return { runId: "run-1", serverNode: pod.node, serverAddress: pod.address, port: PORT, dataPort: 0, protocol: "tcp", ...over };
}

describe.skipIf(!isRoot)(`lab services on real namespaces${isRoot ? "" : " (skipped: needs root to create network namespaces)"}`, () => {
  beforeAll(async () => void (await teardownLab(PREFIX)));
  afterAll(expectGone);

  describe.each(CNI_MODES)("cni %s", (cni) => {
    let topo: LabTopology;
    let provider: LabServiceProvider;
    labWithServers({ cni, external: true }, BACKENDS, (t) => {
      topo = t;
      provider = new LabServiceProvider(t);
    });

    describe.each(WHERE)("ClusterIP to a %s backend", (where, backend) => {
      it.each(["tcp", "udp"] as const)("carries iperf3 %s from pod node-1-pod-a", async (protocol) => {
        const svc = await provider.expose(request(topo, { kind: "clusterip", caseId: `${where}-${protocol}`, protocol }, backend));
        try {
          expect(svc.address).toMatch(/^10\.96\.\d+\.\d+$/);
          expect(svc.port).toBe(PORT);
          const run = await iperfClient(topo.nodes[0]!.pods[0]!.ns, svc.address, svc.port, { seconds: 1, udp: protocol === "udp", bitrateBps: 100e6 });
          expect(run.bytesReceived).toBeGreaterThan(0);
        } finally {
          await svc.release();
        }
      });
    });

    it.each(["tcp", "udp"] as const)("NodePort on node-1 carries iperf3 %s from the external host to a pod on node-2", async (protocol) => {
      const svc = await provider.expose(request(topo, { kind: "nodeport", caseId: `np-${protocol}`, protocol }, [1, 0]));
      try {
        expect(svc.address).toBe(topo.nodes[0]!.underlayAddress);
        expect(svc.port).toBeGreaterThanOrEqual(30000);
        expect(svc.port).toBeLessThanOrEqual(32766);
        const run = await iperfClient(topo.external!.ns, svc.address, svc.port, { seconds: 1, udp: protocol === "udp", bitrateBps: 100e6 });
        expect(run.bytesReceived).toBeGreaterThan(0);
      } finally {
        await svc.release();
      }
    });

    it("release() removes exactly its rules; sweep() a run's", async () => {
      const before = await natRules(topo);
      const a = await provider.expose(request(topo, { kind: "clusterip", caseId: "a", dataPort: 6000 }, [1, 0]));
      const b = await provider.expose(request(topo, { kind: "nodeport", caseId: "b", dataPort: 6000, runId: "run-2" }, [1, 0]));
      const c = await provider.expose(request(topo, { kind: "clusterip", caseId: "c", protocol: "udp" }, [1, 1]));
      expect(new Set([a.address, c.address]).size).toBe(2);
      expect(b.dataPort).toBe(b.port + 1);
      const during = await natRules(topo);
      // a: 2 ports × PREROUTING/OUTPUT; b: 2 ports × (PREROUTING, OUTPUT, POSTROUTING); c: 2 protocols × 2 chains;
      // with masquerade hairpin, ClusterIPs add one POSTROUTING rule per port and protocol.
      const extra = provider.hairpin === "masquerade" ? 2 : 0;
      const [nA, nB, nC] = [4 + extra, 6, 4 + extra];
      expect(during.map((r) => r.length)).toEqual(before.map((r) => r.length + nA + nB + nC));
      await a.release();
      await a.release();
      const afterA = await natRules(topo);
      expect(afterA.map((r) => r.length)).toEqual(before.map((r) => r.length + nB + nC));
      for (const [i, rules] of afterA.entries()) expect(rules).toEqual(during[i]!.filter((r) => !r.includes(`svc:run-1:a"`)));
      expect(await provider.sweep("run-2")).toBe(1);
      expect((await natRules(topo)).map((r) => r.length)).toEqual(before.map((r) => r.length + nC));
      expect(await provider.sweep()).toBe(1);
      expect(await natRules(topo)).toEqual(before);
      await b.release();
      await c.release();
    });
  });

  describe("hairpin (host-gw, same-node backend)", () => {
    let topo: LabTopology;
    labWithServers({ podsPerNode: 2 }, [[0, 1]], (t) => (topo = t));

    it("needs replies un-NATed: fails with neither br_netfilter nor masquerade, works with either", async () => {
      const client = topo.nodes[0]!.pods[0]!.ns;
      const bridged = new LabServiceProvider(topo);
      expect(bridged.hairpin).toBe("bridge-nf");
      const svc = await bridged.expose(request(topo, { kind: "clusterip", caseId: "hp" }, [0, 1]));
      expect((await iperfClient(client, svc.address, svc.port, { seconds: 1 })).bytesReceived).toBeGreaterThan(0);
      // Without br_netfilter the backend's reply skips the node's conntrack: the client sees the pod IP, not the ClusterIP.
      await inNs(topo.nodes[0]!.ns, ["sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=0"]);
      await expect(iperfClient(client, svc.address, svc.port, { seconds: 1 })).rejects.toThrow(/unable to connect|timed out/);
      await svc.release();
      const masq = new LabServiceProvider(topo, { hairpin: "masquerade" });
      expect(new LabServiceProvider(planTopology({ prefix: PREFIX, cni: "l2" })).hairpin).toBe("masquerade");
      const svc2 = await masq.expose(request(topo, { kind: "clusterip", caseId: "hp2" }, [0, 1]));
      expect((await iperfClient(client, svc2.address, svc2.port, { seconds: 1 })).bytesReceived).toBeGreaterThan(0);
      await svc2.release();
    });
  });

  describe("dual stack (host-gw --ipv6): IPv6 services in ip6tables", () => {
    let topo: LabTopology;
    let provider: LabServiceProvider;
    const v6 = (req: ExposeRequest): ExposeRequest => {
      const [n, k] = [...topo.nodes.entries()].flatMap(([i, node]) => node.pods.map((p, j) => [i, j, p.ns] as const)).find(([, , ns]) => ns === podNs(req))!;
      return { ...req, family: "ipv6", serverAddress: topo.ipv6!.nodes[n]!.pods[k]! };
    };
    const podNs = (req: ExposeRequest): string => topo.nodes.flatMap((n) => n.pods).find((p) => p.address === req.serverAddress)!.ns;
    labWithServers({ cni: "host-gw", external: true, ipv6: true }, BACKENDS, (t) => {
      topo = t;
      provider = new LabServiceProvider(t);
    });

    it("declares both families; an IPv4-only lab refuses an IPv6 request", async () => {
      expect(provider.families).toEqual(["ipv4", "ipv6"]);
      const v4only = new LabServiceProvider(planTopology({ prefix: PREFIX, block: BLOCK, cni: "host-gw" }));
      expect(v4only.families).toEqual(["ipv4"]);
      await expect(v4only.expose(v6(request(topo, { kind: "clusterip", caseId: "no6" }, [1, 0])))).rejects.toThrow(/no IPv6 services/);
      await expect(provider.expose({ ...request(topo, { kind: "clusterip", caseId: "bad6" }, [1, 0]), family: "ipv6" })).rejects.toThrow(/not an IPv6 address/);
    });

    it.each(WHERE)("an IPv6 ClusterIP to a %s backend carries iperf3 tcp through the ip6tables DNAT", async (where, backend) => {
      const svc = await provider.expose(v6(request(topo, { kind: "clusterip", caseId: `v6-${where}` }, backend)));
      try {
        expect(isLabClusterIp6(svc.address)).toBe(true);
        const run = await iperfClient(topo.nodes[0]!.pods[0]!.ns, svc.address, svc.port, { seconds: 1 });
        expect(run.bytesReceived).toBeGreaterThan(0);
        const save = await inNs(topo.nodes[0]!.ns, ["ip6tables-save", "-c", "-t", "nat"]);
        const dnat = save.split("\n").find((l) => l.includes(`-A PREROUTING -d ${svc.address}/128 `));
        expect(dnat, save).toBeDefined();
        expect(Number(/^\[(\d+):/.exec(dnat!)![1])).toBeGreaterThan(0);
      } finally {
        await svc.release();
      }
    });

    it("an IPv6 NodePort on node-1 carries iperf3 tcp from the external host to a pod on node-2", async () => {
      const svc = await provider.expose(v6(request(topo, { kind: "nodeport", caseId: "v6-np" }, [1, 0])));
      try {
        expect(svc.address).toBe(topo.ipv6!.nodes[0]!.underlay);
        const run = await iperfClient(topo.external!.ns, svc.address, svc.port, { seconds: 1 });
        expect(run.bytesReceived).toBeGreaterThan(0);
      } finally {
        await svc.release();
      }
    });

    it("release() and sweep() remove the ip6tables rules; IPv4 and IPv6 ClusterIPs and NodePorts never collide", async () => {
      const [before4, before6] = [await natRules(topo), await natRules(topo, "ip6tables")];
      const a = await provider.expose(v6(request(topo, { kind: "clusterip", caseId: "a6", dataPort: 6000 }, [1, 0])));
      const b = await provider.expose(request(topo, { kind: "clusterip", caseId: "b4" }, [1, 0]));
      const c = await provider.expose(v6(request(topo, { kind: "nodeport", caseId: "c6", runId: "run-2" }, [1, 0])));
      const d = await provider.expose(request(topo, { kind: "nodeport", caseId: "d4", runId: "run-2" }, [1, 0]));
      const e = await provider.expose(v6(request(topo, { kind: "clusterip", caseId: "e6" }, [1, 1])));
      expect(new Set([a.address, e.address]).size).toBe(2);
      expect(new Set([c.port, d.port]).size).toBe(2);
      // IPv6: a 2 ports × 2 chains, c 3 chains (PREROUTING, OUTPUT, POSTROUTING), e 2 chains; IPv4: b 2 chains, d 3 chains.
      expect((await natRules(topo, "ip6tables")).map((r) => r.length)).toEqual(before6.map((r) => r.length + 4 + 3 + 2));
      expect((await natRules(topo)).map((r) => r.length)).toEqual(before4.map((r) => r.length + 2 + 3));
      await a.release();
      expect((await natRules(topo, "ip6tables")).map((r) => r.length)).toEqual(before6.map((r) => r.length + 3 + 2));
      expect(await provider.sweep("run-2")).toBe(2);
      expect((await natRules(topo, "ip6tables")).map((r) => r.length)).toEqual(before6.map((r) => r.length + 2));
      expect((await natRules(topo)).map((r) => r.length)).toEqual(before4.map((r) => r.length + 2));
      expect(await provider.sweep()).toBe(2);
      expect(await natRules(topo, "ip6tables")).toEqual(before6);
      expect(await natRules(topo)).toEqual(before4);
      for (const s of [b, c, d, e]) await s.release();
    });

    it("an IPv6 Service that fails half-way leaves no ip6tables rule", async () => {
      const before = await natRules(topo, "ip6tables");
      const proxy = new LabKubeProxy(topo);
      const backend = topo.ipv6!.nodes[1]!.pods[0]!;
      // The second port's target is out of range: ip6tables refuses it after the first port's rules went in.
      await expect(
        proxy.program({
          tag: `${PREFIX}svc:run-9:broken`,
          family: "ipv6",
          clusterIP: "fd00:10:96::ff",
          backend,
          ports: [
            { protocol: "tcp", port: 5201, targetPort: 5201 },
            { protocol: "tcp", port: 5202, targetPort: 70000 },
          ],
        }),
      ).rejects.toThrow();
      expect(await natRules(topo, "ip6tables")).toEqual(before);
    });
  });
});
