/**
 * Bytes an interface moved over a window of samples, from its cumulative
 * counters — never from rate × time. The agent primes its sampler when a
 * window starts and ships one sample per interval: the interval's rates
 * and, with them, the counters' totals at its end. The bytes of the window
 * are the last sample's total less the total when the window began.
 *
 * That starting total is the one read the agent does not ship (its priming
 * read); it is the first sample's total less the first interval's delta.
 * The agent computed that interval's rate from exactly that integer delta
 * over exactly the interval it sends, so rate × interval gives the delta
 * back to within rounding error: it is checked to be a whole number of
 * bytes, and used for that one interval only.
 *
 * Unlike summed rates, the totals need no sample in between: an interval
 * the agent could not rate (net/dev unreadable, or one of the interface's
 * other counters stepping back) loses nothing. An interface yields no
 * figure, with a reason, when its byte counters went backwards (reset or
 * re-created during the window) or a total is not a whole, non-negative
 * number below 2^64 (broken or hostile input).
 *
 * Totals cross the wire as doubles: exact below 2^53 bytes (9 PB); above,
 * each is the nearest double to the counter (within 1 part in 2^53), and the
 * differences are taken exactly from those values (as BigInt). Pure.
 */

/** What this needs of one interface in one sample (the wire NodeSample's InterfaceRate has it). */
export interface CounterRate {
  name: string;
  /** Bits/s over the sample's interval. */
  rxBps: number;
  txBps: number;
  /** The cumulative counters at the end of the interval, bytes. */
  rxBytesTotal: number;
  txBytesTotal: number;
}

/** What this needs of one sample. */
export interface CounterSample {
  /** Length of the interval the rates cover, ms. */
  intervalMs: number;
  interfaces: readonly CounterRate[];
}

/** An interface's bytes over the window, or why there is no figure. */
export type WindowBytes = { rxBytes: number; txBytes: number } | { problem: string };

/** One direction's counter: the window's starting total and the latest total, as exact integers. */
interface Counter {
  start: bigint;
  last: bigint;
}

/** `total` as an exact integer, or undefined when it is not a whole number in 0..2^64 (a 64-bit counter). */
function whole(total: number): bigint | undefined {
  return Number.isInteger(total) && total >= 0 && total < 2 ** 64 ? BigInt(total) : undefined;
}

/** The bytes behind `bps` over `intervalMs` when they are (to rounding error) a whole number, else undefined. */
function intervalBytes(bps: number, intervalMs: number): bigint | undefined {
  const bytes = (bps * intervalMs) / 8000;
  if (!Number.isFinite(bytes) || bytes < 0) return undefined;
  const rounded = Math.round(bytes);
  return Math.abs(bytes - rounded) <= 1e-3 + 1e-9 * bytes ? BigInt(rounded) : undefined;
}

/** The counter at the start of the interval that ends with `total` after `bytes`, or a problem. */
function begin(total: number, bps: number, intervalMs: number, dir: string): Counter | string {
  const end = whole(total);
  if (end === undefined) return `its ${dir} total ${total} is not a whole number of bytes`;
  const delta = intervalBytes(bps, intervalMs);
  if (delta === undefined || delta > end) return `its first sample's ${dir} rate and total do not agree (${bps} bit/s over ${intervalMs} ms, total ${total} B)`;
  return { start: end - delta, last: end };
}

/** Advance `c` to `total`; a problem when the counter is not whole or went backwards. */
function advance(c: Counter, total: number, dir: string): string | undefined {
  const t = whole(total);
  if (t === undefined) return `its ${dir} total ${total} is not a whole number of bytes`;
  if (t < c.last) return `its ${dir} counter went backwards (${c.last} → ${t} B): reset or re-created during the window`;
  c.last = t;
  return undefined;
}

/**
 * Each interface's bytes over `samples` (in order, as the agent sent them),
 * by name, in order of first appearance. An interface that appears only
 * part of the way through (created during the window) counts from its first
 * sample; one that disappears counts up to its last.
 */
export function windowBytes(samples: readonly CounterSample[]): Map<string, WindowBytes> {
  const state = new Map<string, { rx: Counter; tx: Counter } | { problem: string }>();
  for (const s of samples) {
    for (const i of s.interfaces) {
      const was = state.get(i.name);
      if (was && "problem" in was) continue;
      if (!was) {
        const rx = begin(i.rxBytesTotal, i.rxBps, s.intervalMs, "rx");
        const tx = begin(i.txBytesTotal, i.txBps, s.intervalMs, "tx");
        state.set(i.name, typeof rx === "string" ? { problem: rx } : typeof tx === "string" ? { problem: tx } : { rx, tx });
        continue;
      }
      const problem = advance(was.rx, i.rxBytesTotal, "rx") ?? advance(was.tx, i.txBytesTotal, "tx");
      if (problem) state.set(i.name, { problem });
    }
  }
  const out = new Map<string, WindowBytes>();
  for (const [name, s] of state) {
    out.set(name, "problem" in s ? s : { rxBytes: Number(s.rx.last - s.rx.start), txBytes: Number(s.tx.last - s.tx.start) });
  }
  return out;
}

/**
 * How much traffic (rx + tx) each interface carried over `samples`, to rank
 * them (which one carried a case, which are worth a chart): its bytes from
 * the counters, or for an interface whose counters give no figure, its
 * rates summed over the intervals. A ranking, never reported as bytes.
 */
export function windowTraffic(samples: readonly CounterSample[], bytes: Map<string, WindowBytes> = windowBytes(samples)): Map<string, number> {
  const fromRates = new Map<string, number>();
  for (const s of samples) {
    for (const i of s.interfaces) fromRates.set(i.name, (fromRates.get(i.name) ?? 0) + ((i.rxBps + i.txBps) * s.intervalMs) / 8000);
  }
  const out = new Map<string, number>();
  for (const [name, rated] of fromRates) {
    const b = bytes.get(name);
    out.set(name, b && !("problem" in b) ? b.rxBytes + b.txBytes : rated);
  }
  return out;
}
