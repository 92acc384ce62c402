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
import type { PlannerAgent } from "./planner-types.js";
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
  /**
   * With `by` (sample or cover): the nodes that carry no label `by`, in the
   * order of `universe`. They form a group of their own (label value "");
   * when every node is in it, `by` groups nothing. Absent without `by`.
   */
  unlabelled?: string[];
}

/** Each node's labels (node name → label key → value), for `by`. */
export type NodeLabels = ReadonlyMap<string, Readonly<Record<string, string>>>;

/** What selectNodes may be told besides the selection. */
export interface SelectOptions {
  /** false: no cross-node row needs pairs (all, ring, nodes and cover then select nodes only). Default true. */
  pairs?: boolean;
  /** The labels of each node (pairs.ts `nodeLabels` builds them from the agents); `by` groups by them. A node missing here has no labels. */
  labels?: NodeLabels;
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
 *   With `by`, stratified: `stratifiedSample` over the nodes grouped by
 *   their label `by` (`opts.labels`).
 * - nodes: every ordered pair among the listed nodes that exist.
 * - cover: `coverPairs`: every node client k times and server k times
 *   against seeded random partners, preferring another value of label `by`;
 *   k·N pairs (every ordered pair when k ≥ N−1). Its nodes are all nodes.
 *
 * Drawn selections (sample, cover) depend only on the node names, their
 * labels `by` and the seed. With `{ pairs: false }` (no cross-node row asks
 * for them) all, ring, nodes and cover select no pairs, only nodes; a sample
 * draws its pairs regardless (its nodes are the ones the pairs touch).
 * Cost: O(N log N + pairs drawn) for sample and cover.
 */
export function selectNodes(selection: PairSelection, clusterNodes: readonly string[], seed: number, opts: SelectOptions = {}): NodeSelection {
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
      const groups = selection.by === undefined ? undefined : groupByLabel(universe, selection.by, opts.labels);
      const pairs = groups ? stratifiedSample(groups, selection.count, seed) : sampleByName(universe, selection.count, seed);
      const touched = new Uint8Array(universe.length);
      for (const i of pairs.from) touched[i] = 1;
      for (const i of pairs.to) touched[i] = 1;
      return { universe, pairs, nodes: universe.filter((_, i) => touched[i] === 1), unknown: [], ...(groups ? { unlabelled: groups.unlabelled } : {}) };
    }
    case "cover": {
      const groups = groupByLabel(universe, selection.by, opts.labels);
      const pairs = wanted ? coverPairs(groups, selection.k, seed) : none;
      return { universe, pairs, nodes: [...universe], unknown: [], ...(selection.by !== undefined ? { unlabelled: groups.unlabelled } : {}) };
    }
  }
}

/**
 * Each node's labels from its agents, for selectNodes' `labels`: a host
 * agent's first, then pod agents' in id order (the first agent giving a key
 * wins, should two disagree; an empty value counts as none); external agents
 * are left out (their node names are machines outside the cluster).
 * O(agents) when no agent has labels.
 */
export function nodeLabels(agents: readonly PlannerAgent[]): Map<string, Record<string, string>> {
  const labelled = agents.filter((a) => a.mode !== "external" && a.labels && Object.keys(a.labels).length > 0);
  const rank = (a: PlannerAgent): number => (a.mode === "host" ? 0 : 1);
  labelled.sort((a, b) => rank(a) - rank(b) || naturalCompare(a.id, b.id));
  const out = new Map<string, Record<string, string>>();
  for (const a of labelled) {
    const into = out.get(a.node) ?? {};
    for (const [k, v] of Object.entries(a.labels!)) if (v !== "" && !Object.hasOwn(into, k)) into[k] = v;
    out.set(a.node, into);
  }
  return out;
}

/** Nodes grouped by a label's value: indices into the universe, each group in natural name order, groups in natural order of their values ("" — unlabelled — first). */
export interface LabelGroups {
  /** Number of nodes (the universe's length). */
  n: number;
  /** The label values, one per group. */
  values: string[];
  /** The members of each group (universe indices, in natural name order). */
  members: Int32Array[];
  /** The group of each universe index. */
  groupOf: Int32Array;
  /** Nodes without the label or with an empty value, grouped as "" (empty when `by` is undefined: then every node is in one group, value ""). */
  unlabelled: string[];
}

