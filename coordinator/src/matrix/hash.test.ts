import { describe, expect, test } from "vitest";
import { SeededRandom, caseId, fingerprint, hash64, hex12 } from "./hash.js";

describe("hashing is stable", () => {
  // Golden values: if these change, every stored case id changes with them.
  test.each([
    ["", "ab3e7c0b", "467547b8"],
    ["host-host/iperf3/tcp/forward/P1/L0/n1→n2", "6e3ad376", "aca8bddb"],
  ])("hash64(%j)", (text, lane1, lane2) => {
    expect(hash64(text).map((x) => x.toString(16).padStart(8, "0"))).toEqual([lane1, lane2]);
  });

  test("caseId golden value", () => {
    expect(caseId("host-host/iperf3/tcp/forward/P1/L0/n1→n2")).toBe("896932ee6333");
  });

  test("case ids: 12 hex digits, a function of the key only, different for different keys", () => {
    const keys = ["host-host/iperf3/tcp/forward/P1/L0/n1→n2", "host-host/iperf3/tcp/forward/P1/L0/n2→n1", "pod-pod-cross/iperf3/tcp/forward/P1/L0/n1→n2"];
    const ids = keys.map(caseId);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(3);
    expect(keys.map(caseId)).toEqual(ids);
    expect(caseId("host-host/iperf3/tcp/forward/P1/L0/n1→n2")).toBe(ids[0]);
  });

  test.each([
    [0, 0, "000000000000"],
    [0xffffffff, 0xffffffff, "ffffffffffff"],
    [0x12345678, 0x9abcdef0, "123456789abc"],
  ])("hex12(%d, %d) = %s", (a, b, hex) => {
    expect(hex12(a, b)).toBe(hex);
  });

  test("fingerprint length", () => {
    expect(fingerprint("x")).toHaveLength(12);
    expect(fingerprint("x", 16)).toHaveLength(16);
    expect(fingerprint("x", 16).startsWith(fingerprint("x"))).toBe(true);
  });
});

describe("SeededRandom", () => {
  test("same seed, same sequence; another seed, another sequence", () => {
    const draw = (seed: string) => {
      const r = new SeededRandom(seed);
      return Array.from({ length: 8 }, () => r.below(1000));
    };
    expect(draw("a")).toEqual(draw("a"));
    expect(draw("a")).not.toEqual(draw("b"));
  });

  test("below(n) stays in [0, n) and covers it", () => {
    const r = new SeededRandom("cover");
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const x = r.below(10);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(10);
      seen.add(x);
    }
    expect(seen.size).toBe(10);
  });
});
