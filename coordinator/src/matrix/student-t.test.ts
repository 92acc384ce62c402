import { describe, expect, test } from "vitest";
import { Z975, tCritical975 } from "./student-t.js";

describe("tCritical975: two-sided 95 % Student-t critical values", () => {
  // Reference values: scipy.stats.t.ppf(0.975, df).
  test.each([
    [1, 12.7062],
    [2, 4.3027],
    [3, 3.1824],
    [4, 2.7764],
    [5, 2.5706],
    [9, 2.2622],
    [10, 2.2281],
    [19, 2.093],
    [29, 2.0452],
    [30, 2.0423],
    [31, 2.03951],
    [40, 2.02108],
    [60, 2.0003],
    [100, 1.98397],
    [120, 1.97993],
    [1000, 1.96234],
  ])("df=%d → %d", (df, t) => {
    expect(tCritical975(df)).toBeCloseTo(t, 4);
  });

  test("the textbook values: df=2 → 4.303, df=9 → 2.262, df→∞ → 1.96", () => {
    expect(tCritical975(2).toFixed(3)).toBe("4.303");
    expect(tCritical975(9).toFixed(3)).toBe("2.262");
    expect(tCritical975(Infinity).toFixed(2)).toBe("1.96");
    expect(tCritical975(1e9)).toBeCloseTo(Z975, 8);
  });

  test("falls monotonically with df", () => {
    let prev = Infinity;
    for (let df = 1; df <= 500; df++) {
      const t = tCritical975(df);
      expect(t).toBeLessThan(prev);
      prev = t;
    }
  });

  test.each([[0], [-1], [NaN], [2.5]])("df=%d is rejected", (df) => {
    expect(() => tCritical975(df)).toThrow(RangeError);
  });
});
