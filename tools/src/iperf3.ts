/**
 * iperf3 (3.12) driver: JSON output (`-J`). Rates in bits/s, jitter in ms,
 * durations in seconds. iperf3 3.12 exits 0 with a top-level `"error"` field
 * on connection errors, so the error field is checked before any figure.
 */
import { mean } from "../../common/src/stats.js";
import { count, finite } from "./numbers.js";
import type { CapturedOutput, ClientParams, IntervalSample, Measurement, ParseOutcome, ServerParams, StreamTotals } from "./types.js";
import { Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { argNum, bulkPayloadBytes, defineDriver, fail, firstLine, ok, UNREACHABLE_RE } from "./util.js";
import { guardClient } from "./validate.js";

/** iperf3 3.12 refuses more parallel streams than this. */
export const IPERF3_MAX_PARALLEL = 128;
/** `--connect-timeout` passed to the client, milliseconds. */
export const IPERF3_CONNECT_TIMEOUT_MS = 3000;

type Json = Record<string, unknown>;

function obj(x: unknown): Json | undefined {
  return typeof x === "object" && x !== null && !Array.isArray(x) ? (x as Json) : undefined;
}
function arr(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}

/** The argv of an iperf3 client: `iperf3 -c T -p P -J --connect-timeout 3000 -t D [-u] [-b] [-P] [-R|--bidir] [-l] [-w] [-M] [-O] -i 1`. */
function clientArgv(p: ClientParams): string[] {
  const a = ["iperf3", "-c", p.target, "-p", argNum(p.port), "-J", "--connect-timeout", argNum(IPERF3_CONNECT_TIMEOUT_MS)];
  // iperf3 reads -t with atoi: whole seconds only, so round a fraction up.
  a.push("-t", argNum(Math.max(1, Math.ceil(p.durationS))));
  if (p.protocol === "udp") a.push("-u");
  // Without -b, UDP runs at iperf3's default 1 Mbit/s and TCP is unlimited.
  if (p.bitrateBps !== undefined) a.push("-b", argNum(Math.round(p.bitrateBps)));
  if (p.parallel > 1) a.push("-P", argNum(p.parallel));
  if (p.direction === "reverse") a.push("-R");
  if (p.direction === "bidir") a.push("--bidir");
  if (p.lengthBytes !== undefined) a.push("-l", argNum(p.lengthBytes));
  if (p.windowBytes !== undefined) a.push("-w", argNum(p.windowBytes));
  if (p.mss !== undefined) a.push("-M", argNum(p.mss));
  if (p.omitS !== undefined && p.omitS > 0) a.push("-O", argNum(p.omitS));
  a.push("-i", "1");
  return a;
}

/** Map an iperf3 error message to a failure code. */
function classify(message: string): ParseOutcome {
  const reason = `iperf3: ${message.replace(/^iperf3:\s*(error\s*-\s*)?/i, "")}`;
  if (/server is busy/i.test(message)) return fail("server-busy", reason);
  if (UNREACHABLE_RE.test(message)) return fail("unreachable", reason);
  return fail("tool-error", reason);
}

/** iperf3's documents nest 5 deep; JSON.parse is slow on deep nesting ("[[[[…" runs at a tenth of its usual speed). */
const MAX_JSON_DEPTH = 32;

/** Whether `text`'s brackets, outside strings, nest at most `max` deep. One pass, no allocation. */
function nestingWithin(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) return false;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return true;
}

/** JSON.parse, or the largest `{…}` slice when the tool wrote something around it; undefined if neither parses. */
function parseJson(text: string): Json | undefined {
  if (!nestingWithin(text, MAX_JSON_DEPTH)) return undefined;
  const tries = [text];
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start >= 0 && end > start) tries.push(text.slice(start, end + 1));
  for (const t of tries) {
    try {
      const v = obj(JSON.parse(t));
      if (v) return v;
    } catch {
      // try the next form
    }
  }
  return undefined;
}

/**
 * Bytes moved during the omitted intervals (-O), both directions for bidir:
 * they crossed the NIC but are not in the end totals, so wire/payload needs them.
 */
function omittedBytes(doc: Json, bidir: boolean): number {
  let bytes = 0;
  for (const iv of arr(doc.intervals)) {
    const o = obj(iv);
    for (const s of [obj(o?.sum), bidir ? obj(o?.sum_bidir_reverse) : undefined]) if (s?.omitted === true) bytes += finite(s.bytes) ?? 0;
  }
  return bytes;
}

