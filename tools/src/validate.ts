/**
 * The last word on what a parser hands back. Every driver's parseClient and
 * parseServer go through here: the input is bounded, a parser that throws
 * becomes a typed failure, and every figure of a Measurement or ServerReport
 * is checked (finite, in range, consistent, fits its protobuf field) before
 * it can reach the wire — a figure that breaks a rule makes the whole parse a
 * "parse-error" naming the figure, never a number. The one repair: a negative
 * UDP loss (the tool counted reordered datagrams against its losses, as in
 * esnet/iperf#914) becomes loss 0 with the amount kept in
 * `extra.reordered_packets` (`extra.reverse_reordered_packets`, and
 * `extra.reordered_streams` for per-stream figures). Pure.
 */
import type { CapturedOutput, DriverFailure, IntervalSample, Latency, Measurement, ParseOutcome, ServerOutcome, ServerReport, StreamTotals } from "./types.js";
import { fail, oneLine, ok } from "./util.js";

/** Largest value of a protobuf uint32 field (retransmits, stream ids, latency samples). */
export const UINT32_MAX = 0xffff_ffff;

/**
 * Characters per stream (stdout, stderr) a parser reads: the agent's exec
 * helper keeps at most DEFAULT_MAX_OUTPUT_BYTES (common/src/exec.ts, 16 MiB)
 * per stream, and UTF-8 never decodes to more characters than bytes.
 */
export const MAX_PARSE_CHARS = 16 * 1024 * 1024;

/**
 * Interval samples a measurement may carry: one per second of the longest run
 * (3600 s + 60 s omitted, tools/src/limits.ts) in both directions, with room
 * for the tools' short last intervals. More is not one run's output, and would
 * push the result towards the gRPC message size limit.
 */
export const MAX_INTERVALS = 8192;

/** Per-stream totals a measurement may carry: both directions of the most parallel streams (128). */
export const MAX_STREAMS = 256;

/** Marks the failure of a parser that threw: a bug, which the fuzz tests look for. */
export const PARSER_THREW = "the parser failed on this output";

/** The first rule a figure breaks, as "what is wrong". */
class Rules {
  problem: string | undefined;

  private broke(text: string): false {
    this.problem ??= text;
    return false;
  }

  /** Finite and ≥ 0 (rates, bytes, durations, jitter, CPU %). */
  nonNegative(name: string, v: number | undefined): boolean {
    if (v === undefined) return true;
    if (typeof v !== "number" || !Number.isFinite(v)) return this.broke(`${name} is ${String(v)}, not a finite number`);
    if (v < 0) return this.broke(`${name} ${v} is negative`);
    return true;
  }

  /** A whole count ≥ 0 that a double carries exactly (packets). */
  count(name: string, v: number | undefined): boolean {
    if (!this.nonNegative(name, v)) return false;
    if (v !== undefined && !Number.isInteger(v)) return this.broke(`${name} ${v} is not a whole number`);
    if (v !== undefined && !Number.isSafeInteger(v)) return this.broke(`${name} ${v} is too large to be a count`);
    return true;
  }

  /** A protobuf uint32: a whole number in 0..4294967295 (retransmits, stream ids, samples). */
  uint32(name: string, v: number | undefined): boolean {
    if (!this.nonNegative(name, v)) return false;
    if (v !== undefined && (!Number.isInteger(v) || v > UINT32_MAX)) return this.broke(`${name} ${v} is outside the whole numbers 0..${UINT32_MAX}`);
    return true;
  }

  /** 0..100. */
  percent(name: string, v: number | undefined): boolean {
    if (!this.nonNegative(name, v)) return false;
    if (v !== undefined && v > 100) return this.broke(`${name} ${v} % is above 100 %`);
    return true;
  }

  /** `a` ≤ `b` when both are known. */
  atMost(aName: string, a: number | undefined, bName: string, b: number | undefined): boolean {
    if (a === undefined || b === undefined || a <= b) return true;
    return this.broke(`${aName} ${a} is more than ${bName} ${b}`);
  }

  /** At most `max` entries. */
  length(name: string, n: number, max: number): boolean {
    return n <= max || this.broke(`${n} ${name} is more than the ${max} one run can produce`);
  }
}

/** UDP loss figures of one direction. */
interface Loss {
  lostPackets?: number | undefined;
  packets?: number | undefined;
  lossPercent?: number | undefined;
}

