/**
 * Reading iperf 2.1.8's enhanced text report (`-e -f b`): one row per
 * stream and interval, `[ ID] a-b sec N Bytes R bits/sec …`, whose tail
 * tells TCP sender (Write/Err Rtry …), TCP receiver (Reads=Dist), UDP sender
 * (Write/Err PPS) and UDP receiver (Jitter Lost/Total …) apart. Pure.
 */
import { max, mean, sum } from "../../common/src/stats.js";
import { count } from "./numbers.js";
import { eachLine } from "./util.js";
import type { IntervalSample, StreamTotals } from "./types.js";

/** What a row reports, told apart by its tail; "other" for [FDn] and unknown tails. */
export type Iperf2RowKind = "tcp-send" | "tcp-recv" | "udp-send" | "udp-recv" | "other";

/** One report row: `[ ID] a-b sec N Bytes R bits/sec …`. */
export interface Iperf2Row {
  /** Numeric stream id; NaN for [SUM], [SUM-n] and [FDn] rows. */
  id: number;
  startS: number;
  endS: number;
  bytes: number;
  bitsPerSecond: number;
  kind: Iperf2RowKind;
  retry?: number;
  jitterMs?: number;
  lost?: number;
  total?: number;
  /** The row follows "[ n] Server Report:" (UDP client: what the server received). */
  serverReport: boolean;
}

