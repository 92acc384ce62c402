/**
 * http driver: nginx (1.22, Debian nginx-light) serves a fixed body, wrk
 * (4.1) asks for it over HTTP/1.1 and reports requests/s, the transfer rate
 * and its latency distribution (request written to response read: a round
 * trip plus the server's work; wrk starts the clock once connected, so a new
 * connection's handshake is not in it).
 *
 * The server is one nginx process (`master_process off`, so the agent's tool
 * CPU is all of it) run as the agent's own user with a configuration
 * generated into the server's private directory: no root, no file outside
 * that directory, access log off. Modes: keepalive (requests over `-c`
 * persistent connections) and new-connection (`Connection: close`: nginx
 * closes after each response and wrk opens a new connection for the next
 * request, the CRR pattern, so connections/s = requests/s).
 *
 * wrk prints sizes in binary units (1 KB = 1024 B) and times in us/ms/s/m/h
 * with two decimals. Any socket error (connect, read, write, timeout) or
 * non-2xx/3xx response makes the run a failure carrying the counts, never a
 * lower rate.
 */
import { parseDecimal } from "./numbers.js";
import type { CapturedOutput, ClientParams, Latency, Measurement, ParseOutcome, ServerFile, ServerParams } from "./types.js";
import { Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { argNum, bulkPayloadBytes, defineDriver, eachLine, fail, findLine, firstLine, firstParsed, isIPv6, ok, oneLine, UNREACHABLE_RE } from "./util.js";
import { guardClient, UINT32_MAX } from "./validate.js";

/** Most wrk threads a run uses (never more than its connections): wrk's event loops, one per core it may take. */
export const WRK_MAX_THREADS = 2;
/**
 * wrk's `--timeout`, s: a response slower than this is counted as a timeout
 * (and left out of wrk's latency figures), so the run fails; anything faster
 * is in the figures. wrk keeps one counter per microsecond up to it (80 MB of
 * address space at 10 s), so it is not the run's length.
 */
export const WRK_TIMEOUT_S = 10;
/** The path the server answers with its body; any other path is a 404. */
export const HTTP_PATH = "/body";
/** nginx's configuration and the body it serves, in the server's directory. */
export const NGINX_CONF = "nginx.conf";
export const HTTP_BODY_FILE = "body";
/** Connections one nginx process accepts at once: the spec's bound (tools/src/limits.ts) plus room for stragglers. */
export const NGINX_WORKER_CONNECTIONS = 10240;

/** Bytes per wrk size unit (format_binary: 1024-based, "KB" meaning KiB). */
const SIZE: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4, PB: 1024 ** 5 };
/** Microseconds per wrk time unit. */
const TIME_US: Record<string, number> = { us: 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6 };

/** "197.60MB" → bytes. */
function bytesOf(text: string | undefined): number | undefined {
  const m = text === undefined ? null : /^([\d.]+)([KMGTP]?B)$/.exec(text);
  const v = parseDecimal(m?.[1]);
  return m && v !== undefined ? v * SIZE[m[2]!]! : undefined;
}

/** "114.30us", "4.36ms", "2.00s" → µs. */
function microsOf(text: string | undefined): number | undefined {
  const m = text === undefined ? null : /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  const v = parseDecimal(m?.[1]);
  return m && v !== undefined ? v * TIME_US[m[2]!]! : undefined;
}

/** Connections of a run: the spec's, at least 1. */
function connectionsOf(p: ClientParams): number {
  return Math.max(1, Math.round(p.connections ?? 1));
}

/** The URL wrk asks: `http://ADDR:PORT/body` (an IPv6 address in brackets). */
function urlOf(p: ClientParams): string {
  const host = isIPv6(p.target) ? `[${p.target}]` : p.target;
  return `http://${host}:${argNum(p.port)}${HTTP_PATH}`;
}

/** The argv of the client: `wrk --latency -t T -c C -d Ds --timeout Ns [-H "Connection: close"] http://ADDR:PORT/body`. */
function clientArgv(p: ClientParams): string[] {
  const connections = connectionsOf(p);
  const durationS = Math.max(1, Math.ceil(p.durationS));
  const a = ["wrk", "--latency", "-t", argNum(Math.min(connections, WRK_MAX_THREADS)), "-c", argNum(connections), "-d", `${argNum(durationS)}s`];
  a.push("--timeout", `${argNum(WRK_TIMEOUT_S)}s`);
  if (p.httpMode === "new-connection") a.push("-H", "Connection: close");
  a.push(urlOf(p));
  return a;
}

