import fc from "fast-check";
import { describe, expect, test } from "vitest";
import type { ToolName } from "../../../tools/src/index.js";
import { drivers } from "../../../tools/src/index.js";
import { caseId } from "./hash.js";
import { plan, type PlannerAgent, type PlannerOptions } from "./planner.js";
import { SCENARIOS, SCENARIO_SHAPES } from "../../../common/src/scenarios.js";
import { specFromObject, type MatrixSpec } from "./spec.js";

const TOOLS: ToolName[] = ["iperf3", "iperf2", "qperf", "ping"];

/** A random cluster: 1–7 nodes, each with or without a host agent and 0–2 pod agents, random tools; 0–2 external agents. */
const clusterArb: fc.Arbitrary<PlannerAgent[]> = fc
  .record({
    nodes: fc.array(fc.record({ host: fc.boolean(), pods: fc.integer({ min: 0, max: 2 }), tools: fc.subarray(TOOLS), noAddress: fc.boolean() }), { minLength: 1, maxLength: 7 }),
    externals: fc.integer({ min: 0, max: 2 }),
  })
  .map(({ nodes, externals }) => {
    const agents: PlannerAgent[] = [];
    nodes.forEach((n, i) => {
      const node = `n${i + 1}`;
      // An agent without an address now and then (1 in 8 nodes' host agents).
      if (n.host) agents.push({ id: `${node}/host`, node, mode: "host", address: n.noAddress && i % 8 === 3 ? "" : `198.18.0.${i}`, tools: n.tools });
      for (let p = 0; p < n.pods; p++) agents.push({ id: `${node}/pod/${"ab"[p]}`, node, mode: "pod", address: `10.244.${i}.${p}`, tools: n.tools });
    });
    for (let x = 0; x < externals; x++) agents.push({ id: `ext${x}/external`, node: `ext${x}`, mode: "external", address: "198.19.0.1", tools: TOOLS });
    return agents;
  });

const specArb: fc.Arbitrary<MatrixSpec> = fc
  .record({
    scenarios: fc.subarray([...SCENARIOS], { minLength: 1 }),
    tools: fc.subarray(TOOLS, { minLength: 1 }),
    protocols: fc.subarray(["tcp", "udp"], { minLength: 1 }),
    directions: fc.subarray(["forward", "reverse", "bidir"], { minLength: 1 }),
    parallel: fc.subarray([1, 2], { minLength: 1 }),
    pairs: fc.oneof(
      fc.constant("all"),
      fc.constant("ring"),
      fc.record({ sample: fc.integer({ min: 1, max: 30 }) }),
      fc.record({ nodes: fc.uniqueArray(fc.constantFrom("n1", "n2", "n3", "n9"), { minLength: 1 }) }),
    ),
    name: fc.constantFrom("a", "b", "seed-001"),
  })
  .map((raw) => specFromObject(raw, "<property>"));

const providerArb: fc.Arbitrary<PlannerOptions> = fc.oneof(fc.constant({}), fc.record({ serviceProvider: fc.record({ kinds: fc.subarray(["clusterip", "nodeport"] as const) }) }));

describe("planner properties", () => {
  test("every case has agents that exist, in the scenario's roles, client ≠ server, with the tool installed", () => {
    fc.assert(
      fc.property(specArb, clusterArb, providerArb, (spec, agents, opts) => {
        const byId = new Map(agents.map((a) => [a.id, a]));
        const { cases, refused } = plan(spec, agents, opts);
        for (const c of cases) {
          const client = byId.get(c.client);
          const server = byId.get(c.server);
          expect(client).toBeDefined();
          expect(server).toBeDefined();
          expect(c.client).not.toBe(c.server);
          expect([client!.node, server!.node]).toEqual([c.clientNode, c.serverNode]);
          const shape = SCENARIO_SHAPES[c.scenario];
          expect([client!.mode, server!.mode]).toEqual([shape.clientMode, shape.serverMode]);
          expect(c.via).toBe(shape.via);
          if (shape.placement === "same") expect(c.clientNode).toBe(c.serverNode);
          else expect(c.clientNode).not.toBe(c.serverNode);
          expect(client!.tools).toContain(c.tool);
          if (drivers[c.tool].needsServer) expect(server!.tools).toContain(c.tool);
          expect(server!.address).not.toBe("");
          expect(spec.scenarios).toContain(c.scenario);
          expect(spec.tools).toContain(c.tool);
        }
        for (const r of refused) expect(Number.isInteger(r.count) && r.count >= 0).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test("ids and keys are unique, ids are caseId(key), and baselines point at planned host-host cases of the same pair", () => {
    fc.assert(
      fc.property(specArb, clusterArb, providerArb, (spec, agents, opts) => {
        const { cases } = plan(spec, agents, opts);
        const byKey = new Map(cases.map((c) => [c.key, c]));
        expect(byKey.size).toBe(cases.length);
        expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
        for (const c of cases) {
          expect(c.id).toBe(caseId(c.key));
          if (c.baselineKey === undefined) continue;
          const base = byKey.get(c.baselineKey);
          expect(base?.scenario).toBe("host-host");
          expect([base?.clientNode, base?.serverNode, base?.tool, base?.protocol, base?.direction, base?.parallel, base?.bitrateBps]).toEqual([
            c.clientNode,
            c.serverNode,
            c.tool,
            c.protocol,
            c.direction,
            c.parallel,
            c.bitrateBps,
          ]);
        }
      }),
      { numRuns: 200 },
    );
  });

  test("deterministic: the same spec and agents, in any order, give the same plan", () => {
    const withShuffle = clusterArb.chain((agents) => fc.tuple(fc.constant(agents), fc.shuffledSubarray(agents, { minLength: agents.length, maxLength: agents.length })));
    fc.assert(
      fc.property(specArb, withShuffle, providerArb, (spec, [agents, shuffled], opts) => {
        expect(plan(spec, shuffled, opts)).toEqual(plan(spec, agents, opts));
      }),
      { numRuns: 100 },
    );
  });
});