// Every pattern here runs in time linear in the line: each is anchored, and no
// two neighbouring quantifiers can match the same characters (`\s*(?:\*\s*)?`,
// not `\s*\*?\s*`, which is quadratic on "[" and a long run of spaces).
const ROW = /^\[\s*(?:\*\s*)?(\d+|SUM(?:-\d+)?|FD\d+)\]\s+(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s+sec\s+(\d+(?:\.\d+)?)\s+Bytes\s+(\d+(?:\.\d+)?)\s+bits\/sec(.*)$/;
const SERVER_REPORT = /^\[\s*(?:\*\s*)?(\d+)\]\s+Server Report:/;
/** A stream's report row in whatever format iperf 2 was asked for: `[ n] a-b sec` and anything after. */
const ANY_ROW = /^\[\s*(?:\*\s*)?\d+\]\s+\d+(?:\.\d+)?\s*-\s*\d+(?:\.\d+)?\s+sec\s/;
/** The same row with bytes and bits/sec (`-f b`). */
const BYTES_BITS = /^\[\s*(?:\*\s*)?\d+\]\s+\d+(?:\.\d+)?\s*-\s*\d+(?:\.\d+)?\s+sec\s+\d+(?:\.\d+)?\s+Bytes\s+\d+(?:\.\d+)?\s+bits\/sec/;
const UDP_RECV = /^\s+(-?\d+(?:\.\d+)?)\s+ms\s+(-?\d+)\/\s*(\d+)\s+\(/;
const TCP_RECV = /^\s+\d+=/;
const UDP_SEND = /^\s+\d+\/\d+\s+\d+\s+pps/;
const TCP_SEND = /^\s+\d+\/\d+\s+(\d+)(?:\s|$)/;

/** Every report row of an `iperf -e -f b` output, in order. Lines that don't match are skipped. */
export function parseRows(text: string): Iperf2Row[] {
  const rows: Iperf2Row[] = [];
  const pendingReport = new Set<number>();
  // Every row starts with "[": the patterns run only on those lines.
  eachLine(
    text,
    (line) => {
      const sr = SERVER_REPORT.exec(line);
      if (sr) {
        pendingReport.add(Number(sr[1]));
        return;
      }
      const m = ROW.exec(line);
      if (!m) return;
      const id = /^\d+$/.test(m[1]!) ? Number(m[1]) : Number.NaN;
      const rest = m[6]!;
      const row: Iperf2Row = {
        id,
        startS: Number(m[2]),
        endS: Number(m[3]),
        bytes: Number(m[4]),
        bitsPerSecond: Number(m[5]),
        kind: "other",
        serverReport: false,
      };
      let x: RegExpExecArray | null;
      if ((x = UDP_RECV.exec(rest))) {
        row.kind = "udp-recv";
        row.jitterMs = Number(x[1]);
        row.lost = Number(x[2]);
        row.total = Number(x[3]);
        if (pendingReport.delete(id)) row.serverReport = true;
      } else if (TCP_RECV.test(rest)) row.kind = "tcp-recv";
      else if (UDP_SEND.test(rest)) row.kind = "udp-send";
      else if ((x = TCP_SEND.exec(rest))) {
        row.kind = "tcp-send";
        row.retry = Number(x[1]);
      }
      rows.push(row);
    },
    "[",
  );
  return rows;
}

/**
 * What is wrong with the format of an output that has stream report rows but
 * none the parser reads (iperf run without `-f b`, or without `-e`); undefined
 * when a row is readable or there are no rows yet. An unfinished last line (a
 * server still printing) is left out.
 */
export function formatProblem(text: string): string | undefined {
  const finished = text.slice(0, text.lastIndexOf("\n") + 1);
  let rows = 0;
  let bytesBits = 0;
  let readable = false;
  eachLine(
    finished,
    (line) => {
      if (!ANY_ROW.test(line)) return false;
      rows++;
      if (!BYTES_BITS.test(line)) return false;
      bytesBits++;
      return (readable = parseRows(line)[0]?.kind !== "other");
    },
    "[",
  );
  if (rows === 0 || readable) return undefined;
  return bytesBits === 0
    ? 'its rates are in scaled units such as "GBytes" and "Gbits/sec", not bytes and bits/sec'
    : "its rows lack the enhanced columns (Write/Err, Rtry, Reads=Dist, Jitter Lost/Total)";
}

/**
 * Split one direction's rows into per-stream totals and interval rows. A
 * stream's total is its last row when that row starts at 0 and either an
 * earlier row of the stream also started at 0 (the first -i 1 interval) or
 * it spans most of the requested duration; so output cut after the first
 * interval is not taken for a total.
 */
export function split(rows: Iperf2Row[], durationS: number): { finals: Iperf2Row[]; intervals: Iperf2Row[] } {
  const last = new Map<number, Iperf2Row>();
  const zeroStarts = new Map<number, number>();
  for (const r of rows) {
    last.set(r.id, r);
    if (r.startS === 0) zeroStarts.set(r.id, (zeroStarts.get(r.id) ?? 0) + 1);
  }
  const finals = [...last.values()].filter((r) => r.startS === 0 && ((zeroStarts.get(r.id) ?? 0) > 1 || r.endS >= 0.9 * durationS));
  const finalSet = new Set(finals);
  return { finals: rows.filter((r) => finalSet.has(r)), intervals: rows.filter((r) => !finalSet.has(r)) };
}

/** Interval rows summed over streams, grouped by start time. */
export function intervalSums(rows: Iperf2Row[], reverse: boolean | undefined): IntervalSample[] {
  const byStart = new Map<string, IntervalSample>();
  for (const r of rows) {
    const key = r.startS.toFixed(3);
    const s = byStart.get(key) ?? { startS: r.startS, endS: r.endS, bitsPerSecond: 0, bytes: 0 };
    s.endS = Math.max(s.endS, r.endS);
    s.bitsPerSecond += r.bitsPerSecond;
    s.bytes += r.bytes;
    if (r.retry !== undefined) s.retransmits = (s.retransmits ?? 0) + r.retry;
    if (reverse !== undefined) s.reverse = reverse;
    byStart.set(key, s);
  }
  return [...byStart.values()].sort((a, b) => a.startS - b.startS);
}

/**
 * The aggregate rate of several streams' totals, bits/s. iperf's own [SUM]
 * total row of the same kind is used when it printed one (the tool's figure);
 * otherwise all bytes over the longest stream's time, as [SUM] computes it.
 * Summing per-stream rates would overstate when streams end at different times.
 */
export function aggregateBps(finals: Iperf2Row[], all: Iperf2Row[] = []): number {
  if (finals.length === 1) return finals[0]!.bitsPerSecond;
  const kind = finals[0]?.kind;
  const bytes = sum(finals.map((r) => r.bytes));
  const sumRow = all.filter((r) => Number.isNaN(r.id) && r.startS === 0 && r.kind === kind && r.bytes === bytes).at(-1);
  if (sumRow) return sumRow.bitsPerSecond;
  const seconds = max(finals.map((r) => r.endS - r.startS)) ?? 0;
  return seconds > 0 ? (8 * bytes) / seconds : 0;
}

/** Receiver-side UDP figures summed over streams: jitter is the mean of the streams' jitter. */
export function udpTotals(rows: Iperf2Row[]): { jitterMs?: number; lostPackets: number; packets: number; lossPercent?: number } {
  const lostPackets = sum(rows.map((r) => r.lost ?? 0));
  const packets = sum(rows.map((r) => r.total ?? 0));
  const t: { jitterMs?: number; lostPackets: number; packets: number; lossPercent?: number } = { lostPackets, packets };
  const j = mean(rows.flatMap((r) => (r.jitterMs === undefined ? [] : [r.jitterMs])));
  if (j !== undefined) t.jitterMs = j;
  if (packets > 0) t.lossPercent = (100 * lostPackets) / packets;
  return t;
}

export function stream(r: Iperf2Row, role: "sender" | "receiver"): StreamTotals {
  const t: StreamTotals = { id: count(r.id) ?? 0, bytes: r.bytes };
  if (role === "sender") t.senderBps = r.bitsPerSecond;
  else t.receiverBps = r.bitsPerSecond;
  if (r.retry !== undefined) t.retransmits = count(r.retry);
  if (r.jitterMs !== undefined) t.jitterMs = r.jitterMs;
  if (r.lost !== undefined) t.lostPackets = r.lost;
  if (r.total !== undefined) t.packets = r.total;
  return t;
}