/** A path in nginx's configuration, quoted; the agent's directories are plain paths (no quote, backslash or `$`). */
function confPath(path: string): string {
  return `"${path.replace(/["\\]/g, "\\$&")}"`;
}

/**
 * nginx's configuration: one process in the foreground, everything it
 * writes (pid, temp files) inside `dir`, errors on stderr, no access log,
 * the body at HTTP_PATH and a 404 elsewhere, persistent connections that
 * last a whole run.
 */
export function nginxConf(p: ServerParams): string {
  const dir = p.dir ?? ".";
  const at = (name: string): string => confPath(`${dir}/${name}`);
  const addr = p.bind === undefined ? "" : isIPv6(p.bind) ? `[${p.bind}]:` : `${p.bind}:`;
  return [
    "# netmatrix http server: one test's nginx, generated by its agent.",
    "daemon off;",
    "master_process off;",
    "worker_processes 1;",
    `pid ${at("nginx.pid")};`,
    "error_log stderr warn;",
    "events {",
    `  worker_connections ${NGINX_WORKER_CONNECTIONS};`,
    "}",
    "http {",
    "  access_log off;",
    `  client_body_temp_path ${at("client_body")};`,
    `  proxy_temp_path ${at("proxy")};`,
    `  fastcgi_temp_path ${at("fastcgi")};`,
    `  uwsgi_temp_path ${at("uwsgi")};`,
    `  scgi_temp_path ${at("scgi")};`,
    "  default_type application/octet-stream;",
    "  sendfile on;",
    "  keepalive_requests 1000000000;",
    "  keepalive_time 2h;",
    "  keepalive_timeout 75s;",
    "  server {",
    `    listen ${addr}${argNum(p.port)} backlog=4096;`,
    `    root ${confPath(dir)};`,
    `    location = ${HTTP_PATH} {`,
    "    }",
    "    location / {",
    "      return 404;",
    "    }",
    "  }",
    "}",
    "",
  ].join("\n");
}

/** The lines of wrk's report, in the order it prints them. */
interface WrkReport {
  threads?: number;
  connections?: number;
  latency: Latency;
  requests?: number;
  durationS?: number;
  readBytes?: number;
  requestsPerS?: number;
  transferBytesPerS?: number;
  errors?: { connect: number; read: number; write: number; timeout: number };
  non2xx?: number;
  p75Us?: number;
}

const THREADS = /^\s*(\d+) threads and (\d+) connections\s*$/;
const STATS = /^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+\s*$/;
const PERCENTILE = /^\s+(50|75|90|99)%\s+(\S+)\s*$/;
const TOTALS = /^\s*(\d+) requests in (\S+), (\S+) read\s*$/;
const ERRORS = /^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$/;
const NON2XX = /^\s*Non-2xx or 3xx responses: (\d+)\s*$/;
const RATE = /^Requests\/sec:\s+([\d.]+)\s*$/;
const TRANSFER = /^Transfer\/sec:\s+(\S+)\s*$/;

/** wrk's report out of its stdout. */
export function parseWrk(stdout: string): WrkReport {
  const r: WrkReport = { latency: { kind: "rtt" } };
  let inDistribution = false;
  eachLine(stdout, (line) => {
    // Each kind of line by a string search first: the patterns run only on the lines that can match.
    let m: RegExpExecArray | null;
    if (inDistribution && line.includes("%") && (m = PERCENTILE.exec(line))) {
      const us = microsOf(m[2]);
      if (us !== undefined) {
        if (m[1] === "50") r.latency.p50Us = us;
        else if (m[1] === "75") r.p75Us = us;
        else if (m[1] === "90") r.latency.p90Us = us;
        else r.latency.p99Us = us;
      }
      return;
    }
    inDistribution = false;
    if (line.includes("Latency Distribution")) {
      inDistribution = line.trim() === "Latency Distribution";
    } else if (line.includes(" threads and ") && (m = THREADS.exec(line))) {
      r.threads = Number(m[1]);
      r.connections = Number(m[2]);
    } else if (line.includes("Latency") && (m = STATS.exec(line))) {
      const [mean, stddev, max] = [microsOf(m[1]), microsOf(m[2]), microsOf(m[3])];
      if (mean !== undefined) r.latency.meanUs = mean;
      if (stddev !== undefined) r.latency.stddevUs = stddev;
      if (max !== undefined) r.latency.maxUs = max;
    } else if (line.includes(" requests in ") && (m = TOTALS.exec(line))) {
      r.requests = Number(m[1]);
      const s = microsOf(m[2]);
      if (s !== undefined) r.durationS = s / 1e6;
      const b = bytesOf(m[3]);
      if (b !== undefined) r.readBytes = b;
    } else if (line.includes("Socket errors:") && (m = ERRORS.exec(line))) {
      r.errors = { connect: Number(m[1]), read: Number(m[2]), write: Number(m[3]), timeout: Number(m[4]) };
    } else if (line.includes("Non-2xx") && (m = NON2XX.exec(line))) {
      r.non2xx = Number(m[1]);
    } else if (line.startsWith("Requests/sec:") && (m = RATE.exec(line))) {
      const v = parseDecimal(m[1]);
      if (v !== undefined) r.requestsPerS = v;
    } else if (line.startsWith("Transfer/sec:") && (m = TRANSFER.exec(line))) {
      const b = bytesOf(m[1]);
      if (b !== undefined) r.transferBytesPerS = b;
    }
  });
  return r;
}

