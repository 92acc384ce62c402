import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { NetmatrixError } from "./errors.js";
import { AgentInfoSchema, NetInterfaceSchema, NetworkMode, Tool, ToolInfoSchema, type AgentInfo } from "../../gen/netmatrix/v1/types_pb.js";
import {
  addressProblem,
  interfaceNameProblem,
  labelKeyProblem,
  labelValueProblem,
  nameProblem,
  parseLabels,
  registrationError,
  registrationProblems,
  REGISTRATION_LIMITS,
} from "./registration.js";

/** A registration as a real agent sends it. */
function good(): AgentInfo {
  return create(AgentInfoSchema, {
    node: "node-1.example",
    pod: "netmatrix-pod-a-x7k2p",
    mode: NetworkMode.POD,
    addresses: ["10.244.1.5", "fe80::1"],
    interfaces: [
      create(NetInterfaceSchema, { name: "lo", mtu: 65536, addresses: ["127.0.0.1", "::1"], mac: "00:00:00:00:00:00" }),
      create(NetInterfaceSchema, { name: "eth0", mtu: 1450, addresses: ["10.244.1.5"], mac: "aa:bb:cc:dd:ee:ff" }),
      create(NetInterfaceSchema, { name: "flannel.1", mtu: 1450 }),
      create(NetInterfaceSchema, { name: "cali1234567890a", mtu: 1480 }),
    ],
    tools: [create(ToolInfoSchema, { tool: Tool.IPERF3, available: true, version: "3.12", path: "/usr/bin/iperf3", package: "iperf3" })],
    kernel: "Linux 6.1.0-18-amd64",
    cpuModel: "Intel(R) Xeon(R) CPU @ 2.20GHz",
    cpuCount: 8,
    hostname: "node-1",
    agentVersion: "0.1.0",
    portMin: 20000,
    portMax: 20999,
    labels: { "topology.kubernetes.io/zone": "eu-west-1a", rack: "r12", "netmatrix.example/empty": "" },
  });
}

const fields = (info: AgentInfo, instanceId = "0b7f6c1e-8a0f-4a3c-9b1e-2f0d3c4b5a69") => registrationProblems(info, instanceId).map((p) => p.field);

