import { describe, expect, test } from "vitest";
import { isGood, LADDER_LIMITS, offeredOf, ladderRate, searchLadder, type StepOutcome } from "./search.js";

/** A path that carries up to `capBps` without loss and drops the excess above it. */
const cliff =
  (capBps: number) =>
  (bps: number): StepOutcome => ({ receivedBps: Math.min(bps, capBps), lossPercent: bps <= capBps ? 0 : (100 * (bps - capBps)) / bps, jitterMs: 0.01 });
/** A path losing a little everywhere (above any threshold). */
const lossy =
  (lossPercent: number) =>
  (bps: number): StepOutcome => ({ receivedBps: bps * (1 - lossPercent / 100), lossPercent });

const run = (f: (bps: number) => StepOutcome, startBps: number, maxSteps = 8, lossPercent = 0.1) => searchLadder({ lossPercent, maxSteps }, startBps, async (bps) => f(bps));

describe("the ladder's search over simulated loss curves", () => {
  test.each([
    // [what, path capacity, start, steps, found within (fraction below capacity)]
    ["start at the TCP rate, just under capacity", 486e6, 480e6, 8, 0.03],
    ["start at a 10 Gbit NIC, far above", 486e6, 10e9, 8, 0.1],
    ["start at the default 1 Gbit, above", 486e6, 1e9, 8, 0.05],
    ["start far below: doubling up first", 9.4e9, 100e6, 12, 0.05],
    ["more steps, finer", 486e6, 1e9, 16, 0.011],
    ["three steps", 486e6, 1e9, 3, 0.5],
  ])("%s", async (_what, capacity, start, maxSteps, within) => {
    const out = await run(cliff(capacity), start, maxSteps);
    expect(out.steps.length).toBeLessThanOrEqual(maxSteps);
    expect(out.found).toBeDefined();
    expect(out.found!.offeredBps).toBeLessThanOrEqual(capacity);
    expect(out.found!.offeredBps).toBeGreaterThanOrEqual(capacity * (1 - within));
    expect(out.found!.receivedBps).toBe(out.found!.offeredBps);
    // The found rate is the highest good step's, and every step above it was bad.
    const goods = out.steps.filter((s) => isGood(s.outcome, 0.1)).map((s) => s.offeredBps);
    expect(Math.max(...goods)).toBe(out.found!.offeredBps);
    expect(out.steps.every((s) => s.offeredBps >= LADDER_LIMITS.minBps && s.offeredBps <= LADDER_LIMITS.maxBps)).toBe(true);
  });

  test.each([3, 5, 8, 10])("never more than %i steps, even on a path where every step loses", async (maxSteps) => {
    const out = await run(lossy(1), 1e9, maxSteps);
    expect(out.steps.length).toBe(maxSteps);
    expect(out.found).toBeUndefined();
    expect(out.stopReason).toContain("no step kept loss under 0.1 %");
    expect(out.steps.slice(1).every((s) => s.phase === "down")).toBe(true);
  });

  test("a path that never loses stops at the cap and reports the cap", async () => {
    const out = await run(() => ({ receivedBps: 1, lossPercent: 0 }), 40e9, 8);
    expect(out.found?.offeredBps).toBe(LADDER_LIMITS.maxBps);
    expect(out.stopReason).toContain("cap");
    expect(out.steps.map((s) => s.offeredBps)).toEqual([40e9, 80e9, 100e9]);
  });

  test("a start far above the path goes straight down to just under what the path delivered", async () => {
    const out = await run(cliff(300e6), 10e9, 8);
    expect(out.steps.slice(0, 2).map((s) => [s.offeredBps, s.phase])).toEqual([
      [10e9, "up"],
      [291e6, "down"],
    ]);
    // Then just above what the 10 Gbit/s step delivered, not halfway to 10 Gbit/s.
    expect(out.steps[2]!.offeredBps).toBe(309e6);
    expect(out.found!.offeredBps).toBeGreaterThanOrEqual(0.98 * 300e6);
  });

  test("down to the floor: nothing found, said so", async () => {
    const out = await run(lossy(5), 4e6, 16);
    expect(out.steps.map((s) => s.offeredBps)).toEqual([4e6, 2e6, 1e6]);
    expect(out.found).toBeUndefined();
    expect(out.stopReason).toBe("loss was at or above 0.1 % down to 1.0 Mbit/s");
  });

  test.each([
    ["a sender that cannot send more (CPU, or backpressure from a local queue)", (bps: number) => Math.min(bps, 450e6)],
    ["a sender that falls short now and then", (bps: number) => (bps > 440e6 && bps < 460e6 ? 300e6 : Math.min(bps, 450e6))],
  ])("%s: found is what it really offered without loss, never the asked rate", async (_what, sent) => {
    // The path carries whatever is sent: 450 Mbit/s at most, not the asked 10 Gbit/s.
    const out = await run((bps) => ({ receivedBps: sent(bps), sentBps: sent(bps), lossPercent: 0 }), 10e9, 8);
    expect(out.found!.offeredBps).toBe(450e6);
    expect(out.steps.length).toBeLessThanOrEqual(8);
  });

  test("a failed step stops the ladder with its reason, and the good steps before it stand", async () => {
    let n = 0;
    const out = await searchLadder({ lossPercent: 0.1, maxSteps: 8 }, 100e6, async (bps) => (++n === 3 ? { failure: "iperf3: server busy" } : cliff(1e9)(bps)));
    expect(out.steps).toHaveLength(3);
    expect(out.found?.offeredBps).toBe(200e6);
    expect(out.stopReason).toBe("step 3 at 400.0 Mbit/s failed: iperf3: server busy");
  });

  test("loss exactly at the threshold is bad; the threshold is the spec's", async () => {
    expect(isGood({ receivedBps: 1, lossPercent: 0.1 }, 0.1)).toBe(false);
    expect(isGood({ receivedBps: 1, lossPercent: 0.09 }, 0.1)).toBe(true);
    // A sender short of the asked rate offered only what it sent.
    expect(offeredOf({ receivedBps: 4e8, sentBps: 4e8, lossPercent: 0 }, 1e9)).toBe(4e8);
    expect(offeredOf({ receivedBps: 4e8, sentBps: 1.01e9, lossPercent: 0 }, 1e9)).toBe(1e9);
    expect(offeredOf({ receivedBps: 4e8, lossPercent: 0 }, 1e9)).toBe(1e9);
    const out = await run(lossy(0.5), 1e9, 3, 1);
    expect(out.found?.offeredBps).toBe(4e9);
  });

  test.each([
    [0, LADDER_LIMITS.minBps],
    [Number.NaN, LADDER_LIMITS.minBps],
    [123_456_789, 123_457_000],
    [1e12, LADDER_LIMITS.maxBps],
  ])("ladderRate(%d) = %d", (bps, want) => {
    expect(ladderRate(bps)).toBe(want);
  });
});