/** "connect 0, read 3, write 0, timeout 12" and "non-2xx 40": the counts that make a run fail. */
function errorCounts(r: WrkReport): string {
  const e = r.errors;
  const parts = e ? [`socket errors: connect ${e.connect}, read ${e.read}, write ${e.write}, timeout ${e.timeout}`] : [];
  if (r.non2xx) parts.push(`non-2xx/3xx responses: ${r.non2xx}`);
  return parts.join("; ");
}

function parseClient(out: CapturedOutput, p: ClientParams): ParseOutcome {
  return guardClient("wrk", out, () => parseClientOutput(out, p));
}

/**
 * Parse a wrk run. wrk's own errors (it could not connect at start, a bad
 * argument) come on stderr; errors during the run are counted in its report.
 * Any count makes the run a failure: connect errors "unreachable", timeouts
 * "timeout", read/write errors and non-2xx/3xx answers "tool-error".
 */
function parseClientOutput(out: CapturedOutput, p: ClientParams): ParseOutcome {
  const r = parseWrk(out.stdout);
  const said = findLine(out.stderr, /unable to connect|error|invalid|must be|usage/i) ?? firstLine(out.stderr);
  if (r.requests === undefined) {
    if (said) return fail(UNREACHABLE_RE.test(said) ? "unreachable" : "tool-error", `wrk: ${said.replace(/^wrk:\s*/, "")}`);
    if (out.exitCode !== 0 && out.exitCode !== null) return fail("tool-error", `wrk: exited ${out.exitCode} without a report`);
    return fail("parse-error", `wrk: no "N requests in" line in its output (${out.stdout.trim() ? "truncated?" : "empty"})`);
  }
  const counts = errorCounts(r);
  const e = r.errors;
  if (e && e.connect + e.read + e.write + e.timeout > 0) {
    const what = `wrk: ${r.requests} requests answered, but ${counts}`;
    if (e.connect > 0) return fail("unreachable", `${what} (connections refused or not answered)`);
    if (e.timeout > 0) return fail("timeout", `${what} (responses slower than ${WRK_TIMEOUT_S} s, left out of its latency figures)`);
    return fail("tool-error", `${what} (connections reset or closed early)`);
  }
  if (r.non2xx) return fail("tool-error", `wrk: ${r.requests} requests answered, but ${counts} (the server refused them; is it the netmatrix http server?)`);
  if (r.requests === 0) return fail("timeout", `wrk: no request was answered in ${r.durationS ?? p.durationS} s (the server accepted but never answered?)`);
  if (r.requestsPerS === undefined || r.durationS === undefined || r.readBytes === undefined) {
    return fail("parse-error", "wrk: its report lacks Requests/sec, the run time or the bytes read (truncated?)");
  }
  if (r.latency.p50Us === undefined || r.latency.p99Us === undefined) return fail("parse-error", "wrk: no latency distribution in its output: run with --latency");
  const latency: Latency = { ...r.latency };
  if (r.requests <= UINT32_MAX) latency.samples = r.requests;
  const m: Measurement = {
    throughputBps: (r.transferBytesPerS ?? r.readBytes / r.durationS) * 8,
    receiverBps: (r.transferBytesPerS ?? r.readBytes / r.durationS) * 8,
    bytesReceived: r.readBytes,
    requestsPerS: r.requestsPerS,
    latency,
    durationS: r.durationS,
    intervals: [],
    streams: [],
    extra: { requests: r.requests },
  };
  if (p.httpMode === "new-connection") m.connectionsPerS = r.requestsPerS;
  if (r.p75Us !== undefined) m.extra.latency_p75_us = r.p75Us;
  if (r.connections !== undefined) m.extra.connections = r.connections;
  if (r.threads !== undefined) m.extra.threads = r.threads;
  return ok(m);
}

