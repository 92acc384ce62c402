/**
 * iperf 2 (2.1.8) driver. Output is the enhanced text report (`-e -f b`),
 * not CSV: 2.1.8's CSV (`-y C`, with or without -e) has no TCP retry column
 * and no UDP server report, while `-e -f b` prints exact integers (bytes,
 * bits/s), TCP "Rtry" per stream and, on the UDP client, the server's report
 * (jitter ms, lost/total). Per-stream totals are summed here; [SUM] rows are
 * ignored. Rates in bits/s, jitter in ms, durations in seconds.
 */
import { aggregateBps, formatProblem, intervalSums, parseRows, split, stream, udpTotals } from "./iperf2-report.js";
import { max, sum } from "../../common/src/stats.js";
import { count } from "./numbers.js";
import type { CapturedOutput, ClientParams, DriverFailure, Measurement, ParseOutcome, ServerOutcome, ServerParams, ServerReport } from "./types.js";
import { guardClient, guardServer } from "./validate.js";
import { Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { argNum, bulkPayloadBytes, defineDriver, fail, findLine, firstLine, isIPv6, ok, UNREACHABLE_RE } from "./util.js";

export { parseRows, type Iperf2Row } from "./iperf2-report.js";

/** iperf 2 accepts at most this many parallel client threads here (the spec limit). */
export const IPERF2_MAX_PARALLEL = 128;

function errorOutcome(line: string): ParseOutcome {
  return fail(UNREACHABLE_RE.test(line) ? "unreachable" : "tool-error", `iperf2: ${line}`);
}

/** The flags the parser needs iperf 2 to run with (client and server). */
export const IPERF2_REPORT_FLAGS = "-e -f b";

/** The "wrong format" failure, naming the flags the parser expects; undefined when the format is right or no row was printed. */
function wrongFormat(stdout: string): DriverFailure | undefined {
  const problem = formatProblem(stdout);
  if (problem === undefined) return undefined;
  return { code: "parse-error", reason: `iperf2: output is not in the expected format (${problem}): run with ${IPERF2_REPORT_FLAGS}` };
}

/**
 * Parse an `iperf -c … -e -f b` client run. Forward: sender totals (bits/s),
 * TCP retries, and for UDP the server's report when the client printed one.
 * Reverse (-R) and the reverse half of bidir (--full-duplex) come from the
 * client's receiving rows. UDP forward without a server report carries no
 * receiver figures: the server's output (parseServer) fills them in.
 */
function parseClient(out: CapturedOutput, p: ClientParams): ParseOutcome {
  return guardClient("iperf2", out, () => parseClientOutput(out, p));
}

function parseClientOutput(out: CapturedOutput, p: ClientParams): ParseOutcome {
  const allRows = parseRows(out.stdout);
  const rows = allRows.filter((r) => !Number.isNaN(r.id));
  const all = `${out.stdout}\n${out.stderr}`;
  const send = split(
    rows.filter((r) => r.kind === "tcp-send" || r.kind === "udp-send"),
    p.durationS,
  );
  const recv = split(
    rows.filter((r) => (r.kind === "tcp-recv" || r.kind === "udp-recv") && !r.serverReport),
    p.durationS,
  );
  // A server report is a single total per stream.
  const reports = split(
    rows.filter((r) => r.serverReport),
    0,
  ).finals;
  const fwd = p.direction !== "reverse";
  const rev = p.direction !== "forward";
  const need = Math.max(1, p.parallel);
  const have = Math.min(fwd ? send.finals.length : need, rev ? recv.finals.length : need);
  if (have < need) {
    const connect = findLine(all, /connect failed:/i);
    if (connect) return errorOutcome(connect);
    // e.g. "recvmsg failed: Connection refused" on one stream of a UDP --full-duplex run
    const failed = findLine(all, /\bfailed:/i);
    if (failed) return fail("tool-error", `iperf2: ${failed}`);
    const err = firstLine(out.stderr);
    if (rows.length === 0 && err) return errorOutcome(err);
    if (out.exitCode !== 0 && out.exitCode !== null) return fail("tool-error", `iperf2: exited ${out.exitCode}: ${err ?? "no report"}`);
    const format = wrongFormat(out.stdout);
    if (format) return fail(format.code, format.reason);
    if (rows.length === 0) return fail("parse-error", "iperf2: no report rows in the output");
    return fail("parse-error", `iperf2: only ${have} of ${need} streams reported totals (output truncated?)`);
  }
  const udp = p.protocol === "udp";
  const refused = findLine(out.stderr, /read failed: connection refused/i);
  if (udp && fwd && reports.length === 0 && refused) {
    return fail("unreachable", `iperf2: ${refused} (no iperf2 UDP server answered on port ${p.port})`);
  }
  if (!fwd && recv.finals.every((r) => r.bytes === 0)) return fail("unreachable", "iperf2: nothing arrived from the server (0 bytes received)");
  const primary = fwd ? send.finals : recv.finals;
  const m: Measurement = {
    durationS: max(primary.map((r) => r.endS)) ?? 0,
    intervals: [],
    streams: [],
    extra: {},
  };
  const bidir = fwd && rev;
  if (fwd) {
    m.senderBps = aggregateBps(send.finals, allRows);
    m.bytesSent = sum(send.finals.map((r) => r.bytes));
    if (!udp) {
      m.retransmits = count(sum(send.finals.map((r) => r.retry ?? 0)));
      m.throughputBps = m.senderBps;
    } else if (reports.length >= need) {
      if (reports.every((r) => r.bytes === 0)) {
        return fail("unreachable", `iperf2: the server received nothing (0 of ${sum(reports.map((r) => r.total ?? 0))} datagrams)`);
      }
      m.receiverBps = aggregateBps(reports, allRows);
      m.bytesReceived = sum(reports.map((r) => r.bytes));
      m.throughputBps = m.receiverBps;
      Object.assign(m, udpTotals(reports));
    }
    // The first report of each stream id (a map, not a search per stream: linear however many there are).
    const reportOf = new Map<number, (typeof reports)[number]>();
    for (const x of reports) if (!reportOf.has(x.id)) reportOf.set(x.id, x);
    m.streams = send.finals.map((r) => {
      const s = stream(r, "sender");
      const rep = reportOf.get(r.id);
      return rep ? { ...stream(rep, "receiver"), ...s, bytes: rep.bytes } : s;
    });
    for (const s of intervalSums(send.intervals, bidir ? false : undefined)) m.intervals.push(s);
  }
  if (rev) {
    const bps = aggregateBps(recv.finals, allRows);
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
    for (const s of intervalSums(recv.intervals, bidir ? true : undefined)) m.intervals.push(s);
  }
  return ok(m);
}

/**
 * What an `iperf -s … -e -f b` server received (the forward direction):
 * receiver bits/s summed over streams and, for UDP, jitter (ms, mean over
 * streams), lost/total datagrams and loss %. Uses the last `p.parallel`
 * stream totals in the output; "pending" while none has been printed, a
 * parse error when it prints rows in another format (run without -e -f b).
 */
function parseServer(stdout: string, p: ClientParams): ServerOutcome {
  return guardServer("iperf2", stdout, () => parseServerOutput(stdout, p));
}

function parseServerOutput(stdout: string, p: ClientParams): ServerOutcome {
  const allRows = parseRows(stdout);
  const rows = allRows.filter((r) => !Number.isNaN(r.id) && (r.kind === "tcp-recv" || r.kind === "udp-recv"));
  const finals = split(rows, p.durationS).finals.slice(-Math.max(1, p.parallel));
  if (finals.length === 0) {
    const format = wrongFormat(stdout);
    return format ? { status: "failed", failure: format } : { status: "pending" };
  }
  const report: ServerReport = {
    receiverBps: aggregateBps(finals, allRows),
    streams: finals.map((r) => stream(r, "receiver")),
  };
  if (finals.some((r) => r.kind === "udp-recv")) Object.assign(report, udpTotals(finals));
  return { status: "report", report };
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
export const iperf2 = defineDriver({
  tool: "iperf2",
  wire: Tool.IPERF2,
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
    if (p.protocol === "udp" && p.direction === "bidir" && p.parallel > 1) {
      return 'iperf2 2.1.8 UDP --full-duplex with more than one stream is unreliable (a reverse stream can fail with "recvmsg failed: Connection refused"); use parallel 1 or iperf3';
    }
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
  /** `iperf -s -u` binds a UDP socket and opens no TCP listener. */
  serverListens: (protocol) => protocol,
  capabilities: { transport: "ip", pacing: true, omit: false, retransmits: true, intervals: true, cannotCross: {}, mss: true, crosscheck: { tcp: true, udp: true } },
  measures: { throughput: true },
  runMs: (p) => p.durationS * 1000,
  describeRun: (p) => ({ figures: `${p.durationS} s`, shorten: "use a shorter duration" }),
  payloadBytes: bulkPayloadBytes,
});
