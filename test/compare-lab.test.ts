/**
 * `compare` on two real lab runs, as a user comparing two CNIs does it: the
 * same small matrix (host-host and pod-pod across nodes, iperf3 TCP, three
 * repetitions) on a host-gw lab and on a vxlan lab, both on 1 Gbit NICs, then
 * `netmatrix compare` through the built CLI. VXLAN's cost must show where the
 * per-NIC counters show it: more wire bytes per payload byte on the pod path,
 * less goodput, and no extra wire bytes on the host path. Needs root.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { canUseNamespaces } from "../lab/src/netns.js";
import { runNetmatrix } from "./harness/processes.js";
import { readLabState } from "../lab/src/lab.js";
import { labObjects } from "../lab/src/topology.js";
import { testSlot } from "./harness/slot.js";

const root = canUseNamespaces();
if (!root) console.warn("SKIPPED test/compare-lab.test.ts: the lab needs root (CI runs it as root)");

const dataDir = mkdtempSync(join(tmpdir(), "nm-cmptest-"));
// This run's lab: its own prefix, address block and free coordinator ports.
const env = testSlot().labEnv(dataDir);
const SPEC = `name: compare-test
scenarios: [host-host, pod-pod-cross]
tools: [iperf3]
protocols: [tcp]
directions: [forward]
duration: 2
repetitions: 3
pairs: { sample: 1 }
`;

/** Bring a lab up with `cni`, run the spec, take it down; the new run's id. */
async function measure(cni: string): Promise<string> {
  const before = new Set(readdirSync(join(dataDir, "runs"), { withFileTypes: true }).map((d) => d.name));
  const up = await runNetmatrix(["lab", "up", "--cni", cni, "--nic-rate", "1gbit"], { env });
  expect(up.code, up.stderr.slice(-2000)).toBe(0);
  const coordinator = readLabState(dataDir)?.coordinator;
  expect(coordinator).toBeDefined();
  const run = await runNetmatrix(["run", "--spec", join(dataDir, "spec.yaml"), "--output", "json", "--coordinator", coordinator!], { env });
  expect(run.code, run.stderr.slice(-2000)).toBe(0);
  const down = await runNetmatrix(["lab", "down"], { env });
  expect(down.code).toBe(0);
  const added = readdirSync(join(dataDir, "runs")).filter((d) => !before.has(d));
  expect(added).toHaveLength(1);
  return added[0]!;
}

describe.skipIf(!root)("compare host-gw vs vxlan on real lab runs (root)", () => {
  afterEach(async () => {
    await runNetmatrix(["lab", "down"], { env });
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  test("compare reports VXLAN's encapsulation bytes and goodput loss on pod-pod, no change host-host, and fails CI on the regression", async () => {
    writeFileSync(join(dataDir, "spec.yaml"), SPEC);
    mkdirSync(join(dataDir, "runs"), { recursive: true });
    const hostGw = await measure("host-gw");
    const vxlan = await measure("vxlan");
    expect(await labObjects(env.NETMATRIX_LAB_PREFIX!)).toEqual({ namespaces: [], rootLinks: [] });

    // No coordinator is up: compare reads both runs from the data dir.
    const json = await runNetmatrix(["compare", hostGw, vxlan, "--output", "json"], { env });
    expect(json.code, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout);
    const rows = doc.cases as any[];
    const pod = rows.find((c) => c.scenario === "pod-pod-cross");
    const host = rows.find((c) => c.scenario === "host-host");
    expect(pod.comparable).toBe(true);
    expect(host.comparable).toBe(true);
    const metric = (c: any, name: string) => c.metrics.find((m: any) => m.metric === name);
    const wire = metric(pod, "wireToPayload");
    const tp = metric(pod, "throughputBps");
    console.log(
      `compare host-gw → vxlan, pod-pod-cross: throughput ${tp.changePercent.toFixed(2)} % (p ${tp.p?.toExponential(2)}), wire/payload ${wire.a.mean.toFixed(4)} → ${wire.b.mean.toFixed(4)} (${wire.changePercent.toFixed(2)} %, p ${wire.p?.toExponential(2)}); host-host throughput ${metric(host, "throughputBps").changePercent.toFixed(2)} %`,
    );
    // VXLAN adds 50 bytes to every ~1500-byte packet on the underlay: ~3 % more wire bytes, ~3 % less goodput.
    // host-gw: plain Ethernet, 1514 wire bytes per 1448 payload bytes (with iperf3's default -O 1 counted on both sides).
    expect(wire.a.mean).toBeGreaterThan(1.03);
    expect(wire.a.mean).toBeLessThan(1.06);
    expect(wire.verdict).toBe("worse");
    expect(wire.changePercent).toBeGreaterThan(2);
    expect(wire.changePercent).toBeLessThan(6);
    expect(tp.changePercent).toBeLessThan(-1.5);
    // The host path does not cross the CNI: the same bytes on the wire per payload byte.
    expect(Math.abs(metric(host, "wireToPayload").changePercent)).toBeLessThan(0.5);
    expect(JSON.stringify(pod.notes)).toMatch(/1500 → 1450/);

    // CI use: a 1 % regression gate trips on the pod path; a 20 % gate does not.
    const gate = await runNetmatrix(["compare", hostGw, vxlan, "--fail-on-regression", "1"], { env });
    expect(gate.code, gate.stderr).toBe(3);
    expect(gate.stderr).toMatch(/pod-pod-cross/);
    const loose = await runNetmatrix(["compare", hostGw, vxlan, "--fail-on-regression", "20"], { env });
    expect(loose.code, loose.stderr).toBe(0);

    const html = join(dataDir, "compare.html");
    const page = await runNetmatrix(["compare", hostGw, vxlan, "--output", "html", "--file", html], { env });
    expect(page.code, page.stderr).toBe(0);
    expect(readFileSync(html, "utf8")).toContain("pod-pod-cross");
  }, 600_000);
});
