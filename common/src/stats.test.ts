import { describe, expect, test } from "vitest";
import { describe as summarize, flags, max, mean, percentile, ratio, sampleVariance, studentT, sum, type FlagContext, type Summary } from "./stats.js";

describe("describe (summary over repetitions)", () => {
  test("no values → undefined (a failure is not a zero)", () => {
    expect(summarize([])).toBeUndefined();
  });

  test("one value: no spread, no interval", () => {
    expect(summarize([955e6])).toEqual<Summary>({
      n: 1,
      mean: 955e6,
      median: 955e6,
      p90: 955e6,
      min: 955e6,
      max: 955e6,
      stddev: undefined,
      cvPercent: undefined,
      ci95: undefined,
    });
  });

  test.each([
    // values, mean, median, p90, sample stddev, cv %, ci95 half-width (t × s / √n)
    [[1, 2, 3], 2, 2, 2.8, 1, 50, 4.3027 / Math.sqrt(3)],
    [[2, 4, 4, 4, 5, 5, 7, 9], 5, 4.5, 7.6, Math.sqrt(32 / 7), (Math.sqrt(32 / 7) / 5) * 100, (2.3646 * Math.sqrt(32 / 7)) / Math.sqrt(8)],
    [[10, 10, 10, 10], 10, 10, 10, 0, 0, 0],
    [[956e6, 955e6, 957e6], 956e6, 956e6, 956.8e6, 1e6, (1e6 / 956e6) * 100, (4.3027 * 1e6) / Math.sqrt(3)],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5.5, 5.5, 9.1, Math.sqrt(55 / 6), (Math.sqrt(55 / 6) / 5.5) * 100, (2.2622 * Math.sqrt(55 / 6)) / Math.sqrt(10)],
  ])("%j", (values, mean, median, p90, stddev, cv, half) => {
    const s = summarize(values)!;
    expect(s.n).toBe(values.length);
    expect(s.mean).toBeCloseTo(mean, 6);
    expect(s.median).toBeCloseTo(median, 6);
    expect(s.p90).toBeCloseTo(p90, 6);
    expect(s.min).toBe(Math.min(...values));
    expect(s.max).toBe(Math.max(...values));
    expect(s.stddev).toBeCloseTo(stddev, 6);
    expect(s.cvPercent).toBeCloseTo(cv, 6);
    // The half-widths above use the printed 4-decimal t table: equal to within its rounding.
    expect(s.ci95!.high - s.mean).toBeCloseTo(s.mean - s.ci95!.low, 6);
    if (half === 0) expect(s.ci95!.high).toBe(s.mean);
    else expect(Math.abs((s.ci95!.high - s.mean) / half - 1)).toBeLessThan(3e-5);
  });

  test("order does not matter", () => {
    expect(summarize([3, 1, 2])).toEqual(summarize([1, 2, 3]));
  });

  test("mean 0: no coefficient of variation", () => {
    expect(summarize([-1, 1])!.cvPercent).toBeUndefined();
  });

  test.each([[NaN], [Infinity]])("%d is rejected", (bad) => {
    expect(() => summarize([1, bad])).toThrow(RangeError);
  });
});

describe("studentT.quantile(0.975, df): two-sided 95 % critical values", () => {
  // Reference values: scipy.stats.t.ppf(0.975, df) (the printed tables for df ≤ 30).
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
    expect(studentT.quantile(0.975, df)).toBeCloseTo(t, 4);
  });

  test("the textbook values: df=2 → 4.303, df=9 → 2.262, df→∞ → 1.96; the CDF inverts it", () => {
    expect(studentT.quantile(0.975, 2).toFixed(3)).toBe("4.303");
    expect(studentT.quantile(0.975, 9).toFixed(3)).toBe("2.262");
    expect(studentT.quantile(0.975, 1e9)).toBeCloseTo(1.959963984540054, 8);
    for (const df of [1, 2.5, 7, 42]) expect(studentT.cdf(studentT.quantile(0.975, df), df)).toBeCloseTo(0.975, 12);
  });

  test("falls monotonically with df", () => {
    let prev = Infinity;
    for (let df = 1; df <= 500; df++) {
      const t = studentT.quantile(0.975, df);
      expect(t).toBeLessThan(prev);
      prev = t;
    }
  });

  test.each([[0], [-1], [NaN]])("df=%d has no quantile (NaN, never a number)", (df) => {
    expect(studentT.quantile(0.975, df)).toBeNaN();
  });
});

