import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { AgentStatusSchema, GetRunResponseSchema, type AgentStatus } from "../../gen/netmatrix/v1/control_pb.js";
import { Encapsulation, FingerprintSchema, KubeProxyMode, type Fingerprint } from "../../gen/netmatrix/v1/fingerprint_pb.js";
import { NetworkMode } from "../../gen/netmatrix/v1/types_pb.js";
import { diffFingerprints, fingerprintDocument, fingerprintNotes, nodeFingerprints } from "./fingerprint.js";
import { fingerprintHtml } from "./html-fingerprint.js";

type FpInit = MessageInitShape<typeof FingerprintSchema>;
const OFFLOADS = { "generic-receive-offload": true, "generic-segmentation-offload": true, "tcp-segmentation-offload": true };
function fp(o: FpInit = {}): Fingerprint {
  return create(FingerprintSchema, {
    kernel: "6.8.0-45-generic",
    cpuModel: "AMD EPYC",
    cpuCount: 2,
    governor: "performance",
    encapsulation: Encapsulation.VXLAN,
    kubeProxyMode: KubeProxyMode.IPTABLES,
    conntrackMax: 262144,
    conntrackCount: 12,
    interfaces: [
      { name: "eth0", driver: "virtio_net", mtu: 1500, speedMbps: 10000, offloads: OFFLOADS, rxQueues: 2, txQueues: 2 },
      { name: "flannel.1", driver: "vxlan", kind: "vxlan", mtu: 1450, offloads: OFFLOADS, rxQueues: 1, txQueues: 1 },
    ],
    ...o,
  });
}
const eth0 = (o: object) => ({ interfaces: [{ name: "eth0", driver: "virtio_net", mtu: 1500, speedMbps: 10000, offloads: OFFLOADS, rxQueues: 2, txQueues: 2, ...o }] });

describe("diffFingerprints", () => {
  test.each<[string, FpInit, FpInit, string[]]>([
    ["identical", {}, {}, []],
    ["kernel", {}, { kernel: "6.11.0-1-cloud" }, ["kernel: 6.8.0-45-generic → 6.11.0-1-cloud"]],
    ["CPU governor", {}, { governor: "powersave" }, ["CPU governor: performance → powersave"]],
    ["encapsulation", {}, { encapsulation: Encapsulation.NONE }, ["encapsulation: vxlan → none"]],
    ["kube-proxy mode", {}, { kubeProxyMode: KubeProxyMode.IPVS }, ["kube-proxy mode: iptables → ipvs"]],
    ["jumbo frames on eth0", eth0({}), eth0({ mtu: 9001 }), ["eth0 MTU: 1500 → 9001"]],
    ["GRO off on eth0", eth0({}), eth0({ offloads: { ...OFFLOADS, "generic-receive-offload": false } }), ["eth0 generic-receive-offload: on → off"]],
    [
      "MTU and TSO at once",
      eth0({}),
      eth0({ mtu: 1450, offloads: { ...OFFLOADS, "tcp-segmentation-offload": false } }),
      ["eth0 MTU: 1500 → 1450", "eth0 tcp-segmentation-offload: on → off"],
    ],
    // Not what moves the numbers, or not comparable: no difference.
    ["CPU count and conntrack", {}, { cpuCount: 4, conntrackMax: 1, conntrackCount: 9999 }, []],
    ["driver, speed and queues", eth0({}), eth0({ driver: "ena", speedMbps: 25000, rxQueues: 8 }), []],
    ["an interface only in B (a pod's veth)", eth0({}), { interfaces: [...eth0({}).interfaces, { name: "veth1a2b3c", mtu: 1450 }] }, []],
    ["a governor unknown in B (a VM without cpufreq)", {}, { governor: "" }, []],
    ["encapsulation unknown in A (a pod agent's)", { encapsulation: Encapsulation.UNSPECIFIED }, {}, []],
    ["ethtool missing in B (no offloads)", eth0({}), eth0({ offloads: {} }), []],
  ])("%s", (_what, a, b, want) => expect(diffFingerprints(fp(a), fp(b))).toEqual(want));
});