/** nginx's own words for why it stopped: "[emerg] bind() to … failed (98: Address already in use)", without the time and pid. */
const NGINX_FATAL = /\[(?:emerg|alert|crit)\]/;

/** The line nginx printed about why it could not start, as "nginx: [emerg] …"; undefined when it printed none. */
export function nginxFailure(out: CapturedOutput): string | undefined {
  const line = findLine(out.stderr, NGINX_FATAL) ?? findLine(out.stdout, NGINX_FATAL);
  if (line === undefined) return undefined;
  const at = line.search(NGINX_FATAL);
  // "2026/12/02 09:31:15 [emerg] 29349#29349: mkdir() … failed" → "[emerg] mkdir() … failed".
  const rest = line.slice(at).replace(/^(\[\w+\])\s+\d+#\d+:\s*/, "$1 ");
  return oneLine(`nginx: ${rest}`);
}

/** Files of the server: nginx.conf and the body (zeros, sparse however large). */
function serverFiles(p: ServerParams): ServerFile[] {
  return [
    { name: NGINX_CONF, text: nginxConf(p) },
    { name: HTTP_BODY_FILE, zeroBytes: Math.max(0, Math.round(p.bodyBytes ?? 0)) },
  ];
}

/** http: requests/s and new connections/s (nginx + wrk), the transfer rate and request latency percentiles; TCP, client asks. */
export const http = defineDriver({
  tool: "http",
  wire: Tool.HTTP,
  binary: "wrk",
  debianPackage: "wrk",
  serverBinary: { binary: "nginx", debianPackage: "nginx-light" },
  needsServer: true,
  serverPorts: 1,
  versionArgv: () => ["wrk", "-v"],
  /** "wrk debian/4.1.0-3+b2 [epoll] Copyright …" or "wrk 4.2.0 [epoll] …" → "4.1.0-3+b2", "4.2.0". */
  parseVersion: (output) => firstParsed(output, "wrk ", (line) => /^wrk (?:debian\/)?(\d+\.\d+(?:\.\d+)?(?:[-+~][\w.+~-]*)?)/.exec(line)?.[1]),
  unsupported(p) {
    if (p.protocol !== "tcp") return `http runs over TCP; protocol ${p.protocol} is unsupported`;
    if (p.parallel !== 1) return `http opens its connections with "connections" (wrk -c), not parallel streams; parallel ${p.parallel} is unsupported`;
    if (p.direction !== "forward") return `http measures requests from client to server; direction ${p.direction} is unsupported`;
    if (p.bitrateBps !== undefined) return "http cannot pace to a bitrate (wrk asks as fast as the server answers); leave bitrate unset";
    if (p.lengthBytes !== undefined) return "http has no message length: the server's body size is body_bytes; leave length unset";
    if (p.windowBytes !== undefined) return "wrk has no socket buffer option; leave window unset";
    if (p.mss !== undefined) return "wrk cannot set the TCP MSS; leave mss unset";
    if (p.omitS !== undefined && p.omitS > 0) return "wrk cannot omit the first seconds; leave omit unset";
    if (p.messageRatePerS !== undefined) return "wrk asks as fast as the server answers (no message rate); leave message_rate_per_s unset";
    return undefined;
  },
  serverArgv(p: ServerParams) {
    const dir = p.dir ?? ".";
    return ["nginx", "-p", `${dir}/`, "-c", `${dir}/${NGINX_CONF}`, "-e", "stderr"];
  },
  serverFiles,
  serverFailure: nginxFailure,
  clientArgv,
  parseClient,
  serverListens: () => "tcp",
  capabilities: {
    transport: "ip",
    pacing: false,
    omit: false,
    retransmits: false,
    intervals: false,
    // One TCP port, so ClusterIP and NodePort forward it like any other; a new connection per request is what they cost.
    cannotCross: {},
    specLists: ["connections", "bodies", "httpModes"],
    // The body size is the server's (`bodies`); wrk has no message length.
    lengths: false,
  },
  measures: { throughput: true, latency: "rtt", headline: "requests", percentiles: { p999: false } },
  runMs: (p) => Math.max(1, Math.ceil(p.durationS)) * 1000,
  describeRun: (p) => ({ figures: `${p.durationS} s`, shorten: "use a shorter duration" }),
  /** What wrk read (headers and bodies): the client's received payload. */
  payloadBytes: bulkPayloadBytes,
});
