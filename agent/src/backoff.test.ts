import { describe, expect, test } from "vitest";
import { RECONNECT_BACKOFF, reconnectDelay, retryAfterDelay, RETRY_AFTER_JITTER, seededRandom } from "./backoff.js";

const B = RECONNECT_BACKOFF;

describe("reconnectDelay: capped exponential backoff with full jitter", () => {
  // attempt → the step the wait is drawn from: 500 ms, doubling, capped at 15 s.
  test.each([
    [0, 500],
    [1, 1000],
    [2, 2000],
    [4, 8000],
    [5, 15_000],
    [6, 15_000],
    [60, 15_000],
    [5000, 15_000], // 2^5000 is Infinity: still the cap, never NaN
  ])("attempt %i: within [0, %i ms], covering it", (attempt, step) => {
    expect(reconnectDelay(attempt, B, 0)).toBe(0);
    expect(reconnectDelay(attempt, B, 0.5)).toBe(step / 2);
    const top = reconnectDelay(attempt, B, 0.999999);
    expect(top).toBeLessThanOrEqual(step);
    expect(top).toBeGreaterThan(step * 0.999);
  });

  test.each([
    [-1, 0.5, 250], // a negative attempt is the first
    [0, -3, 0], // draws outside [0, 1] are clamped
    [0, 7, 500],
    [0, Number.NaN, 0],
  ])("attempt %i, draw %d → %d ms", (attempt, u, want) => {
    expect(reconnectDelay(attempt, B, u)).toBe(want);
  });

  test("the first wait after a session ended is jittered over all of [0, 500 ms] (not only its upper half), uniformly enough to spread 15,000 agents", () => {
    // 15,000 agents, each with its own instance id, draw their first wait.
    const waits = Array.from({ length: 15_000 }, (_, i) => reconnectDelay(0, B, seededRandom(`agent-${i}`)()));
    expect(Math.min(...waits)).toBeLessThan(5);
    expect(Math.max(...waits)).toBeGreaterThan(495);
    // 50 ms buckets: 1,500 expected in each; none gets a crowd.
    const buckets = new Array<number>(10).fill(0);
    for (const w of waits) buckets[Math.min(9, Math.floor(w / 50))]!++;
    for (const n of buckets) {
      expect(n).toBeGreaterThan(1300);
      expect(n).toBeLessThan(1700);
    }
  });
});

describe("retryAfterDelay: the coordinator's turn, plus a little jitter", () => {
  test.each([
    [0, 0.5, 0, 0],
    [50, 0, 50, 50],
    [1000, 0.5, 1000 * (1 + RETRY_AFTER_JITTER / 2), 1000 * (1 + RETRY_AFTER_JITTER / 2)],
    [12_000, 0.999, 12_000, 12_000 * (1 + RETRY_AFTER_JITTER)],
    [-5, 0.5, 0, 0],
  ])("after %i ms (draw %d): within [%d, %d]", (ms, u, lo, hi) => {
    const d = retryAfterDelay(ms, u);
    expect(d).toBeGreaterThanOrEqual(lo);
    expect(d).toBeLessThanOrEqual(hi);
  });

  test("never earlier than the turn given", () => {
    const r = seededRandom("x");
    for (let i = 0; i < 1000; i++) expect(retryAfterDelay(300, r())).toBeGreaterThanOrEqual(300);
  });
});

describe("seededRandom", () => {
  test("one seed, one sequence; another seed, another; always in [0, 1)", () => {
    const a = seededRandom("instance-a");
    const a2 = seededRandom("instance-a");
    const b = seededRandom("instance-b");
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => a2())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => b())).not.toEqual(xs);
    for (const x of xs) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});