/** The universe's nodes grouped by their label `by` (one group of all nodes when `by` is undefined). O(N log N). */
export function groupByLabel(universe: readonly string[], by: string | undefined, labels: NodeLabels | undefined): LabelGroups {
  const n = universe.length;
  const order = byNameOrder(universe);
  const valueOf = (i: number): string | undefined => (by === undefined ? "" : labels?.get(universe[i]!)?.[by]);
  const index = new Map<string, number[]>();
  const unlabelled = new Uint8Array(n);
  for (const i of order) {
    const v = valueOf(i);
    if (v === undefined || v === "") unlabelled[i] = 1;
    const key = v ?? "";
    const list = index.get(key);
    if (list) list.push(i);
    else index.set(key, [i]);
  }
  const values = [...index.keys()].sort(naturalCompare);
  const members = values.map((v) => Int32Array.from(index.get(v)!));
  const groupOf = new Int32Array(n);
  members.forEach((m, g) => m.forEach((i) => (groupOf[i] = g)));
  return { n, values, members, groupOf, unlabelled: universe.filter((_, i) => unlabelled[i] === 1) };
}

/** Universe indices in natural name order (no sort when the universe is in that order already, as the planner's is). */
function byNameOrder(universe: readonly string[]): Int32Array {
  const n = universe.length;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = naturalCompare(universe[i - 1]!, universe[i]!) < 0;
  const order = Int32Array.from(universe.keys());
  return sorted ? order : order.sort((i, j) => naturalCompare(universe[i]!, universe[j]!));
}

/** Ordered pairs of universe indices as keys from·n + to, sorted: all-order (client-major). */
function fromKeys(keys: Float64Array, n: number): OrderedPairs {
  keys.sort();
  return { from: Int32Array.from(keys, (k) => Math.floor(k / n)), to: Int32Array.from(keys, (k) => k % n) };
}

