import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { NetmatrixError } from "../../../common/src/errors.js";
import { SCENARIOS } from "../../../common/src/scenarios.js";
import { drivers, type ToolName } from "../../../tools/src/index.js";
import { plan, type PlannerAgent, type PlannerOptions } from "./planner.js";
import { schedule, scheduleSteps } from "./scheduler.js";
import { CASE_OVERHEAD_MS, checkPlanSize, DEFAULT_MATRIX_CAPS, effectiveCaps, planSize, type MatrixCaps } from "./size.js";
import { parseSpec, specFromObject, type MatrixSpec } from "./spec.js";
import { runStepsAsync } from "./steps.js";

const TOOLS: ToolName[] = ["iperf3", "iperf2", "qperf", "ping"];
const PROVIDER: PlannerOptions = { serviceProvider: { kinds: ["clusterip", "nodeport"] } };
const DEFAULT_YAML = readFileSync(new URL("../../../specs/default.yaml", import.meta.url), "utf8");

/** `n` nodes "node-1"… with a host agent and two pod agents each (the chart's DaemonSets), plus `externals` external agents. */
function cluster(n: number, externals = 0): PlannerAgent[] {
  const out: PlannerAgent[] = [];
  for (let i = 1; i <= n; i++) {
    const node = `node-${i}`;
    const ip = `${(i >> 8) & 255}.${i & 255}`;
    out.push({ id: `${node}/host`, node, mode: "host", address: `10.0.${ip}`, tools: TOOLS });
    out.push({ id: `${node}/pod/a`, node, mode: "pod", address: `10.1.${ip}`, tools: TOOLS });
    out.push({ id: `${node}/pod/b`, node, mode: "pod", address: `10.2.${ip}`, tools: TOOLS });
  }
  for (let x = 1; x <= externals; x++) out.push({ id: `vm-${x}/external`, node: `vm-${x}`, mode: "external", address: `198.19.0.${x}`, tools: TOOLS });
  return out;
}

const spec = (extra: Record<string, unknown>): MatrixSpec => specFromObject({ name: "t", scenarios: ["host-host"], ...extra });

/** The NetmatrixError `fn` throws. */
function refusal(fn: () => unknown): NetmatrixError {
  try {
    fn();
  } catch (err) {
    if (err instanceof NetmatrixError) return err;
    throw err;
  }
  throw new Error("expected a refusal, it was accepted");
}

const coordinatorCaps = (caps: Partial<MatrixCaps> = {}) => effectiveCaps({ ...DEFAULT_MATRIX_CAPS, ...caps });

