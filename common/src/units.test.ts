import { describe, expect, test } from "vitest";
import { formatBitrateBps, formatDurationS, formatSizeBytes, parseBitrate, parseBitrateBps, parseDuration, parseSize, parseSizeBytes } from "./units.js";

describe("parseSizeBytes: bytes, K/M/G = 1024ⁿ", () => {
  test.each([
    [0, 0],
    [1400, 1400],
    ["1400", 1400],
    ["128K", 131072],
    ["128k", 131072],
    ["64KiB", 65536],
    ["1M", 1048576],
    ["1.5K", 1536],
    ["16M", 16777216],
    [" 8K ", 8192],
  ] as const)("%j → %d", (input, bytes) => {
    expect(parseSizeBytes(input)).toBe(bytes);
  });

  test.each([["-1"], [-1], [1.5], ["0.3K"], ["128X"], ["K"], [""], [null], [true], [[128]], ["1e3"]] as const)("%j is not a size", (input) => {
    expect(parseSizeBytes(input)).toBeUndefined();
  });
});

describe("parseBitrateBps: bits/s, k/M/G/T = 1000ⁿ, the spec's and the CLI's spellings alike", () => {
  test.each([
    ["1G", 1e9],
    ["1gbit", 1e9],
    ["1Gbit/s", 1e9],
    ["1 Gbits/s", 1e9],
    ["10Gbps", 1e10],
    ["500Mb", 5e8],
    ["500M/s", 5e8],
    ["64kb/s", 64000],
    ["1T", 1e12],
    ["1g", 1e9],
    ["500M", 5e8],
    ["100k", 1e5],
    ["2.5G", 2.5e9],
    ["1.1G", 1.1e9],
    ["10Gbit/s", 1e10],
    ["100Mbps", 1e8],
    [1000000, 1e6],
    ["64000", 64000],
  ] as const)("%j → %d", (input, bps) => {
    expect(parseBitrateBps(input)).toBe(bps);
  });

  test.each([["fast"], ["1X"], ["1P"], ["-1G"], [0.5], ["1.5"], ["1.0000001k"], ["1G bytes"], [""], [undefined]] as const)("%j is not a rate", (input) => {
    expect(parseBitrateBps(input)).toBeUndefined();
  });
});

describe("format: the largest unit that divides exactly", () => {
  test.each([
    [0, "0"],
    [1400, "1400"],
    [1024, "1K"],
    [131072, "128K"],
    [1536, "1536"],
    [1048576, "1M"],
    [3 * 1024 ** 3, "3G"],
  ])("size %d → %s", (bytes, text) => {
    expect(formatSizeBytes(bytes)).toBe(text);
    expect(parseSizeBytes(text)).toBe(bytes);
  });

  test.each([
    [1e9, "1G"],
    [1.5e9, "1500M"],
    [64000, "64k"],
    [123, "123"],
    [1e11, "100G"],
  ])("rate %d → %s", (bps, text) => {
    expect(formatBitrateBps(bps)).toBe(text);
    expect(parseBitrateBps(text)).toBe(bps);
  });
});

describe("parseBitrate / parseSize: the same grammar, refusals as sentences naming the fix", () => {
  test.each([
    ["100M", 100e6],
    ["1gbit", 1e9],
    ["1.5G", 1.5e9],
    ["2000000", 2e6],
  ])("bitrate %s → %d", (text, want) => expect(parseBitrate(text)).toBe(want));
  test.each(["", "fast", "-1M", "1X", "1.5"])("bitrate %j is refused", (text) => {
    expect(() => parseBitrate(text)).toThrow(/invalid bitrate .*e\.g\. 100M/);
  });
  test.each([
    ["1400", 1400],
    ["128K", 131072],
    ["1.5K", 1536],
  ])("size %s → %d", (text, want) => expect(parseSize(text)).toBe(want));
  test.each(["0.3K", "1X", "-1"])("size %j is refused", (text) => {
    expect(() => parseSize(text)).toThrow(/invalid size .*e\.g\. 1400/);
  });
});

describe("durations: --max-run-duration and the caps' messages", () => {
  test.each([
    ["3600", 3600],
    ["90s", 90],
    ["90m", 5400],
    ["15 min", 900],
    ["36h", 129_600],
    ["7d", 604_800],
    ["1.5h", 5400],
    ["30 days", 2_592_000],
  ])("%s → %d s", (text, want) => expect(parseDuration(text)).toBe(want));
  test.each(["", "soon", "-5m", "1w", "0.3s", "1.5"])("%j is refused", (text) => {
    expect(() => parseDuration(text)).toThrow(/invalid duration .*e\.g\. 3600, 90m, 36h or 7d/);
  });
  test.each([
    [45, "45 s"],
    [5.25, "5.3 s"],
    [5400, "90 min"],
    [129_600, "36 h"],
    [2_592_000, "30 d"],
    [6_000_000, "69 d"],
  ])("%d s reads %s", (s, text) => expect(formatDurationS(s)).toBe(text));
});
