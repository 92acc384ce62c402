/**
 * Interface counters from /proc/net/dev and the rates between two reads.
 *
 * The reader ({@link readNetDev}) is one synchronous read of the file; the
 * parser ({@link parseNetDev}) and the rate arithmetic ({@link netDevRates})
 * are pure. In Kubernetes the agent reads the node's NICs through the host's
 * `/proc/1/net/dev`; any process's `/proc/<pid>/net/dev` shows that process's
 * network namespace.
 */
import { readFileSync } from "node:fs";
import { isSpace, readUint, sameAscii, scan, toBuffer } from "./bytes.js";
import type { NameFilter } from "./filter.js";

/** One interface's counters as the kernel prints them: cumulative since the interface was created (64-bit, hence bigint). Treat as immutable: parses share them. */
export interface NetDevCounters {
  readonly name: string;
  /** Cumulative bytes received since the interface was created. */
  readonly rxBytes: bigint;
  /** Cumulative packets received. */
  readonly rxPackets: bigint;
  /** Cumulative receive errors. */
  readonly rxErrs: bigint;
  /** Cumulative received packets dropped. */
  readonly rxDrop: bigint;
  /** Cumulative bytes sent since the interface was created. */
  readonly txBytes: bigint;
  /** Cumulative packets sent. */
  readonly txPackets: bigint;
  /** Cumulative transmit errors. */
  readonly txErrs: bigint;
  /** Cumulative packets dropped on transmit. */
  readonly txDrop: bigint;
}

/** One interface's rates over one interval. */
export interface InterfaceRate {
  name: string;
  /** Received, bits/s (bytes as the kernel counts them, link-layer header included). */
  rxBps: number;
  /** Sent, bits/s. */
  txBps: number;
  /** Received, packets/s (on veth a GSO super-packet counts once). */
  rxPps: number;
  /** Sent, packets/s. */
  txPps: number;
  /** Received packets dropped, per second. */
  rxDropsPerS: number;
  /** Transmit drops, per second. */
  txDropsPerS: number;
  /** Receive errors, per second. */
  rxErrorsPerS: number;
  /** Transmit errors, per second. */
  txErrorsPerS: number;
  /** Cumulative bytes received since the interface was created (exact below 2^53). */
  rxBytesTotal: number;
  /** Cumulative bytes sent since the interface was created (exact below 2^53). */
  txBytesTotal: number;
}

const NL = 10;
const COLON = 58;
/** Numeric columns per line: 8 receive, 8 transmit. */
const COLUMNS = 16;
/** Up to this many digits the value is exact in a double. */
const SAFE_DIGITS = 15;

/** The kept columns of the line being parsed: the value, or NaN when it has more than 15 digits and is in `bigs` instead. */
const vals = new Float64Array(COLUMNS);
const bigs: bigint[] = new Array<bigint>(COLUMNS).fill(0n);

/**
 * Parse /proc/net/dev (its text, or the bytes a read returned). The name
 * ends at the last ':' of a line, so old alias names (`eth0:1`) and
 * counters glued to the colon (`eth0:123456789`, older kernels) both parse.
 * Header and malformed lines are skipped. With `accept`, lines whose name it
 * rejects are not parsed further. With `previous` (the last parse), names
 * and unchanged counters are reused instead of allocated anew, and an
 * interface whose counters all stayed the same is its previous object.
 */
export function parseNetDev(input: string | Uint8Array, accept?: NameFilter, previous?: readonly NetDevCounters[]): NetDevCounters[] {
  const b = toBuffer(input);
  const len = b.length;
  const out: NetDevCounters[] = [];
  let start = 0;
  while (start < len) {
    let end = b.indexOf(NL, start);
    if (end < 0) end = len;
    let colon = end - 1;
    while (colon >= start && b[colon] !== COLON) colon--;
    let from = start;
    let to = colon;
    while (from < to && isSpace(b[from])) from++;
    while (to > from && isSpace(b[to - 1])) to--;
    if (colon >= start && to > from) {
      // The kernel keeps its order, so the previous parse's interface at this position is the likely match.
      const p = previous?.[out.length];
      const same = p !== undefined && sameAscii(b, from, to, p.name);
      const name = same ? p.name : b.toString("utf8", from, to);
      if ((accept === undefined || accept(name)) && parseColumns(b, colon + 1, end)) {
        out.push(build(name, same ? p : undefined));
      }
    }
    start = end + 1;
  }
  return out;
}

