/**
 * iperf 2 (2.1.8) driver. Output is the enhanced text report (`-e -f b`),
 * not CSV: 2.1.8's CSV (`-y C`, with or without -e) has no TCP retry column
 * and no UDP server report, while `-e -f b` prints exact integers (bytes,
 * bits/s), TCP "Rtry" per stream and, on the UDP client, the server's report
 * (jitter ms, lost/total). Per-stream totals are summed here; [SUM] rows are
 * ignored. Rates in bits/s, jitter in ms, durations in seconds.
 */
import { count, mean, sum } from "./stats.js";
import type { CapturedOutput, ClientParams, Driver, IntervalSample, Measurement, ParseOutcome, ServerParams, ServerReport, StreamTotals } from "./types.js";
import { argNum, fail, findLine, firstLine, isIPv6, ok, UNREACHABLE_RE } from "./util.js";

/** iperf 2 accepts at most this many parallel client threads here (the spec limit). */
export const IPERF2_MAX_PARALLEL = 128;

type Kind = "tcp-send" | "tcp-recv" | "udp-send" | "udp-recv" | "other";

/** One report row: `[ ID] a-b sec N Bytes R bits/sec …`. */
export interface Iperf2Row {
  /** Numeric stream id; NaN for [SUM], [SUM-n] and [FDn] rows. */
  id: number;
  startS: number;
  endS: number;
  bytes: number;
  bitsPerSecond: number;
  kind: Kind;
  retry?: number;
  jitterMs?: number;
  lost?: number;
  total?: number;
  /** The row follows "[ n] Server Report:" (UDP client: what the server received). */
  serverReport: boolean;
}