/** `count` distinct integers of 0..total−1 drawn uniformly (Floyd's subset sampling: O(count)). */
function floyd(total: number, count: number, rng: SeededRandom): number[] {
  const chosen = new Set<number>();
  for (let j = total - count; j < total; j++) {
    const t = rng.below(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen];
}

/**
 * A sample stratified by label: `count` distinct ordered pairs, spread over
 * the combinations (client group, server group) — every ordered pair of
 * distinct groups, and a group with itself when it has two nodes or more.
 * Every combination gets an equal share of `count`: the shares are levelled
 * (a combination with fewer pairs than its share gives all it has, the rest
 * going to the others), and what does not divide evenly goes one pair each
 * to combinations drawn at random; with fewer pairs than combinations, that
 * many combinations drawn at random get one pair each. Within a combination
 * the pairs are drawn uniformly. Everything when `count` is at least the
 * number of ordered pairs. Listed in all-order of the universe. Seeded by
 * `seed`; depends on the node names and their groups only. Cost:
 * O(combinations · log + count) when count ≥ combinations, else O(count).
 */
export function stratifiedSample(groups: LabelGroups, count: number, seed: number): OrderedPairs {
  const { n, members, values } = groups;
  if (count >= n * (n - 1)) return allPairs(Int32Array.from({ length: n }, (_, i) => i));
  const m = members.length;
  // Combination c < m(m−1): cross-group (a, b ≠ a), decoded like samplePairs; then the groups of two or more with themselves.
  const selfGroups = members.flatMap((g, i) => (g.length >= 2 ? [i] : []));
  const crossCount = m * (m - 1);
  const combos = crossCount + selfGroups.length;
  const groupsOf = (c: number): [number, number] => {
    if (c >= crossCount) {
      const g = selfGroups[c - crossCount]!;
      return [g, g];
    }
    const a = Math.floor(c / (m - 1));
    const r = c % (m - 1);
    return [a, r >= a ? r + 1 : r];
  };
  const capacity = (c: number): number => {
    const [a, b] = groupsOf(c);
    const x = members[a]!.length;
    return a === b ? x * (x - 1) : x * members[b]!.length;
  };
  const rng = new SeededRandom(`pairs:${seed}:strata`);
  // share[c] for the combinations that get pairs.
  const shares = new Map<number, number>();
  if (count < combos) {
    for (const c of floyd(combos, count, rng)) shares.set(c, 1);
  } else {
    // Level the shares: the smallest combinations first take all they have while that is below an equal share of what is left.
    const caps = Float64Array.from({ length: combos }, (_, c) => capacity(c));
    const order = Int32Array.from({ length: combos }, (_, c) => c).sort((x, y) => caps[x]! - caps[y]! || x - y);
    let left = count;
    let i = 0;
    for (; i < combos; i++) {
      const c = order[i]!;
      if (caps[c]! > Math.floor(left / (combos - i))) break;
      shares.set(c, caps[c]!);
      left -= caps[c]!;
    }
    const rest = order.subarray(i).slice().sort();
    if (rest.length > 0) {
      const base = Math.floor(left / rest.length);
      for (const c of rest) shares.set(c, base);
      for (const k of floyd(rest.length, left - base * rest.length, rng)) shares.set(rest[k]!, base + 1);
    }
  }
  const keys = new Float64Array(count);
  let at = 0;
  for (const [c, share] of shares) {
    if (share === 0) continue;
    const [a, b] = groupsOf(c);
    const A = members[a]!;
    const B = members[b]!;
    const cap = capacity(c);
    // One pair (many combinations, a small sample) from the shared stream; more from the combination's own, so its draw does not depend on the others'.
    const picks =
      share >= cap ? Array.from({ length: cap }, (_, t) => t) : share === 1 ? [rng.below(cap)] : floyd(cap, share, new SeededRandom(`pairs:${seed}:${values[a]}→${values[b]}`));
    for (const t of picks) {
      let from: number;
      let to: number;
      if (a === b) {
        const x = Math.floor(t / (A.length - 1));
        const r = t % (A.length - 1);
        from = A[x]!;
        to = A[r >= x ? r + 1 : r]!;
      } else {
        from = A[Math.floor(t / B.length)]!;
        to = B[t % B.length]!;
      }
      keys[at++] = from * n + to;
    }
  }
  return fromKeys(keys.subarray(0, at), n);
}

/**
 * A covering plan: k rounds, each a permutation of the nodes without fixed
 * points (every node client once and server once), so every node is client
 * exactly k times and server exactly k times, in k·N distinct ordered pairs
 * (every ordered pair when k ≥ N−1; none on fewer than two nodes).
 *
 * A round lays the groups out in a random order, each group's nodes shuffled,
 * and pairs the node at position p with the one at p + s (mod N), the shift s
 * drawn from [min(M, N−M), max(M, N−M)] with M the largest group: then no
 * pair stays within a group when M ≤ N/2, and otherwise as few as can (every
 * node outside the largest group meets one inside). A pair an earlier round
 * drew already is swapped with another client's server (one of the same group
 * first, which keeps both pairs across groups). Seeded by `seed`; depends on
 * the node names and their groups only; listed in all-order. Cost: O(k·N)
 * expected, plus the groups' O(N log N).
 */
export function coverPairs(groups: LabelGroups, k: number, seed: number): OrderedPairs {
  const { n, members, groupOf } = groups;
  if (n < 2) return { from: new Int32Array(0), to: new Int32Array(0) };
  if (k >= n - 1) return allPairs(Int32Array.from({ length: n }, (_, i) => i));
  const rng = new SeededRandom(`cover:${seed}`);
  const largest = members.reduce((x, g) => Math.max(x, g.length), 0);
  const lo = Math.max(1, Math.min(largest, n - largest));
  const hi = Math.min(n - 1, Math.max(largest, n - largest));
  const seen = new Set<number>();
  const keys = new Float64Array(k * n);
  const server = new Int32Array(n);
  for (let round = 0; round < k; round++) {
    let ok = false;
    for (let attempt = 0; attempt < 20 && !ok; attempt++) {
      const pos = arrangement(groups, rng);
      const s = lo + rng.below(hi - lo + 1);
      for (let p = 0; p < n; p++) server[pos[p]!] = pos[(p + s) % n]!;
      ok = repairRound(server, seen, groupOf, members, rng);
    }
    if (!ok) return circulantCover(groups, k, lo, hi, rng);
    for (let c = 0; c < n; c++) {
      const key = c * n + server[c]!;
      seen.add(key);
      keys[round * n + c] = key;
    }
  }
  return fromKeys(keys, n);
}

/** The groups in a random order, each one's members shuffled: position → universe index. */
function arrangement(groups: LabelGroups, rng: SeededRandom): Int32Array {
  const order = shuffle(Int32Array.from(groups.members.keys()), rng);
  const pos = new Int32Array(groups.n);
  let at = 0;
  for (const g of order) {
    const start = at;
    pos.set(groups.members[g]!, start);
    at += groups.members[g]!.length;
    shuffle(pos.subarray(start, at), rng);
  }
  return pos;
}

/** Fisher–Yates, in place. */
function shuffle(a: Int32Array, rng: SeededRandom): Int32Array {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

/**
 * Swap servers between clients of one round until none of its pairs is in
 * `seen` (an earlier round's), never making a pair within a group out of one
 * across groups unless nothing else works. False when some pair cannot be
 * fixed (tiny clusters with k close to N−1): the caller draws the round again.
 */
function repairRound(server: Int32Array, seen: Set<number>, groupOf: Int32Array, members: Int32Array[], rng: SeededRandom): boolean {
  const n = server.length;
  if (seen.size === 0) return true;
  const cross = (c: number, t: number): number => (groupOf[c] !== groupOf[t] ? 1 : 0);
  const fits = (c: number, q: number, keepCross: boolean): boolean => {
    const sc = server[c]!;
    const sq = server[q]!;
    if (q === c || sq === c || sc === q) return false;
    if (seen.has(c * n + sq) || seen.has(q * n + sc)) return false;
    return !keepCross || cross(c, sq) + cross(q, sc) >= cross(c, sc) + cross(q, sq);
  };
  for (let c = 0; c < n; c++) {
    if (!seen.has(c * n + server[c]!)) continue;
    const own = members[groupOf[c]!]!;
    let q = -1;
    for (let t = 0; t < 16 && q < 0; t++) {
      const x = own[rng.below(own.length)]!;
      if (fits(c, x, true)) q = x;
    }
    for (let t = 0; t < 16 && q < 0; t++) {
      const x = rng.below(n);
      if (fits(c, x, true)) q = x;
    }
    for (const keepCross of [true, false]) {
      const start = rng.below(n);
      for (let t = 0; t < n && q < 0; t++) if (fits(c, (start + t) % n, keepCross)) q = (start + t) % n;
    }
    if (q < 0) return false;
    const t = server[c]!;
    server[c] = server[q]!;
    server[q] = t;
  }
  return true;
}

/**
 * The fallback when rounds cannot be repaired (tiny clusters): one
 * arrangement, k distinct shifts (those in [lo, hi] first), so the pairs are
 * distinct by construction.
 */
function circulantCover(groups: LabelGroups, k: number, lo: number, hi: number, rng: SeededRandom): OrderedPairs {
  const n = groups.n;
  const pos = arrangement(groups, rng);
  const preferred = shuffle(
    Int32Array.from({ length: hi - lo + 1 }, (_, i) => lo + i),
    rng,
  );
  const others = shuffle(
    Int32Array.from({ length: n - 1 }, (_, i) => i + 1).filter((s) => s < lo || s > hi),
    rng,
  );
  const shifts = [...preferred, ...others].slice(0, k);
  const keys = new Float64Array(k * n);
  shifts.forEach((s, r) => {
    for (let p = 0; p < n; p++) keys[r * n + p] = pos[p]! * n + pos[(p + s) % n]!;
  });
  return fromKeys(keys, n);
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
