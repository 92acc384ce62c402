import { describe, expect, test } from "vitest";
import { allPairs } from "./pairs.js";
import { pack, roundsLowerBound, schedule, type Round, type SchedulableCase } from "./scheduler.js";

/** Cases from "a→b" strings (id = the string). */
const cases = (...edges: string[]): SchedulableCase[] =>
  edges.map((e) => {
    const [clientNode, serverNode] = e.split("→") as [string, string];
    return { id: e, clientNode, serverNode };
  });

/** A full mesh over n nodes: ordered (every A→B and B→A) or unordered (A→B for A < B only). */
function mesh(n: number, ordered: boolean): SchedulableCase[] {
  const { from, to } = allPairs(Int32Array.from({ length: n }, (_, i) => i));
  const out: SchedulableCase[] = [];
  from.forEach((a, i) => {
    const b = to[i]!;
    if (ordered || a < b) out.push({ id: `n${a}→n${b}`, clientNode: `n${a}`, serverNode: `n${b}` });
  });
  return out;
}

const ids = (rounds: Round[]) => rounds.map((r) => r.map((x) => `${x.caseId}#${x.repetition}`));

describe("schedule", () => {
  test("concurrency 1: one case per round, every case's repetition 0 before any repetition 1", () => {
    const rounds = schedule(cases("a→b", "c→d"), { concurrency: 1, repetitions: 2 });
    expect(ids(rounds)).toEqual([["a→b#0"], ["c→d#0"], ["c→d#1"], ["a→b#1"]]);
  });

  test("disjoint pairs share a round when concurrency allows", () => {
    const rounds = ids(schedule(cases("a→b", "c→d", "b→c"), { concurrency: 2, repetitions: 1 }));
    expect(rounds).toHaveLength(2);
    expect(rounds).toContainEqual(["a→b#0", "c→d#0"]);
    expect(rounds).toContainEqual(["b→c#0"]);
  });

  test("a same-node case occupies one node; an external client counts as a node of its own", () => {
    const rounds = schedule(cases("n1→n1", "n2→n2", "ext→n3", "ext→n1"), { concurrency: 4, repetitions: 1 });
    expect(rounds).toHaveLength(2);
    for (const r of rounds) {
      const busy = r.flatMap((x) => x.caseId.split("→").filter((n, i, a) => a.indexOf(n) === i));
      expect(new Set(busy).size).toBe(busy.length);
    }
  });

  test("repetitions rotate the round order so a case does not always run at the same point", () => {
    const firsts = ids(schedule(cases("a→b", "b→c", "c→a"), { concurrency: 1, repetitions: 3 })).map((r) => r[0]!.split("#")[0]);
    const rep0 = firsts.slice(0, 3);
    expect(new Set(rep0).size).toBe(3);
    expect(firsts.slice(3, 6)).toEqual([rep0[1], rep0[2], rep0[0]]);
    expect(firsts.slice(6, 9)).toEqual([rep0[2], rep0[0], rep0[1]]);
  });

  test("no cases, no rounds", () => {
    expect(schedule([], { concurrency: 3, repetitions: 5 })).toEqual([]);
  });

  test.each([
    [{ concurrency: 0, repetitions: 1 }, "concurrency must be a whole number ≥ 1, got 0"],
    [{ concurrency: 1.5, repetitions: 1 }, "concurrency must be a whole number ≥ 1, got 1.5"],
    [{ concurrency: 1, repetitions: 0 }, "repetitions must be a whole number ≥ 1, got 0"],
  ])("%j is rejected", (opts, message) => {
    expect(() => schedule(cases("a→b"), opts)).toThrow(message);
  });
});

describe("full mesh packing (circle method)", () => {
  test.each([
    // [nodes, ordered, rounds per repetition]
    [2, false, 1],
    [4, false, 3],
    [6, false, 5],
    [8, false, 7],
    [20, false, 19],
    [2, true, 2],
    [4, true, 6],
    [10, true, 18],
    [20, true, 38],
    // odd node counts need N rounds per copy of the tournament (one node sits out each round)
    [3, false, 3],
    [5, false, 5],
    [7, true, 14],
  ])("%d nodes, ordered=%s → %d rounds", (n, ordered, expected) => {
    const c = mesh(n, ordered);
    const rounds = pack(c, Math.ceil(n / 2));
    expect(rounds).toHaveLength(expected);
    expect(rounds.flat().sort((a, b) => a - b)).toEqual(c.map((_, i) => i));
  });

  test("limited concurrency: ⌈cases / concurrency⌉ rounds when that dominates", () => {
    const c = mesh(8, false); // 28 pairs, node degree 7
    expect(pack(c, 2)).toHaveLength(14);
    expect(roundsLowerBound(c, 2)).toBe(14);
    expect(roundsLowerBound(c, 4)).toBe(7);
  });
});
