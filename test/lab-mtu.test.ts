/**
 * `netmatrix lab up --mtu`: jumbo frames in the lab. With `--mtu 9000` on the
 * vxlan CNI, every node's eth0 and the underlay switch carry 9000 bytes and
 * the pod network (pods' eth0, their veths, cni0, the vxlan device) 8950 —
 * read back with `ip link` — and iperf3 from a pod on one node to a pod on
 * the other gets the larger MSS and a smaller wire/payload ratio than the
 * same case on the default 1500, measured in the same test. Needs root.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { exec } from "../common/src/exec.js";
import { canUseNamespaces } from "../lab/src/netns.js";
import { readLabState } from "../lab/src/lab.js";
import { labSpec } from "../lab/src/lab-spec.js";
import { labObjects } from "../lab/src/topology.js";
import { VXLAN_DEV } from "../lab/src/topology-cni.js";
import { runNetmatrix } from "./harness/processes.js";
import { testSlot } from "./harness/slot.js";

const root = canUseNamespaces();
if (!root) console.warn("SKIPPED test/lab-mtu.test.ts: the lab needs root (CI runs it as root)");

const dataDir = mkdtempSync(join(tmpdir(), "nm-labmtu-"));
const slot = testSlot();
const env = { ...slot.labEnv(dataDir), NETMATRIX_LAB_PREFIX: slot.prefix("mtu") };
const PREFIX = env.NETMATRIX_LAB_PREFIX;

/** The MTU of `dev` in namespace `ns`, as `ip link` shows it. */
async function mtuOf(ns: string, dev: string): Promise<number> {
  const r = await exec({ argv: ["ip", "-n", ns, "-o", "link", "show", "dev", dev], deadlineMs: 10_000, guard: false });
  const m = / mtu (\d+) /.exec(r.stdout);
  if (!m) throw new Error(`no MTU for ${dev} in ${ns}: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

/** Up a 2-node vxlan lab with `mtuArgs`, read its MTUs, run iperf3 pod → pod across nodes; down. */
async function measure(mtuArgs: string[]) {
  const up = await runNetmatrix(["lab", "up", "--cni", "vxlan", "--nodes", "2", ...mtuArgs], { env });
  if (up.code !== 0) throw new Error(`lab up ${mtuArgs.join(" ")} failed (exit ${up.code}):\n${up.stderr.slice(-4000)}`);
  try {
    const state = readLabState(dataDir)!;
    const node = `${PREFIX}node-1`;
    const pod = `${PREFIX}node-1-pod-a`;
    const mtus = {
      nodeEth0: await mtuOf(node, "eth0"),
      underlaySwitch: await mtuOf(`${PREFIX}underlay`, "br0"),
      vxlan: await mtuOf(node, VXLAN_DEV),
      bridge: await mtuOf(node, "cni0"),
      podVeth: await mtuOf(node, "veth-a"),
      podEth0: await mtuOf(pod, "eth0"),
    };
    const spec = {
      ...labSpec(state.topology, { durationS: 2, omitS: 0, repetitions: 1, reverse: false, tools: ["iperf3"], pairs: "sample", udpBitrate: "200M" }),
      name: "lab-mtu",
      scenarios: ["pod-pod-cross"],
      protocols: ["tcp"],
    };
    const file = join(dataDir, "mtu.yaml");
    writeFileSync(file, stringify(spec));
    const res = await runNetmatrix(["run", "--spec", file, "--coordinator", state.coordinator, "--token-file", state.tokenFile, "--output", "json"], { env });
    const doc = JSON.parse(res.stdout || "null");
    if (!doc) throw new Error(`run printed no report (exit ${res.code}):\n${res.stderr.slice(-4000)}`);
    const rep = doc.cases[0].repetitions[0];
    expect(rep.failure).toBeNull();
    return { mtus, mss: rep.measurement.extra.tcp_mss_bytes as number, wireToPayload: rep.wireToPayload as number, bps: rep.measurement.receiverBps as number };
  } finally {
    await runNetmatrix(["lab", "down"], { env });
  }
}

describe.skipIf(!root)("lab --mtu (root)", () => {
  afterEach(async () => {
    await runNetmatrix(["lab", "down"], { env });
  });
  afterAll(async () => {
    try {
      expect(await labObjects(PREFIX)).toEqual({ namespaces: [], rootLinks: [] });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test("--mtu 9000 on vxlan: nodes 9000, pods 8950 (VXLAN's 50 bytes), and pod → pod TCP gets the larger MSS and less wire per payload byte than at 1500", async () => {
    const std = await measure([]);
    const jumbo = await measure(["--mtu", "9000"]);
    console.log(
      `vxlan pod → pod: MTU 1500: MSS ${std.mss}, wire/payload ${std.wireToPayload.toFixed(4)}, ${(std.bps / 1e6).toFixed(0)} Mbit/s; MTU 9000: MSS ${jumbo.mss}, wire/payload ${jumbo.wireToPayload.toFixed(4)}, ${(jumbo.bps / 1e6).toFixed(0)} Mbit/s`,
    );
    expect(std.mtus).toEqual({ nodeEth0: 1500, underlaySwitch: 1500, vxlan: 1450, bridge: 1450, podVeth: 1450, podEth0: 1450 });
    expect(jumbo.mtus).toEqual({ nodeEth0: 9000, underlaySwitch: 9000, vxlan: 8950, bridge: 8950, podVeth: 8950, podEth0: 8950 });
    // The MSS fits the pod MTU less IPv4 and TCP headers, and grows with it.
    expect(std.mss).toBeLessThanOrEqual(1450 - 40);
    expect(jumbo.mss).toBeLessThanOrEqual(8950 - 40);
    expect(jumbo.mss).toBeGreaterThan(std.mss * 4);
    // Headers per payload byte shrink with larger segments.
    expect(jumbo.wireToPayload).toBeLessThan(std.wireToPayload);
  }, 240_000);

  test("--mtu node=9000,pod=4000 sets each; a pod MTU that does not fit the node's with VXLAN is refused naming the fix", async () => {
    const bad = await runNetmatrix(["lab", "up", "--cni", "vxlan", "--nodes", "1", "--mtu", "node=1500,pod=1500"], { env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("pod MTU 1500 does not fit the node MTU 1500 less VXLAN's 50-byte header (vxlan): use a pod MTU of at most 1450");
    const out = await runNetmatrix(["lab", "up", "--cni", "host-gw", "--nodes", "1", "--mtu", "node=9000,pod=4000"], { env });
    expect(out.code, out.stderr.slice(-2000)).toBe(0);
    expect([await mtuOf(`${PREFIX}node-1`, "eth0"), await mtuOf(`${PREFIX}node-1`, "cni0"), await mtuOf(`${PREFIX}node-1-pod-a`, "eth0")]).toEqual([9000, 4000, 4000]);
  }, 120_000);
});
