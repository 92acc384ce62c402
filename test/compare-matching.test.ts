/**
 * `compare` says plainly how well two runs matched and why not: on runs made
 * from the recorded lab runs (report/fixtures/runs/, 3 nodes, every ordered
 * pair, iperf3 TCP and ping, 3 repetitions) cut down the way real runs differ
 * — the sample of one pair that `lab run` drew from the spec's name before
 * `seed` (host-gw node-1→node-2, vxlan node-2→node-1), another seed, another
 * pair selection, a scenario or tool left out, one repetition — and written
 * back as run directories, so the CLI reads them as it reads any run.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, test, vi } from "vitest";
import { openRunDirectory } from "../coordinator/src/results-store.js";
import { compareRuns } from "../report/src/compare.js";
import { renderCompare } from "../report/src/compare-render.js";
import { compareCommand } from "../cli/src/commands/compare.js";

const FIXTURES = fileURLToPath(new URL("../report/fixtures/runs/", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "nm-cmpmatch-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface CaseLine {
  scenario: string;
  clientNode: string;
  serverNode: string;
  /** Absent for repetition 0 (protobuf JSON leaves defaults out). */
  repetition?: number;
  result?: { spec?: { tool?: string } };
}

let made = 0;
/**
 * A run directory copied from the recorded `cni` run, named `name`, with
 * `spec` merged into its spec.json and only the case records `keep` accepts.
 */
function derive(cni: "host-gw" | "vxlan", name: string, spec: object, keep: (r: CaseLine) => boolean = () => true): string {
  const dir = join(scratch, `${++made}-${cni}`);
  cpSync(join(FIXTURES, cni), dir, { recursive: true });
  const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8"));
  writeFileSync(join(dir, "meta.json"), `${JSON.stringify({ ...meta, name })}\n`);
  const doc = JSON.parse(readFileSync(join(dir, "spec.json"), "utf8"));
  writeFileSync(join(dir, "spec.json"), `${JSON.stringify({ ...doc, name, ...spec })}\n`);
  const lines = readFileSync(join(dir, "cases.jsonl"), "utf8").split("\n").filter(Boolean);
  writeFileSync(
    join(dir, "cases.jsonl"),
    lines
      .filter((l) => keep(JSON.parse(l) as CaseLine))
      .map((l) => `${l}\n`)
      .join(""),
  );
  return dir;
}

const load = (dir: string) => openRunDirectory(dir).snapshot();
const compare = (a: string, b: string) => compareRuns(load(a), load(b));
const same = (r: CaseLine) => r.clientNode === r.serverNode;
/** The cases a sample of the one pair `from`→`to` plans: that pair, and the same-node cases on its two nodes. */
const onlyPair = (from: string, to: string) => (r: CaseLine) => (same(r) ? [from, to].includes(r.clientNode) : r.clientNode === from && r.serverNode === to);
const SAMPLE_1 = { pairs: { sample: 1 } };

