/**
 * Turns a spec's `pairs:` selection into the concrete ordered node pairs that
 * cross-node scenarios run between, and the nodes that same-node and external
 * scenarios run on. Pure and deterministic.
 *
 * Pairs are two parallel typed arrays of indices into the node list rather
 * than tuples of names: a full mesh of 1000 nodes is a million pairs, and a
 * million small arrays cost more to allocate than planning them.
 */
import { naturalCompare } from "../../../common/src/natural-compare.js";
import { SeededRandom } from "./hash.js";
import type { PairSelection } from "./spec.js";

/** Ordered node pairs: pair i is nodes[from[i]] → nodes[to[i]] (client node → server node, never equal). */
export interface OrderedPairs {
  from: Int32Array;
  to: Int32Array;
}

/** The node pairs and nodes a matrix covers. */
export interface NodeSelection {
  /** The cluster nodes the pair indices refer to, in the order given. */
  universe: readonly string[];
  /** Ordered pairs (indices into `universe`) for cross-node scenarios. */
  pairs: OrderedPairs;
  /**
   * Nodes for same-node scenarios (one case per node) and the server nodes of
   * external scenarios: all nodes for `all` and `ring`, the listed ones for
   * `nodes`, the nodes the sampled pairs touch for `sample`.
   */
  nodes: string[];
  /** Nodes listed in `pairs: { nodes }` that no agent runs on. */
  unknown: string[];
}

/**
 * Select pairs and nodes from `clusterNodes` (the nodes that run host or pod
 * agents, in the order cases should follow, e.g. natural name order).
 *
 * - all: every ordered pair, client-major: (n1,n2), (n1,n3), …, (n2,n1), …
 * - ring: (n1,n2), (n2,n3), …, (nk,n1); two nodes give both directions, one node none.
 * - sample: `count` distinct ordered pairs drawn uniformly with a generator
 *   seeded by `seed` (the spec's `seed`), listed in all-order; everything when
 *   `count` is at least the number of ordered pairs. The draw depends only on
 *   the set of node names and the seed — not on the order `clusterNodes`
 *   lists them in, nor on the spec's name — so two clusters with the same
 *   node names (two CNIs, before and after a change) get the same pairs.
 * - nodes: every ordered pair among the listed nodes that exist.
 *
 * With `{ pairs: false }` (no cross-node row asks for them) all, ring and
 * nodes select no pairs, only nodes; a sample draws its pairs regardless (its
 * nodes are the ones the pairs touch).
 */
export function selectNodes(selection: PairSelection, clusterNodes: readonly string[], seed: number, opts: { pairs?: boolean } = {}): NodeSelection {
  const universe = clusterNodes;
  const every = Int32Array.from(universe.keys());
  const none: OrderedPairs = { from: new Int32Array(0), to: new Int32Array(0) };
  const wanted = opts.pairs ?? true;
  switch (selection.kind) {
    case "all":
      return { universe, pairs: wanted ? allPairs(every) : none, nodes: [...universe], unknown: [] };
    case "ring":
      return { universe, pairs: wanted ? ringPairs(every) : none, nodes: [...universe], unknown: [] };
    case "nodes": {
      const listed = new Set(selection.nodes);
      const known = new Set(universe);
      const chosen = Int32Array.from(every.filter((i) => listed.has(universe[i]!)));
      return {
        universe,
        pairs: wanted ? allPairs(chosen) : none,
        nodes: [...chosen].map((i) => universe[i]!),
        unknown: selection.nodes.filter((n) => !known.has(n)),
      };
    }
    case "sample": {
      const pairs = sampleByName(universe, selection.count, seed);
      const touched = new Set([...pairs.from, ...pairs.to]);
      return { universe, pairs, nodes: universe.filter((_, i) => touched.has(i)), unknown: [] };
    }
  }
}

/** Every ordered pair of distinct members of `ids`, client-major. k members give k(k−1) pairs. */
export function allPairs(ids: Int32Array): OrderedPairs {
  const k = ids.length;
  const total = k * (k - 1);
  const from = new Int32Array(total);
  const to = new Int32Array(total);
  let n = 0;
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      if (a === b) continue;
      from[n] = ids[a]!;
      to[n] = ids[b]!;
      n++;
    }
  }
  return { from, to };
}

/** ids[i] → ids[i+1], wrapping; for two members that is both directions, for fewer none. */
export function ringPairs(ids: Int32Array): OrderedPairs {
  const k = ids.length;
  if (k < 2) return { from: new Int32Array(0), to: new Int32Array(0) };
  if (k === 2) return allPairs(ids);
  return { from: ids.slice(), to: Int32Array.from(ids, (_, i) => ids[(i + 1) % k]!) };
}

/**
 * `samplePairs` over the names of `universe` in natural name order, whatever
 * order `universe` lists them in; the pairs index `universe` and are listed in
 * its all-order. Same set of names, count and seed → same pairs by name.
 */
export function sampleByName(universe: readonly string[], count: number, seed: number): OrderedPairs {
  const n = universe.length;
  const drawn = samplePairs(n, count, seed);
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = naturalCompare(universe[i - 1]!, universe[i]!) < 0;
  if (sorted) return drawn; // the planner's order: rank i is universe[i]
  const byName = Int32Array.from(universe.keys()).sort((i, j) => naturalCompare(universe[i]!, universe[j]!));
  const keys = Float64Array.from(drawn.from, (f, i) => byName[f]! * n + byName[drawn.to[i]!]!).sort();
  return { from: Int32Array.from(keys, (k) => Math.floor(k / n)), to: Int32Array.from(keys, (k) => k % n) };
}

/**
 * `count` distinct ordered pairs of 0..n−1 drawn uniformly (Floyd's subset
 * sampling over the n(n−1) pair indices, so the cost is O(count), not
 * O(n²)), in all-order. Same n, count and seed → same pairs.
 */
export function samplePairs(n: number, count: number, seed: number): OrderedPairs {
  const total = n * (n - 1);
  if (count >= total) return allPairs(Int32Array.from({ length: n }, (_, i) => i));
  const rng = new SeededRandom(`pairs:${seed}`);
  const chosen = new Set<number>();
  for (let j = total - count; j < total; j++) {
    const t = rng.below(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  const picks = Float64Array.from(chosen).sort();
  const from = new Int32Array(count);
  const to = new Int32Array(count);
  picks.forEach((k, i) => {
    const a = Math.floor(k / (n - 1));
    const r = k % (n - 1);
    from[i] = a;
    to[i] = r >= a ? r + 1 : r;
  });
  return { from, to };
}

/** The pairs of `selection` as [client node, server node] names, for messages and tests. */
export function pairNames(selection: NodeSelection): [string, string][] {
  const { from, to } = selection.pairs;
  return Array.from(from, (a, i) => [selection.universe[a]!, selection.universe[to[i]!]!]);
}
