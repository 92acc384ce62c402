/**
 * Registry entries without sessions, for tests of what reads the registry
 * (ListAgents and its paging): AgentLink-shaped objects carrying an
 * AgentInfo as a real agent on a Kubernetes node sends (five NICs, the four
 * tools, a node load), so their ListAgents size is a real agent's, about
 * 0.85 kB (5,000 of them were 4,292,170 bytes in one message). Agents speaking the real protocol are the simulator's job.
 */
import { create } from "@bufbuild/protobuf";
import { AgentInfoSchema, NetworkMode, NodeLoadSchema } from "../../gen/netmatrix/v1/types_pb.js";
import { drivers, tools, type ToolName } from "../../tools/src/index.js";
import type { AgentLink } from "../../coordinator/src/agent-link.js";
import { baseId, type Registry } from "../../coordinator/src/registry.js";

/** What `netmatrix agents` shows for each tool on a Debian 12 node. */
const DEBIAN_VERSIONS: Partial<Record<ToolName, string>> = { iperf3: "3.12", iperf2: "2.1.8", qperf: "0.4.11", ping: "20221126", http: "4.1.0", sockperf: "3.7" };

export interface FakeAgent {
  node: string;
  mode: NetworkMode;
  pod?: string;
  labels?: Record<string, string>;
  /** Extra interfaces beyond the usual three (a node with a veth per pod). */
  extraInterfaces?: number;
}

/** An AgentLink-shaped registry entry of `a` (id node/mode[/pod]); `end()` does nothing. */
export function fakeAgentLink(a: FakeAgent, i = 0): AgentLink {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const info = create(AgentInfoSchema, {
    node: a.node,
    pod: a.pod ?? "",
    mode: a.mode,
    addresses: [ip],
    interfaces: [
      { name: "lo", mtu: 65536, addresses: ["127.0.0.1/8", "::1/128"], mac: "00:00:00:00:00:00" },
      { name: "eth0", mtu: 1500, speedMbps: 10000, addresses: [`${ip}/16`, `fe80::42:acff:fe11:${(i & 0xffff).toString(16)}/64`], mac: "02:42:ac:11:00:02" },
      { name: "cni0", mtu: 1450, speedMbps: 10000, addresses: ["10.244.0.1/24", "fe80::1c5e:8fff:fe3a:1/64"], mac: "1e:5e:8f:3a:00:01" },
      { name: "flannel.1", mtu: 1450, addresses: ["10.244.0.0/32", "fe80::8c3b:2eff:fe7d:1/64"], mac: "8e:3b:2e:7d:00:01" },
      { name: "veth3f2a9c1d", mtu: 1450, speedMbps: 10000, addresses: ["fe80::a4c1:5bff:fe2e:1/64"], mac: "a6:c1:5b:2e:00:01" },
      ...Array.from({ length: a.extraInterfaces ?? 0 }, (_, k) => ({
        name: `veth${k.toString(16).padStart(8, "0")}`,
        mtu: 1450,
        speedMbps: 10000,
        addresses: [`fe80::${k.toString(16)}:1/64`, `fe80::${k.toString(16)}:2/64`, `fe80::${k.toString(16)}:3/64`],
        mac: "aa:bb:cc:dd:ee:ff",
      })),
    ],
    // Every tool of the catalogue, installed, with the versions Debian 12 ships.
    tools: tools.names.map((t) => ({
      tool: drivers[t].wire,
      available: true,
      version: DEBIAN_VERSIONS[t] ?? "1.0",
      path: `/usr/bin/${drivers[t].binary}`,
      package: drivers[t].debianPackage,
    })),
    kernel: "6.1.0-18-cloud-amd64",
    cpuModel: "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
    cpuCount: 8,
    hostname: a.pod ?? a.node,
    agentVersion: "0.1.0",
    portMin: 20000,
    portMax: 20999,
    labels: a.labels ?? {},
  });
  return {
    id: baseId(info),
    instanceId: `fake-${i}`,
    info,
    peer: `${ip}:${40000 + (i % 20000)}`,
    closed: false,
    connectedAtMs: Date.now(),
    lastSeen: performance.now(),
    addressCheck: "peer",
    load: create(NodeLoadSchema, { cpuBusyPercent: 12.5, loadAverage1m: 0.7, procsRunning: 2, cpuCount: 8, intervalMs: 2000, atMs: Date.now() }),
    onSamples: undefined,
    end: () => {},
    send: () => {},
  } as unknown as AgentLink;
}

/**
 * `nodes` nodes of a cluster (node-FIRSTNODE, …), each with a host agent and `podsPerNode` pod
 * agents (the chart's two DaemonSets: "a" and "b"), nodes spread over three
 * zones by label; registered in `registry` in a scrambled order, as a
 * reconnecting herd would. Returns the links.
 */
export function fillRegistry(registry: Registry, nodes: number, podsPerNode = 2, firstNode = 0): AgentLink[] {
  const links: AgentLink[] = [];
  for (let n = firstNode; n < firstNode + nodes; n++) {
    const node = `node-${n}`;
    const labels = { "topology.kubernetes.io/zone": `zone-${"abc"[n % 3]}` };
    links.push(fakeAgentLink({ node, mode: NetworkMode.HOST, labels }, links.length));
    for (let p = 0; p < podsPerNode; p++)
      links.push(fakeAgentLink({ node, mode: NetworkMode.POD, pod: `netmatrix-pod-${"ab"[p % 2]}${p >= 2 ? p : ""}-${n.toString(36)}x`, labels }, links.length));
  }
  // A stride coprime with the count visits every link once, out of order.
  let stride = 7919;
  while (gcd(stride, links.length) !== 1) stride++;
  for (let i = 0; i < links.length; i++) registry.add(links[(i * stride) % links.length]!);
  return links;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
