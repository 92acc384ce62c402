import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { allPairs } from "./pairs.js";
import { pack, roundsLowerBound, schedule, type SchedulableCase } from "./scheduler.js";

/** Random cases over up to 10 nodes (same-node cases included) with unique ids. */
const casesArb: fc.Arbitrary<SchedulableCase[]> = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 })), { maxLength: 80 })
  .map((edges) => edges.map(([a, b], i) => ({ id: `c${i}`, clientNode: a === 9 ? "ext" : `n${a}`, serverNode: `n${b}` })));

const optsArb = fc.record({ concurrency: fc.integer({ min: 1, max: 6 }), repetitions: fc.integer({ min: 1, max: 4 }) });

function mesh(n: number, ordered: boolean): SchedulableCase[] {
  const { from, to } = allPairs(Int32Array.from({ length: n }, (_, i) => i));
  const out: SchedulableCase[] = [];
  from.forEach((a, i) => {
    if (ordered || a < to[i]!) out.push({ id: `${a}→${to[i]}`, clientNode: `n${a}`, serverNode: `n${to[i]}` });
  });
  return out;
}

describe("scheduler properties", () => {
  test("no node is in two cases of one round; at most `concurrency` cases per round", () => {
    fc.assert(
      fc.property(casesArb, optsArb, (cases, opts) => {
        const byId = new Map(cases.map((c) => [c.id, c]));
        for (const round of schedule(cases, opts)) {
          expect(round.length).toBeGreaterThan(0);
          expect(round.length).toBeLessThanOrEqual(opts.concurrency);
          const nodes = round.flatMap(({ caseId }) => {
            const c = byId.get(caseId)!;
            return c.clientNode === c.serverNode ? [c.clientNode] : [c.clientNode, c.serverNode];
          });
          expect(new Set(nodes).size).toBe(nodes.length);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("every (case, repetition) is scheduled exactly once", () => {
    fc.assert(
      fc.property(casesArb, optsArb, (cases, opts) => {
        const seen = schedule(cases, opts).flatMap((r) => r.map((x) => `${x.caseId}#${x.repetition}`));
        const expected = cases.flatMap((c) => Array.from({ length: opts.repetitions }, (_, r) => `${c.id}#${r}`));
        expect([...seen].sort()).toEqual([...expected].sort());
      }),
      { numRuns: 300 },
    );
  });

  test("repetition r of every case comes before repetition r+1 of any case", () => {
    fc.assert(
      fc.property(casesArb, optsArb, (cases, opts) => {
        const reps = schedule(cases, opts).map((round) => {
          const rs = new Set(round.map((x) => x.repetition));
          expect(rs.size).toBe(1); // a round never mixes repetitions
          return [...rs][0]!;
        });
        for (let i = 1; i < reps.length; i++) expect(reps[i]!).toBeGreaterThanOrEqual(reps[i - 1]!);
      }),
      { numRuns: 300 },
    );
  });

  test("deterministic, and never fewer rounds than the lower bound", () => {
    fc.assert(
      fc.property(casesArb, optsArb, (cases, opts) => {
        const rounds = schedule(cases, opts);
        expect(schedule(cases, opts)).toEqual(rounds);
        expect(rounds.length).toBe(pack(cases, opts.concurrency).length * opts.repetitions);
        expect(pack(cases, opts.concurrency).length).toBeGreaterThanOrEqual(roundsLowerBound(cases, opts.concurrency));
      }),
      { numRuns: 200 },
    );
  });

  test("full mesh, N even (2..20), concurrency ≥ N/2: N−1 rounds unordered, 2(N−1) ordered, per repetition", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }).map((k) => 2 * k),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        (n, extra, repetitions) => {
          const concurrency = n / 2 + extra;
          expect(schedule(mesh(n, false), { concurrency, repetitions })).toHaveLength((n - 1) * repetitions);
          expect(schedule(mesh(n, true), { concurrency, repetitions })).toHaveLength(2 * (n - 1) * repetitions);
        },
      ),
      { numRuns: 60 },
    );
  });

  test("the full mesh stays optimal in whatever order its cases come", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }).chain((k) => fc.shuffledSubarray(mesh(2 * k, false), { minLength: k * (2 * k - 1), maxLength: k * (2 * k - 1) })),
        (cases) => {
          const n = new Set(cases.flatMap((c) => [c.clientNode, c.serverNode])).size;
          expect(pack(cases, n / 2)).toHaveLength(n - 1);
        },
      ),
      { numRuns: 60 },
    );
  });
});