describe("sum, mean, max, percentile, sampleVariance", () => {
  test("empty lists", () => {
    expect([sum([]), mean([]), max([]), percentile([], 50), sampleVariance([])]).toEqual([0, undefined, undefined, undefined, undefined]);
  });

  test("values", () => {
    expect(sum([1, 2, 3.5])).toBe(6.5);
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(max([-3, -1, -2])).toBe(-1);
    expect(max(Array.from({ length: 300_000 }, (_, i) => i))).toBe(299_999); // no spread, no stack overflow
    expect(sampleVariance([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(32 / 7, 12);
    expect(sampleVariance([5])).toBeUndefined();
  });

  // numpy.percentile(values, p) (default method "linear").
  test.each([
    [[7], 99, 7],
    [[1, 2, 3, 4], 50, 2.5],
    [[10, 20, 30, 40, 50], 90, 46],
    [[10, 20, 30, 40, 50], 0, 10],
    [[10, 20, 30, 40, 50], 100, 50],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9.1],
  ])("percentile(%j, %d) = %d", (values, p, want) => {
    expect(percentile(values, p)).toBeCloseTo(want, 12);
  });
});

describe("ratio", () => {
  test.each([
    [994e6, 1e9, 0.994],
    [5, 10, 0.5],
    [0, 10, 0],
    [10, 0, undefined],
    [10, -1, undefined],
    [undefined, 10, undefined],
    [10, undefined, undefined],
    [NaN, 10, undefined],
  ])("ratio(%d, %d) = %d", (value, baseline, r) => {
    expect(ratio(value, baseline)).toBe(r);
  });
});

describe("flags", () => {
  const base: FlagContext = { protocol: "tcp", thresholds: { cvPercent: 10, udpLossPercent: 1 }, baseline: "present" };
  const steady = summarize([950e6, 955e6, 960e6])!; // cv ≈ 0.5 %
  const noisy = summarize([500e6, 900e6, 950e6])!; // cv ≈ 31 %

  test.each<[string, Summary | undefined, Partial<FlagContext>, string[]]>([
    ["clean", steady, {}, []],
    ["noisy", noisy, {}, ["cv>10%"]],
    ["noisy under a looser threshold", noisy, { thresholds: { cvPercent: 40, udpLossPercent: 1 } }, []],
    ["fractional threshold in the flag", steady, { thresholds: { cvPercent: 0.25, udpLossPercent: 1 } }, ["cv>0.25%"]],
    ["UDP loss", steady, { protocol: "udp", lossPercent: 2.5 }, ["udp-loss>1%"]],
    ["UDP loss at the threshold is fine", steady, { protocol: "udp", lossPercent: 1 }, []],
    ["loss on TCP is not a UDP flag", steady, { lossPercent: 5 }, []],
    ["retransmits", steady, { retransmits: 12 }, ["retransmits"]],
    ["no retransmits", steady, { retransmits: 0 }, []],
    ["retransmits on UDP do not exist", steady, { protocol: "udp", retransmits: 3 }, []],
    ["above the NIC speed: impossible", steady, { nicSpeedBps: 955e6 }, ["above-nic-speed"]],
    ["below the NIC speed", steady, { nicSpeedBps: 1e9 }, []],
    ["no baseline", steady, { baseline: "missing" }, ["no-baseline"]],
    ["a baseline needs none", steady, { baseline: "is-baseline" }, []],
    ["no summary: only the context flags", undefined, { baseline: "missing", nicSpeedBps: 1 }, ["no-baseline"]],
    ["everything, in order", noisy, { protocol: "udp", lossPercent: 3, nicSpeedBps: 900e6, baseline: "missing" }, ["cv>10%", "udp-loss>1%", "above-nic-speed", "no-baseline"]],
  ])("%s", (_what, summary, ctx, expected) => {
    expect(flags(summary, { ...base, ...ctx })).toEqual(expected);
  });
});
