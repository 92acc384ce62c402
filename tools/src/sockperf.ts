/**
 * sockperf (3.7) driver: request/response latency over TCP or UDP. The client
 * runs `ping-pong` (one message in flight: the next leaves when the reply to
 * the last came back) or, with a message rate, `under-load` (messages sent at
 * that rate; the server replies to every 100th, sockperf's default, and those
 * replies are the observations). `--full-rtt` makes it report round trips;
 * without it sockperf halves them ("avg-latency"), which this driver refuses
 * to take for a round trip.
 *
 * sockperf prints everything on stdout (colour escapes included) and exits 0
 * on its own errors ("ERROR: Can`t connect socket"), so the parser decides by
 * the text. Its figures cover the "valid duration": the run less a warm-up of
 * 400 ms and a short wind-down. IPv4 only (3.7 refuses IPv6 addresses).
 */
import { parseDecimal } from "./numbers.js";
import type { CapturedOutput, ClientParams, Latency, Measurement, ParseOutcome, ServerParams } from "./types.js";
import { Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { argNum, defineDriver, eachLineWith, fail, firstParsed, isIPv6, ok, UNREACHABLE_RE } from "./util.js";
import { guardClient } from "./validate.js";

/** Message size when the spec leaves it unset, bytes. */
export const SOCKPERF_DEFAULT_MSG_BYTES = 64;
/** sockperf's smallest message (its header), bytes. */
export const SOCKPERF_MIN_MSG_BYTES = 14;
/** The largest message its server takes by default (`-m 65507`), bytes. */
export const SOCKPERF_MAX_MSG_BYTES = 65507;
/** What a run takes beyond its duration: sockperf's start-up and wind-down (measured: -t 2 runs 4.2 s), ms. */
export const SOCKPERF_OVERHEAD_MS = 2500;

/** Colour escapes sockperf wraps some lines in ("\x1b[2;35m…\x1b[0m"). */
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[\d;]*m/g;

const VALID = /\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)/;
const AVERAGE = /====> avg-(rtt|latency)=([\d.]+) \(std-dev=([\d.]+)\)/;
const COUNTS = /# dropped messages = (\d+); # duplicated messages = (\d+); # out-of-order messages = (\d+)/;
const TOTAL = /Total (\d+) observations/;
const EXTREME = /---> <(MAX|MIN)> observation =\s*([\d.]+)\s*$/;
const PERCENTILE = /---> percentile ([\d.]+) =\s*([\d.]+)\s*$/;

/** The figures of one sockperf report (one server). */
export interface SockperfReport {
  kind?: "rtt" | "latency";
  validS?: number;
  sent?: number;
  received?: number;
  meanUs?: number;
  stddevUs?: number;
  dropped?: number;
  duplicated?: number;
  outOfOrder?: number;
  observations?: number;
  maxUs?: number;
  minUs?: number;
  /** By percentile as sockperf writes it ("99.900"), µs. */
  percentiles: Map<string, number>;
  /** sockperf's first ERROR line, without "sockperf: ERROR: ". */
  error?: string;
  /** "No messages were received from the server". */
  noReplies?: boolean;
  /** Its complaint about an argument ("'-i' Invalid address: ::1"). */
  invalid?: string;
}

/** sockperf's report out of its output (escapes removed). */
export function parseSockperf(text: string): SockperfReport {
  const plain = text.includes("\x1b") ? text.replace(ANSI, "") : text;
  const r: SockperfReport = { percentiles: new Map() };
  eachLineWith(plain, "sockperf: ", (line) => {
    // Each kind of line by a string search first: the patterns run only on the lines that can match.
    let m: RegExpExecArray | null;
    const at = line.indexOf("ERROR: ");
    if (at >= 0) {
      r.error ??= line.slice(at + 7).trim();
    } else if (line.includes("No messages were received from the server")) {
      r.noReplies = true;
    } else if (line.includes("Invalid ")) {
      r.invalid ??= line.slice(line.indexOf("sockperf: ") + 10).trim();
    } else if (line.includes("---> ")) {
      if (line.includes("---> percentile ") && (m = PERCENTILE.exec(line))) {
        const v = parseDecimal(m[2]);
        if (v !== undefined) r.percentiles.set(m[1]!, v);
      } else if (line.includes("> observation =") && (m = EXTREME.exec(line))) {
        const v = parseDecimal(m[2]);
        if (m[1] === "MAX") r.maxUs = v;
        else r.minUs = v;
      }
    } else if (line.includes("[Valid Duration]") && (m = VALID.exec(line))) {
      r.validS = parseDecimal(m[1]);
      r.sent = Number(m[2]);
      r.received = Number(m[3]);
    } else if (line.includes("====> avg-") && (m = AVERAGE.exec(line))) {
      r.kind = m[1] === "rtt" ? "rtt" : "latency";
      r.meanUs = parseDecimal(m[2]);
      r.stddevUs = parseDecimal(m[3]);
    } else if (line.includes("# dropped messages") && (m = COUNTS.exec(line))) {
      r.dropped = Number(m[1]);
      r.duplicated = Number(m[2]);
      r.outOfOrder = Number(m[3]);
    } else if (line.includes(" observations") && (m = TOTAL.exec(line))) {
      r.observations = Number(m[1]);
    }
  });
  return r;
}

