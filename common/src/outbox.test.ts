import { Writable } from "node:stream";
import { afterEach, describe, expect, test, vi } from "vitest";
import { Outbox } from "./outbox.js";

/** A real object-mode Writable whose consumer takes nothing until `take()`: a peer that stopped reading. */
function stuckStream(highWaterMark = 2) {
  const got: string[] = [];
  const waiting: (() => void)[] = [];
  const stream = new Writable({
    objectMode: true,
    highWaterMark,
    write(chunk: string, _enc, done) {
      waiting.push(() => (got.push(chunk), done()));
    },
  });
  /** The peer takes `n` messages (all when omitted) and the stream drains. */
  const take = async (n = Infinity) => {
    while (n-- > 0 && waiting.length) {
      waiting.shift()!();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { stream, got, take };
}

afterEach(() => vi.useRealTimers());

describe("Outbox over a stream whose peer stopped reading", () => {
  test("writes straight through while the stream takes messages", async () => {
    const { stream, got, take } = stuckStream(8);
    const box = new Outbox<string>(stream, { maxQueued: 10, stallMs: 60_000, onCutOff: () => undefined });
    box.send("a");
    box.sendLatest("k", "b");
    await take();
    expect(got).toEqual(["a", "b"]);
    expect(box.isBlocked).toBe(false);
    box.close();
  });

  test("live messages: only the newest per key waits, the rest are dropped and counted; memory stays bounded", async () => {
    const { stream, got, take } = stuckStream(2);
    const box = new Outbox<string>(stream, { maxQueued: 10, stallMs: 60_000, onCutOff: () => undefined });
    for (let i = 0; i < 100_000; i++) box.sendLatest(i % 2 ? "b" : "a", `${i % 2 ? "b" : "a"}${i}`);
    expect(box.isBlocked).toBe(true);
    // The stream's own buffer (its high-water mark) plus one per key.
    expect(stream.writableLength).toBeLessThanOrEqual(2);
    expect(box.backlog).toBe(2);
    expect(box.written + box.dropped + box.backlog).toBe(100_000);
    await take();
    // After what the stream had, the newest of each key, oldest-waiting key first.
    expect(got.slice(-2)).toEqual(["a99998", "b99999"]);
    box.close();
  });

  test("must-arrive messages keep their order across a block, and live ones come after them", async () => {
    const { stream, got, take } = stuckStream(1);
    const box = new Outbox<string>(stream, { maxQueued: 10, stallMs: 60_000, onCutOff: () => undefined });
    box.send("r1");
    box.sendLatest("s", "old");
    box.send("r2");
    box.sendLatest("s", "new");
    box.send("r3");
    await take();
    expect(got).toEqual(["r1", "r2", "r3", "new"]);
    expect(box.dropped).toBe(1);
    box.close();
  });

  test("one must-arrive message above maxQueued cuts the stream off, once, with the reason", () => {
    const { stream } = stuckStream(1);
    const reasons: string[] = [];
    const box = new Outbox<string>(stream, { maxQueued: 5, stallMs: 60_000, onCutOff: (r) => reasons.push(r) });
    for (let i = 0; i < 100; i++) box.send(`m${i}`);
    expect(reasons).toEqual(["the peer took nothing while 5 messages waited for it"]);
    expect(box.isCutOff).toBe(true);
    expect(box.backlog).toBe(0);
    box.close();
  });

  test("blocked longer than stallMs: cut off; a peer that drains in time is not", async () => {
    // Only the clock of the stall timers is fake; the streams' own callbacks run for real.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const stuck = stuckStream(1);
    const slow = stuckStream(1);
    const reasons: string[] = [];
    const a = new Outbox<string>(stuck.stream, { maxQueued: 5, stallMs: 30_000, onCutOff: (r) => reasons.push(`stuck: ${r}`) });
    const b = new Outbox<string>(slow.stream, { maxQueued: 5, stallMs: 30_000, onCutOff: (r) => reasons.push(`slow: ${r}`) });
    for (let s = 0; s < 50; s++) {
      a.sendLatest("k", `x${s}`);
      b.sendLatest("k", `x${s}`);
      vi.advanceTimersByTime(1000);
      // The slow peer takes something every 10 s.
      if (s % 10 === 9) await slow.take();
    }
    expect(reasons).toEqual(["stuck: the peer took nothing for 30 s"]);
    expect(b.isCutOff).toBe(false);
    a.close();
    b.close();
  });

  test("nothing is written to an ended stream", () => {
    const { stream } = stuckStream(4);
    stream.end();
    const box = new Outbox<string>(stream, { maxQueued: 5, stallMs: 60_000, onCutOff: () => undefined });
    box.send("late");
    expect(box.written).toBe(0);
  });
});
