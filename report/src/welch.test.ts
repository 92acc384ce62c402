import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { welch, type WelchResult, type WelchTested } from "./welch.js";

function tested(r: WelchResult): WelchTested {
  if (!r.tested) throw new Error(`expected a test, got: ${r.reason}`);
  return r;
}

// Closed forms of Student's t for small df (so the reference values below do
// not depend on the library under test): CDFs and the 97.5 % quantiles.
const cdf1 = (t: number): number => 0.5 + Math.atan(t) / Math.PI;
const cdf2 = (t: number): number => 0.5 + t / (2 * Math.sqrt(2 + t * t));
const cdf4 = (t: number): number => {
  const u = 1 + (t * t) / 4;
  return 0.5 + (3 / 8) * (t / Math.sqrt(u)) * (1 - (t * t) / (12 * u));
};
const q975 = {
  1: Math.tan(Math.PI * 0.475),
  2: 0.95 / Math.sqrt(2 * 0.975 * 0.025),
  4: 2 * Math.sqrt(Math.cos(Math.acos(Math.sqrt(4 * 0.975 * 0.025)) / 3) / Math.sqrt(4 * 0.975 * 0.025) - 1),
};

describe("welch: reference values", () => {
  test.each([
    // A, B, diff, se, df, t, p (closed-form CDF)
    { a: [1, 2, 3], b: [4, 5, 6], diff: 3, se: Math.sqrt(2 / 3), df: 4, cdf: cdf4, q: q975[4] },
    { a: [0, 2], b: [3, 5], diff: 3, se: Math.SQRT2, df: 2, cdf: cdf2, q: q975[2] },
    // B has no spread: df collapses to nA − 1 = 1 (Cauchy).
    { a: [0, 2], b: [5, 5, 5], diff: 4, se: 1, df: 1, cdf: cdf1, q: q975[1] },
  ])("A=$a B=$b: df $df", ({ a, b, diff, se, df, cdf, q }) => {
    const r = tested(welch(a, b));
    const t = diff / se;
    expect(r.diff).toBeCloseTo(diff, 12);
    expect(r.se).toBeCloseTo(se, 12);
    expect(r.df).toBeCloseTo(df, 10);
    expect(r.t).toBeCloseTo(t, 10);
    expect(r.p).toBeCloseTo(2 * (1 - cdf(t)), 9);
    expect(r.ci95.low).toBeCloseTo(diff - q * se, 8);
    expect(r.ci95.high).toBeCloseTo(diff + q * se, 8);
    expect(r.exact).toBe(false);
  });

  test("the closed forms agree with scipy for the first case (t = 3.6742, p = 0.021312)", () => {
    const r = tested(welch([1, 2, 3], [4, 5, 6]));
    expect(r.t).toBeCloseTo(3.6742346141747673, 12);
    expect(r.p).toBeCloseTo(0.021311641128756713, 10);
    expect((r.ci95.high - r.diff) / r.se).toBeCloseTo(q975[4], 10);
  });

  test("unequal n and variances, fractional df (scipy.stats.ttest_ind(B, A, equal_var=False))", () => {
    const r = tested(welch([18.2, 17.9, 19.5], [20.1, 22.3, 19.8, 21.5, 23.0]));
    expect(r.diff).toBeCloseTo(21.34 - 55.6 / 3, 12);
    expect(r.t).toBeCloseTo(3.559561675585981, 9);
    expect(r.df).toBeCloseTo(5.920903349420962, 9);
    expect(r.p).toBeCloseTo(0.012202464385380595, 8);
    expect(r.ci95.low).toBeCloseTo(0.8710445171670131, 7);
    expect(r.ci95.high).toBeCloseTo(4.742288816166324, 7);
  });
});

