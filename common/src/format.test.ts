import { runInNewContext } from "node:vm";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { browserFunction, formatBitrate, formatMicros, formatPercent } from "./format.js";

describe("format", () => {
  test.each([
    [941.2e6, "941.2 Mbit/s"],
    [9.41e9, "9.41 Gbit/s"],
    [12.5e3, "12.50 kbit/s"],
    [2.5e12, "2.50 Tbit/s"],
    [999, "999 bit/s"],
    [-5e6, "-5.00 Mbit/s"],
    [undefined, "-"],
    [null, "-"],
    [NaN, "-"],
  ])("formatBitrate(%s)", (bps, want) => expect(formatBitrate(bps)).toBe(want));
  test("a page's own mark for a missing value", () => expect(formatBitrate(undefined, "–")).toBe("–"));
  test.each([
    [42.25, "42.3 µs"],
    [1234, "1.23 ms"],
    [undefined, "-"],
  ])("formatMicros(%s)", (us, want) => expect(formatMicros(us)).toBe(want));
  test.each([
    [12.345, "12.35 %"],
    [undefined, "-"],
  ])("formatPercent(%s)", (p, want) => expect(formatPercent(p)).toBe(want));
});

describe("browserFunction: the source a page runs", () => {
  // Evaluated in a bare context: no module scope, no helpers a transform might have added.
  const inPage = runInNewContext(`(${browserFunction(formatBitrate)})`) as typeof formatBitrate;

  test("is formatBitrate's own source", () => {
    expect(browserFunction(formatBitrate)).toBe(formatBitrate.toString());
    expect(browserFunction(formatBitrate)).toMatch(/^function formatBitrate\(/);
  });

  test("gives what formatBitrate gives, for any value", () => {
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.constantFrom(undefined, null, 0, 1e3, 1e6, 1e9, 1e12, 999.999, 99.995e6)), fc.constantFrom("-", "–"), (v, missing) => {
        expect(inPage(v, missing)).toBe(formatBitrate(v, missing));
      }),
      { numRuns: 2000 },
    );
  });

  test("refuses what is not a plain function declaration", () => {
    expect(() => browserFunction((x: number) => x)).toThrow(/not a plain function declaration/);
  });
});
