import { describe, expect, test } from "vitest";
import { pairNames, samplePairs, selectNodes } from "./pairs.js";
import { plan, type PlannerAgent } from "./planner.js";
import { specFromObject, type PairSelection } from "./spec.js";

const N3 = ["n1", "n2", "n3"];

describe("selectNodes", () => {
  test.each<[string, PairSelection, string[], [string, string][], string[], string[]]>([
    [
      "all, 3 nodes",
      { kind: "all" },
      N3,
      [
        ["n1", "n2"],
        ["n1", "n3"],
        ["n2", "n1"],
        ["n2", "n3"],
        ["n3", "n1"],
        ["n3", "n2"],
      ],
      N3,
      [],
    ],
    ["all, 1 node", { kind: "all" }, ["n1"], [], ["n1"], []],
    [
      "ring, 3 nodes",
      { kind: "ring" },
      N3,
      [
        ["n1", "n2"],
        ["n2", "n3"],
        ["n3", "n1"],
      ],
      N3,
      [],
    ],
    [
      "ring, 2 nodes: both directions",
      { kind: "ring" },
      ["a", "b"],
      [
        ["a", "b"],
        ["b", "a"],
      ],
      ["a", "b"],
      [],
    ],
    ["ring, 1 node", { kind: "ring" }, ["a"], [], ["a"], []],
    [
      "nodes: a subset",
      { kind: "nodes", nodes: ["n3", "n1"] },
      N3,
      [
        ["n1", "n3"],
        ["n3", "n1"],
      ],
      ["n1", "n3"],
      [],
    ],
    ["nodes: unknown ones reported", { kind: "nodes", nodes: ["n2", "n9"] }, N3, [], ["n2"], ["n9"]],
    [
      "sample ≥ all: everything",
      { kind: "sample", count: 50 },
      N3,
      [
        ["n1", "n2"],
        ["n1", "n3"],
        ["n2", "n1"],
        ["n2", "n3"],
        ["n3", "n1"],
        ["n3", "n2"],
      ],
      N3,
      [],
    ],
  ])("%s", (_what, selection, cluster, pairs, nodes, unknown) => {
    const s = selectNodes(selection, cluster, 0);
    expect(pairNames(s)).toEqual(pairs);
    expect(s.nodes).toEqual(nodes);
    expect(s.unknown).toEqual(unknown);
  });

  test("sample: the nodes are those the sampled pairs touch", () => {
    const cluster = Array.from({ length: 20 }, (_, i) => `n${i + 1}`);
    const s = selectNodes({ kind: "sample", count: 3 }, cluster, 7);
    const touched = new Set(pairNames(s).flat());
    expect(s.nodes).toEqual(cluster.filter((n) => touched.has(n)));
  });
});

describe("samplePairs", () => {
  test.each([
    [10, 1],
    [10, 7],
    [10, 89],
    [100, 500],
    [1000, 10_000],
  ])("n=%d, count=%d: distinct ordered pairs of distinct nodes, in all-order, deterministic", (n, count) => {
    const a = samplePairs(n, count, 1);
    expect(a.from).toHaveLength(count);
    const keys = Array.from(a.from, (f, i) => f * n + a.to[i]!);
    expect(new Set(keys).size).toBe(count);
    expect([...keys].sort((x, y) => x - y)).toEqual(keys);
    a.from.forEach((f, i) => {
      expect(f).not.toBe(a.to[i]);
      expect(f).toBeGreaterThanOrEqual(0);
      expect(a.to[i]).toBeLessThan(n);
    });
    expect(samplePairs(n, count, 1)).toEqual(a);
  });

  test("the seed changes the sample", () => {
    expect(samplePairs(50, 10, 1)).not.toEqual(samplePairs(50, 10, 2));
  });

  test("every pair can be drawn (a 3-node mesh, 1 pair, many seeds)", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const p = samplePairs(3, 1, i);
      seen.add(`${p.from[0]}→${p.to[0]}`);
    }
    expect(seen.size).toBe(6);
  });
});