describe("welch: edge cases", () => {
  test("identical samples: no difference, p = 1", () => {
    const xs = [941.2e6, 939.8e6, 943.1e6];
    const r = tested(welch(xs, [...xs]));
    expect(r.diff).toBe(0);
    expect(r.t).toBe(0);
    expect(r.p).toBeCloseTo(1, 12);
    expect(r.ci95.low).toBeLessThan(0);
    expect(r.ci95.high).toBeGreaterThan(0);
  });

  test("swapping A and B mirrors the difference and keeps p", () => {
    const a = [10, 12, 11, 13];
    const b = [14, 15, 19];
    const ab = tested(welch(a, b));
    const ba = tested(welch(b, a));
    expect(ba.diff).toBeCloseTo(-ab.diff, 12);
    expect(ba.p).toBeCloseTo(ab.p, 12);
    expect(ba.df).toBeCloseTo(ab.df, 12);
    expect(ba.ci95.low).toBeCloseTo(-ab.ci95.high, 12);
    expect(ba.ci95.high).toBeCloseTo(-ab.ci95.low, 12);
  });

  test("zero variance on both sides, equal means: exact, p = 1", () => {
    const r = tested(welch([0, 0, 0], [0, 0]));
    expect(r).toMatchObject({ exact: true, diff: 0, se: 0, t: 0, p: 1, ci95: { low: 0, high: 0 } });
  });

  test("zero variance on both sides, different means: exact, p = 0", () => {
    const r = tested(welch([5, 5], [6, 6, 6]));
    expect(r).toMatchObject({ exact: true, diff: 1, p: 0, t: Infinity, ci95: { low: 1, high: 1 } });
    expect(tested(welch([6, 6], [5, 5])).t).toBe(-Infinity);
  });

  test.each([
    { a: [1], b: [1, 2], says: "A has 1 measured repetition;" },
    { a: [1, 2], b: [], says: "B has 0 measured repetitions;" },
    { a: [], b: [3], says: "A has 0 measured repetitions and B has 1 measured repetition;" },
  ])("n < 2 ($a vs $b): untested, saying how many are needed", ({ a, b, says }) => {
    const r = welch(a, b);
    expect(r.tested).toBe(false);
    if (r.tested) return;
    expect(r.reason).toContain(says);
    expect(r.reason).toContain("at least 2 on each side");
    expect(r).toMatchObject({ nA: a.length, nB: b.length });
  });

  test("non-finite values throw", () => {
    expect(() => welch([1, Number.NaN], [1, 2])).toThrow(/sample A/);
    expect(() => welch([1, 2], [Infinity, 2])).toThrow(/sample B/);
  });
});

describe("welch: properties", () => {
  const sample = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 2, maxLength: 8 });

  test("the CI contains the observed difference, and excludes 0 exactly when p < 0.05", () => {
    fc.assert(
      fc.property(sample, sample, (a, b) => {
        const r = tested(welch(a, b));
        expect(r.ci95.low).toBeLessThanOrEqual(r.diff);
        expect(r.ci95.high).toBeGreaterThanOrEqual(r.diff);
        expect(r.p).toBeGreaterThanOrEqual(0);
        expect(r.p).toBeLessThanOrEqual(1);
        // Skip the knife edge where rounding decides either way.
        if (Math.abs(r.p - 0.05) < 1e-9) return;
        const excludesZero = r.ci95.low > 0 || r.ci95.high < 0;
        expect(excludesZero).toBe(r.p < 0.05);
      }),
      { numRuns: 500 },
    );
  });

  test("shifting both samples by the same amount changes nothing but the means", () => {
    fc.assert(
      fc.property(sample, sample, fc.integer({ min: -1000, max: 1000 }), (a, b, k) => {
        const r = tested(welch(a, b));
        const s = tested(
          welch(
            a.map((x) => x + k),
            b.map((x) => x + k),
          ),
        );
        expect(s.diff).toBeCloseTo(r.diff, 3);
        if (r.se > 1e-3) expect(s.p).toBeCloseTo(r.p, 3);
      }),
      { numRuns: 200 },
    );
  });
});