describe("registrationProblems", () => {
  test("a real agent's registration passes", () => {
    expect(registrationProblems(good(), "0b7f6c1e-8a0f-4a3c-9b1e-2f0d3c4b5a69")).toEqual([]);
  });

  test("a 3.9 MB node name is refused naming the field and the limit, without echoing it", () => {
    const info = good();
    info.node = "a".repeat(3_900_000);
    const problems = registrationProblems(info, "i-1");
    expect(problems).toEqual([{ field: "node", problem: "is 3900000 characters, above the limit of 253", fix: expect.stringMatching(/--node/) }]);
    const err = registrationError(problems);
    expect(err.code).toBe("invalid-argument");
    expect(err.message.length).toBeLessThan(300);
    expect(err.hint).toMatch(/--node \(env NETMATRIX_NODE\)/);
  });

  test.each([
    ["node", (i: AgentInfo) => (i.node = "")],
    ["node", (i: AgentInfo) => (i.node = "node_1")],
    ["node", (i: AgentInfo) => (i.node = "<img src=x onerror=alert(1)>")],
    ["node", (i: AgentInfo) => (i.node = "-node")],
    ["pod", (i: AgentInfo) => (i.pod = "pod/../x")],
    ["mode", (i: AgentInfo) => (i.mode = NetworkMode.UNSPECIFIED)],
    ["mode", (i: AgentInfo) => (i.mode = 99 as NetworkMode)],
    ["addresses", (i: AgentInfo) => (i.addresses = [])],
    ["addresses", (i: AgentInfo) => (i.addresses = Array.from({ length: REGISTRATION_LIMITS.addresses + 1 }, () => "10.0.0.1"))],
    ["addresses[0]", (i: AgentInfo) => (i.addresses = ["example.com"])],
    ["addresses[0]", (i: AgentInfo) => (i.addresses = ["0.0.0.0"])],
    ["addresses[0]", (i: AgentInfo) => (i.addresses = ["224.0.0.1"])],
    ["addresses[0]", (i: AgentInfo) => (i.addresses = ["ff02::1"])],
    ["addresses[1]", (i: AgentInfo) => (i.addresses = ["10.0.0.1", "x".repeat(100)])],
    ["interfaces", (i: AgentInfo) => (i.interfaces = Array.from({ length: REGISTRATION_LIMITS.interfaces + 1 }, () => create(NetInterfaceSchema, { name: "veth0" })))],
    ["interfaces[0].name", (i: AgentInfo) => (i.interfaces[0]!.name = "a-very-long-name0")],
    ["interfaces[0].name", (i: AgentInfo) => (i.interfaces[0]!.name = "eth0:1")],
    ["interfaces[0].name", (i: AgentInfo) => (i.interfaces[0]!.name = "<b>")],
    ["interfaces[0].name", (i: AgentInfo) => (i.interfaces[0]!.name = "")],
    ["interfaces[1].addresses", (i: AgentInfo) => (i.interfaces[1]!.addresses = Array.from({ length: REGISTRATION_LIMITS.interfaceAddresses + 1 }, () => "10.0.0.1"))],
    ["interfaces[1].addresses[0]", (i: AgentInfo) => (i.interfaces[1]!.addresses = ["not-an-ip"])],
    ["interfaces[1].mac", (i: AgentInfo) => (i.interfaces[1]!.mac = "zz")],
    ["tools", (i: AgentInfo) => (i.tools = Array.from({ length: REGISTRATION_LIMITS.tools + 1 }, () => create(ToolInfoSchema, { tool: Tool.PING })))],
    ["tools[0].tool", (i: AgentInfo) => (i.tools[0]!.tool = 42 as Tool)],
    ["tools[1].tool", (i: AgentInfo) => i.tools.push(create(ToolInfoSchema, { tool: Tool.IPERF3 }))],
    ["tools[0].version", (i: AgentInfo) => (i.tools[0]!.version = "3.12 <script>")],
    ["tools[0].path", (i: AgentInfo) => (i.tools[0]!.path = "/x".repeat(3000))],
    ["tools[0].package", (i: AgentInfo) => (i.tools[0]!.package = "Iperf3!")],
    ["tools[0].problem", (i: AgentInfo) => (i.tools[0]!.problem = "p".repeat(REGISTRATION_LIMITS.problem + 1))],
    ["tools[0].problem", (i: AgentInfo) => (i.tools[0]!.problem = "ping: cannot\nfake log line")],
    ["kernel", (i: AgentInfo) => (i.kernel = "k".repeat(REGISTRATION_LIMITS.text + 1))],
    ["cpu_model", (i: AgentInfo) => (i.cpuModel = "cpu\u0000\u001b[31m")],
    ["hostname", (i: AgentInfo) => (i.hostname = "h\nfake log line")],
    ["agent_version", (i: AgentInfo) => (i.agentVersion = "0.1.0; rm -rf /")],
    ["cpu_count", (i: AgentInfo) => (i.cpuCount = 1 << 20)],
    ["port_min/port_max", (i: AgentInfo) => ((i.portMin = 0), (i.portMax = 0))],
    ["port_min/port_max", (i: AgentInfo) => ((i.portMin = 30000), (i.portMax = 20000))],
    ["port_min/port_max", (i: AgentInfo) => (i.portMax = 70000)],
    ["labels", (i: AgentInfo) => (i.labels = Object.fromEntries(Array.from({ length: REGISTRATION_LIMITS.labels + 1 }, (_, n) => [`l${n}`, "v"])))],
    ["labels", (i: AgentInfo) => (i.labels = { "zone name": "a" })],
    ["labels", (i: AgentInfo) => (i.labels = { "Topology.K8s.io/zone": "a" })],
    ['labels["zone"]', (i: AgentInfo) => (i.labels = { zone: "eu west" })],
    ['labels["zone"]', (i: AgentInfo) => (i.labels = { zone: "v".repeat(64) })],
  ])("%s: refused", (field, spoil) => {
    const info = good();
    spoil(info);
    expect(fields(info)).toEqual([field]);
  });

  test("the instance id is bounded too", () => {
    expect(fields(good(), "")).toEqual(["instance_id"]);
    expect(fields(good(), "x".repeat(129))).toEqual(["instance_id"]);
    expect(fields(good(), "a b")).toEqual(["instance_id"]);
  });

  test("a hostile registration gets a bounded answer: at most 20 problems", () => {
    const info = good();
    info.interfaces = Array.from({ length: 1000 }, () => create(NetInterfaceSchema, { name: "/bad/" }));
    expect(registrationProblems(info, "i-1")).toHaveLength(20);
  });
});