const ROW = /^\[\s*\*?\s*(\d+|SUM(?:-\d+)?|FD\d+)\]\s+(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s+sec\s+(\d+)\s+Bytes\s+(\d+)\s+bits\/sec(.*)$/;
const SERVER_REPORT = /^\[\s*\*?\s*(\d+)\]\s+Server Report:/;
const UDP_RECV = /^\s+(-?\d+(?:\.\d+)?)\s+ms\s+(-?\d+)\/\s*(\d+)\s+\(/;
const TCP_RECV = /^\s+\d+=/;
const UDP_SEND = /^\s+\d+\/\d+\s+\d+\s+pps/;
const TCP_SEND = /^\s+\d+\/\d+\s+(\d+)(?:\s|$)/;

/** Every report row of an `iperf -e -f b` output, in order. Lines that don't match are skipped. */
export function parseRows(text: string): Iperf2Row[] {
  const rows: Iperf2Row[] = [];
  const pendingReport = new Set<number>();
  for (const line of text.split(/\r?\n/)) {
    const sr = SERVER_REPORT.exec(line);
    if (sr) {
      pendingReport.add(Number(sr[1]));
      continue;
    }
    const m = ROW.exec(line);
    if (!m) continue;
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
  }
  return rows;
}

/**
 * Split one direction's rows into per-stream totals and interval rows. A
 * stream's total is its last row when that row starts at 0 and either an
 * earlier row of the stream also started at 0 (the first -i 1 interval) or
 * it spans most of the requested duration; so output cut after the first
 * interval is not taken for a total.
 */
function split(rows: Iperf2Row[], durationS: number): { finals: Iperf2Row[]; intervals: Iperf2Row[] } {
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
function intervalSums(rows: Iperf2Row[], reverse: boolean | undefined): IntervalSample[] {
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

/** Receiver-side UDP figures summed over streams: jitter is the mean of the streams' jitter. */
function udpTotals(rows: Iperf2Row[]): { jitterMs?: number; lostPackets: number; packets: number; lossPercent?: number } {
  const lostPackets = sum(rows.map((r) => r.lost ?? 0));
  const packets = sum(rows.map((r) => r.total ?? 0));
  const t: { jitterMs?: number; lostPackets: number; packets: number; lossPercent?: number } = { lostPackets, packets };
  const j = mean(rows.flatMap((r) => (r.jitterMs === undefined ? [] : [r.jitterMs])));
  if (j !== undefined) t.jitterMs = j;
  if (packets > 0) t.lossPercent = (100 * lostPackets) / packets;
  return t;
}

function stream(r: Iperf2Row, role: "sender" | "receiver"): StreamTotals {
  const t: StreamTotals = { id: count(r.id) ?? 0, bytes: r.bytes };
  if (role === "sender") t.senderBps = r.bitsPerSecond;
  else t.receiverBps = r.bitsPerSecond;
  if (r.retry !== undefined) t.retransmits = count(r.retry);
  if (r.jitterMs !== undefined) t.jitterMs = r.jitterMs;
  if (r.lost !== undefined) t.lostPackets = r.lost;
  if (r.total !== undefined) t.packets = r.total;
  return t;
}

function errorOutcome(line: string): ParseOutcome {
  return fail(UNREACHABLE_RE.test(line) ? "unreachable" : "tool-error", `iperf2: ${line}`);
}

/**
 * Parse an `iperf -c … -e -f b` client run. Forward: sender totals (bits/s),
 * TCP retries, and for UDP the server's report when the client printed one.
 * Reverse (-R) and the reverse half of bidir (--full-duplex) come from the
 * client's receiving rows. UDP forward without a server report carries no
 * receiver figures: the server's output (parseServer) fills them in.
 */
function parseClient(out: CapturedOutput, p: ClientParams): ParseOutcome {
  const rows = parseRows(out.stdout).filter((r) => !Number.isNaN(r.id));
  const all = `${out.stdout}\n${out.stderr}`;
  const send = split(rows.filter((r) => r.kind === "tcp-send" || r.kind === "udp-send"), p.durationS);
  const recv = split(rows.filter((r) => (r.kind === "tcp-recv" || r.kind === "udp-recv") && !r.serverReport), p.durationS);
  // A server report is a single total per stream.
  const reports = split(rows.filter((r) => r.serverReport), 0).finals;
  const fwd = p.direction !== "reverse";
  const rev = p.direction !== "forward";
  const need = Math.max(1, p.parallel);
  const have = Math.min(fwd ? send.finals.length : need, rev ? recv.finals.length : need);
  if (have < need) {
    const connect = findLine(all, /connect failed:/i);
    if (connect) return errorOutcome(connect);
    const err = firstLine(out.stderr);
    if (rows.length === 0 && err) return errorOutcome(err);
    if (out.exitCode !== 0 && out.exitCode !== null) return fail("tool-error", `iperf2: exited ${out.exitCode}: ${err ?? "no report"}`);
    if (rows.length === 0) return fail("parse-error", "iperf2: no report rows in the output");
    return fail("parse-error", `iperf2: only ${have} of ${need} streams reported totals (output truncated?)`);
  }
  const udp = p.protocol === "udp";
  const refused = findLine(out.stderr, /read failed: connection refused/i);
  if (udp && fwd && reports.length === 0 && refused) {
    return fail("unreachable", `iperf2: ${refused} (no iperf2 UDP server answered on port ${p.port})`);
  }
  const primary = fwd ? send.finals : recv.finals;
  const m: Measurement = {
    durationS: Math.max(...primary.map((r) => r.endS)),
    intervals: [],
    streams: [],
    extra: {},
  };
  const bidir = fwd && rev;
  if (fwd) {
    m.senderBps = sum(send.finals.map((r) => r.bitsPerSecond));
    m.bytesSent = sum(send.finals.map((r) => r.bytes));
    if (!udp) {
      m.retransmits = count(sum(send.finals.map((r) => r.retry ?? 0)));
      m.throughputBps = m.senderBps;
    } else if (reports.length >= need) {
      m.receiverBps = sum(reports.map((r) => r.bitsPerSecond));
      m.bytesReceived = sum(reports.map((r) => r.bytes));
      m.throughputBps = m.receiverBps;
      Object.assign(m, udpTotals(reports));
    }
    m.streams = send.finals.map((r) => {
      const s = stream(r, "sender");
      const rep = reports.find((x) => x.id === r.id);
      return rep ? { ...stream(rep, "receiver"), ...s, bytes: rep.bytes } : s;
    });
    m.intervals.push(...intervalSums(send.intervals, bidir ? false : undefined));
  }
  if (rev) {
    const bps = sum(recv.finals.map((r) => r.bitsPerSecond));
    const bytes = sum(recv.finals.map((r) => r.bytes));
    const u = udp ? udpTotals(recv.finals) : undefined;
    if (bidir) {
      m.reverseReceiverBps = bps;
      m.extra.reverse_bytes_received = bytes;
      if (u) {
        if (u.jitterMs !== undefined) m.extra.reverse_jitter_ms = u.jitterMs;
        m.extra.reverse_lost_packets = u.lostPackets;
        m.extra.reverse_packets = u.packets;
        if (u.lossPercent !== undefined) m.extra.reverse_loss_percent = u.lossPercent;
      }
    } else {
      m.receiverBps = bps;
      m.throughputBps = bps;
      m.bytesReceived = bytes;
      if (u) Object.assign(m, u);
      m.streams = recv.finals.map((r) => stream(r, "receiver"));
    }
    m.intervals.push(...intervalSums(recv.intervals, bidir ? true : undefined));
  }
  return ok(m);
}

/**
 * What an `iperf -s … -e -f b` server received (the forward direction):
 * receiver bits/s summed over streams and, for UDP, jitter (ms, mean over
 * streams), lost/total datagrams and loss %. Uses the last `p.parallel`
 * stream totals in the output; undefined while none has been printed.
 */
function parseServer(stdout: string, p: ClientParams): ServerReport | undefined {
  const rows = parseRows(stdout).filter((r) => !Number.isNaN(r.id) && (r.kind === "tcp-recv" || r.kind === "udp-recv"));
  const finals = split(rows, p.durationS).finals.slice(-Math.max(1, p.parallel));
  if (finals.length === 0) return undefined;
  const report: ServerReport = {
    receiverBps: sum(finals.map((r) => r.bitsPerSecond)),
    streams: finals.map((r) => stream(r, "receiver")),
  };
  if (finals.some((r) => r.kind === "udp-recv")) Object.assign(report, udpTotals(finals));
  return report;
}

/** The argv of an iperf2 client: `iperf -c T -p P -e -f b -t D -i 1 [-u] [-b] [-P] [-R|--full-duplex] [-l] [-w] [-M]`. */
function clientArgv(p: ClientParams): string[] {
  const a = ["iperf", "-c", p.target, "-p", argNum(p.port), "-e", "-f", "b", "-t", argNum(p.durationS), "-i", "1"];
  if (p.protocol === "udp") a.push("-u");
  // Without -b, UDP runs at iperf2's default 1 Mbit/s; with TCP, -b paces.
  if (p.bitrateBps !== undefined) a.push("-b", argNum(Math.round(p.bitrateBps)));
  if (p.parallel > 1) a.push("-P", argNum(p.parallel));
  if (p.direction === "reverse") a.push("-R");
  if (p.direction === "bidir") a.push("--full-duplex");
  if (p.lengthBytes !== undefined) a.push("-l", argNum(p.lengthBytes));
  if (p.windowBytes !== undefined) a.push("-w", argNum(p.windowBytes));
  if (p.mss !== undefined) a.push("-M", argNum(p.mss));
  return a;
}

/** iperf 2: throughput (bits/s), TCP retries, UDP jitter (ms)/loss via the server report; forward, -R, --full-duplex. */
export const iperf2: Driver = {
  tool: "iperf2",
  binary: "iperf",
  debianPackage: "iperf",
  needsServer: true,
  serverPorts: 1,
  versionArgv: () => ["iperf", "-v"],
  /** "iperf version 2.1.8 (12 August 2022) pthreads" (printed on stderr) → "2.1.8". */
  parseVersion: (output) => /\biperf version (\d+\.\d+(?:\.\d+)?)/.exec(output)?.[1],
  unsupported(p) {
    if (!Number.isInteger(p.parallel) || p.parallel < 1 || p.parallel > IPERF2_MAX_PARALLEL) {
      return `iperf2 runs 1 to ${IPERF2_MAX_PARALLEL} parallel streams, not ${p.parallel}`;
    }
    if (p.omitS !== undefined && p.omitS > 0) return "iperf2 cannot omit the first seconds (no -O option); use iperf3 or leave omit unset";
    return undefined;
  },
  /**
   * `iperf -s -p P -e -f b [-u] -V` — -V (AF_INET6 socket) accepts IPv4 and
   * IPv6 clients; with an IPv4 bind address the server binds that address
   * without -V. The server serves many clients; the agent stops it.
   */
  serverArgv(p: ServerParams) {
    const a = ["iperf", "-s", "-p", argNum(p.port), "-e", "-f", "b"];
    if (p.protocol === "udp") a.push("-u");
    if (!p.bind || isIPv6(p.bind)) a.push("-V");
    if (p.bind) a.push("-B", p.bind);
    return a;
  },
  clientArgv,
  parseClient,
  parseServer,
};
