/**
 * Turns a spec's `pairs:` selection into the concrete ordered node pairs that
 * cross-node scenarios run between, and the nodes that same-node and external
 * scenarios run on. Pure and deterministic.
 */
import { SeededRandom } from "./hash.js";
import type { PairSelection } from "./spec.js";

/**
 * Ordered node pairs as two parallel lists: pair i is from[i] → to[i]
 * (client node → server node, never equal). Parallel lists rather than
 * tuples: a full mesh of 1000 nodes is a million pairs.
 */
export interface OrderedPairs {
  from: string[];
  to: string[];
}

/** The node pairs and nodes a matrix covers. */
export interface NodeSelection {
  /** Ordered pairs for cross-node scenarios. */
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
 *   seeded by `seed` (the spec name), listed in all-order; everything when
 *   `count` is at least the number of ordered pairs.
 * - nodes: every ordered pair among the listed nodes that exist.
 */
export function selectNodes(selection: PairSelection, clusterNodes: readonly string[], seed: string): NodeSelection {
  switch (selection.kind) {
    case "all":
      return { pairs: allPairs(clusterNodes), nodes: [...clusterNodes], unknown: [] };
    case "ring":
      return { pairs: ringPairs(clusterNodes), nodes: [...clusterNodes], unknown: [] };
    case "nodes": {
      const listed = new Set(selection.nodes);
      const known = new Set(clusterNodes);
      const nodes = clusterNodes.filter((n) => listed.has(n));
      return { pairs: allPairs(nodes), nodes, unknown: selection.nodes.filter((n) => !known.has(n)) };
    }
    case "sample": {
      const pairs = samplePairs(clusterNodes, selection.count, seed);
      const touched = new Set([...pairs.from, ...pairs.to]);
      return { pairs, nodes: clusterNodes.filter((n) => touched.has(n)), unknown: [] };
    }
  }
}

/** Every ordered pair of distinct nodes, client-major. n nodes give n(n−1) pairs. */
export function allPairs(nodes: readonly string[]): OrderedPairs {
  const out: OrderedPairs = { from: [], to: [] };
  for (const a of nodes) {
    for (const b of nodes) {
      if (a === b) continue;
      out.from.push(a);
      out.to.push(b);
    }
  }
  return out;
}

/** node i → node i+1, wrapping; for two nodes that is both directions, for fewer none. */
export function ringPairs(nodes: readonly string[]): OrderedPairs {
  if (nodes.length < 2) return { from: [], to: [] };
  if (nodes.length === 2) return allPairs(nodes);
  return { from: [...nodes], to: nodes.map((_, i) => nodes[(i + 1) % nodes.length]!) };
}

/**
 * `count` distinct ordered pairs drawn uniformly (Floyd's subset sampling
 * over the n(n−1) pair indices, so the cost is O(count), not O(n²)), in
 * all-order. Same nodes, count and seed → same pairs.
 */
export function samplePairs(nodes: readonly string[], count: number, seed: string): OrderedPairs {
  const n = nodes.length;
  const total = n * (n - 1);
  if (count >= total) return allPairs(nodes);
  const rng = new SeededRandom(`pairs:${seed}`);
  const chosen = new Set<number>();
  for (let j = total - count; j < total; j++) {
    const t = rng.below(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  const out: OrderedPairs = { from: [], to: [] };
  for (const k of [...chosen].sort((x, y) => x - y)) {
    const a = Math.floor(k / (n - 1));
    const r = k % (n - 1);
    out.from.push(nodes[a]!);
    out.to.push(nodes[r >= a ? r + 1 : r]!);
  }
  return out;
}