function parseClient(out: CapturedOutput, p: ClientParams): ParseOutcome {
  return guardClient("sockperf", out, () => parseClientOutput(out, p));
}

/** Percentiles sockperf prints beyond the headline ones, as extra keys. */
const EXTRA_PERCENTILES: [string, string][] = [
  ["25.000", "latency_p25_us"],
  ["75.000", "latency_p75_us"],
  ["99.990", "latency_p9999_us"],
  ["99.999", "latency_p99999_us"],
];

/**
 * Parse a sockperf client run: its error lines first (they come with exit
 * 0), then the valid-duration report. Round trips in µs; the message rate is
 * what the client sent per second of the valid duration; UDP ping-pong's
 * dropped messages are its loss.
 */
function parseClientOutput(out: CapturedOutput, p: ClientParams): ParseOutcome {
  const r = parseSockperf(`${out.stdout}\n${out.stderr}`);
  if (r.error !== undefined) return fail(UNREACHABLE_RE.test(r.error) ? "unreachable" : "tool-error", `sockperf: ${r.error}`);
  if (r.invalid !== undefined) return fail("tool-error", `sockperf: ${r.invalid}`);
  if (r.noReplies) {
    return fail("unreachable", `sockperf: no reply from the server in ${p.durationS} s (nothing listens on ${p.target}:${p.port}/${p.protocol}, or the path drops it)`);
  }
  if (r.validS === undefined || r.sent === undefined || r.received === undefined) {
    if (out.exitCode !== 0 && out.exitCode !== null) return fail("tool-error", `sockperf: exited ${out.exitCode} without a report`);
    return fail("parse-error", "sockperf: no [Valid Duration] report in its output (interrupted or truncated?)");
  }
  if (r.kind === "latency") return fail("parse-error", "sockperf: its report is in half round trips (avg-latency), not in the expected format: run with --full-rtt");
  const pct = (k: string): number | undefined => r.percentiles.get(k);
  if (r.kind === undefined || r.meanUs === undefined || r.observations === undefined || pct("50.000") === undefined || pct("99.000") === undefined || r.maxUs === undefined) {
    return fail("parse-error", "sockperf: its report lacks the average, the observation count or the percentiles (truncated?)");
  }
  if (r.observations === 0) return fail("unreachable", `sockperf: no reply observed in ${r.validS} s (${r.sent} messages sent)`);
  const latency: Latency = { kind: "rtt", meanUs: r.meanUs, samples: r.observations, maxUs: r.maxUs };
  const set = <K extends keyof Latency>(k: K, v: Latency[K] | undefined): void => {
    if (v !== undefined) latency[k] = v;
  };
  set("stddevUs", r.stddevUs);
  set("minUs", r.minUs);
  set("p50Us", pct("50.000"));
  set("p90Us", pct("90.000"));
  set("p99Us", pct("99.000"));
  set("p999Us", pct("99.900"));
  const m: Measurement = {
    latency,
    messageRatePerS: r.validS > 0 ? r.sent / r.validS : 0,
    durationS: r.validS,
    intervals: [],
    streams: [],
    extra: { sent_messages: r.sent, received_messages: r.received },
  };
  for (const [k, name] of EXTRA_PERCENTILES) {
    const v = pct(k);
    if (v !== undefined) m.extra[name] = v;
  }
  if (r.dropped !== undefined) m.extra.dropped_messages = r.dropped;
  if (r.duplicated !== undefined) m.extra.duplicated_messages = r.duplicated;
  if (r.outOfOrder !== undefined) m.extra.out_of_order_messages = r.outOfOrder;
  // Ping-pong over UDP: a dropped message is a lost round trip. Under load the server answers only some, so no loss figure.
  if (p.protocol === "udp" && p.messageRatePerS === undefined && r.dropped !== undefined && r.sent > 0) {
    m.packets = r.sent;
    m.lostPackets = Math.min(r.dropped, r.sent);
    m.lossPercent = (100 * m.lostPackets) / r.sent;
  }
  return ok(m);
}

