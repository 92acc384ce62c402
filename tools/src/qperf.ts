/**
 * qperf (0.4.11) driver: one run does a bandwidth and a latency test
 * (`tcp_bw tcp_lat` or `udp_bw udp_lat`), each for the full duration, so a
 * run takes about 2 × durationS. Output is `-v -vvs -uu` text: unified units
 * (bytes/sec, ns, /sec, ns/GB) plus byte and message counts. The parser also
 * reads qperf's scaled units (GB/sec, us, K/sec, sec/GB…). qperf units are
 * decimal (K = 1000). Rates in bits/s, latency in µs, durations in seconds.
 */
import { parseDecimal } from "./numbers.js";
import type { CapturedOutput, ClientParams, Measurement, ParseOutcome, ServerParams } from "./types.js";
import { Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { argNum, bulkPayloadBytes, defineDriver, eachLine, fail, ok } from "./util.js";
import { guardClient } from "./validate.js";

/** One `name = value unit` figure of a qperf test section. */
interface Figure {
  value: number;
  unit: string;
}
type Section = Map<string, Figure>;

const PREFIX: Record<string, number> = { "": 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
/** Nanoseconds per qperf time unit (integers, so conversions divide exactly once). */
const TIME_NS: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, sec: 1e9, min: 60e9, hr: 3600e9 };

/** bits/s from a qperf rate ("2.66 GB/sec", "4441751552 bytes/sec", "-ub": "Gb/sec"). */
function rateBps(f: Figure | undefined): number | undefined {
  const m = f && /^([KMGT]?)(bytes|B|bits|b)\/sec$/.exec(f.unit);
  if (!f || !m) return undefined;
  const bits = m[2] === "bits" || m[2] === "b";
  return f.value * PREFIX[m[1]!]! * (bits ? 1 : 8);
}
/** Nanoseconds from a qperf time ("16.7 us", "12988 ns", "2 sec"). */
function nanos(f: Figure | undefined): number | undefined {
  // hasOwn: a unit such as "constructor" must not find Object's members.
  return f && Object.hasOwn(TIME_NS, f.unit) ? f.value * TIME_NS[f.unit]! : undefined;
}
/** Seconds from a qperf time. */
function seconds(f: Figure | undefined): number | undefined {
  const ns = nanos(f);
  return ns === undefined ? undefined : ns / 1e9;
}
/** Per second from a qperf rate of messages ("40.6 K/sec", "129507 /sec"). */
function perSecond(f: Figure | undefined): number | undefined {
  const m = f && /^([KMGT]?)\/sec$/.exec(f.unit);
  return f && m ? f.value * PREFIX[m[1]!]! : undefined;
}
/** Milliseconds per GB from a qperf cost ("522 ms/GB", "1.1 sec/GB", "354589857 ns/GB"). */
function msPerGB(f: Figure | undefined): number | undefined {
  const m = f && /^(ns|us|ms|sec)\/GB$/.exec(f.unit);
  return f && m ? (f.value * TIME_NS[m[1]!]!) / 1e6 : undefined;
}
/** Bytes from a qperf size ("1400 bytes", "1.4 KB", "64 KiB", "2.72 GB"). */
function sizeBytes(f: Figure | undefined): number | undefined {
  const m = f && /^(?:([KMGT]?)(?:B|bytes)|([KMGT])iB)$/.exec(f.unit);
  if (!f || !m) return undefined;
  return m[2] ? f.value * 1024 ** " KMGT".indexOf(m[2]) : f.value * PREFIX[m[1] ?? ""]!;
}
/** A plain number ("% cpus", counts, "bytes"); undefined for other units. */
function plain(f: Figure | undefined, ...units: string[]): number | undefined {
  return f && units.includes(f.unit) ? f.value : undefined;
}

/** A section header ("tcp_bw:"). Like FIGURE, linear in the line: anchored, no two neighbouring quantifiers over the same characters. */
const HEAD = /^(\w+):\s*$/;
/** A figure ("    bw  =  2.66 GB/sec"): name, number, and the rest (unit, note), trimmed after the match. */
const FIGURE = /^\s+(\w+)\s+=\s+([-\d.,]+)([\s\S]*)$/;

/** A figure's unit without qperf's exact-count note: " KiB (65,536)" → "KiB". */
function unitOf(rest: string): string {
  const unit = rest.trim();
  const note = unit.endsWith(")") ? unit.indexOf("(") : -1;
  return note >= 0 ? unit.slice(0, note).trimEnd() : unit;
}

/**
 * Test sections of qperf output, and the first line that is neither a header
 * nor a figure (qperf's error). Reading stops at that line: an error makes
 * the run a failure whatever follows.
 */
export function parseSections(text: string): { sections: Map<string, Section>; error?: string } {
  const sections = new Map<string, Section>();
  let current: Section | undefined;
  let error: string | undefined;
  eachLine(text, (line) => {
    if (!line.trim()) return;
    const head = HEAD.exec(line);
    if (head) {
      current = new Map();
      sections.set(head[1]!, current);
      return;
    }
    const fig = FIGURE.exec(line);
    const value = parseDecimal(fig?.[2]);
    if (fig && current && value !== undefined) {
      // "64 KiB (65,536)": keep the unit word, drop the exact-count note.
      current.set(fig[1]!, { value, unit: unitOf(fig[3]!) });
      return;
    }
    error = line.trim();
    return true;
  });
  return error === undefined ? { sections } : { sections, error };
}

/**
 * Parse a qperf client run. Bandwidth test: receiver bits/s as headline
 * (tcp bw; udp recv_bw), sender bits/s, messages/s, CPU % (send side is this
 * client), UDP datagrams lost = send_msgs − recv_msgs. Latency test: qperf's
 * one-way latency in µs (half the round trip).
 */
function parseClient(out: CapturedOutput, p: ClientParams): ParseOutcome {
  return guardClient("qperf", out, () => parseClientOutput(out, p));
}

function parseClientOutput(out: CapturedOutput, p: ClientParams): ParseOutcome {
  const { sections, error } = parseSections(`${out.stdout}\n${out.stderr}`);
  if (error) {
    const reason = `qperf: ${error}`;
    if (/failed to connect|unreachable|refused|unknown host|no route/i.test(error)) return fail("unreachable", reason);
    return fail("tool-error", reason);
  }
  const [bwName, latName] = p.protocol === "udp" ? ["udp_bw", "udp_lat"] : ["tcp_bw", "tcp_lat"];
  const bw = sections.get(bwName);
  const lat = sections.get(latName);
  if (out.exitCode !== 0 && out.exitCode !== null) return fail("tool-error", `qperf: exited ${out.exitCode} without an error message`);
  const recvBps = rateBps(bw?.get(p.protocol === "udp" ? "recv_bw" : "bw"));
  if (!bw || recvBps === undefined) return fail("parse-error", `qperf: no ${bwName} result in the output (truncated?)`);
  if (recvBps === 0) return fail("unreachable", `qperf: ${bwName} received nothing (data port ${p.dataPort ?? p.port + 1} blocked?)`);
  const latencyNs = nanos(lat?.get("latency"));
  if (!lat || latencyNs === undefined) return fail("parse-error", `qperf: no ${latName} latency in the output (truncated?)`);

  const m: Measurement = {
    throughputBps: recvBps,
    receiverBps: recvBps,
    durationS: seconds(bw.get("time")) ?? p.durationS,
    latency: { kind: "one-way", meanUs: latencyNs / 1e3 },
    intervals: [],
    streams: [],
    extra: {},
  };
  const set = <K extends keyof Measurement>(k: K, v: Measurement[K] | undefined): void => {
    if (v !== undefined) m[k] = v;
  };
  set("senderBps", p.protocol === "udp" ? rateBps(bw.get("send_bw")) : recvBps);
  set("bytesSent", sizeBytes(bw.get("send_bytes")));
  set("bytesReceived", sizeBytes(bw.get("recv_bytes")));
  set("messageRatePerS", perSecond(bw.get("msg_rate")));
  set("localCpuPercent", plain(bw.get("send_cpus_used"), "% cpus"));
  set("remoteCpuPercent", plain(bw.get("recv_cpus_used"), "% cpus"));
  if (p.protocol === "udp") {
    const sent = plain(bw.get("send_msgs"), "");
    const got = plain(bw.get("recv_msgs"), "");
    if (sent !== undefined && got !== undefined && sent > 0) {
      m.packets = sent;
      m.lostPackets = Math.max(0, sent - got);
      m.lossPercent = (100 * m.lostPackets) / sent;
      // The receiver counts over a slightly different window than the sender
      // (TCP runs show recv_bytes a message above send_bytes): loss 0, flagged.
      if (got > sent) m.extra.received_over_sent_packets = got - sent;
    }
  }
  const extra: Record<string, number | undefined> = {
    send_cost_ms_per_gb: msPerGB(bw.get("send_cost")),
    recv_cost_ms_per_gb: msPerGB(bw.get("recv_cost")),
    msg_size_bytes: sizeBytes(bw.get("msg_size")),
    lat_msg_rate_per_s: perSecond(lat.get("msg_rate")),
    lat_local_cpu_percent: plain(lat.get("loc_cpus_used"), "% cpus"),
    lat_remote_cpu_percent: plain(lat.get("rem_cpus_used"), "% cpus"),
    lat_duration_s: seconds(lat.get("time")),
  };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) m.extra[k] = v;
  return ok(m);
}

