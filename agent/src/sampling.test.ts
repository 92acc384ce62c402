/**
 * The agent's sampling sessions on this machine's real /proc: live streams go
 * out in batches of at most one a second (each batch bounded), nothing is
 * sent or ticks when nobody asked, and a case window keeps every sample.
 * (How the samples are encoded for the wire: sample-wire.test.ts.)
 */
import { afterEach, describe, expect, test } from "vitest";
import { pino } from "pino";
import { readProcConstants, type NodeSample } from "./samplers/index.js";
import { SAMPLING_LIMITS, SamplingManager } from "./sampling.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let manager: SamplingManager | undefined;
afterEach(() => manager?.stopAll());

async function newManager(): Promise<SamplingManager> {
  manager = new SamplingManager({ procRoot: "/proc", constants: await readProcConstants(), log: pino({ level: "silent" }) });
  return manager;
}

/** Every batch a stream sends, with when it was sent (ms, monotonic). */
function recorder(): { batches: { atMs: number; samples: NodeSample[] }[]; send: (b: NodeSample[]) => void } {
  const batches: { atMs: number; samples: NodeSample[] }[] = [];
  return { batches, send: (samples) => batches.push({ atMs: performance.now(), samples }) };
}

/** Gaps between consecutive batches, ms. */
const gaps = (b: { atMs: number }[]): number[] => b.slice(1).map((x, i) => x.atMs - b[i]!.atMs);

describe("live streams are batched: at most one batch a second per stream", () => {
  test("at 100 ms (10 Hz): the first sample at once, then about ten a batch, batches a second apart", async () => {
    const m = await newManager();
    const a = recorder();
    const b = recorder();
    m.startStream("a", 100, undefined, a.send);
    m.startStream("b", 100, undefined, b.send);
    await sleep(3300);
    m.stopStream("a");
    m.stopStream("b");
    for (const r of [a, b]) {
      // Each stream on its own: the first sample, then a batch a second (4 in 3.3 s; fewer only if this machine starved the timers).
      expect(r.batches.length).toBeGreaterThanOrEqual(2);
      expect(r.batches.length).toBeLessThanOrEqual(4);
      expect(r.batches[0]!.samples).toHaveLength(1);
      for (const g of gaps(r.batches)) expect(g).toBeGreaterThanOrEqual(SAMPLING_LIMITS.batchMs - 60);
      for (const { samples } of r.batches) {
        expect(samples.length).toBeGreaterThanOrEqual(1);
        // One sample a tick, ticks at least ~100 ms apart, a batch at most ~1 s: never more than 11.
        expect(samples.length).toBeLessThanOrEqual(11);
        for (const s of samples) expect(s.intervalMs).toBeGreaterThan(50);
      }
    }
  });

  test("at 1 s: each sample goes out as it is taken, one per batch", async () => {
    const m = await newManager();
    const r = recorder();
    m.startStream("s", 1000, undefined, r.send);
    await sleep(3400);
    m.stopStream("s");
    expect(r.batches.length).toBeGreaterThanOrEqual(2);
    expect(r.batches.length).toBeLessThanOrEqual(3);
    for (const { samples } of r.batches) expect(samples).toHaveLength(1);
  });

  test("at 10 ms: still at most one batch a second, each within the batch bound", async () => {
    const m = await newManager();
    const r = recorder();
    m.startStream("fast", 10, undefined, r.send);
    await sleep(2300);
    m.stopStream("fast");
    expect(r.batches.length).toBeGreaterThanOrEqual(2);
    expect(r.batches.length).toBeLessThanOrEqual(3);
    for (const g of gaps(r.batches)) expect(g).toBeGreaterThanOrEqual(SAMPLING_LIMITS.batchMs - 60);
    for (const { samples } of r.batches) expect(samples.length).toBeLessThanOrEqual(SAMPLING_LIMITS.maxBatchSamples);
  });

  test("nothing is sent, and nothing ticks, once the stream stops or when none was asked for", async () => {
    const m = await newManager();
    expect(m.active).toBe(0);
    const r = recorder();
    m.startStream("s", 100, undefined, r.send);
    expect(m.active).toBe(1);
    await sleep(1200);
    m.stopStream("s");
    expect(m.active).toBe(0);
    const sent = r.batches.length;
    await sleep(1500);
    expect(r.batches.length).toBe(sent);
    // Restarting a stream id replaces it: one timer, not two.
    m.startStream("t", 100, undefined, r.send);
    m.startStream("t", 100, undefined, r.send);
    expect(m.active).toBe(1);
    m.stopAll();
    expect(m.active).toBe(0);
  });
});

describe("case windows", () => {
  test("keep every sample, returned on stop with the last partial interval", async () => {
    const m = await newManager();
    m.start("w", 100, undefined, 60_000);
    await sleep(1050);
    const samples = m.stop("w");
    expect(m.active).toBe(0);
    expect(samples.length).toBeGreaterThanOrEqual(2);
    expect(samples.length).toBeLessThanOrEqual(12);
    const covered = samples.reduce((s, x) => s + x.intervalMs, 0);
    expect(covered).toBeGreaterThan(900);
    expect(covered).toBeLessThan(1400);
    // This process (the agent's) is in every sample.
    for (const s of samples) expect(s.processes.map((p) => p.pid)).toContain(process.pid);
  });

  test("a window past its deadline stops ticking by itself", async () => {
    const m = await newManager();
    m.start("w", 50, undefined, 300);
    await sleep(1200);
    const samples = m.stop("w");
    // ~6 ticks before the deadline (fewer on a starved machine), plus the last partial interval; not the ~24 of 1.2 s.
    expect(samples.length).toBeLessThanOrEqual(8);
  });
});