/** The message size a run uses, bytes. */
function messageBytes(p: ClientParams): number {
  return p.lengthBytes ?? SOCKPERF_DEFAULT_MSG_BYTES;
}

/** `sockperf ping-pong|under-load [--tcp] -i T -p P -t D -m L [--mps R] --full-rtt`. */
function clientArgv(p: ClientParams): string[] {
  const underLoad = p.messageRatePerS !== undefined && p.messageRatePerS > 0;
  const a = ["sockperf", underLoad ? "under-load" : "ping-pong"];
  if (p.protocol === "tcp") a.push("--tcp");
  a.push("-i", p.target, "-p", argNum(p.port), "-t", argNum(Math.max(1, Math.ceil(p.durationS))), "-m", argNum(messageBytes(p)));
  if (underLoad) a.push("--mps", argNum(Math.max(1, Math.round(p.messageRatePerS!))));
  a.push("--full-rtt");
  return a;
}

/** sockperf: TCP/UDP round-trip latency percentiles (p50…p99.9, max) and observations; ping-pong, or under load at a message rate. */
export const sockperf = defineDriver({
  tool: "sockperf",
  wire: Tool.SOCKPERF,
  binary: "sockperf",
  debianPackage: "sockperf",
  needsServer: true,
  serverPorts: 1,
  versionArgv: () => ["sockperf", "--version"],
  /** "sockperf, version 3.7-no.git" → "3.7". */
  parseVersion: (output) => firstParsed(output, "version", (line) => /\bsockperf, version (\d+\.\d+(?:\.\d+)?)/.exec(line)?.[1]),
  unsupported(p) {
    if (p.parallel !== 1) return `sockperf runs one message stream; parallel ${p.parallel} is unsupported`;
    if (p.direction !== "forward") return `sockperf measures request and reply from the client; direction ${p.direction} is unsupported`;
    if (isIPv6(p.target)) return `sockperf 3.7 takes IPv4 addresses only; ${p.target} is IPv6`;
    if (p.bitrateBps !== undefined) return "sockperf paces by messages, not bits: leave bitrate unset and set message_rate_per_s";
    if (p.windowBytes !== undefined) return "the sockperf driver sets no socket buffer; leave window unset";
    if (p.mss !== undefined) return "sockperf cannot set the TCP MSS; leave mss unset";
    if (p.omitS !== undefined && p.omitS > 0) return "sockperf leaves its own warm-up out; leave omit unset";
    const len = messageBytes(p);
    if (len < SOCKPERF_MIN_MSG_BYTES || len > SOCKPERF_MAX_MSG_BYTES) {
      return `sockperf messages are ${SOCKPERF_MIN_MSG_BYTES} to ${SOCKPERF_MAX_MSG_BYTES} bytes (its header, its server's buffer), not ${len}`;
    }
    return undefined;
  },
  /** `sockperf server [--tcp] -i BIND -p P`; without a bind (or with an IPv6 one, which 3.7 cannot take) it listens on every IPv4 address. */
  serverArgv(p: ServerParams) {
    const a = ["sockperf", "server"];
    if (p.protocol === "tcp") a.push("--tcp");
    if (p.bind && !isIPv6(p.bind)) a.push("-i", p.bind);
    a.push("-p", argNum(p.port));
    return a;
  },
  clientArgv,
  parseClient,
  /** Its UDP server binds a UDP socket; the TCP one listens. */
  serverListens: (protocol) => protocol,
  capabilities: {
    cannotFamily: { ipv6: 'sockperf 3.7 takes IPv4 addresses only (its -i refuses an IPv6 address: "Invalid address")' },
    transport: "ip",
    pacing: false,
    omit: false,
    retransmits: false,
    intervals: false,
    // One port, TCP or UDP, which ClusterIP and NodePort forward as they are.
    cannotCross: {},
    specLists: ["messageRates"],
  },
  measures: { throughput: false, latency: "rtt", percentiles: { p999: true } },
  runMs: (p) => Math.max(1, Math.ceil(p.durationS)) * 1000 + SOCKPERF_OVERHEAD_MS,
  describeRun: (p) => ({ figures: `${p.durationS} s + ${SOCKPERF_OVERHEAD_MS / 1000} s of sockperf's start and wind-down`, shorten: "use a shorter duration" }),
  /** Small messages, not a payload worth a wire/payload ratio. */
  payloadBytes: () => undefined,
});