/**
 * Clamp a negative loss (reordered datagrams counted against the losses) to 0;
 * returns how many packets were clamped, 0 when none. Leaves an impossible
 * negative loss (more reordered than sent, or a sign that disagrees with the
 * percentage) for the rules to refuse.
 */
function clampReordered(l: Loss): number {
  const lost = l.lostPackets;
  if (lost === undefined || !Number.isFinite(lost) || lost >= 0) return 0;
  if (l.packets !== undefined && -lost > l.packets) return 0;
  if (l.lossPercent !== undefined && !(l.lossPercent <= 0 && l.lossPercent >= -100)) return 0;
  l.lostPackets = 0;
  if (l.lossPercent !== undefined) l.lossPercent = 0;
  return -lost;
}

function checkLoss(r: Rules, what: string, l: Loss): void {
  r.count(`${what}lost packets`, l.lostPackets);
  r.count(`${what}packets`, l.packets);
  r.percent(`${what}loss`, l.lossPercent);
  r.atMost(`${what}lost packets`, l.lostPackets, `${what}packets sent`, l.packets);
}

function checkLatency(r: Rules, l: Latency): void {
  for (const k of ["meanUs", "minUs", "maxUs", "stddevUs", "p50Us", "p90Us", "p99Us", "p999Us"] as const) r.nonNegative(`latency ${k}`, l[k]);
  r.atMost("latency minUs", l.minUs, "latency maxUs", l.maxUs);
  // Percentiles of one set of samples cannot decrease; the 99.9th (sockperf) comes with its own max.
  r.atMost("latency p50Us", l.p50Us, "latency p90Us", l.p90Us);
  r.atMost("latency p90Us", l.p90Us, "latency p99Us", l.p99Us);
  r.atMost("latency p99Us", l.p99Us, "latency p999Us", l.p999Us);
  r.atMost("latency p999Us", l.p999Us, "latency maxUs", l.maxUs);
  r.uint32("latency samples", l.samples);
}

function checkInterval(r: Rules, s: IntervalSample, i: number): void {
  const at = `interval ${i}`;
  r.nonNegative(`${at} start`, s.startS);
  r.nonNegative(`${at} end`, s.endS);
  r.atMost(`${at} start`, s.startS, "its end", s.endS);
  r.nonNegative(`${at} bits/s`, s.bitsPerSecond);
  r.nonNegative(`${at} bytes`, s.bytes);
  r.uint32(`${at} retransmits`, s.retransmits);
}

/** Streams: clamp their negative losses, then check; returns how many streams were clamped. */
function checkStreams(r: Rules, streams: StreamTotals[]): number {
  let clamped = 0;
  if (!r.length("streams", streams.length, MAX_STREAMS)) return 0;
  for (const s of streams) {
    if (clampReordered(s) > 0) clamped++;
    const at = `stream ${String(s.id)}`;
    r.uint32("stream id", s.id);
    r.nonNegative(`${at} sender bits/s`, s.senderBps);
    r.nonNegative(`${at} receiver bits/s`, s.receiverBps);
    r.nonNegative(`${at} bytes`, s.bytes);
    r.uint32(`${at} retransmits`, s.retransmits);
    r.nonNegative(`${at} jitter ms`, s.jitterMs);
    checkLoss(r, `${at} `, s);
  }
  return clamped;
}

/**
 * The measurement with negative losses clamped and flagged, or the first rule
 * it breaks. Bytes received may exceed bytes sent by a little (iperf3 with -O
 * and qperf count over slightly different windows, as the fixtures show), so
 * only packet counts are held to received ≤ sent.
 */
