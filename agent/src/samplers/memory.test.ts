import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { parseMeminfo, readMeminfo } from "./memory.js";

/** Fixture: /proc/meminfo of the build machine (fixtures/README.md). */
const HOST = readFileSync(new URL("./fixtures/meminfo/host.txt", import.meta.url), "utf8");

describe("parseMeminfo", () => {
  test("captured file: kB × 1024", () => {
    // MemTotal 24683620 kB, MemFree 24082688, MemAvailable 24253532, Buffers 3324, Cached 304876
    expect(parseMeminfo(HOST)).toEqual({
      totalBytes: 24683620 * 1024,
      availableBytes: 24253532 * 1024,
      usedBytes: (24683620 - 24253532) * 1024,
      freeBytes: 24082688 * 1024,
      buffersBytes: 3324 * 1024,
      cachedBytes: 304876 * 1024,
    });
    expect(parseMeminfo(Buffer.from(HOST))).toEqual(parseMeminfo(HOST));
  });

  test("Cached is not confused with SwapCached", () => {
    const text = HOST.replace(/^Cached:.*\n/m, "");
    expect(text).toMatch(/SwapCached:/);
    expect(parseMeminfo(text)?.cachedBytes).toBe(0);
  });

  test("without MemAvailable (kernels before 3.14) available is free + buffers + cached", () => {
    const m = parseMeminfo(HOST.replace(/^MemAvailable:.*\n/m, ""))!;
    expect(m.availableBytes).toBe((24082688 + 3324 + 304876) * 1024);
    expect(m.usedBytes).toBe(m.totalBytes - m.availableBytes);
  });

  test.each([
    ["empty", ""],
    ["no MemTotal", HOST.replace(/^MemTotal:.*\n/m, "")],
    ["no MemFree", HOST.replace(/^MemFree:.*\n/m, "")],
    ["MemTotal without a number", HOST.replace(/^MemTotal:.*$/m, "MemTotal: kB")],
  ])("%s → undefined", (_label, text) => {
    expect(parseMeminfo(text)).toBeUndefined();
  });

  test("readMeminfo reads the live file", () => {
    const m = readMeminfo("/proc")!;
    expect(m.totalBytes).toBeGreaterThan(0);
    expect(m.availableBytes).toBeLessThanOrEqual(m.totalBytes);
    expect(m.usedBytes).toBe(m.totalBytes - m.availableBytes);
    expect(readMeminfo("/no/such/proc")).toBeUndefined();
  });
});
