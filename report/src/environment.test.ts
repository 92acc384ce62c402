import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { AgentStatusSchema, GetRunResponseSchema, type AgentStatus } from "../../gen/netmatrix/v1/control_pb.js";
import { NetworkMode, Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { environment } from "./environment.js";

function agent(id: string, node: string, mode: NetworkMode, o: { iperf3?: string; ping?: boolean; kernel?: string; ifaces?: [string, number, number][] } = {}): AgentStatus {
  return create(AgentStatusSchema, {
    agentId: id,
    info: {
      node,
      mode,
      addresses: [`addr-${id}`],
      kernel: o.kernel ?? "Linux 6.1",
      cpuModel: "EPYC",
      cpuCount: 8,
      interfaces: (o.ifaces ?? [["eth0", 1500, 25000]]).map(([name, mtu, speedMbps]) => ({ name, mtu, speedMbps, addresses: name === "eth0" ? [`addr-${id}`] : [] })),
      tools: [
        { tool: Tool.PING, available: o.ping ?? true, version: "20221126" },
        { tool: Tool.IPERF3, available: true, version: o.iperf3 ?? "3.12" },
      ],
    },
  });
}

const HOST_IFACES: [string, number, number][] = [
  ["veth12", 1450, 0],
  ["eth0", 1500, 25000],
  ["flannel.1", 1450, 0],
  ["cni0", 1450, 0],
];

describe("environment", () => {
  const resp = create(GetRunResponseSchema, {
    specYaml: "name: x\nscenarios: [host-host]\n",
    agents: [
      agent("node-10/pod/a", "node-10", NetworkMode.POD, { kernel: "pod view", ifaces: [["eth0", 1450, 0]] }),
      agent("node-10/host", "node-10", NetworkMode.HOST, { kernel: "Linux 6.8", ifaces: HOST_IFACES }),
      agent("node-2/host", "node-2", NetworkMode.HOST, { iperf3: "3.16", ifaces: HOST_IFACES }),
      agent("node-2/pod/a", "node-2", NetworkMode.POD, { ping: false, ifaces: [["eth0", 1450, 0]] }),
    ],
  });
  const env = environment(resp);

  test("one entry per node in natural order; the host agent's view wins", () => {
    expect(env.nodes.map((n) => [n.node, n.source, n.kernel])).toEqual([
      ["node-2", "node-2/host", "Linux 6.1"],
      ["node-10", "node-10/host", "Linux 6.8"],
    ]);
    expect(env.nodes[1]).toMatchObject({ cpuModel: "EPYC", cpuCount: 8 });
  });

  test("interfaces sorted by name, unknown speed as null", () => {
    expect(env.nodes[0]!.interfaces.map((i) => [i.name, i.mtu, i.speedMbps])).toEqual([
      ["cni0", 1450, null],
      ["eth0", 1500, 25000],
      ["flannel.1", 1450, null],
      ["veth12", 1450, null],
    ]);
  });

  test("every agent of a node with its mode and address", () => {
    expect(env.nodes[1]!.agents).toEqual([
      { id: "node-10/host", mode: "host", address: "addr-node-10/host" },
      { id: "node-10/pod/a", mode: "pod", address: "addr-node-10/pod/a" },
    ]);
  });

  test("tool versions grouped by identical sets (in agent order); missing tools said so", () => {
    expect(env.tools).toEqual([
      { versions: "iperf3 3.16 · ping 20221126", agents: ["node-2/host"] },
      { versions: "iperf3 3.12 · ping missing", agents: ["node-2/pod/a"] },
      { versions: "iperf3 3.12 · ping 20221126", agents: ["node-10/host", "node-10/pod/a"] },
    ]);
  });

  test("the CNI guess and the spec YAML are part of it", () => {
    expect(env.cni.cni).toBe("flannel (VXLAN)");
    expect(env.cni.reasons.join(" ")).toMatch(/pods have MTU 1450, nodes 1500/);
    expect(env.specYaml).toBe("name: x\nscenarios: [host-host]\n");
  });

  test("the spec as run stands in when no YAML was kept", () => {
    const spec = { name: "y", scenarios: ["host-host"], durationS: 2, pairs: { selection: { case: "ring" as const, value: {} } } };
    expect(JSON.parse(environment(create(GetRunResponseSchema, { spec })).specYaml)).toMatchObject({ name: "y", scenarios: ["host-host"], duration: 2, pairs: "ring" });
  });
});
