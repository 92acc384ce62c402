import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type { ToolName } from "../../../tools/src/index.js";
import { SCENARIOS } from "../../../common/src/scenarios.js";
import { caseId } from "./hash.js";
import type { PlannedCase, PlannerAgent, PlannerOptions } from "./planner-types.js";
import { specFromObject, type MatrixSpec } from "./spec.js";
import { CaseIds, PlanStream } from "./stream.js";

const TOOLS: ToolName[] = ["iperf3", "iperf2", "qperf", "ping"];

/** A random cluster of 2–9 nodes: host agent or not, 0–2 pod agents, random tools, now and then no address; 0–3 external agents. */
const clusterArb: fc.Arbitrary<PlannerAgent[]> = fc
  .record({
    nodes: fc.array(fc.record({ host: fc.boolean(), pods: fc.integer({ min: 0, max: 2 }), tools: fc.subarray(TOOLS), noAddress: fc.integer({ min: 0, max: 5 }) }), {
      minLength: 2,
      maxLength: 9,
    }),
    externals: fc.integer({ min: 0, max: 3 }),
  })
  .map(({ nodes, externals }) => {
    const agents: PlannerAgent[] = [];
    nodes.forEach((n, i) => {
      const node = `n${i + 1}`;
      if (n.host) agents.push({ id: `${node}/host`, node, mode: "host", address: n.noAddress === 0 ? "" : `198.18.0.${i}`, tools: n.tools });
      for (let p = 0; p < n.pods; p++)
        agents.push({ id: `${node}/pod/${"ab"[p]}`, node, mode: "pod", address: n.noAddress === 1 && p === 1 ? "" : `10.244.${i}.${p}`, tools: n.tools });
    });
    for (let x = 0; x < externals; x++) agents.push({ id: `ext${x}/external`, node: `ext${x}`, mode: "external", address: "198.19.0.1", tools: TOOLS });
    return agents;
  });

const specArb = (pairs: fc.Arbitrary<unknown>): fc.Arbitrary<MatrixSpec> =>
  fc
    .record({
      name: fc.constant("p"),
      scenarios: fc.subarray([...SCENARIOS], { minLength: 1 }),
      tools: fc.subarray(TOOLS, { minLength: 1 }),
      protocols: fc.subarray(["tcp", "udp"], { minLength: 1 }),
      directions: fc.subarray(["forward", "reverse"], { minLength: 1 }),
      pairs,
      concurrency: fc.integer({ min: 1, max: 6 }),
      repetitions: fc.integer({ min: 1, max: 3 }),
      duration: fc.integer({ min: 2, max: 5 }),
    })
    .map((raw) => specFromObject(raw, "<property>"));

const anyPairs = fc.oneof(
  fc.constant("all"),
  fc.constant("ring"),
  fc.record({ sample: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ nodes: fc.constant(["n1", "n2", "n4"]) }),
  fc.record({ cover: fc.integer({ min: 1, max: 3 }) }),
);
const providerArb: fc.Arbitrary<PlannerOptions> = fc.oneof(fc.constant({}), fc.constant<PlannerOptions>({ serviceProvider: { kinds: ["clusterip", "nodeport"] } }));

/** The nodes a case occupies: its client's and its server's (an external agent's node is one of its own). */
const nodesOf = (c: PlannedCase): string[] => (c.clientNode === c.serverNode ? [c.clientNode] : [c.clientNode, c.serverNode]);

