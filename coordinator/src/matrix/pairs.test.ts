import { describe, expect, test } from "vitest";
import { pairNames, samplePairs, selectNodes } from "./pairs.js";
import type { PairSelection } from "./spec.js";

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
    const s = selectNodes(selection, cluster, "seed");
    expect(pairNames(s)).toEqual(pairs);
    expect(s.nodes).toEqual(nodes);
    expect(s.unknown).toEqual(unknown);
  });

  test("sample: the nodes are those the sampled pairs touch", () => {
    const cluster = Array.from({ length: 20 }, (_, i) => `n${i + 1}`);
    const s = selectNodes({ kind: "sample", count: 3 }, cluster, "spec-name");
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
    const a = samplePairs(n, count, "s");
    expect(a.from).toHaveLength(count);
    const keys = Array.from(a.from, (f, i) => f * n + a.to[i]!);
    expect(new Set(keys).size).toBe(count);
    expect([...keys].sort((x, y) => x - y)).toEqual(keys);
    a.from.forEach((f, i) => {
      expect(f).not.toBe(a.to[i]);
      expect(f).toBeGreaterThanOrEqual(0);
      expect(a.to[i]).toBeLessThan(n);
    });
    expect(samplePairs(n, count, "s")).toEqual(a);
  });

  test("the seed (spec name) changes the sample", () => {
    expect(samplePairs(50, 10, "a")).not.toEqual(samplePairs(50, 10, "b"));
  });

  test("every pair can be drawn (a 3-node mesh, 1 pair, many seeds)", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const p = samplePairs(3, 1, `seed-${i}`);
      seen.add(`${p.from[0]}→${p.to[0]}`);
    }
    expect(seen.size).toBe(6);
  });
});