/** Per-interval sums (omitted intervals dropped); bidir adds the reverse direction with `reverse: true`. */
function intervals(doc: Json, bidir: boolean): IntervalSample[] {
  const out: IntervalSample[] = [];
  const add = (s: Json | undefined, reverse: boolean): void => {
    if (!s || s.omitted === true) return;
    const startS = finite(s.start);
    const endS = finite(s.end);
    const bps = finite(s.bits_per_second);
    if (startS === undefined || endS === undefined || bps === undefined) return;
    const sample: IntervalSample = { startS, endS, bitsPerSecond: bps, bytes: finite(s.bytes) ?? 0 };
    const rt = count(finite(s.retransmits));
    if (rt !== undefined) sample.retransmits = rt;
    if (bidir) sample.reverse = reverse;
    out.push(sample);
  };
  for (const iv of arr(doc.intervals)) {
    const o = obj(iv);
    add(obj(o?.sum), false);
    if (bidir) add(obj(o?.sum_bidir_reverse), true);
  }
  return out;
}

/** Per-stream totals from end.streams; for bidir only the forward streams (client sends). */
function streams(end: Json, bidir: boolean): StreamTotals[] {
  const out: StreamTotals[] = [];
  for (const raw of arr(end.streams)) {
    const s = obj(raw);
    const udp = obj(s?.udp);
    const snd = obj(s?.sender);
    const rcv = obj(s?.receiver);
    const head = udp ?? snd;
    if (!head) continue;
    if (bidir && head.sender === false) continue;
    const t: StreamTotals = { id: count(finite(head.socket)) ?? out.length };
    if (udp) {
      if (udp.sender === false) t.receiverBps = finite(udp.bits_per_second);
      else t.senderBps = finite(udp.bits_per_second);
      t.bytes = finite(udp.bytes);
      t.jitterMs = finite(udp.jitter_ms);
      t.lostPackets = finite(udp.lost_packets);
      t.packets = finite(udp.packets);
    } else {
      t.senderBps = finite(snd?.bits_per_second);
      t.receiverBps = finite(rcv?.bits_per_second);
      t.bytes = finite(rcv?.bytes) ?? finite(snd?.bytes);
      t.retransmits = count(finite(snd?.retransmits));
    }
    out.push(dropUndefined(t));
  }
  return out;
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/**
 * Parse `iperf3 -J` client output. Headline throughput is the receiver's
 * view (end.sum_received, bits/s); UDP jitter (ms) and loss come from the
 * receiver side too. Any `"error"` in the JSON is a failure, never a number.
 */
function parseClient(out: CapturedOutput, p: ClientParams): ParseOutcome {
  return guardClient("iperf3", out, () => parseClientOutput(out, p));
}

/** iperf3's text report (run without -J): "Connecting to host …" or an "[ ID] Interval" header. */
const TEXT_REPORT = /^(?:Connecting to host |\[ ID\] Interval )/m;

function parseClientOutput(out: CapturedOutput, p: ClientParams): ParseOutcome {
  const doc = parseJson(out.stdout);
  if (!doc) {
    const err = firstLine(out.stderr);
    if (err) return classify(err);
    if (TEXT_REPORT.test(out.stdout)) return fail("parse-error", "iperf3: output is not in the expected format (a text report, not JSON): run with -J");
    if (out.exitCode !== 0 && out.exitCode !== null) return fail("tool-error", `iperf3: exited ${out.exitCode} without output`);
    return fail("parse-error", `iperf3: output is not valid JSON (${out.stdout.trim() ? "truncated?" : "empty"})`);
  }
  if (typeof doc.error === "string" && doc.error.trim()) return classify(doc.error.trim());
  const end = obj(doc.end);
  const udp = p.protocol === "udp";
  const recv = obj(end?.sum_received) ?? (udp ? obj(end?.sum) : undefined);
  const sent = obj(end?.sum_sent);
  const receiverBps = finite(recv?.bits_per_second);
  if (!end || !recv || receiverBps === undefined) return fail("parse-error", "iperf3: JSON has no end.sum_received (test did not finish?)");
  if (finite(recv.bytes) === 0 && (finite(sent?.bytes) ?? 0) > 0) {
    return fail("unreachable", `iperf3: nothing arrived at the receiver (0 of ${finite(sent?.bytes)} bytes sent)`);
  }
  const bidir = p.direction === "bidir";
  const m: Measurement = {
    throughputBps: receiverBps,
    senderBps: finite(sent?.bits_per_second),
    receiverBps,
    bytesSent: finite(sent?.bytes),
    bytesReceived: finite(recv.bytes),
    durationS: finite(recv.seconds) ?? finite(sent?.seconds) ?? p.durationS,
    intervals: intervals(doc, bidir),
    streams: streams(end, bidir),
    extra: {},
  };
  const omitted = omittedBytes(doc, bidir);
  if (omitted > 0) m.extra.omitted_bytes = omitted;
  if (udp) {
    m.jitterMs = finite(recv.jitter_ms);
    m.lostPackets = finite(recv.lost_packets);
    m.packets = finite(recv.packets);
    m.lossPercent = finite(recv.lost_percent);
  } else {
    m.retransmits = count(finite(sent?.retransmits));
    // Smoothed RTT (µs) the kernel reported for the streams this client sent on.
    const senders = arr(end.streams)
      .map((s) => obj(obj(s)?.sender))
      .filter((s) => s?.sender === true);
    const rtt = mean(senders.map((s) => finite(s?.mean_rtt)).filter((v): v is number => v !== undefined && v > 0));
    if (rtt !== undefined && rtt > 0) m.extra.tcp_mean_rtt_us = rtt;
    // The MSS of its connection (the kernel's, or what -M set; capped at the path's): shows what an MTU or mss sweep changed.
    const start = obj(doc.start);
    const mss = finite(start?.tcp_mss) ?? finite(start?.tcp_mss_default);
    if (mss !== undefined && Number.isInteger(mss) && mss > 0 && mss <= 65535) m.extra.tcp_mss_bytes = mss;
  }
  if (bidir) {
    const rRecv = obj(end.sum_received_bidir_reverse) ?? obj(end.sum_bidir_reverse);
    const rSent = obj(end.sum_sent_bidir_reverse);
    m.reverseReceiverBps = finite(rRecv?.bits_per_second);
    m.reverseSenderBps = finite(rSent?.bits_per_second);
    const extra: Record<string, number | undefined> = udp
      ? {
          reverse_jitter_ms: finite(rRecv?.jitter_ms),
          reverse_lost_packets: finite(rRecv?.lost_packets),
          reverse_packets: finite(rRecv?.packets),
          reverse_loss_percent: finite(rRecv?.lost_percent),
        }
      : { reverse_retransmits: count(finite(rSent?.retransmits)) };
    extra.reverse_bytes_received = finite(rRecv?.bytes);
    for (const [k, v] of Object.entries(extra)) if (v !== undefined) m.extra[k] = v;
  }
  const cpu = obj(end.cpu_utilization_percent);
  m.localCpuPercent = finite(cpu?.host_total);
  m.remoteCpuPercent = finite(cpu?.remote_total);
  return ok(dropUndefined(m));
}

/** iperf3: throughput (bits/s), TCP retransmits, UDP jitter (ms)/loss; forward, reverse (-R) and bidir (--bidir). */
export const iperf3 = defineDriver({
  tool: "iperf3",
  wire: Tool.IPERF3,
  binary: "iperf3",
  debianPackage: "iperf3",
  needsServer: true,
  serverPorts: 1,
  versionArgv: () => ["iperf3", "--version"],
  /** "iperf 3.12 (cJSON 1.7.15)" → "3.12". */
  parseVersion: (output) => /\biperf\s+(3\.\d+(?:\.\d+)?)/.exec(output)?.[1],
  unsupported(p) {
    if (!Number.isInteger(p.parallel) || p.parallel < 1 || p.parallel > IPERF3_MAX_PARALLEL) {
      return `iperf3 runs 1 to ${IPERF3_MAX_PARALLEL} parallel streams, not ${p.parallel}`;
    }
    return undefined;
  },
  /** One-off server (`-1`): it serves exactly one test, then exits. */
  serverArgv(p: ServerParams) {
    const a = ["iperf3", "-s", "-p", argNum(p.port), "-1"];
    if (p.bind) a.push("-B", p.bind);
    return a;
  },
  clientArgv,
  parseClient,
  serverListens: () => "tcp",
  capabilities: { transport: "ip", pacing: true, omit: true, retransmits: true, intervals: true, cannotCross: {}, mss: true, crosscheck: { tcp: true, udp: true } },
  measures: { throughput: true },
  runMs: (p) => (p.durationS + (p.omitS ?? 0)) * 1000,
  describeRun: (p) => ({ figures: `${p.durationS} s + ${p.omitS ?? 0} s omitted`, shorten: "use a shorter duration or omit" }),
  /** The omitted seconds (-O) crossed the NIC but are not in the end totals. */
  payloadBytes(m) {
    const bytes = bulkPayloadBytes(m);
    return bytes === undefined ? undefined : bytes + (m.extra.omitted_bytes ?? 0);
  },
});