describe("streaming plan", () => {
  test("its rounds hold every listed case once per repetition, node-disjoint, at most `concurrency`, repetitions in order; totals are exact", () => {
    fc.assert(
      fc.property(specArb(anyPairs), clusterArb, providerArb, (spec, agents, opts) => {
        const stream = new PlanStream(spec, agents, opts);
        const listed = [...stream.listing()];
        const { totals } = stream;
        expect(totals.cases).toBe(listed.length);
        expect(totals.caseRuns).toBe(listed.length * spec.repetitions);
        expect(totals.rounds).toBe(totals.roundsPerRepetition * spec.repetitions);
        const seen = new Map<string, number[]>();
        let lastRep = 0;
        let ms = 0;
        for (let k = 0; k < totals.rounds; k++) {
          const r = stream.round(k);
          expect(r.repetition).toBeGreaterThanOrEqual(lastRep);
          lastRep = r.repetition;
          expect(stream.roundMs(k)).toBe(r.ms);
          ms += r.ms;
          expect(r.cases.length).toBeLessThanOrEqual(spec.concurrency);
          const busy = new Set<string>();
          for (const c of r.cases) {
            for (const n of nodesOf(c)) {
              expect(busy.has(n), `node ${n} twice in round ${k}`).toBe(false);
              busy.add(n);
            }
            seen.set(c.key, [...(seen.get(c.key) ?? []), r.repetition]);
          }
        }
        expect(ms).toBeCloseTo(totals.estimatedMs, 6);
        expect(seen.size).toBe(listed.length);
        const reps = Array.from({ length: spec.repetitions }, (_, i) => i);
        for (const c of listed) expect(seen.get(c.key)).toEqual(reps);
      }),
      { numRuns: 150 },
    );
  });

  test("a mesh counted arithmetically says exactly what the same pairs listed one by one say: cases, refusals, their counts and order", () => {
    fc.assert(
      fc.property(specArb(fc.constant("all")), clusterArb, providerArb, (spec, agents, opts) => {
        // A sample of more pairs than there are is every ordered pair, listed (client-major): the same units as the mesh.
        const listedSpec: MatrixSpec = { ...spec, pairs: { kind: "sample", count: 1000 } };
        const mesh = new PlanStream(spec, agents, opts);
        fc.pre(mesh.universe.length >= 2); // a sample of one node touches none, a mesh of one still lists it
        const list = new PlanStream(listedSpec, agents, opts);
        expect(mesh.refused).toEqual(list.refused);
        expect([...mesh.listing()]).toEqual([...list.listing()]);
        expect(mesh.totals.cases).toBe(list.totals.cases);
      }),
      { numRuns: 200 },
    );
  });

  test("cases carry the ids and baselines a case key implies", () => {
    const agents: PlannerAgent[] = ["a", "b", "c"].flatMap((n, i) => [
      { id: `${n}/host`, node: n, mode: "host" as const, address: `198.18.0.${i + 1}`, tools: TOOLS },
      { id: `${n}/pod/a`, node: n, mode: "pod" as const, address: `10.244.${i}.2`, tools: TOOLS },
    ]);
    const spec = specFromObject({ name: "t", scenarios: ["pod-pod-cross", "host-host"], tools: ["iperf3"], protocols: ["tcp"], directions: ["forward"] }, "<t>");
    const cases = [...new PlanStream(spec, agents).listing()];
    expect(cases).toHaveLength(12);
    for (const c of cases) {
      expect(c.id).toBe(caseId(c.key));
      if (c.scenario === "pod-pod-cross") expect(c.baselineKey).toBe(`host-host/iperf3/tcp/forward/P1/L0/${c.clientNode}→${c.serverNode}`);
      else expect(c.baselineKey).toBeUndefined();
    }
  });

  test.each([
    [2, 1, 2],
    [4, 2, 6],
    [6, 3, 10],
    [7, 3, 14],
    [8, 4, 14],
    [8, 2, 28],
    [9, 1, 72],
  ])("a full mesh of %i nodes at concurrency %i takes %i rounds per repetition (the circle method)", (nodes, concurrency, rounds) => {
    const agents: PlannerAgent[] = Array.from({ length: nodes }, (_, i) => ({ id: `n${i}/host`, node: `n${i}`, mode: "host" as const, address: `198.18.0.${i}`, tools: TOOLS }));
    const spec = specFromObject({ name: "t", scenarios: ["host-host"], tools: ["iperf3"], protocols: ["tcp"], directions: ["forward"], concurrency }, "<t>");
    const s = new PlanStream(spec, agents);
    expect(s.totals.roundsPerRepetition).toBe(rounds);
    expect(s.totals.cases).toBe(nodes * (nodes - 1));
    // Full rounds: nodes/2 pairs (⌊nodes/2⌋ for an odd count) cut to the concurrency.
    expect(s.round(0).cases).toHaveLength(Math.min(concurrency, Math.floor(nodes / 2)));
  });

  test("a 5,000-node full mesh is counted and its first round made without listing 25 million pairs", () => {
    const agents: PlannerAgent[] = [];
    for (let i = 0; i < 5000; i++) {
      agents.push({ id: `n${i}/host`, node: `n${i}`, mode: "host", address: "198.18.0.1", tools: TOOLS });
      agents.push({ id: `n${i}/pod/a`, node: `n${i}`, mode: "pod", address: "10.244.0.1", tools: TOOLS });
      agents.push({ id: `n${i}/pod/b`, node: `n${i}`, mode: "pod", address: "10.244.0.2", tools: TOOLS });
    }
    const spec = specFromObject({ name: "t", scenarios: ["host-host", "pod-pod-cross", "pod-pod-same"], tools: ["iperf3"], protocols: ["tcp"], concurrency: 2500 }, "<t>");
    const s = new PlanStream(spec, agents);
    expect(s.totals.cases).toBe(2 * 5000 * 4999 + 5000);
    expect(s.totals.roundsPerRepetition).toBe(2 * 2 * 4999 + 2);
    const first = s.round(0).cases;
    expect(first).toHaveLength(2500);
    expect(new Set(first.flatMap(nodesOf)).size).toBe(5000);
    const last = s.round(s.totals.rounds - 1).cases;
    expect(last.length).toBeGreaterThan(0);
  });

  test("roundsWithin counts the rounds that fit a budget, in run order", () => {
    fc.assert(
      fc.property(specArb(anyPairs), clusterArb, fc.nat(), (spec, agents, pick) => {
        const s = new PlanStream(spec, agents);
        const n = s.totals.rounds;
        const j = n === 0 ? 0 : pick % (n + 1);
        let ms = 0;
        for (let k = 0; k < j; k++) ms += s.roundMs(k);
        const within = s.roundsWithin(ms + (j < n ? s.roundMs(j) / 2 : 1e9));
        expect(within.rounds).toBe(j);
        expect(within.ms).toBeCloseTo(ms, 6);
      }),
      { numRuns: 100 },
    );
  });
});

describe("CaseIds", () => {
  const make = (key: string, id: string): PlannedCase =>
    ({ id, key, scenario: "host-host", client: "a/host", server: "b/host", via: "direct", clientNode: "a", serverNode: "b" }) as PlannedCase;

  test("a second key with the same 48 bits gets the fingerprint of key#2, in every repetition", () => {
    const ids = new CaseIds(4);
    expect(ids.fix(make("k1", "0123456789ab"), true).id).toBe("0123456789ab");
    const second = ids.fix(make("k2", "0123456789ab"), true).id;
    expect(second).not.toBe("0123456789ab");
    expect(ids.fix(make("k2", "0123456789ab"), false).id).toBe(second);
    expect(ids.fix(make("k1", "0123456789ab"), false).id).toBe("0123456789ab");
  });
});