describe("planSize counts what plan() plans, without planning", () => {
  // Random clusters where every agent has every tool: then the count is exact, except for a sample of some of the pairs (counted as if every drawn pair were filled).
  const clusterArb = fc
    .record({
      nodes: fc.array(fc.record({ host: fc.boolean(), pods: fc.integer({ min: 0, max: 2 }), noAddress: fc.boolean() }), { minLength: 1, maxLength: 7 }),
      externals: fc.integer({ min: 0, max: 2 }),
    })
    .map(({ nodes, externals }) => {
      const agents: PlannerAgent[] = [];
      nodes.forEach((n, i) => {
        const node = `n${i + 1}`;
        if (n.host) agents.push({ id: `${node}/host`, node, mode: "host", address: n.noAddress ? "" : `198.18.0.${i}`, tools: TOOLS });
        for (let p = 0; p < n.pods; p++) agents.push({ id: `${node}/pod/${"ab"[p]}`, node, mode: "pod", address: n.noAddress && p === 1 ? "" : `10.244.${i}.${p}`, tools: TOOLS });
      });
      for (let x = 0; x < externals; x++) agents.push({ id: `ext${x}/external`, node: `ext${x}`, mode: "external", address: "198.19.0.1", tools: TOOLS });
      return agents;
    });
  const specArb = fc
    .record({
      scenarios: fc.subarray([...SCENARIOS], { minLength: 1 }),
      tools: fc.subarray(TOOLS, { minLength: 1 }),
      protocols: fc.subarray(["tcp", "udp"], { minLength: 1 }),
      directions: fc.subarray(["forward", "reverse", "bidir"], { minLength: 1 }),
      parallel: fc.subarray([1, 2], { minLength: 1 }),
      repetitions: fc.integer({ min: 1, max: 5 }),
      pairs: fc.oneof(
        fc.constant("all"),
        fc.constant("ring"),
        fc.record({ sample: fc.integer({ min: 1, max: 60 }) }),
        fc.record({ sample: fc.integer({ min: 1, max: 60 }), by: fc.constant("zone") }),
        fc.record({ cover: fc.integer({ min: 1, max: 7 }) }),
        fc.record({ nodes: fc.uniqueArray(fc.constantFrom("n1", "n2", "n3", "n9"), { minLength: 1 }) }),
      ),
      name: fc.constantFrom("a", "b"),
    })
    .map((raw) => specFromObject(raw, "<property>"));
  const providerArb = fc.oneof(fc.constant<PlannerOptions>({}), fc.constant(PROVIDER), fc.constant<PlannerOptions>({ serviceProvider: { kinds: ["clusterip"] } }));

  test("exactly, but for a sample of some of the pairs (then never fewer)", () => {
    fc.assert(
      fc.property(specArb, clusterArb, providerArb, (s, agents, opts) => {
        const size = planSize(s, agents, opts);
        const planned = plan(s, agents, opts).cases.length;
        const nodes = new Set(agents.filter((a) => a.mode !== "external").map((a) => a.node)).size;
        const partialSample = (s.pairs.kind === "sample" && s.pairs.count < nodes * (nodes - 1)) || (s.pairs.kind === "cover" && s.pairs.k < nodes - 1);
        if (partialSample) expect(size.cases).toBeGreaterThanOrEqual(planned);
        else expect(size.cases).toBe(planned);
        expect(size.caseRuns).toBe(size.cases * s.repetitions);
      }),
      { numRuns: 400 },
    );
  });

  test("the duration is a lower bound of the scheduled run's (but for a sample of some of the pairs)", () => {
    fc.assert(
      fc.property(specArb, clusterArb, (s, agents) => {
        const nodes = new Set(agents.filter((a) => a.mode !== "external").map((a) => a.node)).size;
        fc.pre(!(s.pairs.kind === "sample" && s.pairs.count < nodes * (nodes - 1)) && !(s.pairs.kind === "cover" && s.pairs.k < nodes - 1));
        const p = plan(s, agents);
        const rounds = schedule(p.cases, { concurrency: s.concurrency, repetitions: s.repetitions });
        const byId = new Map(p.cases.map((c) => [c.id, c]));
        const runMs = (id: string): number => {
          const c = byId.get(id)!;
          return drivers[c.tool].runMs({ durationS: c.durationS, omitS: c.omitS });
        };
        const scheduled = rounds.reduce((ms, r) => ms + Math.max(...r.map((e) => runMs(e.caseId))) + CASE_OVERHEAD_MS, 0);
        expect(planSize(s, agents).minDurationMs).toBeLessThanOrEqual(scheduled + 1e-6);
      }),
      { numRuns: 200 },
    );
  });
});