describe("sample: the pairs depend on the node names and the seed only", () => {
  const cluster = Array.from({ length: 12 }, (_, i) => `node-${i + 1}`);
  const sample = { kind: "sample", count: 5 } as const;
  const drawn = (nodes: readonly string[], seed: number) => pairNames(selectNodes(sample, nodes, seed));
  const sorted = (pairs: [string, string][]) => pairs.map((p) => p.join("→")).sort();
  /** Host and pod agents on every node, in the order given. */
  const agents = (nodes: readonly string[]): PlannerAgent[] =>
    nodes.flatMap((node, i) =>
      (["host", "pod"] as const).map((mode) => ({ id: `${node}/${mode}`, node, mode, address: `10.0.${i}.${mode === "host" ? 1 : 2}`, tools: ["iperf3" as const] })),
    );
  /** The node pairs of the planned cross-node cases of `spec`, as "a→b". */
  const plannedPairs = (spec: Record<string, unknown>, nodes: readonly string[]) =>
    [
      ...new Set(
        plan(specFromObject({ scenarios: ["host-host", "pod-pod-cross"], pairs: { sample: 3 }, ...spec }), agents(nodes)).cases.map((c) => `${c.clientNode}→${c.serverNode}`),
      ),
    ].sort();

  test("same nodes and seed: the same pairs whatever the spec's name (lab-host-gw and lab-vxlan measure the same pairs)", () => {
    const hostGw = plannedPairs({ name: "lab-host-gw", seed: 0 }, cluster);
    const vxlan = plannedPairs({ name: "lab-vxlan", seed: 0 }, cluster);
    expect(hostGw).toHaveLength(3);
    expect(vxlan).toEqual(hostGw);
    // The default seed is one fixed value: leaving it out is the same as writing it.
    expect(plannedPairs({ name: "lab-l2" }, cluster)).toEqual(hostGw);
    // And the only pair of two nodes is drawn the same way for every name (the user's report: node-1→node-2 vs node-2→node-1).
    const two = ["node-1", "node-2"];
    const names = ["lab-host-gw", "lab-vxlan", "lab-l2", "a", "b", "c"];
    expect(new Set(names.map((name) => JSON.stringify(plannedPairs({ name, pairs: { sample: 1 } }, two)))).size).toBe(1);
  });

  test("a different seed draws (usually) different pairs", () => {
    const bySeed = Array.from({ length: 20 }, (_, seed) => sorted(drawn(cluster, seed)).join(" "));
    // 20 draws of 5 of 132 pairs: equal draws would be a broken seed.
    expect(new Set(bySeed).size).toBe(20);
    expect(plannedPairs({ name: "x", seed: 1 }, cluster)).not.toEqual(plannedPairs({ name: "x", seed: 2 }, cluster));
  });

  test("the order the inventory lists the nodes in does not matter", () => {
    const want = sorted(drawn(cluster, 42));
    // Reversed, rotated, shuffled, and in plain code-unit order (node-10 before node-2).
    const orders = [[...cluster].reverse(), [...cluster.slice(5), ...cluster.slice(0, 5)], [...cluster].sort(), cluster.map((_, i) => cluster[(i * 5) % 12]!)];
    for (const order of orders) {
      const s = selectNodes(sample, order, 42);
      expect(sorted(pairNames(s))).toEqual(want);
      // Still indices into the list as given, in its all-order (client-major), each pair once.
      const keys = Array.from(s.pairs.from, (f, i) => f * order.length + s.pairs.to[i]!);
      expect(keys).toEqual([...new Set(keys)].sort((a, b) => a - b));
      expect(s.nodes).toEqual(order.filter((n) => want.some((p) => p.split("→").includes(n))));
    }
    // Through the planner: agents registered in another order plan the same cases.
    const shuffled = [...cluster].reverse();
    expect(plannedPairs({ name: "x", seed: 9 }, shuffled)).toEqual(plannedPairs({ name: "x", seed: 9 }, cluster));
  });
});
