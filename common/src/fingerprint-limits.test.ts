import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { FingerprintSchema, type Encapsulation, type Fingerprint } from "../../gen/netmatrix/v1/fingerprint_pb.js";
import { AgentInfoSchema, NetworkMode } from "../../gen/netmatrix/v1/types_pb.js";
import { clipText, fingerprintProblems, FINGERPRINT_LIMITS } from "./fingerprint-limits.js";
import { registrationError, registrationProblems } from "./registration.js";

const good = (): Fingerprint =>
  create(FingerprintSchema, {
    kernel: "6.8.0-45-generic",
    cpuModel: "AMD EPYC",
    cpuCount: 2,
    interfaces: [{ name: "eth0", driver: "virtio_net", mtu: 1500, offloads: { "generic-receive-offload": true }, rxQueues: 1, txQueues: 1 }],
    encapsulation: 2,
    encapsulationEvidence: ["flannel.1: vxlan id 1"],
  });

describe("fingerprintProblems", () => {
  test("a normal fingerprint has none", () => expect(fingerprintProblems(good())).toEqual([]));

  test.each<[string, (f: Fingerprint) => void, RegExp]>([
    ["10,000 interfaces", (f) => (f.interfaces = Array.from({ length: 10_000 }, () => f.interfaces[0]!)), /^interfaces has 10000 entries, above the limit of 64$/],
    ["a 1 MB kernel string", (f) => (f.kernel = "k".repeat(1_000_000)), /^kernel is 1000000 characters, above the limit of 256$/],
    ["a terminal escape in the CPU model", (f) => (f.cpuModel = "\x1b[2Jx"), /^cpu_model holds control characters$/],
    [
      "1000 offload flags",
      (f) => (f.interfaces[0]!.offloads = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`f${i}`, true]))),
      /^interfaces\[0\]\.offloads has 1000 entries, above the limit of 32$/,
    ],
    ["an offload named with markup", (f) => (f.interfaces[0]!.offloads = { "<script>": true }), /^interfaces\[0\]\.offloads "<script>" is not an ethtool feature name$/],
    ["an interface name with a slash", (f) => (f.interfaces[0]!.name = "a/b"), /^interfaces\[0\]\.name "a\/b" is not a Linux interface name$/],
    ["an unknown encapsulation", (f) => (f.encapsulation = 99 as Encapsulation), /^encapsulation 99 is not a known encapsulation$/],
    ["100 evidence lines", (f) => (f.kubeProxyEvidence = Array.from({ length: 100 }, () => "x")), /^kube_proxy_evidence has 100 entries, above the limit of 16$/],
  ])("%s", (_what, spoil, message) => {
    const f = good();
    spoil(f);
    const problems = fingerprintProblems(f);
    expect(problems.map((p) => `${p.field} ${p.problem}`)).toEqual([expect.stringMatching(message)]);
  });

  test("a fingerprint wrong everywhere gets a bounded answer", () => {
    const f = good();
    f.interfaces = Array.from({ length: 64 }, () => ({ ...f.interfaces[0]!, name: "x".repeat(100), driver: "d".repeat(100) }));
    expect(fingerprintProblems(f)).toHaveLength(20);
  });

  test("the coordinator's registration check includes the fingerprint, naming the field", () => {
    const info = create(AgentInfoSchema, {
      node: "n1",
      mode: NetworkMode.HOST,
      addresses: ["192.0.2.1"],
      portMin: 1,
      portMax: 2,
      fingerprint: { ...good(), kernel: "k".repeat(5000) },
    });
    const err = registrationError(registrationProblems(info, "i-1"));
    expect(err.message).toBe("registration refused: fingerprint.kernel is 5000 characters, above the limit of 256");
    expect(err.hint).toMatch(/run a netmatrix agent of the coordinator's version/);
  });

  test("clipText keeps the agent's strings within the limit and printable", () => {
    expect(clipText("a\x1bb\n")).toBe("a b ");
    expect(clipText("x".repeat(1000))).toHaveLength(FINGERPRINT_LIMITS.text);
  });
});