export function checkMeasurement(tool: string, input: Measurement): ParseOutcome {
  const m: Measurement = { ...input, streams: input.streams.map((s) => ({ ...s })), extra: { ...input.extra } };
  if (input.latency) m.latency = { ...input.latency };
  const r = new Rules();
  const fwd: Loss = m;
  const reordered = clampReordered(fwd);
  if (reordered > 0) m.extra.reordered_packets = reordered;
  const rev: Loss = { lostPackets: m.extra.reverse_lost_packets, packets: m.extra.reverse_packets, lossPercent: m.extra.reverse_loss_percent };
  const revReordered = clampReordered(rev);
  if (revReordered > 0) {
    m.extra.reverse_lost_packets = rev.lostPackets!;
    if (rev.lossPercent !== undefined) m.extra.reverse_loss_percent = rev.lossPercent;
    m.extra.reverse_reordered_packets = revReordered;
  }
  const clampedStreams = checkStreams(r, m.streams);
  if (clampedStreams > 0) m.extra.reordered_streams = clampedStreams;

  for (const k of ["throughputBps", "senderBps", "receiverBps", "reverseSenderBps", "reverseReceiverBps", "bytesSent", "bytesReceived"] as const) {
    r.nonNegative(k, m[k]);
  }
  r.uint32("retransmits", m.retransmits);
  r.nonNegative("jitter ms", m.jitterMs);
  checkLoss(r, "", m);
  if (m.latency) checkLatency(r, m.latency);
  r.nonNegative("message rate /s", m.messageRatePerS);
  r.nonNegative("requests /s", m.requestsPerS);
  r.nonNegative("connections /s", m.connectionsPerS);
  r.nonNegative("local CPU %", m.localCpuPercent);
  r.nonNegative("remote CPU %", m.remoteCpuPercent);
  r.nonNegative("duration s", m.durationS);
  if (r.length("intervals", m.intervals.length, MAX_INTERVALS)) m.intervals.forEach((s, i) => checkInterval(r, s, i));
  for (const [k, v] of Object.entries(m.extra)) {
    if (k.endsWith("_loss_percent")) r.percent(k, v);
    else r.nonNegative(k, v);
  }
  checkLoss(r, "reverse ", rev);
  if (r.problem !== undefined) return fail("parse-error", `${tool}: ${r.problem}; the output is not a measurement netmatrix can trust`);
  return ok(m);
}

/** The server report with negative losses clamped, or the first rule it breaks. */
export function checkServerReport(tool: string, input: ServerReport): ServerOutcome {
  const report: ServerReport = { ...input, streams: input.streams.map((s) => ({ ...s })) };
  const r = new Rules();
  const flags: Record<string, number> = {};
  const reordered = clampReordered(report);
  if (reordered > 0) flags.reordered_packets = reordered;
  const clampedStreams = checkStreams(r, report.streams);
  if (clampedStreams > 0) flags.reordered_streams = clampedStreams;
  if (Object.keys(flags).length > 0) report.extra = { ...input.extra, ...flags };
  for (const [k, v] of Object.entries(report.extra ?? {})) r.nonNegative(k, v);
  r.nonNegative("receiver bits/s", report.receiverBps);
  r.nonNegative("jitter ms", report.jitterMs);
  checkLoss(r, "", report);
  if (r.problem !== undefined)
    return { status: "failed", failure: { code: "parse-error", reason: oneLine(`${tool}: server ${r.problem}; the output is not a report netmatrix can trust`) } };
  return { status: "report", report };
}

/** A failure when a stream is longer than a parser reads, else undefined. */
export function tooLong(tool: string, streams: Record<string, string>): DriverFailure | undefined {
  for (const [name, text] of Object.entries(streams)) {
    if (text.length > MAX_PARSE_CHARS) {
      return { code: "parse-error", reason: `${tool}: its ${name} has ${text.length} characters, more than the ${MAX_PARSE_CHARS} a parser reads; not parsed` };
    }
  }
  return undefined;
}

function thrown(tool: string, err: unknown): DriverFailure {
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { code: "parse-error", reason: oneLine(`${tool}: ${PARSER_THREW} (${what})`) };
}

/**
 * Run a client parser within the bounds: input no longer than
 * MAX_PARSE_CHARS per stream, a throw turned into a parse error, every
 * success checked by checkMeasurement.
 */
export function guardClient(tool: string, out: CapturedOutput, parse: () => ParseOutcome): ParseOutcome {
  const long = tooLong(tool, { stdout: out.stdout, stderr: out.stderr });
  if (long) return { ok: false, failure: long };
  let outcome: ParseOutcome;
  try {
    outcome = parse();
  } catch (err) {
    return { ok: false, failure: thrown(tool, err) };
  }
  return outcome.ok ? checkMeasurement(tool, outcome.measurement) : outcome;
}

/** The same for a server parser: bounded, never throwing, every report checked. */
export function guardServer(tool: string, stdout: string, parse: () => ServerOutcome): ServerOutcome {
  const long = tooLong(tool, { "server output": stdout });
  if (long) return { status: "failed", failure: long };
  let outcome: ServerOutcome;
  try {
    outcome = parse();
  } catch (err) {
    return { status: "failed", failure: thrown(tool, err) };
  }
  return outcome.status === "report" ? checkServerReport(tool, outcome.report) : outcome;
}
