import { describe, expect, test } from "vitest";
import { naturalCompare } from "../../../common/src/natural-compare.js";
import { nodeLabels, pairNames, samplePairs, selectNodes } from "./pairs.js";
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

/** Nodes "<zone>-n<i>" in zones of the given sizes ("z-a", "z-b", …), and their labels under `key`. */
function zoned(sizes: number[], key = "topology.kubernetes.io/zone"): { nodes: string[]; labels: Map<string, Record<string, string>>; zoneOf: (n: string) => string } {
  const nodes: string[] = [];
  const labels = new Map<string, Record<string, string>>();
  sizes.forEach((size, z) => {
    const zone = z < 26 ? `z-${"abcdefghijklmnopqrstuvwxyz"[z]}` : `z-${z}`;
    for (let i = 1; i <= size; i++) {
      const node = `${zone}-n${i}`;
      nodes.push(node);
      labels.set(node, { [key]: zone, other: "x" });
    }
  });
  return { nodes, labels, zoneOf: (n) => labels.get(n)?.[key] ?? "" };
}

/** A deterministic shuffle of `list` (a permutation by a multiplier coprime to its length). */
function reorder<T>(list: readonly T[], step: number): T[] {
  let m = step;
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  while (gcd(m, list.length) !== 1) m++;
  return list.map((_, i) => list[(i * m + 3) % list.length]!);
}