describe("the default caps fit a 5000-node cluster's sampled matrix", () => {
  const big = cluster(5000);

  test("specs/default.yaml with pairs: { sample: 5000 } over 5000 nodes: ~47,000 cases × 3, under both caps", () => {
    // Two node-disjoint cases at once: its three tools (iperf3, ping, http) one at a time would take longer than the 30-day cap.
    const s = parseSpec(DEFAULT_YAML, "specs/default.yaml", { pairs: { sample: 5000 }, concurrency: 2 });
    const size = planSize(s, big, PROVIDER);
    expect(size.cases).toBeGreaterThan(40_000);
    expect(size.caseRuns).toBeLessThan(DEFAULT_MATRIX_CAPS.maxCaseRuns);
    expect(() => checkPlanSize(size, s, coordinatorCaps())).not.toThrow();
    // The count is what the planner then plans (no more: a sample counts every drawn pair as filled).
    expect(plan(s, big, PROVIDER).cases.length).toBeLessThanOrEqual(size.cases);
  });

  test("the same spec with pairs: all is refused before any pair is drawn (25 million pairs)", () => {
    const s = parseSpec(DEFAULT_YAML, "specs/default.yaml");
    const t0 = performance.now();
    const err = refusal(() => checkPlanSize(planSize(s, big, PROVIDER), s, coordinatorCaps()));
    const refuseMs = performance.now() - t0;
    expect(err.message).toBe("the spec's pairs selection draws 24,995,000 node pairs, more than the cap of 500,000 (the coordinator's --max-cases) case runs");
    // Refused in the time a 5000-node selection takes to count, far below what drawing it would (a reference: drawing a tenth of it).
    const t1 = performance.now();
    plan(specFromObject({ name: "t", scenarios: ["host-host"], pairs: { sample: 100_000 } }), big);
    expect(refuseMs).toBeLessThan(performance.now() - t1);
  });

  test("specs/default.yaml as shipped (pairs: all) fits on a 50-node cluster (the lab's matrices: cli/src/bounds.test.ts)", () => {
    const s = parseSpec(DEFAULT_YAML, "specs/default.yaml");
    expect(() => checkPlanSize(planSize(s, cluster(50), PROVIDER), s, coordinatorCaps())).not.toThrow();
  });
});

describe("drawn pairs are counted arithmetically", () => {
  test.each<[string, Record<string, unknown>, number, number]>([
    ["a cover of k = 3 on 5000 nodes: k·N", { cover: 3 }, 5000, 15_000],
    ["a cover with by: the same count", { cover: 3, by: "topology.kubernetes.io/zone" }, 5000, 15_000],
    ["a cover of k ≥ N−1: every ordered pair", { cover: 9 }, 10, 90],
    ["a cover on one node: none", { cover: 3 }, 1, 0],
    ["a stratified sample: as many as asked", { sample: 900, by: "topology.kubernetes.io/zone" }, 5000, 900],
    ["a stratified sample of more than there are: every pair", { sample: 900, by: "rack" }, 10, 90],
  ])("%s", (_what, pairs, nodes, want) => {
    const s = spec({ pairs });
    const size = planSize(s, cluster(nodes));
    expect(size.pairs).toBe(want);
    // Every node client k times and server k times: k·N host-host cases (or every pair).
    expect(size.cases).toBe(want);
  });

  test("specs/large-cluster.yaml on 5000 nodes (host + 2 pod agents each): 35,000 cases × 3, within the default caps", () => {
    const s = parseSpec(readFileSync(new URL("../../../specs/large-cluster.yaml", import.meta.url), "utf8"), "specs/large-cluster.yaml");
    expect(s.pairs).toEqual({ kind: "cover", k: 3, by: "topology.kubernetes.io/zone" });
    const size = planSize(s, cluster(5000));
    expect(size).toMatchObject({ pairs: 15_000, cases: 35_000, caseRuns: 105_000 });
    expect(() => checkPlanSize(size, s, coordinatorCaps())).not.toThrow();
  });

  test("a cover of k = 3 on 5000 nodes with cross and same-node rows is counted exactly", () => {
    const s = spec({ pairs: { cover: 3 }, scenarios: ["host-host", "pod-pod-cross", "pod-pod-same"] });
    const size = planSize(s, cluster(5000));
    expect(size.pairs).toBe(15_000);
    // 15,000 pairs × 2 cross rows + 5,000 nodes × 1 same-node row.
    expect(size.cases).toBe(35_000);
  });
});

