/**
 * The environment fingerprint taken inside a namespace built like a flannel
 * VXLAN node: eth0 (a veth, MTU 1450), a pod bridge, flannel.1 (VXLAN over
 * eth0) with a route to another node's pods through it, and kube-proxy-style
 * KUBE-SERVICES chains in the nat table. The real collector, the real
 * commands, read through `ip netns exec`. Needs root.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { exec } from "../common/src/exec.js";
import { canUseNamespaces, listNamespaces } from "../lab/src/netns.js";
import { collectFingerprint, type FingerprintHost } from "../agent/src/fingerprint/collect.js";
import { Encapsulation, KubeProxyMode } from "../gen/netmatrix/v1/fingerprint_pb.js";
import { fingerprintProblems } from "../common/src/fingerprint-limits.js";
import { testSlot } from "./harness/slot.js";

const slot = testSlot();
const PREFIX = slot.prefix("fprnt");
const NS = `${PREFIX}node`;
const root = canUseNamespaces();
if (!root) console.warn("SKIPPED test/fingerprint.test.ts: needs root to create network namespaces (run the suite as root, as CI does)");

/** The namespace's view: commands and file reads through `ip netns exec` (which mounts the namespace's /sys); `missing` programs are renamed to ones that do not exist. */
function nsHost(ns: string, missing: string[] = []): FingerprintHost {
  const inNs = (argv: string[]) => ["ip", "netns", "exec", ns, ...argv];
  const text = async (argv: string[]) => {
    const r = await exec({ argv: inNs(argv), deadlineMs: 5000 });
    return r.exitCode === 0 ? r.stdout : undefined;
  };
  return {
    // A missing program fails to start as it would on a host without it (ENOENT), not inside `ip netns exec`.
    run: (argv, o) => exec({ argv: missing.includes(argv[0]!) ? [`${argv[0]}-not-installed`, ...argv.slice(1)] : inNs(argv), ...o }),
    read: (p) => text(["cat", p]),
    list: async (d) => (await text(["ls", "-1", d]))?.split("\n").filter(Boolean),
    link: async (p) => (await text(["readlink", p]))?.trim(),
  };
}