/** How many pairs fall in each (client zone → server zone) combination. */
function perCombination(pairs: [string, string][], zoneOf: (n: string) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [a, b] of pairs) {
    const k = `${zoneOf(a)}→${zoneOf(b)}`;
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

const ZONE = "topology.kubernetes.io/zone";

describe("sample stratified by a node label (pairs: { sample: N, by })", () => {
  test.each<[string, number[], number, number[]]>([
    // zones, count, every combination's share in ascending order (9 combinations for 3 zones: 6 across, 3 within)
    ["equal shares", [10, 10, 4], 90, Array(9).fill(10)],
    ["a small zone gives what it has, the rest is levelled", [10, 10, 2], 90, [2, ...Array(8).fill(11)]],
    ["what does not divide evenly goes one each to some", [10, 10, 4], 95, [...Array(4).fill(10), ...Array(5).fill(11)]],
    ["fewer pairs than combinations: one each to some", [5, 5, 5], 4, [1, 1, 1, 1]],
    ["a zone of one node has no pairs within", [6, 1], 12, [4, 4, 4]],
    ["everything when the count reaches every pair", [3, 2], 100, [2, 6, 6, 6]],
  ])("%s: zones %j, %d pairs", (_what, sizes, count, shares) => {
    const { nodes, labels, zoneOf } = zoned(sizes);
    const s = selectNodes({ kind: "sample", count, by: ZONE }, nodes, 7, { labels });
    const pairs = pairNames(s);
    expect(pairs).toHaveLength(shares.reduce((a, b) => a + b, 0));
    expect([...perCombination(pairs, zoneOf).values()].sort((a, b) => a - b)).toEqual(shares);
    // Distinct ordered pairs of distinct nodes, in all-order.
    const keys = Array.from(s.pairs.from, (f, i) => f * nodes.length + s.pairs.to[i]!);
    expect(keys).toEqual([...new Set(keys)].sort((a, b) => a - b));
    for (const [a, b] of pairs) expect(a).not.toBe(b);
    expect(s.nodes).toEqual(nodes.filter((n) => pairs.some((p) => p.includes(n))));
    expect(s.unlabelled).toEqual([]);
  });

  test("every zone pair of a 5000-node cluster in 3 zones is measured about equally, unlike a uniform sample of a lopsided cluster", () => {
    const { nodes, labels, zoneOf } = zoned([4000, 900, 100]);
    const stratified = perCombination(pairNames(selectNodes({ kind: "sample", count: 900, by: ZONE }, nodes, 1, { labels })), zoneOf);
    expect([...stratified.values()]).toEqual(Array(9).fill(100));
    // Uniform: the small zone's pairs within itself are about 100·99 / 5000·4999 of the draw, i.e. none.
    const uniform = perCombination(pairNames(selectNodes({ kind: "sample", count: 900 }, nodes, 1)), zoneOf);
    expect(uniform.get("z-c→z-c") ?? 0).toBeLessThan(5);
  });

  test("the draw depends on node names, labels and seed only: not on the order nodes are listed in; the seed changes it", () => {
    const { nodes, labels } = zoned([7, 5, 3]);
    const sel = { kind: "sample", count: 40, by: ZONE } as const;
    const want = pairNames(selectNodes(sel, nodes, 11, { labels })).map((p) => p.join("→"));
    for (const step of [2, 5, 7, 11]) {
      const order = reorder(nodes, step);
      expect(order).not.toEqual(nodes);
      const got = selectNodes(sel, order, 11, { labels });
      expect(
        pairNames(got)
          .map((p) => p.join("→"))
          .sort(),
      ).toEqual([...want].sort());
      const keys = Array.from(got.pairs.from, (f, i) => f * order.length + got.pairs.to[i]!);
      expect(keys).toEqual([...keys].sort((a, b) => a - b));
    }
    const bySeed = new Set(Array.from({ length: 10 }, (_, seed) => pairNames(selectNodes(sel, nodes, seed, { labels })).join(" ")));
    expect(bySeed.size).toBe(10);
    // Another label value for one node changes what is drawn.
    const moved = new Map(labels).set("z-a-n1", { [ZONE]: "z-c" });
    expect(pairNames(selectNodes(sel, nodes, 11, { labels: moved })).map((p) => p.join("→"))).not.toEqual(want);
  });

  test("nodes without the label (or with an empty value) form a group of their own, and are named", () => {
    const { nodes, labels: zoned8, zoneOf } = zoned([4, 4]);
    const labels = new Map(zoned8).set("bare-2", { [ZONE]: "" });
    const all = [...nodes, "bare-1", "bare-2"];
    const s = selectNodes({ kind: "sample", count: 900, by: ZONE }, all, 3, { labels });
    expect(s.unlabelled).toEqual(["bare-1", "bare-2"]);
    expect(perCombination(pairNames(s), zoneOf).get("→")).toBe(2);
    // No labels at all: one group, a uniform draw — and every node named as unlabelled.
    const none = selectNodes({ kind: "sample", count: 5, by: ZONE }, nodes, 3);
    expect(none.unlabelled).toEqual(nodes);
    expect(pairNames(none)).toHaveLength(5);
  });
});

describe("covering plan (pairs: { cover: k, by })", () => {
  /** Client and server counts per node, and the number of pairs across zones. */
  const tally = (pairs: [string, string][], zoneOf: (n: string) => string) => {
    const client = new Map<string, number>();
    const server = new Map<string, number>();
    let across = 0;
    for (const [a, b] of pairs) {
      client.set(a, (client.get(a) ?? 0) + 1);
      server.set(b, (server.get(b) ?? 0) + 1);
      if (zoneOf(a) !== zoneOf(b)) across++;
    }
    return { client, server, across };
  };

  test.each<[string, number[], number]>([
    ["3 equal zones", [20, 20, 20], 3],
    ["2 equal zones (one shift keeps every pair across)", [15, 15], 4],
    ["a zone of more than half the nodes", [30, 8, 4], 3],
    ["one zone", [25], 5],
    ["many small zones (racks)", Array(40).fill(3), 10],
    ["unequal zones, k = 1", [9, 4, 4, 1], 1],
    ["tiny: 4 nodes, k = 2", [2, 2], 2],
    ["tiny: 5 nodes in one zone, k = 3", [5], 3],
    ["tiny: 3 nodes, k = 1", [1, 1, 1], 1],
    ["6 nodes, k = 4", [3, 3], 4],
  ])("%s: zones %j, k = %d: every node k times client and k times server, distinct pairs, as many across zones as there can be", (_what, sizes, k) => {
    const { nodes, labels, zoneOf } = zoned(sizes);
    const n = nodes.length;
    const s = selectNodes({ kind: "cover", k, by: ZONE }, nodes, 5, { labels });
    const pairs = pairNames(s);
    expect(pairs).toHaveLength(k * n);
    const keys = Array.from(s.pairs.from, (f, i) => f * n + s.pairs.to[i]!);
    expect(keys).toEqual([...new Set(keys)].sort((a, b) => a - b));
    const { client, server, across } = tally(pairs, zoneOf);
    for (const node of nodes) {
      expect(client.get(node)).toBe(k);
      expect(server.get(node)).toBe(k);
    }
    for (const [a, b] of pairs) expect(a).not.toBe(b);
    // A round is a permutation: at most N − M of the largest zone's M clients can meet servers outside it, and as many from outside meet it.
    const largest = Math.max(...sizes);
    const possible = k * Math.min(n, 2 * (n - largest));
    // Tiny clusters fall back to shifts outside the preferred range when k is close to N−1.
    if (n >= 10) expect(across).toBe(possible);
    else expect(across).toBeLessThanOrEqual(possible);
    expect(s.nodes).toEqual(nodes);
    expect(s.unlabelled).toEqual([]);
  });

  test("small clusters with k close to N−1 (where rounds cannot always be repaired and the plan falls back to distinct shifts): still exact, for every seed", () => {
    for (let n = 3; n <= 9; n++) {
      for (let k = 1; k <= n - 2; k++) {
        for (const zones of ["one", "alternating", "one-alone"]) {
          const nodes = Array.from({ length: n }, (_, i) => `n${i}`);
          const labels = new Map(nodes.map((x, i) => [x, { [ZONE]: zones === "one" ? "a" : zones === "alternating" ? "ab"[i % 2]! : i === 0 ? "a" : "b" }]));
          for (let seed = 0; seed < 40; seed++) {
            const s = selectNodes({ kind: "cover", k, by: ZONE }, nodes, seed, { labels });
            const keys = new Set(Array.from(s.pairs.from, (f, i) => f * n + s.pairs.to[i]!));
            const client = new Array<number>(n).fill(0);
            const server = new Array<number>(n).fill(0);
            let selfPairs = 0;
            s.pairs.from.forEach((f, i) => {
              client[f]!++;
              server[s.pairs.to[i]!]!++;
              if (f === s.pairs.to[i]) selfPairs++;
            });
            expect(selfPairs).toBe(0);
            expect(keys.size, `${n} nodes, k ${k}, ${zones}, seed ${seed}`).toBe(k * n);
            expect(client).toEqual(Array(n).fill(k));
            expect(server).toEqual(Array(n).fill(k));
          }
        }
      }
    }
  });

  test.each([
    [2, 1],
    [3, 2],
    [4, 3],
    [4, 50],
  ])("%d nodes, k = %d ≥ N−1: every ordered pair", (n, k) => {
    const nodes = Array.from({ length: n }, (_, i) => `n${i + 1}`);
    const s = selectNodes({ kind: "cover", k }, nodes, 0);
    expect(pairNames(s)).toEqual(pairNames(selectNodes({ kind: "all" }, nodes, 0)));
  });

  test.each([[[]], [["solo"]]])("%j: no pairs", (nodes) => {
    expect(pairNames(selectNodes({ kind: "cover", k: 3 }, nodes, 0))).toEqual([]);
  });

  test("the plan depends on node names, labels and seed only; the seed changes it", () => {
    const { nodes, labels } = zoned([12, 9, 6]);
    const sel = { kind: "cover", k: 3, by: ZONE } as const;
    const want = pairNames(selectNodes(sel, nodes, 21, { labels })).map((p) => p.join("→"));
    for (const step of [2, 5, 7]) {
      const order = reorder(nodes, step);
      const got = selectNodes(sel, order, 21, { labels });
      expect(
        pairNames(got)
          .map((p) => p.join("→"))
          .sort(),
      ).toEqual([...want].sort());
    }
    const bySeed = new Set(Array.from({ length: 10 }, (_, seed) => pairNames(selectNodes(sel, nodes, seed, { labels })).join(" ")));
    expect(bySeed.size).toBe(10);
  });

  test("partners are random: over the plans of many seeds a node meets every node of the other zones", () => {
    const { nodes, labels, zoneOf } = zoned([6, 6, 6]);
    const met = new Set<string>();
    for (let seed = 0; seed < 60; seed++) {
      for (const [a, b] of pairNames(selectNodes({ kind: "cover", k: 2, by: ZONE }, nodes, seed, { labels }))) if (a === "z-a-n1") met.add(b);
    }
    expect([...met].sort()).toEqual(nodes.filter((n) => zoneOf(n) !== "z-a").sort());
  });

  test("with { pairs: false } it selects every node and no pairs", () => {
    const s = selectNodes({ kind: "cover", k: 2 }, N3, 0, { pairs: false });
    expect(s.pairs.from).toHaveLength(0);
    expect(s.nodes).toEqual(N3);
  });

  test("5,000 nodes, k = 3, in the time of a few passes over the node list, not of the N² pairs", () => {
    const { nodes, labels } = zoned([1700, 1700, 1600]);
    const universe = reorder(nodes, 7);
    const best = (f: () => unknown): number => {
      let ms = Infinity;
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        f();
        ms = Math.min(ms, performance.now() - t0);
      }
      return ms;
    };
    const coverMs = best(() => selectNodes({ kind: "cover", k: 3, by: ZONE }, universe, 1, { labels }));
    // Reference, measured here: the node list sorted by name once and shuffled k times — what any seeded plan of it needs at the least.
    const referenceMs = best(() => {
      const sorted = [...universe].sort(naturalCompare);
      for (let r = 0; r < 3; r++) sorted.sort(() => Math.random() - 0.5);
    });
    expect(coverMs).toBeLessThan(10 * referenceMs);
    // Eight times the nodes (1,250 → 10,000): about eight times the time (a little more for the name sort); quadratic would be 64.
    const timed = (sizes: number[]): number => {
      const c = zoned(sizes);
      const order = reorder(c.nodes, 7);
      return best(() => selectNodes({ kind: "cover", k: 3, by: ZONE }, order, 1, { labels: c.labels }));
    };
    expect(timed([3400, 3400, 3200])).toBeLessThan(24 * timed([425, 425, 400]));
  });
});

describe("nodeLabels", () => {
  test("a node's labels from its agents: the host agent's first, then pod agents' in id order; external agents left out", () => {
    const a = (id: string, mode: PlannerAgent["mode"], labels?: Record<string, string>): PlannerAgent => ({
      id,
      node: id.split("/")[0]!,
      mode,
      address: "10.0.0.1",
      tools: ["iperf3"],
      ...(labels ? { labels } : {}),
    });
    const map = nodeLabels([
      a("n1/pod/b", "pod", { zone: "b", rack: "r2" }),
      a("n1/pod/a", "pod", { zone: "a", extra: "1", empty: "" }),
      a("n1/pod/c", "pod", { empty: "e" }),
      a("n1/host", "host", { zone: "h" }),
      a("n2/host", "host"),
      a("vm/external", "external", { zone: "x" }),
    ]);
    expect(Object.fromEntries(map)).toEqual({ n1: { zone: "h", extra: "1", rack: "r2", empty: "e" } });
  });
});
