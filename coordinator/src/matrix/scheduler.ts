/**
 * Orders planned cases into rounds that run one after another. Within a
 * round, cases run at the same time, so they must not share a node: a node's
 * NIC and CPU belong to one test at a time (both its host and pod agents). A
 * case occupies its client node and its server node (one node when they are
 * the same); an external agent's node (the name it registered, e.g. "ext")
 * is a node of its own. Pure and deterministic.
 *
 * Packing: cases are ordered by the circle method's edge colouring of the
 * complete graph over the nodes involved (round-robin tournament), then
 * placed first-fit. For a full mesh of N nodes (N even) and concurrency ≥
 * N/2 that gives the optimum: N(N−1)/2 unordered pairs in N−1 rounds, and
 * `pairs: all` (ordered: A→B and B→A are two cases on the same two nodes) in
 * 2(N−1) rounds per repetition; N odd needs N and 2N rounds.
 *
 * Repetitions are interleaved: every case's repetition r is scheduled before
 * any case's repetition r+1, so slow drift (heat, background traffic) spreads
 * over all cases instead of biasing the ones that happen to run last. Each
 * repetition reuses the same packing with its round order rotated by r, so a
 * case does not always run at the same point of a repetition.
 */
import { naturalCompare } from "../../../common/src/natural-compare.js";
import { NumberSet } from "./number-set.js";
import type { PlannedCase } from "./planner-types.js";
import { runSteps, STEP_MASK, type Steps } from "./steps.js";

/** One run of one case. */
export interface ScheduledRun {
  caseId: string;
  /** 0-based repetition index. */
  repetition: number;
}

/** Runs that execute at the same time; pairwise node-disjoint. */
export type Round = ScheduledRun[];

/** Scheduling limits. */
export interface ScheduleOptions {
  /** At most this many cases per round (≥ 1). */
  concurrency: number;
  /** Runs per case (≥ 1). */
  repetitions: number;
}

/** What the scheduler needs of a case. Ids must be unique (plan() guarantees it); they are copied into the rounds, not checked. */
export type SchedulableCase = Pick<PlannedCase, "id" | "clientNode" | "serverNode">;

/** Schedule every (case, repetition) exactly once; see the module comment for the rules. */
export function schedule(cases: readonly SchedulableCase[], opts: ScheduleOptions): Round[] {
  return runSteps(scheduleSteps(cases, opts));
}

/** `schedule` as steps: it yields every few thousand runs, so a caller can let the event loop in and stop it (`runStepsAsync`). */
export function* scheduleSteps(cases: readonly SchedulableCase[], opts: ScheduleOptions): Steps<Round[]> {
  const { concurrency, repetitions } = opts;
  if (!Number.isInteger(repetitions) || repetitions < 1) throw new RangeError(`schedule: repetitions must be a whole number ≥ 1, got ${repetitions}`);
  const packed = yield* packSteps(cases, concurrency);
  const R = packed.length;
  const out = new Array<Round>(R * repetitions);
  let work = 0;
  for (let rep = 0; rep < repetitions; rep++) {
    for (let k = 0; k < R; k++) {
      if ((++work & STEP_MASK) === 0) yield;
      const members = packed[(k + rep) % R]!;
      const round: Round = new Array<ScheduledRun>(members.length);
      for (let j = 0; j < members.length; j++) round[j] = { caseId: cases[members[j]!]!.id, repetition: rep };
      out[rep * R + k] = round;
    }
  }
  return out;
}

/**
 * One repetition's rounds as indices into `cases`: node-disjoint, at most
 * `concurrency` per round, each case exactly once, indices ascending within
 * a round.
 */
export function pack(cases: readonly SchedulableCase[], concurrency: number): number[][] {
  return runSteps(packSteps(cases, concurrency));
}

/** `pack` as steps (see `scheduleSteps`). */
function* packSteps(cases: readonly SchedulableCase[], concurrency: number): Steps<number[][]> {
  checkConcurrency(concurrency);
  if (cases.length === 0) return [];
  const { u, v, nodes } = nodeIndices(cases);
  yield;
  return yield* packIndices(u, v, nodes, concurrency);
}