describe("refusals name the count, the cap and the fix", () => {
  test.each<[string, MatrixSpec, PlannerAgent[], ReturnType<typeof effectiveCaps>, string, RegExp]>([
    [
      "case runs past the coordinator's cap",
      spec({ tools: ["iperf3", "iperf2"], protocols: ["tcp", "udp"], parallel: [1, 2, 4, 8], repetitions: 1000 }),
      cluster(10),
      coordinatorCaps(),
      "the spec asks for 1,440 cases × 1000 repetitions = 1,440,000 case runs, more than the cap of 500,000 (the coordinator's --max-cases)",
      /fewer repetitions.*or start the coordinator with a higher --max-cases/,
    ],
    [
      "case runs past the run's own --max-cases",
      spec({ repetitions: 10 }),
      cluster(10),
      effectiveCaps(DEFAULT_MATRIX_CAPS, { maxCaseRuns: 100 }),
      "the spec asks for 90 cases × 10 repetitions = 900 case runs, more than the cap of 100 (this run's --max-cases)",
      /or raise --max-cases on `netmatrix run`/,
    ],
    [
      "a sample larger than the cap",
      spec({ pairs: { sample: 600_000 } }),
      cluster(1000),
      coordinatorCaps(),
      "the spec's pairs selection draws 600,000 node pairs, more than the cap of 500,000 (the coordinator's --max-cases) case runs",
      /smaller N/,
    ],
    [
      "the estimated duration past the coordinator's cap",
      spec({ duration: 3000, omit: 0, repetitions: 1000 }),
      cluster(2),
      coordinatorCaps(),
      "the run would take at least 69 d (2,000 case runs, at most 1 at a time), more than the cap of 30 d (the coordinator's --max-run-duration)",
      /higher concurrency.*or start the coordinator with a higher --max-run-duration/,
    ],
    [
      "the estimated duration past the run's own --max-run-duration",
      spec({ duration: 60, omit: 0, repetitions: 5 }),
      cluster(2),
      effectiveCaps(DEFAULT_MATRIX_CAPS, { maxRunDurationS: 300 }),
      "the run would take at least 10 min (10 case runs, at most 1 at a time), more than the cap of 5 min (this run's --max-run-duration)",
      /or raise --max-run-duration on `netmatrix run`/,
    ],
  ])("%s", (_what, s, agents, caps, message, hint) => {
    const err = refusal(() => checkPlanSize(planSize(s, agents), s, caps));
    expect(err.code).toBe("invalid-argument");
    expect(err.message).toBe(message);
    expect(err.hint).toMatch(hint);
  });

  test("a request can lower a cap, never raise it", () => {
    expect(effectiveCaps(DEFAULT_MATRIX_CAPS, { maxCaseRuns: 10, maxRunDurationS: 0 })).toEqual({
      maxCaseRuns: 10,
      maxRunDurationS: DEFAULT_MATRIX_CAPS.maxRunDurationS,
      from: { maxCaseRuns: "request", maxRunDurationS: "coordinator" },
    });
    expect(effectiveCaps(DEFAULT_MATRIX_CAPS, { maxCaseRuns: 10_000_000 }).maxCaseRuns).toBe(DEFAULT_MATRIX_CAPS.maxCaseRuns);
  });

  test("concurrency shortens the estimate only as far as the nodes allow", () => {
    const s = (concurrency: number) => spec({ duration: 100, omit: 0, repetitions: 1, concurrency });
    const one = planSize(s(1), cluster(4)).minDurationMs;
    expect(planSize(s(2), cluster(4)).minDurationMs).toBeCloseTo(one / 2);
    // 4 nodes: never more than 4 cases at once, whatever the spec allows.
    expect(planSize(s(1000), cluster(4)).minDurationMs).toBeCloseTo(one / 4);
  });
});

describe("scheduling a listed plan can be cancelled", () => {
  // Big enough to take a while here, inside the caps: 1000 nodes, 400,000 sampled pairs.
  const agents = cluster(1000);
  const big = spec({ pairs: { sample: 400_000 }, repetitions: 1 });

  test("unaborted it gives what the synchronous call gives; aborted it rejects with 'cancelled'", async () => {
    const small = spec({ pairs: { sample: 300 }, repetitions: 3 });
    const p = plan(small, agents);
    const rounds = await runStepsAsync(scheduleSteps(p.cases, { concurrency: 4, repetitions: 3 }), undefined, "scheduling");
    expect(rounds).toEqual(schedule(p.cases, { concurrency: 4, repetitions: 3 }));

    const cases = plan(big, agents).cases;
    expect(cases).toHaveLength(400_000);
    const abort = new AbortController();
    const scheduling = runStepsAsync(scheduleSteps(cases, { concurrency: 1, repetitions: 1 }), abort.signal, "scheduling the run");
    setTimeout(() => abort.abort(), 5);
    await expect(scheduling).rejects.toMatchObject({ code: "cancelled", message: "scheduling the run was cancelled" });
  });
});
