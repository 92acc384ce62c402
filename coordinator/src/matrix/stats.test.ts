import { describe, expect, test } from "vitest";
import { describe as summarize, flags, ratio, type FlagContext, type Summary } from "./stats.js";

describe("describe (summary over repetitions)", () => {
  test("no values → undefined (a failure is not a zero)", () => {
    expect(summarize([])).toBeUndefined();
  });

  test("one value: no spread, no interval", () => {
    expect(summarize([955e6])).toEqual<Summary>({
      n: 1, mean: 955e6, median: 955e6, p90: 955e6, min: 955e6, max: 955e6, stddev: undefined, cvPercent: undefined, ci95: undefined,
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
    expect(s.ci95!.low).toBeCloseTo(mean - half, 3);
    expect(s.ci95!.high).toBeCloseTo(mean + half, 3);
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
    ["everything, in order", noisy, { protocol: "udp", lossPercent: 3, nicSpeedBps: 900e6, baseline: "missing" },
      ["cv>10%", "udp-loss>1%", "above-nic-speed", "no-baseline"]],
  ])("%s", (_what, summary, ctx, expected) => {
    expect(flags(summary, { ...base, ...ctx })).toEqual(expected);
  });
});