function checkConcurrency(concurrency: number): void {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`schedule: concurrency must be a whole number ≥ 1, got ${concurrency}`);
}

/**
 * One repetition's packing of ordered node pairs u[i] → v[i] (node numbers
 * below `nodes`), as compact rounds: round r holds pair indices
 * members[start[r] .. start[r+1]), ascending. The streaming plan packs a
 * drawn pair list (ring, sample, …) once with this and reuses it for every
 * scenario and combination over those pairs.
 */
export function packPairs(u: Int32Array, v: Int32Array, nodes: number, concurrency: number): { start: Int32Array; members: Int32Array } {
  checkConcurrency(concurrency);
  const rounds = runSteps(packIndices(u, v, nodes, concurrency));
  const start = new Int32Array(rounds.length + 1);
  const members = new Int32Array(u.length);
  let n = 0;
  rounds.forEach((r, i) => {
    start[i] = n;
    for (const m of r) members[n++] = m;
  });
  start[rounds.length] = n;
  return { start, members };
}

/** The packing itself, over node numbers: circle order, then first fit (see the module comment). */
function* packIndices(u: Int32Array, v: Int32Array, nodes: number, concurrency: number): Steps<number[][]> {
  const n = u.length;
  if (n === 0) return [];
  const order = circleOrder(u, v, nodes);
  yield;

  // First-fit never goes past ⌈n / concurrency⌉ + 2·(max cases per node) rounds: every round
  // before a case's is full or holds another case of one of its two nodes.
  const bound = Math.ceil(n / concurrency) + 2 * maxLoad(u, v, nodes) + 1;
  const busy = nodes * bound <= DENSE_BITS ? new BusyBits(nodes, bound) : new BusyMarks(nodes, 2 * n);
  const firstFree = new Int32Array(nodes);
  const size = new Int32Array(bound + 1);
  const rounds: number[][] = [];
  let firstOpen = 0;
  for (let k = 0; k < n; k++) {
    if ((k & STEP_MASK) === STEP_MASK) yield;
    const i = order[k]!;
    const a = u[i]!;
    const b = v[i]!;
    let r = Math.max(firstFree[a]!, firstFree[b]!, firstOpen);
    while (size[r]! >= concurrency || busy.has(a, r) || busy.has(b, r)) r++;
    (rounds[r] ??= []).push(i);
    size[r]!++;
    busy.add(a, r);
    busy.add(b, r);
    while (busy.has(a, firstFree[a]!)) firstFree[a]!++;
    while (busy.has(b, firstFree[b]!)) firstFree[b]!++;
    while (size[firstOpen]! >= concurrency) firstOpen++;
  }
  // First-fit never leaves a round empty below the last one it used, but keep the output dense regardless.
  return rounds.filter((r) => r !== undefined).map((r) => r.sort((x, y) => x - y));
}

/** Above this many (node, round) cells the busy marks go to a hash set instead of a bit grid: 32 MiB. */
const DENSE_BITS = 2 ** 28;

/** Which (node, round) cells are taken. */
interface Busy {
  has(node: number, round: number): boolean;
  add(node: number, round: number): void;
}

/** A bit per (node, round): compact and cache-friendly while nodes × rounds is small. */
class BusyBits implements Busy {
  private readonly words: Uint32Array;
  private readonly stride: number;

  constructor(nodes: number, rounds: number) {
    this.stride = Math.ceil((rounds + 1) / 32);
    this.words = new Uint32Array(nodes * this.stride);
  }

  has(node: number, round: number): boolean {
    return ((this.words[node * this.stride + (round >>> 5)]! >>> (round & 31)) & 1) === 1;
  }

  add(node: number, round: number): void {
    this.words[node * this.stride + (round >>> 5)]! |= 1 << (round & 31);
  }
}

/** (node, round) marks in a hash set: memory follows the cases, not nodes × rounds. */
class BusyMarks implements Busy {
  private readonly set: NumberSet;

  constructor(
    private readonly nodes: number,
    maxMarks: number,
  ) {
    this.set = new NumberSet(maxMarks);
  }