function agent(node: string, mode: NetworkMode, f?: Fingerprint): AgentStatus {
  return create(AgentStatusSchema, {
    agentId: `${node}/${mode === NetworkMode.HOST ? "host" : "pod"}`,
    info: { node, mode, addresses: ["10.0.0.1"], ...(f ? { fingerprint: f } : {}) },
  });
}

describe("nodeFingerprints and the compare notes", () => {
  test("a node's fingerprint is its host agent's, whatever the order", () => {
    const m = nodeFingerprints([
      agent("n1", NetworkMode.POD, fp({ encapsulation: Encapsulation.UNSPECIFIED })),
      agent("n1", NetworkMode.HOST, fp()),
      agent("n2", NetworkMode.POD, fp()),
    ]);
    expect([...m.keys()]).toEqual(["n1", "n2"]);
    expect(m.get("n1")!.agent).toBe("n1/host");
    expect(m.get("n2")!.agent).toBe("n2/pod");
  });

  test("one note per difference per node both runs fingerprinted; none for runs without fingerprints", () => {
    const a = create(GetRunResponseSchema, { agents: [agent("n1", NetworkMode.HOST, fp()), agent("n2", NetworkMode.HOST, fp())] });
    const b = create(GetRunResponseSchema, { agents: [agent("n1", NetworkMode.HOST, fp({ ...eth0({ mtu: 9001 }), governor: "powersave" })), agent("n2", NetworkMode.HOST)] });
    expect(fingerprintNotes(a, b)).toEqual([
      "n1's environment differs (A → B): CPU governor: performance → powersave.",
      "n1's environment differs (A → B): eth0 MTU: 1500 → 9001.",
    ]);
    const old = create(GetRunResponseSchema, { agents: [agent("n1", NetworkMode.HOST), agent("n2", NetworkMode.HOST)] });
    expect(fingerprintNotes(old, old)).toEqual([]);
    expect(fingerprintNotes(old, b)).toEqual([]);
  });
});

describe("the fingerprint in the reports", () => {
  test("JSON: names, not enum numbers", () => {
    const d = fingerprintDocument(fp());
    expect(d).toMatchObject({ encapsulation: "vxlan", kubeProxyMode: "iptables", governor: "performance" });
    expect(d.interfaces[0]).toEqual({ name: "eth0", driver: "virtio_net", kind: "", mtu: 1500, speedMbps: 10000, offloads: OFFLOADS, rxQueues: 2, txQueues: 2 });
  });

  test("HTML: a table per node; values that differ between nodes are highlighted, the others not", () => {
    const html = fingerprintHtml([
      agent("n1", NetworkMode.HOST, fp()),
      agent("n2", NetworkMode.HOST, fp({ ...eth0({ mtu: 9001, offloads: { ...OFFLOADS, "generic-receive-offload": false } }), kernel: "6.11.0-1-cloud" })),
    ]);
    expect(html.match(/<div class="fp-node"/g)).toHaveLength(2);
    expect(html).toContain('<td class="num fp-differs">9001</td>');
    expect(html).toContain('<td class="num fp-differs">1500</td>');
    expect(html).toContain('<td class="fp-differs">6.11.0-1-cloud</td>');
    expect(html).toContain('<span class="fp-differs">generic-receive-offload off</span>');
    expect(html).toContain("tcp-segmentation-offload on");
    expect(html).not.toContain('<span class="fp-differs">tcp-segmentation-offload');
    expect(html).toContain('<td class="">performance</td>');
  });

  test("HTML: escapes what the agent sent, and is empty without fingerprints", () => {
    expect(fingerprintHtml([agent("n1", NetworkMode.HOST, fp({ kernel: "<script>x</script>" }))])).not.toContain("<script>x");
    expect(fingerprintHtml([agent("n1", NetworkMode.HOST)])).toBe("");
  });
});