describe("the name rules", () => {
  test.each(["node-1", "ip-10-0-0-1.ec2.internal", "DESKTOP-AB12", "a", "a".repeat(253)])("%s is a valid name", (n) => expect(nameProblem(n)).toBeUndefined());
  test.each(["", "a".repeat(254), "a_b", "a/b", "a..b", "a.", "é"])("%j is not", (n) => expect(nameProblem(n)).toBeDefined());
  test.each(["eth0", "cni0", "flannel.1", "kube-ipvs0", "vxlan.calico", "nm1-t-ra", "cali1234567890a", "br-0a1b2c3d4e5f"])("%s is a valid interface name", (n) =>
    expect(interfaceNameProblem(n)).toBeUndefined(),
  );
  test.each(["", ".", "..", "eth0 ", "a/b", "eth0:1", "0123456789abcdef"])("%j is not", (n) => expect(interfaceNameProblem(n)).toBeDefined());
  test.each(["10.0.0.1", "127.0.0.1", "::1", "2001:db8::1", "fe80::1", "ff::1"])("%s may be a declared address", (a) => expect(addressProblem(a)).toBeUndefined());
  test.each(["", "0.0.0.0", "0.1.2.3", "::", "255.255.255.255", "239.1.1.1", "ff02::1", "10.0.0.1 ", "host"])("%j may not", (a) => expect(addressProblem(a)).toBeDefined());
});

describe("node labels", () => {
  test.each(["zone", "topology.kubernetes.io/zone", "kubernetes.io/hostname", "Rack_1.a", "a", `${"p".repeat(253)}/${"n".repeat(63)}`])("%s is a label key", (k) =>
    expect(labelKeyProblem(k)).toBeUndefined(),
  );
  test.each([
    ["", /empty/],
    ["zone name", /not a label key/],
    ["-zone", /not a label key/],
    ["zone-", /not a label key/],
    ["/zone", /prefix/],
    ["Example.com/zone", /prefix/],
    ["a/b/c", /not a label key/],
    ["example.com/", /no name/],
    ["n".repeat(64), /name of 64 characters, above the limit of 63/],
    [`${"p".repeat(254)}/zone`, /prefix/],
  ])("%j is not: %s", (k, why) => expect(labelKeyProblem(k)).toMatch(why));
  test.each(["", "eu-west-1a", "R12", "a.b_c-d", "v".repeat(63)])("%j is a label value", (v) => expect(labelValueProblem(v)).toBeUndefined());
  test.each(["v".repeat(64), "eu west", "-a", "a=b", "é"])("%j is not", (v) => expect(labelValueProblem(v)).toBeDefined());

  test("a refused label is named, with the flag that sets it", () => {
    const info = good();
    info.labels = { zone: "eu west" };
    const err = registrationError(registrationProblems(info, "i-1"));
    expect(err.message).toBe('registration refused: labels["zone"] value "eu west" is not a label value (letters, digits, "-", "_" and ".", a letter or digit at each end)');
    expect(err.hint).toMatch(/^start the agent with --label KEY=VALUE \(env NETMATRIX_NODE_LABELS\) in Kubernetes label syntax/);
  });
});

describe("parseLabels (--label KEY=VALUE, env NETMATRIX_NODE_LABELS)", () => {
  test.each<[string[], Record<string, string>]>([
    [[], {}],
    [["zone=a"], { zone: "a" }],
    [["zone=a", "rack=r1"], { zone: "a", rack: "r1" }],
    [["topology.kubernetes.io/zone=eu-1a,rack=r1"], { "topology.kubernetes.io/zone": "eu-1a", rack: "r1" }],
    [[" zone=a , rack=r1 ,"], { zone: "a", rack: "r1" }],
    [["empty="], { empty: "" }],
  ])("%j → %j", (items, labels) => expect(parseLabels(items, "--label")).toEqual(labels));

  test.each<[string[], RegExp]>([
    [["zone"], /^--label: "zone" is not KEY=VALUE$/],
    [["zone=a", "zone=b"], /^--label: label "zone" is given twice$/],
    [["zone=a b"], /^--label: labels\["zone"\] value "a b" is not a label value/],
    [["bad key=a"], /^--label: label key "bad key" is not a label key/],
    [[Array.from({ length: 33 }, (_, i) => `l${i}=v`).join(",")], /^--label: labels has 33 entries, above the limit of 32$/],
  ])("%j is refused: %s", (items, message) => {
    let err: unknown;
    try {
      parseLabels(items, "--label");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetmatrixError);
    expect((err as NetmatrixError).code).toBe("invalid-argument");
    expect((err as NetmatrixError).message).toMatch(message);
    expect((err as NetmatrixError).hint).toMatch(/KEY=VALUE|once/);
  });
});