/** Check b[from, to) holds exactly 16 unsigned decimal columns and keep columns 0–3 and 8–11 in `vals`/`bigs`. */
function parseColumns(b: Buffer, from: number, to: number): boolean {
  let i = from;
  let col = 0;
  for (;;) {
    while (i < to && isSpace(b[i])) i++;
    if (i >= to) break;
    if (col === COLUMNS || !readUint(b, i) || (scan.end < to && !isSpace(b[scan.end]))) return false;
    if ((col & 7) < 4) {
      if (scan.digits <= SAFE_DIGITS) {
        vals[col] = scan.value;
      } else {
        vals[col] = NaN;
        bigs[col] = BigInt(b.toString("latin1", i, scan.end));
      }
    }
    i = scan.end;
    col++;
  }
  return col === COLUMNS;
}

/** Column `col` as a bigint, reusing `was` when it holds the same value. */
function pick(col: number, was: bigint | undefined): bigint {
  const v = vals[col]!;
  if (Number.isNaN(v)) return bigs[col]!;
  return was !== undefined && Number(was) === v ? was : BigInt(v);
}

function build(name: string, p: NetDevCounters | undefined): NetDevCounters {
  const rxBytes = pick(0, p?.rxBytes);
  const rxPackets = pick(1, p?.rxPackets);
  const rxErrs = pick(2, p?.rxErrs);
  const rxDrop = pick(3, p?.rxDrop);
  const txBytes = pick(8, p?.txBytes);
  const txPackets = pick(9, p?.txPackets);
  const txErrs = pick(10, p?.txErrs);
  const txDrop = pick(11, p?.txDrop);
  if (
    p !== undefined &&
    rxBytes === p.rxBytes &&
    rxPackets === p.rxPackets &&
    rxErrs === p.rxErrs &&
    rxDrop === p.rxDrop &&
    txBytes === p.txBytes &&
    txPackets === p.txPackets &&
    txErrs === p.txErrs &&
    txDrop === p.txDrop
  ) {
    return p;
  }
  return { name, rxBytes, rxPackets, rxErrs, rxDrop, txBytes, txPackets, txErrs, txDrop };
}

/**
 * Rates between two parses taken `dtNs` nanoseconds apart (monotonic clock).
 * An interface missing from `prev` (new) or with any counter lower than
 * before (reset, or deleted and re-created under the same name) yields no
 * rate for this interval: it is left out, never reported negative. Order
 * follows `cur`. Empty when `dtNs` is not positive.
 */
export function netDevRates(prev: readonly NetDevCounters[], cur: readonly NetDevCounters[], dtNs: bigint): InterfaceRate[] {
  const out: InterfaceRate[] = [];
  if (dtNs <= 0n) return out;
  const perS = 1e9 / Number(dtNs);
  const bitsPerS = 8 * perS;
  let byName: Map<string, NetDevCounters> | undefined;
  for (let i = 0; i < cur.length; i++) {
    const c = cur[i]!;
    // The kernel lists interfaces in a stable order, so the same index nearly always matches.
    let p = prev[i];
    if (p === undefined || p.name !== c.name) {
      byName ??= new Map(prev.map((x) => [x.name, x]));
      p = byName.get(c.name);
      if (p === undefined) continue;
    }
    if (
      c.rxBytes < p.rxBytes ||
      c.txBytes < p.txBytes ||
      c.rxPackets < p.rxPackets ||
      c.txPackets < p.txPackets ||
      c.rxErrs < p.rxErrs ||
      c.txErrs < p.txErrs ||
      c.rxDrop < p.rxDrop ||
      c.txDrop < p.txDrop
    ) {
      continue;
    }
    out.push({
      name: c.name,
      rxBps: Number(c.rxBytes - p.rxBytes) * bitsPerS,
      txBps: Number(c.txBytes - p.txBytes) * bitsPerS,
      rxPps: Number(c.rxPackets - p.rxPackets) * perS,
      txPps: Number(c.txPackets - p.txPackets) * perS,
      rxDropsPerS: Number(c.rxDrop - p.rxDrop) * perS,
      txDropsPerS: Number(c.txDrop - p.txDrop) * perS,
      rxErrorsPerS: Number(c.rxErrs - p.rxErrs) * perS,
      txErrorsPerS: Number(c.txErrs - p.txErrs) * perS,
      rxBytesTotal: Number(c.rxBytes),
      txBytesTotal: Number(c.txBytes),
    });
  }
  return out;
}

/** `${procRoot}/net/dev`: the default net/dev path. */
export function netDevPathFor(procRoot: string): string {
  return `${procRoot}/net/dev`;
}

/** One synchronous read and parse of a net/dev file; undefined when it cannot be read (e.g. the process whose namespace it shows has exited). */
export function readNetDev(path: string, accept?: NameFilter): NetDevCounters[] | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return undefined;
  }
  return parseNetDev(bytes, accept);
}
