/**
 * ping (iputils 20221126) driver: ICMP echo round-trip time. RTT figures in
 * µs: min/avg/max/mdev from ping's summary line, percentiles and the mean
 * from the per-reply `time=` lines. iputils ping takes IPv4 and IPv6
 * addresses alike (no -6 needed). No server.
 */
import { mean, percentile } from "../../common/src/stats.js";
import { parseDecimal } from "./numbers.js";
import type { CapturedOutput, ClientParams, HostFacts, Latency, Measurement, ParseOutcome, RunLength } from "./types.js";
import { Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { argNum, defineDriver, eachLineWith, fail, findLine, firstLine, firstParsed, ok, oneLine, UNREACHABLE_RE } from "./util.js";
import { guardClient } from "./validate.js";

/** Seconds between echo requests when the spec leaves it unset. */
export const PING_DEFAULT_INTERVAL_S = 0.2;
/** `-W`: seconds to wait for the last replies. */
export const PING_REPLY_WAIT_S = 2;

/** The sysctl that lets groups open unprivileged ICMP (ping) sockets, for IPv4 and IPv6 alike. */
export const PING_GROUP_RANGE = "net.ipv4.ping_group_range";

/**
 * ping's words when it may open neither a raw socket (no NET_RAW) nor an
 * unprivileged ICMP socket (no group of its in net.ipv4.ping_group_range).
 * iputils 20221126 prints `ping: socket: Operation not permitted` (between
 * `ping: socktype: SOCK_RAW` and `ping: => missing cap_net_raw+p capability
 * or setuid?`); older releases `ping: socket: Permission denied`, `ping: icmp
 * open socket: Operation not permitted` or `Lacking privilege for icmp socket`.
 */
const NO_ICMP_SOCKET = /\bsocket: (?:operation not permitted|permission denied)|lacking privilege for (?:raw|icmp) socket|missing cap_net_raw/i;

/** The fix for {@link icmpSocketProblem}, in the chart's and the node's terms. */
export const ICMP_SOCKET_FIX =
  'pod agents: the chart value agents.pod.unprivilegedPing=true (the pod sysctl); host agents: allow the group on the node (sysctl -w net.ipv4.ping_group_range="0 2147483647", systemd\'s default) or set the chart value agents.host.rawPing=true to run that DaemonSet as root with NET_RAW';

/**
 * Why ping cannot open its socket, given what it said (`said`) and, when the
 * agent supplies them, its groups and the range they are checked against.
 */
export function icmpSocketProblem(said: string, host?: HostFacts): { reason: string; fix: string } {
  const words = oneLine(said.replace(/^\S*\/(ping6?):/, "$1:"), 100);
  const range = host?.sysctl(PING_GROUP_RANGE);
  const groups = host ? [...new Set([host.gid, ...host.groups])].filter((g): g is number => g !== undefined) : [];
  const who = host?.gid === undefined ? "the agent's group" : `gid ${host.gid}${groups.length > 1 ? ` (groups ${groups.join(",")})` : ""}`;
  const bounds = range === undefined ? null : /^(\d+) (\d+)$/.exec(range);
  let verdict: string;
  if (range === undefined) verdict = `${who} must be in it (unreadable here)`;
  else if (!bounds || groups.length === 0) verdict = `it is "${range}"`;
  else {
    const [lo, hi] = [Number(bounds[1]), Number(bounds[2])];
    const inside = groups.some((g) => g >= lo && g <= hi);
    verdict = inside ? `${who} is within "${range}", so something else (seccomp, an LSM) refuses the socket` : `${who} is outside "${range}"${lo > hi ? " (no group)" : ""}`;
  }
  return {
    reason: oneLine(`ping cannot open an ICMP socket (${words}): without NET_RAW the kernel allows one only to groups in ${PING_GROUP_RANGE}, and ${verdict}`),
    fix: ICMP_SOCKET_FIX,
  };
}

/** The problem ping's output shows with its socket, if any. */
function socketProblem(out: CapturedOutput, host?: HostFacts): { reason: string; fix: string } | undefined {
  const said = findLine(out.stderr, NO_ICMP_SOCKET) ?? findLine(out.stdout, NO_ICMP_SOCKET);
  return said === undefined ? undefined : icmpSocketProblem(said, host);
}

/** The interval (s) and number of requests a run uses: pingCount, else durationS / interval (at least 1). */
export function pingPlan(p: RunLength): { intervalS: number; count: number } {
  const intervalS = p.pingIntervalS !== undefined && p.pingIntervalS > 0 ? p.pingIntervalS : PING_DEFAULT_INTERVAL_S;
  const count = p.pingCount !== undefined && p.pingCount > 0 ? Math.round(p.pingCount) : Math.max(1, Math.round(p.durationS / intervalS));
  return { intervalS, count };
}

/** `ping -n -c COUNT -i INTERVAL -W 2 [-s LEN] TARGET`. */
function clientArgv(p: ClientParams): string[] {
  const { intervalS, count } = pingPlan(p);
  const a = ["ping", "-n", "-c", argNum(count), "-i", argNum(intervalS), "-W", argNum(PING_REPLY_WAIT_S)];
  if (p.lengthBytes !== undefined) a.push("-s", argNum(p.lengthBytes));
  a.push(p.target);
  return a;
}

// Every pattern below runs in time linear in its line: the lines are found by
// a fixed string first, and each pattern is anchored or starts with a literal
// and has no two neighbouring quantifiers over the same characters (an
// unanchored `(\d+) packets transmitted` was quadratic on a long run of digits).
const SEQ = /icmp_seq=\d+\b/;
const TIME = /\btime[=<]\s*([\d.]+)\s*ms/;
const RTT = /(?:rtt|round-trip) min\/avg\/max\/(?:mdev|stddev) = ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/;
const TRANSMITTED = " packets transmitted, ";
const RECEIVED = /^(\d+) (?:packets )?received/;
const LOSS = /^([\d.]+)% packet loss/;
const NOTE = /^\+(\d+) (errors|duplicates)\b/;

/** RTT samples in ms from the reply lines, duplicates (DUP!) left out. */
export function replyTimesMs(stdout: string): number[] {
  const out: number[] = [];
  eachLineWith(stdout, "icmp_seq=", (line) => {
    const seq = SEQ.exec(line);
    if (!seq) return;
    const rest = line.slice(seq.index + seq[0].length);
    const time = TIME.exec(rest);
    if (!time || rest.includes("DUP!", time.index + time[0].length)) return;
    const v = parseDecimal(time[1]);
    if (v !== undefined) out.push(v);
  });
  return out;
}

/** ping's statistics line: "N packets transmitted, M received[, +E errors][, +D duplicates], L% packet loss, time Tms". */
interface Summary {
  transmitted: number;
  received: number;
  lossPercent: number;
  errors?: number;
  duplicates?: number;
}

/** The statistics of one line, or undefined when it is not ping's statistics line. */
function summaryOf(line: string): Summary | undefined {
  const at = line.indexOf(TRANSMITTED);
  if (at <= 0) return undefined;
  let from = at;
  while (from > 0 && line.charCodeAt(from - 1) >= 48 && line.charCodeAt(from - 1) <= 57) from--;
  if (from === at) return undefined;
  const parts = line.slice(at + TRANSMITTED.length).split(", ");
  const received = RECEIVED.exec(parts[0]!);
  if (!received) return undefined;
  const lossAt = parts.findIndex((part, i) => i > 0 && LOSS.test(part));
  if (lossAt < 0) return undefined;
  const s: Summary = { transmitted: Number(line.slice(from, at)), received: Number(received[1]), lossPercent: Number(LOSS.exec(parts[lossAt]!)![1]) };
  for (const part of parts.slice(1, lossAt)) {
    const note = NOTE.exec(part);
    if (note) s[note[2] as "errors" | "duplicates"] = Number(note[1]);
  }
  return s;
}

/**
 * Parse a ping run. Partial loss is a measurement with lossPercent; 100 %
 * loss is an "unreachable" failure, as are ping's own errors such as
 * "connect: Network is unreachable" or an unknown host (exit 2).
 */
function parseClient(out: CapturedOutput, p: ClientParams, host?: HostFacts): ParseOutcome {
  return guardClient("ping", out, () => parseClientOutput(out, p, host));
}

function parseClientOutput(out: CapturedOutput, p: ClientParams, host?: HostFacts): ParseOutcome {
  const summary = firstParsed(out.stdout, TRANSMITTED, summaryOf);
  if (!summary) {
    // Not allowed an ICMP socket: this agent cannot ping at all, and the fix is a setting.
    const denied = socketProblem(out, host);
    if (denied) return { ok: false, failure: { code: "tool-missing", reason: denied.reason, hint: denied.fix } };
    const err = firstLine(out.stderr);
    if (err) return fail(UNREACHABLE_RE.test(err) ? "unreachable" : "tool-error", err.startsWith("ping:") ? err : `ping: ${err}`);
    if (out.exitCode !== 0 && out.exitCode !== null) return fail("tool-error", `ping: exited ${out.exitCode} without a summary`);
    return fail("parse-error", "ping: no statistics summary in the output (interrupted or truncated?)");
  }
  const { transmitted, received, lossPercent } = summary;
  if (received > transmitted) return fail("parse-error", `ping: ${received} received is more than the ${transmitted} transmitted; not a summary netmatrix can trust`);
  if (received === 0) {
    const why = findLine(out.stdout, /unreachable|prohibited|time to live exceeded|redirect/i);
    const errors = summary.errors;
    const detail = [`${transmitted} transmitted, 0 received`, errors !== undefined ? `+${errors} errors` : undefined, why].filter(Boolean).join(", ");
    return fail("unreachable", `ping: unreachable: 100% packet loss (${detail})`);
  }
  const samplesMs = replyTimesMs(out.stdout);
  const sorted = samplesMs.map((ms) => ms * 1000).sort((a, b) => a - b);
  const rtt = firstParsed(out.stdout, "min/avg/max/", (line) => RTT.exec(line) ?? undefined);
  const latency: Latency = { kind: "rtt", samples: sorted.length };
  const set = <K extends keyof Latency>(k: K, v: Latency[K] | undefined): void => {
    if (v !== undefined) latency[k] = v;
  };
  if (rtt) {
    set("minUs", Number(rtt[1]) * 1000);
    set("maxUs", Number(rtt[3]) * 1000);
    set("stddevUs", Number(rtt[4]) * 1000);
  }
  set("meanUs", mean(sorted) ?? (rtt ? Number(rtt[2]) * 1000 : undefined));
  set("p50Us", percentile(sorted, 50));
  set("p90Us", percentile(sorted, 90));
  set("p99Us", percentile(sorted, 99));
  if (latency.meanUs === undefined) return fail("parse-error", "ping: replies counted but no round-trip times found");
  const { intervalS, count } = pingPlan(p);
  const m: Measurement = {
    packets: transmitted,
    lostPackets: transmitted - received,
    lossPercent,
    latency,
    durationS: Number((count * intervalS).toFixed(6)),
    intervals: [],
    streams: [],
    extra: {},
  };
  if (summary.duplicates !== undefined) m.extra.duplicates = summary.duplicates;
  if (summary.errors !== undefined) m.extra.errors = summary.errors;
  if (rtt) m.extra.summary_avg_us = Number(rtt[2]) * 1000;
  return ok(m);
}

/** ping: ICMP round-trip time (µs) and loss; no server. */
export const ping = defineDriver({
  tool: "ping",
  wire: Tool.PING,
  binary: "ping",
  debianPackage: "iputils-ping",
  needsServer: false,
  serverPorts: 0,
  /** One echo to loopback: fails at once when ping may open no ICMP socket here. */
  selfTest: {
    argv: () => ["ping", "-n", "-c", "1", "-W", "1", "127.0.0.1"],
    deadlineMs: 5000,
    problem: (out, host) => socketProblem(out, host),
  },
  versionArgv: () => ["ping", "-V"],
  /** "ping from iputils 20221126" (or the older "iputils-s20180629") → "20221126". */
  parseVersion: (output) => /\biputils[- ]?s?(\d+(?:\.\d+)*)/.exec(output)?.[1],
  unsupported(p) {
    if (p.parallel !== 1) return `ping sends one echo stream; parallel ${p.parallel} is unsupported`;
    if (p.direction !== "forward") return `ping measures a round trip; direction ${p.direction} is unsupported`;
    if (p.bitrateBps !== undefined) return "ping has no bitrate; leave bitrate unset (use the interval)";
    if (p.windowBytes !== undefined) return "ping has no socket window option; leave window unset";
    if (p.mss !== undefined) return "ping has no MSS option; leave mss unset";
    if (p.omitS !== undefined && p.omitS > 0) return "ping cannot omit the first seconds; leave omit unset";
    return undefined;
  },
  serverArgv: () => undefined,
  clientArgv,
  parseClient,
  serverListens: () => "tcp",
  capabilities: {
    transport: "icmp",
    pacing: false,
    omit: false,
    retransmits: false,
    intervals: false,
    cannotCross: {
      service: "ping: ICMP to a ClusterIP is not forwarded (kube-proxy and the lab's DNAT forward TCP/UDP ports only); ping runs on direct paths",
      nodeport: "ping: ICMP to a NodePort is not forwarded (kube-proxy and the lab's DNAT forward TCP/UDP ports only); ping runs on direct paths",
    },
  },
  measures: { throughput: false, latency: "rtt" },
  runMs(p) {
    const { intervalS, count } = pingPlan(p);
    return Math.round(count * intervalS * 1000);
  },
  describeRun(p) {
    const { intervalS, count } = pingPlan(p);
    return { figures: `${count} requests × ${intervalS} s`, shorten: "send fewer requests or at a shorter interval" };
  },
  /** Echo requests are not a payload worth a wire/payload ratio. */
  payloadBytes: () => undefined,
});