/** The argv of a qperf client: `qperf -v -vvs -uu -lp P -ip D -t T [-m L] [-sb W] TARGET tcp_bw tcp_lat`. */
function clientArgv(p: ClientParams): string[] {
  const a = ["qperf", "-v", "-vvs", "-uu", "-lp", argNum(p.port), "-ip", argNum(p.dataPort ?? p.port + 1), "-t", argNum(p.durationS)];
  if (p.lengthBytes !== undefined) a.push("-m", argNum(p.lengthBytes));
  if (p.windowBytes !== undefined) a.push("-sb", argNum(p.windowBytes));
  a.push(p.target, ...(p.protocol === "udp" ? ["udp_bw", "udp_lat"] : ["tcp_bw", "tcp_lat"]));
  return a;
}

/** qperf: bandwidth (bits/s), one-way latency (µs), messages/s, CPU %; single stream, client sends. */
export const qperf = defineDriver({
  tool: "qperf",
  wire: Tool.QPERF,
  binary: "qperf",
  debianPackage: "qperf",
  needsServer: true,
  serverPorts: 2,
  versionArgv: () => ["qperf", "--version"],
  /** "qperf 0.4.11" → "0.4.11". */
  parseVersion: (output) => /\bqperf\s+(\d+\.\d+(?:\.\d+)?)/.exec(output)?.[1],
  unsupported(p) {
    if (p.parallel !== 1) return `qperf runs a single stream; parallel ${p.parallel} is unsupported`;
    if (p.direction !== "forward") return `qperf measures one direction only (client sends); direction ${p.direction} is unsupported`;
    if (p.bitrateBps !== undefined) return "qperf cannot pace to a bitrate (it sends as fast as it can); leave bitrate unset";
    if (p.mss !== undefined) return "qperf cannot set the TCP MSS; leave mss unset";
    if (p.omitS !== undefined && p.omitS > 0) return "qperf cannot omit the first seconds; leave omit unset";
    return undefined;
  },
  /** `qperf -lp P`: listens on all addresses (qperf has no bind option; `bind` is ignored); the client picks the data port with -ip. */
  serverArgv: (p: ServerParams) => ["qperf", "-lp", argNum(p.port)],
  clientArgv,
  parseClient,
  serverListens: () => "tcp",
  capabilities: {
    transport: "ip",
    pacing: false,
    omit: false,
    retransmits: false,
    intervals: false,
    cannotCross: { nodeport: "qperf: its client names the server's data port, which a NodePort renumbers; qperf runs on direct and ClusterIP paths" },
    // UDP: udp_bw sends as fast as it can, so it cannot meet the others at one offered rate.
    crosscheck: { tcp: true, udp: false },
  },
  measures: { throughput: true, latency: "one-way" },
  /** Two tests (bandwidth, then latency), each for the full duration. */
  runMs: (p) => p.durationS * 1000 * 2,
  describeRun: (p) => ({ figures: `2 tests × ${p.durationS} s`, shorten: "use a shorter duration (qperf runs its bandwidth and latency tests one after the other)" }),
  payloadBytes: bulkPayloadBytes,
});