  has(node: number, round: number): boolean {
    return this.set.has(round * this.nodes + node);
  }

  add(node: number, round: number): void {
    this.set.add(round * this.nodes + node);
  }
}

/** The most cases any one node takes part in. */
function maxLoad(u: Int32Array, v: Int32Array, nodes: number): number {
  const load = new Int32Array(nodes);
  let max = 0;
  for (let i = 0; i < u.length; i++) {
    const a = u[i]!;
    const b = v[i]!;
    max = Math.max(max, ++load[a]!);
    if (b !== a) max = Math.max(max, ++load[b]!);
  }
  return max;
}

/**
 * A lower bound on rounds per repetition: the busiest node's case count, and
 * ⌈cases / concurrency⌉. `pack` meets it for full meshes of an even node
 * count.
 */
export function roundsLowerBound(cases: readonly SchedulableCase[], concurrency: number): number {
  const load = new Map<string, number>();
  for (const c of cases) {
    load.set(c.clientNode, (load.get(c.clientNode) ?? 0) + 1);
    if (c.serverNode !== c.clientNode) load.set(c.serverNode, (load.get(c.serverNode) ?? 0) + 1);
  }
  return Math.max(0, ...load.values(), Math.ceil(cases.length / concurrency));
}

/** Client and server node of every case as small integers (natural name order). */
function nodeIndices(cases: readonly SchedulableCase[]): { u: Int32Array; v: Int32Array; nodes: number } {
  const seen = new Set<string>();
  for (const c of cases) {
    seen.add(c.clientNode);
    seen.add(c.serverNode);
  }
  const index = new Map([...seen].sort(naturalCompare).map((name, i) => [name, i]));
  const u = new Int32Array(cases.length);
  const v = new Int32Array(cases.length);
  for (let i = 0; i < cases.length; i++) {
    u[i] = index.get(cases[i]!.clientNode)!;
    v[i] = index.get(cases[i]!.serverNode)!;
  }
  return { u, v, nodes: index.size };
}

/**
 * Case indices sorted by (layer, colour, input position). Colour: the round
 * of the circle-method tournament over the nodes (node count rounded up to
 * even, colours = that − 1) in which the case's two nodes meet. Layer: how
 * many earlier cases share the same two nodes, so repeated pairs (A→B then
 * B→A, more tools or parameters) fill later copies of the tournament.
 */
function circleOrder(u: Int32Array, v: Int32Array, nodes: number): Int32Array {
  const n = u.length;
  const even = nodes % 2 === 0 ? nodes : nodes + 1;
  const colours = Math.max(1, even - 1);
  const fixed = even - 1; // the node that stays put in the circle method
  // How many cases so far per unordered node pair: dense when the pair grid is small, else a map.
  const dense = even * even <= 1 << 24 ? new Int32Array(even * even) : undefined;
  const sparse = dense ? undefined : new Map<number, number>();
  const keys = new Float64Array(n);
  let maxKey = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.min(u[i]!, v[i]!);
    const b = Math.max(u[i]!, v[i]!);
    const pairKey = a * even + b;
    let layer: number;
    if (dense) layer = dense[pairKey]!++;
    else {
      layer = sparse!.get(pairKey) ?? 0;
      sparse!.set(pairKey, layer + 1);
    }
    // A same-node case (a = b) takes the colour in which its node would meet the fixed node.
    const colour = a === b ? (a === fixed ? 0 : (2 * a) % colours) : b === fixed ? (2 * a) % colours : (a + b) % colours;
    const key = layer * colours + colour;
    keys[i] = key;
    if (key > maxKey) maxKey = key;
  }
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (maxKey > 4 * n + 1024) return order.sort((x, y) => keys[x]! - keys[y]! || x - y);
  // Counting sort: stable, so input position breaks ties.
  const start = new Int32Array(maxKey + 2);
  for (let i = 0; i < n; i++) start[keys[i]! + 1]!++;
  for (let k = 1; k < start.length; k++) start[k]! += start[k - 1]!;
  for (let i = 0; i < n; i++) order[start[keys[i]!]!++] = i;
  return order;
}