describe("unmatched cases: the cause and the fix", () => {
  test("the README's lab recipe before `seed`: each run drew its one pair from its name, so no cross-node case matched", () => {
    // Recorded before seed: no `seed` in spec.json; the names differ as lab run's do.
    const a = derive("host-gw", "lab-host-gw", SAMPLE_1, onlyPair("node-1", "node-2"));
    const b = derive("vxlan", "lab-vxlan", SAMPLE_1, onlyPair("node-2", "node-1"));
    const doc = compare(a, b);
    expect(doc.cases.map((c) => c.scenario)).toEqual(Array(4).fill("pod-pod-same"));
    expect(doc.unmatched.onlyInA.map((c) => c.scenario).sort()).toEqual(["host-host", "host-host", "pod-pod-cross", "pod-pod-cross"]);
    expect(doc.run.notes).toEqual([
      "matched 4 of 8 cases; 4 only in A and 4 only in B differ only in their node pairs (A: node-1→node-2, B: node-2→node-1): " +
        "the runs sampled different node pairs, although their seeds and nodes agree: a run recorded before netmatrix drew the sample from `seed` " +
        'drew it from the spec\'s name (A: "lab-host-gw", B: "lab-vxlan") — run both again with the same `seed`.',
    ]);
  });

  test("different seeds: named, with the fix", () => {
    const a = derive("host-gw", "lab-host-gw", { ...SAMPLE_1, seed: 0 }, onlyPair("node-1", "node-2"));
    const b = derive("vxlan", "lab-vxlan", { ...SAMPLE_1, seed: 7 }, onlyPair("node-3", "node-1"));
    const doc = compare(a, b);
    expect(doc.run.specDifferences).toEqual(["seed: 0 → 7."]);
    expect(doc.run.notes).toEqual([
      "matched 2 of 8 cases; 6 only in A and 6 only in B differ only in their node pairs (A: node-1→node-2, node-2→node-2, B: node-3→node-1, node-3→node-3): " +
        "the runs sampled different node pairs: their specs' seeds differ (A: seed 0, B: seed 7) — give both specs the same `seed`.",
    ]);
  });

  test("different pair selections: every pair against a sample", () => {
    const a = derive("host-gw", "all-pairs", {});
    const b = derive("vxlan", "one-pair", SAMPLE_1, onlyPair("node-2", "node-1"));
    const doc = compare(a, b);
    expect(doc.unmatched.onlyInB).toEqual([]);
    expect(doc.run.notes).toEqual([
      "matched 8 of A's 30 and B's 8 cases; 22 only in A differ only in their node pairs (A: node-1→node-2, node-1→node-3, node-2→node-3, node-3→node-1, … (6 in all)): " +
        "the specs select different pairs (A: pairs: all, B: pairs: {sample: 1}) — give both the same `pairs`.",
    ]);
  });

  test("a scenario only one run has", () => {
    const a = derive("host-gw", "a", {});
    const b = derive("vxlan", "b", { scenarios: ["host-host", "pod-pod-cross"] }, (r) => r.scenario !== "pod-pod-same");
    expect(compare(a, b).run.notes).toEqual([
      "matched 24 of A's 30 and B's 24 cases; 6 only in A are of scenarios one run does not have (pod-pod-same only in A): the specs list different scenarios — give both the same `scenarios`.",
    ]);
  });

  test("a tool only one run has, and the most common cause leads when there are several", () => {
    const noPing = (r: CaseLine) => r.result?.spec?.tool !== "TOOL_PING";
    const a = derive("host-gw", "a", {});
    const b = derive("vxlan", "b", { tools: ["iperf3"] }, noPing);
    expect(compare(a, b).run.notes).toEqual([
      "matched 15 of A's 30 and B's 15 cases; 15 only in A use a tool the other run did not run in that scenario (ping in pod-pod-same, ping in host-host, ping in pod-pod-cross only in A): " +
        "the specs list different tools — give both the same `tools`.",
    ]);
    // B also sampled one pair: the 15 ping cases still lead, the 11 iperf3 cases on other pairs follow.
    const c = derive("vxlan", "c", { tools: ["iperf3"], ...SAMPLE_1 }, (r) => noPing(r) && onlyPair("node-2", "node-1")(r));
    const notes = compare(a, c).run.notes;
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(
      /^matched 4 of A's 30 and B's 4 cases; 15 only in A use a tool the other run did not run in that scenario \(.*\): the specs list different tools — give both the same `tools`; also 11 only in A differ only in their node pairs \(A: .*\): the specs select different pairs \(A: pairs: all, B: pairs: \{sample: 1\}\) — give both the same `pairs`\.$/,
    );
  });

  test("every case matched: no note (the recorded runs against each other)", () => {
    expect(compare(join(FIXTURES, "host-gw"), join(FIXTURES, "vxlan")).run.notes).toEqual([]);
  });
});

describe("no verdict for want of repetitions", () => {
  test('one repetition each: "not tested (n<2)" is explained with the flag that fixes it', () => {
    const first = (r: CaseLine) => (r.repetition ?? 0) === 0;
    const a = derive("host-gw", "a", { repetitions: 1 }, first);
    const b = derive("vxlan", "b", { repetitions: 1 }, first);
    const doc = compare(a, b);
    const metrics = doc.cases.flatMap((c) => c.metrics);
    expect(metrics.every((m) => m.verdict === "not tested (n<2)")).toBe(true);
    expect(doc.run.notes).toEqual([
      `${metrics.length} of ${metrics.length} comparisons have no verdict ("not tested (n<2)"): Welch's t-test needs at least 2 measured repetitions of a case in each run; ` +
        "A ran 1 repetition per case, B ran 1 repetition per case — run both with `--repetitions 3` (or `repetitions: 3` in the spec; 3 or more to see a change).",
    ]);
  });

  test("repetitions asked for but not there: failed or not run, with where to look", () => {
    const a = derive("host-gw", "a", {});
    const b = derive("vxlan", "b", {}, (r) => (r.repetition ?? 0) === 0 || r.scenario !== "host-host");
    const notes = compare(a, b).run.notes;
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^\d+ of \d+ comparisons have no verdict .*; both specs ask for at least 2, so repetitions failed or were not run — .*netmatrix run --resume RUN_ID/);
  });
});

describe("the compare command shows the notes", () => {
  afterEach(() => vi.restoreAllMocks());

  test.each(["table", "markdown"] as const)("--output %s: the user's two lab runs (one pair each, one repetition)", async (output) => {
    const one = (from: string, to: string) => (r: CaseLine) => (r.repetition ?? 0) === 0 && onlyPair(from, to)(r);
    const a = derive("host-gw", "lab-host-gw", { ...SAMPLE_1, repetitions: 1 }, one("node-1", "node-2"));
    const b = derive("vxlan", "lab-vxlan", { ...SAMPLE_1, repetitions: 1 }, one("node-2", "node-1"));
    const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    await compareCommand().parseAsync([a, b, "--output", output], { from: "user" });
    const text = out.mock.calls.map((c) => String(c[0])).join("");
    expect(text).toContain("matched 4 of 8 cases; 4 only in A and 4 only in B differ only in their node pairs (A: node-1→node-2, B: node-2→node-1)");
    expect(text).toContain("run both with `--repetitions 3`");
    expect(renderCompare(compare(a, b), output)).toBe(text.replace(/\n$/, ""));
  });
});