async function sh(...argv: string[]): Promise<void> {
  const r = await exec({ argv, deadlineMs: 10_000 });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr || r.spawnError}`);
}

describe.skipIf(!root)("the fingerprint of a VXLAN node namespace (root)", () => {
  beforeAll(async () => {
    await exec({ argv: ["ip", "netns", "del", NS], deadlineMs: 5000 });
    await sh("ip", "netns", "add", NS);
    const ip = (...a: string[]) => sh("ip", "-n", NS, ...a);
    await ip("link", "add", "eth0", "type", "veth", "peer", "name", "veth0");
    await ip("link", "set", "eth0", "mtu", "1450");
    await ip("addr", "add", "198.18.0.2/24", "dev", "eth0");
    await ip("link", "add", "cni0", "type", "bridge");
    await ip("link", "set", "veth0", "master", "cni0");
    await ip("link", "add", "flannel.1", "type", "vxlan", "id", "1", "dev", "eth0", "dstport", "8472", "local", "198.18.0.2", "nolearning");
    await ip("link", "set", "flannel.1", "mtu", "1400");
    for (const l of ["lo", "eth0", "veth0", "cni0", "flannel.1"]) await ip("link", "set", l, "up");
    await ip("addr", "add", "10.244.1.0/32", "dev", "flannel.1");
    await ip("route", "add", "10.244.2.0/24", "via", "10.244.2.0", "dev", "flannel.1", "onlink");
    const ipt = (...a: string[]) => sh("ip", "netns", "exec", NS, "iptables", "-t", "nat", ...a);
    await ipt("-N", "KUBE-SERVICES");
    await ipt("-N", "KUBE-SVC-ERIFXISQEP7F7OF4");
    await ipt("-A", "PREROUTING", "-j", "KUBE-SERVICES");
    await ipt("-A", "KUBE-SERVICES", "-d", "10.96.0.10/32", "-p", "udp", "--dport", "53", "-j", "KUBE-SVC-ERIFXISQEP7F7OF4");
  }, 30_000);

  afterAll(async () => {
    await exec({ argv: ["ip", "netns", "del", NS], deadlineMs: 5000 });
    expect(await listNamespaces(PREFIX)).toEqual([]);
  });

  test("finds VXLAN (flannel.1 and its route), kube-proxy's iptables mode, and eth0's MTU, driver, queues and offloads", async () => {
    const fp = await collectFingerprint({ host: nsHost(NS), deadlineMs: 20_000, commandDeadlineMs: 5000 });
    console.log(`fingerprint collected through ip netns exec (a process per file read) in ${fp.collectMs} ms; notes: ${JSON.stringify(fp.notes)}`);
    expect(fp.encapsulation).toBe(Encapsulation.VXLAN);
    expect(fp.encapsulationEvidence.join(" ")).toMatch(/flannel\.1: vxlan id 1 .*dstport 8472.*10\.244\.2\.0\/24 via 10\.244\.2\.0 dev flannel\.1/);
    expect(fp.kubeProxyMode).toBe(KubeProxyMode.IPTABLES);
    const eth0 = fp.interfaces.find((i) => i.name === "eth0");
    expect(eth0).toMatchObject({ kind: "veth", driver: "veth", mtu: 1450, speedMbps: 10000 });
    expect(eth0!.rxQueues).toBeGreaterThan(0);
    expect(eth0!.txQueues).toBeGreaterThan(0);
    // veth's defaults: segmentation offloads on, GRO off.
    expect(eth0!.offloads).toMatchObject({ "generic-segmentation-offload": true, "tcp-segmentation-offload": true, "tx-checksumming": true, "generic-receive-offload": false });
    expect(fp.interfaces.find((i) => i.name === "flannel.1")).toMatchObject({ kind: "vxlan", driver: "vxlan", mtu: 1400 });
    expect(fp.interfaces.find((i) => i.name === "cni0")).toMatchObject({ kind: "bridge", driver: "bridge" });
    // The pod's host end (veth0 on cni0, no address) is left out, and said.
    expect(fp.interfaces.map((i) => i.name)).not.toContain("veth0");
    expect(fp.notes).toContain("1 veth(s) without an address (pods' host ends) left out");
    expect(fp.kernel).toMatch(/^\d+\.\d+/);
    expect(fp.cpuCount).toBeGreaterThan(0);
    expect(fingerprintProblems(fp)).toEqual([]);
  }, 30_000);

  test("GRO switched on with ethtool shows in the next fingerprint", async () => {
    await sh("ip", "netns", "exec", NS, "ethtool", "-K", "eth0", "gro", "on");
    const fp = await collectFingerprint({ host: nsHost(NS), deadlineMs: 20_000, commandDeadlineMs: 5000 });
    expect(fp.interfaces.find((i) => i.name === "eth0")!.offloads["generic-receive-offload"]).toBe(true);
  }, 30_000);

  test("without ethtool, iptables-save and nft the fingerprint still comes, with empty offloads and a note per missing command", async () => {
    const fp = await collectFingerprint({ host: nsHost(NS, ["ethtool", "iptables-save", "nft"]), deadlineMs: 20_000, commandDeadlineMs: 5000 });
    expect(fp.encapsulation).toBe(Encapsulation.VXLAN);
    expect(fp.interfaces.find((i) => i.name === "eth0")).toMatchObject({ mtu: 1450, offloads: {} });
    expect(fp.kubeProxyMode).toBe(KubeProxyMode.UNSPECIFIED);
    // One note per missing program, however many interfaces asked for it.
    expect(fp.notes.filter((n) => /^ethtool: .*not found/.test(n))).toHaveLength(1);
    expect(fp.notes.filter((n) => /^iptables-save: .*not found/.test(n))).toHaveLength(1);
    expect(fp.notes.filter((n) => /^nft: .*not found/.test(n))).toHaveLength(1);
    expect(fingerprintProblems(fp)).toEqual([]);
  }, 30_000);
});

describe("the fingerprint of this process's namespace", () => {
  test("is taken within its deadline, concurrently, and within the coordinator's limits", async () => {
    const t0 = performance.now();
    const fp = await collectFingerprint({ deadlineMs: 4000 });
    const ms = performance.now() - t0;
    console.log(`local fingerprint: ${fp.interfaces.length} interfaces in ${ms.toFixed(0)} ms (collectMs ${fp.collectMs})`);
    // The deadline bounds it whatever the machine's load (plus a margin for the timer on a busy machine).
    expect(ms).toBeLessThan(4000 + 1000);
    expect(fp.interfaces.length).toBeGreaterThan(0);
    expect(fingerprintProblems(fp)).toEqual([]);
  });

  test("a deadline too short to finish gives what was collected and says so, never an error", async () => {
    const fp = await collectFingerprint({ deadlineMs: 0 });
    expect(fp.notes.join(" ")).toMatch(/collection took longer than 0 ms/);
  });
});
