/**
 * `compare` on two real lab runs, as a user comparing two CNIs does it: the
 * same small matrix (host-host and pod-pod across nodes, iperf3 TCP, three
 * repetitions) on a host-gw lab and on a vxlan lab, both on 1 Gbit NICs, then
 * `netmatrix compare` through the built CLI. VXLAN's cost must show where the
 * per-NIC counters show it: more wire bytes per payload byte on the pod path,
 * less goodput, and no extra wire bytes on the host path.
 *
 * Those figures hold only on a machine with CPU to spare: a busy one cannot
 * keep a 1 Gbit shaper's queue full (goodput then measures its CPU, and
 * VXLAN costs CPU too) and samples the NIC counters late (wire/payload then
 * misses bytes at the window's edges: seen 1.037 for plain Ethernet's 1.046).
 * The test measures the CPU pressure over each run (PSI); when it was high,
 * it checks what still holds — the cases match and are comparable, the MTU
 * note, VXLAN's extra wire bytes, the page — and skips the figures, saying
 * why. Needs root.
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
import { BUSY_PRESSURE, formatPressure, measurePressure } from "./harness/cpu-pressure.js";

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

/** Bring a lab up with `cni`, run the spec, take it down; the new run's id and the CPU pressure during the run. */
async function measure(cni: string): Promise<{ runId: string; pressure: number | undefined }> {
  const before = new Set(readdirSync(join(dataDir, "runs"), { withFileTypes: true }).map((d) => d.name));
  const up = await runNetmatrix(["lab", "up", "--cni", cni, "--nic-rate", "1gbit"], { env });
  expect(up.code, up.stderr.slice(-2000)).toBe(0);
  const coordinator = readLabState(dataDir)?.coordinator;
  expect(coordinator).toBeDefined();
  const window = measurePressure();
  const run = await runNetmatrix(["run", "--spec", join(dataDir, "spec.yaml"), "--output", "json", "--coordinator", coordinator!], { env });
  const pressure = window.stop();
  expect(run.code, run.stderr.slice(-2000)).toBe(0);
  const down = await runNetmatrix(["lab", "down"], { env });
  expect(down.code).toBe(0);
  const added = readdirSync(join(dataDir, "runs")).filter((d) => !before.has(d));
  expect(added).toHaveLength(1);
  return { runId: added[0]!, pressure };
}

describe.skipIf(!root)("compare host-gw vs vxlan on real lab runs (root)", () => {
  afterEach(async () => {
    await runNetmatrix(["lab", "down"], { env });
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  test("compare reports VXLAN's encapsulation bytes and goodput loss on pod-pod, no change host-host, and fails CI on the regression", async (ctx) => {
    writeFileSync(join(dataDir, "spec.yaml"), SPEC);
    mkdirSync(join(dataDir, "runs"), { recursive: true });
    const a = await measure("host-gw");
    const b = await measure("vxlan");
    const [hostGw, vxlan] = [a.runId, b.runId];
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
    // What holds on any machine: every payload byte crossed the wire with its headers, VXLAN's with 50 more.
    expect(wire.a.mean).toBeGreaterThan(1);
    expect(wire.b.mean).toBeGreaterThan(wire.a.mean);
    expect(JSON.stringify(pod.notes)).toMatch(/1500 → 1450/);
    // The agents' environment fingerprints tell the two labs apart: a run-level note per node on its encapsulation.
    const encapsulation = (doc.run.notes as string[]).filter((n) => /^\S+'s environment differs \(A → B\): encapsulation: none → vxlan\.$/.test(n));
    console.log(`fingerprint notes: ${JSON.stringify((doc.run.notes as string[]).filter((n) => n.includes("environment differs")))}`);
    expect(encapsulation.length).toBeGreaterThanOrEqual(2);
    const html = join(dataDir, "compare.html");
    const page = await runNetmatrix(["compare", hostGw, vxlan, "--output", "html", "--file", html], { env });
    expect(page.code, page.stderr).toBe(0);
    expect(readFileSync(html, "utf8")).toContain("pod-pod-cross");

    // The figures. They must hold on a machine with CPU to spare; missed while the machine was busy
    // (the CPU pressure measured over the runs), they are skipped, saying why.
    // VXLAN adds 50 bytes to every ~1500-byte packet on the underlay: ~3 % more wire bytes, ~3 % less goodput.
    // host-gw: plain Ethernet, 1514 wire bytes per 1448 payload bytes (with iperf3's default -O 1 counted on both sides).
    const hostWire = metric(host, "wireToPayload").changePercent;
    // CI use: a 1 % regression gate trips on the pod path; a 20 % gate does not.
    const gate = await runNetmatrix(["compare", hostGw, vxlan, "--fail-on-regression", "1"], { env });
    const loose = await runNetmatrix(["compare", hostGw, vxlan, "--fail-on-regression", "20"], { env });
    const figures: [string, boolean][] = [
      [`host-gw pod-pod wire/payload ${wire.a.mean.toFixed(4)} in 1.03..1.06`, wire.a.mean > 1.03 && wire.a.mean < 1.06],
      [`wire/payload verdict "${wire.verdict}" is "worse"`, wire.verdict === "worse"],
      [`wire/payload change ${wire.changePercent.toFixed(2)} % in 2..6 %`, wire.changePercent > 2 && wire.changePercent < 6],
      [`pod-pod goodput change ${tp.changePercent.toFixed(2)} % below −1.5 %`, tp.changePercent < -1.5],
      // The host path does not cross the CNI: the same bytes on the wire per payload byte.
      [`host-host wire/payload change ${hostWire.toFixed(2)} % within ±0.5 %`, Math.abs(hostWire) < 0.5],
      [`--fail-on-regression 1 exits 3 naming pod-pod-cross (exit ${gate.code}: ${gate.stderr.trim().slice(0, 300)})`, gate.code === 3 && /pod-pod-cross/.test(gate.stderr)],
      [`--fail-on-regression 20 exits 0 (exit ${loose.code}: ${loose.stderr.trim().slice(0, 300)})`, loose.code === 0],
    ];
    const missed = figures.filter(([, ok]) => !ok).map(([what]) => what);
    const busy = [
      ["host-gw", a.pressure],
      ["vxlan", b.pressure],
    ].filter(([, p]) => p !== undefined && (p as number) >= BUSY_PRESSURE);
    console.log(
      `CPU pressure during the runs: host-gw ${formatPressure(a.pressure)}, vxlan ${formatPressure(b.pressure)}; figures missed: ${missed.length ? missed.join("; ") : "none"}`,
    );
    if (missed.length && busy.length > 0) {
      const why = `${missed.join("; ")} — the machine was busy (CPU pressure ${busy.map(([cni, p]) => `${formatPressure(p as number)} in ${cni}`).join(", ")}, above ${formatPressure(BUSY_PRESSURE)}): goodput then measures CPU, and wire/payload misses bytes at the sampling window's edges, so VXLAN's figures are not testable now (matching, comparability, VXLAN's extra bytes and the MTU note were checked)`;
      console.warn(`SKIPPED: ${why}`);
      ctx.skip(why);
    }
    expect(missed).toEqual([]);
  }, 600_000);
});
