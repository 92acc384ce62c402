/**
 * The README's recipe "Reports to look at, and comparing two CNIs", as
 * written (with `--duration 1` to keep it short): `lab run --cni host-gw
 * --repetitions 3`, `lab run --cni vxlan --repetitions 3`, `runs` with no
 * coordinator up, then `compare HOSTGW_RUN VXLAN_RUN --output markdown`. The
 * two lab specs have different names (lab-host-gw, lab-vxlan) and sample one
 * node pair each: the pairs come from the node names and the default `seed`,
 * so every case of one run has its match in the other, and every verdict is
 * tested. Needs root.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { canUseNamespaces } from "../lab/src/netns.js";
import { labObjects } from "../lab/src/topology.js";
import { runNetmatrix } from "./harness/processes.js";
import { testSlot } from "./harness/slot.js";

const root = canUseNamespaces();
if (!root) console.warn("SKIPPED test/compare-recipe.test.ts: the lab needs root (CI runs it as root)");

const dataDir = mkdtempSync(join(tmpdir(), "nm-recipe-"));
// This run's lab: its own prefix, address block and free coordinator ports.
const env = testSlot().labEnv(dataDir);

/** The run ids in the data dir. */
const runIds = (): string[] => {
  try {
    return readdirSync(join(dataDir, "runs"));
  } catch {
    return [];
  }
};

/** `sudo npx netmatrix lab run --cni CNI --repetitions 3` (+ `--duration 1`); the new run's id. */
async function labRun(cni: string): Promise<string> {
  const before = new Set(runIds());
  const res = await runNetmatrix(["lab", "run", "--cni", cni, "--repetitions", "3", "--duration", "1"], { env });
  expect(res.code, `lab run --cni ${cni}:\n${res.stderr.slice(-3000)}`).toBe(0);
  const added = runIds().filter((id) => !before.has(id));
  expect(added).toHaveLength(1);
  return added[0]!;
}

describe.skipIf(!root)("the README's recipe: two lab runs with different --cni, then compare (root)", () => {
  afterEach(async () => {
    await runNetmatrix(["lab", "down"], { env });
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  test("every case of the host-gw run matches one of the vxlan run, with a verdict", async () => {
    const hostGw = await labRun("host-gw");
    const vxlan = await labRun("vxlan");
    expect(await labObjects(env.NETMATRIX_LAB_PREFIX!)).toEqual({ namespaces: [], rootLinks: [] });

    // With no coordinator up: the runs in the data dir.
    const runs = await runNetmatrix(["runs"], { env });
    expect(runs.code, runs.stderr).toBe(0);
    expect(runs.stdout).toContain(hostGw);
    expect(runs.stdout).toContain(vxlan);

    const md = await runNetmatrix(["compare", hostGw, vxlan, "--output", "markdown"], { env });
    expect(md.code, md.stderr).toBe(0);
    const json = await runNetmatrix(["compare", hostGw, vxlan, "--output", "json"], { env });
    expect(json.code, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout);
    const cases = doc.cases as { scenario: string; clientNode: string; serverNode: string; metrics: { verdict: string }[] }[];
    const scenarios = [...new Set(cases.map((c) => c.scenario))];
    console.log(`compare ${hostGw} (host-gw) → ${vxlan} (vxlan): ${cases.length} cases matched over ${scenarios.join(", ")}; notes: ${JSON.stringify(doc.run.notes)}`);
    // Every case matched: none only in one run, and the cross-node rows are among the matched ones.
    expect(doc.unmatched).toEqual({ onlyInA: [], onlyInB: [] });
    expect(doc.a.cases).toBe(cases.length);
    expect(doc.b.cases).toBe(cases.length);
    for (const s of ["host-host", "pod-pod-cross", "pod-service-cross"]) expect(scenarios, s).toContain(s);
    expect(cases.some((c) => c.clientNode !== c.serverNode)).toBe(true);
    // Three repetitions each: every comparison is tested, so no note about matching or repetitions;
    // the only notes are the environment fingerprints' differences, which are the point of the recipe.
    expect(cases.flatMap((c) => c.metrics).filter((m) => m.verdict === "not tested (n<2)")).toEqual([]);
    expect((doc.run.notes as string[]).filter((n) => !/^node-\d's environment differs \(A → B\): /.test(n))).toEqual([]);
    expect(doc.run.notes).toContain("node-1's environment differs (A → B): encapsulation: none → vxlan.");
    expect(md.stdout).toContain(hostGw);
    expect(md.stdout).toContain(vxlan);
  }, 1_800_000);
});
