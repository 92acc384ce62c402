import { describe, expect, test } from "vitest";
import { formatBitrate, formatMicros, parseBitrate, parseSize } from "./units.js";

describe("parseBitrate", () => {
  test.each([
    ["100M", 100e6],
    ["1G", 1e9],
    ["1gbit", 1e9],
    ["1.5G", 1.5e9],
    ["500k", 500e3],
    ["2000000", 2e6],
    ["10Gbps", 10e9],
  ])("%s → %d bit/s", (text, want) => expect(parseBitrate(text)).toBe(want));
  test.each(["", "fast", "-1M", "1X"])("rejects %j with a fix", (text) => {
    expect(() => parseBitrate(text)).toThrow(/e\.g\. 100M/);
  });
});

describe("parseSize", () => {
  test.each([
    ["1400", 1400],
    ["128K", 131072],
    ["1M", 1048576],
  ])("%s → %d B", (text, want) => expect(parseSize(text)).toBe(want));
  test("rejects junk", () => expect(() => parseSize("1.5K")).toThrow(/invalid size/));
});

describe("format", () => {
  test.each([
    [941.2e6, "941.2 Mbit/s"],
    [9.41e9, "9.41 Gbit/s"],
    [12.5e3, "12.50 kbit/s"],
    [undefined, "-"],
  ])("formatBitrate(%s)", (bps, want) => expect(formatBitrate(bps)).toBe(want));
  test.each([
    [42.25, "42.3 µs"],
    [1234, "1.23 ms"],
  ])("formatMicros(%s)", (us, want) => expect(formatMicros(us)).toBe(want));
});
