/**
 * The contract every tool driver implements. Drivers are pure: they build argv
 * arrays and parse captured output. They never spawn, sleep or retry; the
 * agent's exec helper spawns, the coordinator decides about retries.
 */

import type { Tool } from "../../gen/netmatrix/v1/types_pb.js";
import type { DirectionName, FailureName, FamilyName, HttpModeName, ProtocolName } from "../../common/src/model.js";
/** keepalive: requests over persistent connections; new-connection: one TCP connection per request. */
export type HttpMode = HttpModeName;
/** Transport protocol of a test. Ping is always ICMP and ignores it. */
export type Protocol = ProtocolName;
/** forward: client sends; reverse: server sends; bidir: both at once. */
export type Direction = DirectionName;

/** Typed parameters of a client run. All sizes in bytes, rates in bits/s, times in seconds. */
export interface ClientParams {
  /** IP address (v4 or v6) of the server. */
  target: string;
  /** Server's (control) port. Ignored by ping. */
  port: number;
  /** qperf only: the server's data port (`-ip`). */
  dataPort?: number;
  protocol: Protocol;
  /** Measurement duration in seconds (ping: count × interval is used instead when pingCount is set). */
  durationS: number;
  /** Parallel streams (iperf3/iperf2 `-P`). 1 = single stream. */
  parallel: number;
  direction: Direction;
  /** Target bitrate in bits/s (iperf3/iperf2 `-b`); required for UDP, optional pacing for TCP. */
  bitrateBps?: number;
  /** Buffer/datagram length in bytes (iperf `-l`, qperf `-m` message size, ping `-s` payload). */
  lengthBytes?: number;
  /** Socket buffer / TCP window in bytes (`-w`). */
  windowBytes?: number;
  /** TCP maximum segment size in bytes (`-M`). */
  mss?: number;
  /** iperf3 `-O`: seconds omitted at the start (slow start). */
  omitS?: number;
  /** ping: number of echo requests. */
  pingCount?: number;
  /** ping: seconds between requests (`-i`); below 0.2 needs root. */
  pingIntervalS?: number;
  /** http: keepalive (default) or a new connection per request. */
  httpMode?: HttpMode;
  /** http: concurrent connections (wrk `-c`); unset = 1. */
  connections?: number;
  /** http: size of the body the server answers with, bytes (the server's setting; the client checks nothing of it). */
  bodyBytes?: number;
  /** sockperf: messages/s of its under-load mode; unset = ping-pong. */
  messageRatePerS?: number;
}

/** Typed parameters of a tool server. */
export interface ServerParams {
  /** Control port to listen on. */
  port: number;
  /** qperf only: data port. Not used on the server side argv of qperf 0.4.11 (client passes -ip), kept for symmetry. */
  dataPort?: number;
  protocol: Protocol;
  /** Address to bind to; undefined = all. */
  bind?: string;
  /** http: size of the body it answers each request with, bytes; unset = 0. */
  bodyBytes?: number;
  /**
   * The server's private directory, for drivers with `serverFiles`: the agent
   * creates it, writes the files there before it calls serverArgv, and
   * removes it once the server stopped. Unset for other drivers.
   */
  dir?: string;
}

/**
 * A file a server needs before it starts (its configuration, the body it
 * serves): `text`, or `zeroBytes` bytes of zeros (written sparse, however large).
 * `name` is a plain file name inside the server's directory.
 */
export type ServerFile = { name: string; text: string } | { name: string; zeroBytes: number };

/** Why a measurement failed. Never replaced by a number. */
export type FailureCode = FailureName;

export interface DriverFailure {
  code: FailureCode;
  /** One line a person can act on, e.g. `iperf3: unable to connect to server: Connection refused`. */
  reason: string;
  /** The fix, when the driver knows it (e.g. the setting that lets ping open its socket). */
  hint?: string;
}

/** Latency figures in microseconds. */
export interface Latency {
  /** "rtt" for ping, http (request to response) and sockperf (`--full-rtt`); "one-way" for qperf tcp_lat/udp_lat (qperf reports half the round trip). */
  kind: "rtt" | "one-way";
  meanUs?: number;
  minUs?: number;
  maxUs?: number;
  stddevUs?: number;
  p50Us?: number;
  p90Us?: number;
  p99Us?: number;
  p999Us?: number;
  /** Number of individual samples the percentiles were computed from. */
  samples?: number;
}

/** One reporting interval of a throughput test. */
export interface IntervalSample {
  /** Seconds since the test started. */
  startS: number;
  endS: number;
  /** Sum over streams, bits/s. */
  bitsPerSecond: number;
  /** Sum over streams, bytes in this interval. */
  bytes: number;
  retransmits?: number;
  /** Set for bidir: which direction this sample belongs to. */
  reverse?: boolean;
}

/** Per-stream totals. */
export interface StreamTotals {
  /** The tool's stream id (iperf3 socket, iperf2 transfer id). */
  id: number;
  senderBps?: number;
  receiverBps?: number;
  bytes?: number;
  retransmits?: number;
  jitterMs?: number;
  lostPackets?: number;
  packets?: number;
}

/** A successful measurement. Every figure states its unit in its name. */
export interface Measurement {
  /**
   * The headline throughput in bits/s: the receiver's view where the tool
   * gives one (iperf3 sum_received, qperf bw), else what the tool reports
   * (iperf2 client sum). Undefined for pure latency tests.
   */
  throughputBps?: number;
  /** Sender-side total, bits/s. */
  senderBps?: number;
  /** Receiver-side total, bits/s. */
  receiverBps?: number;
  /** bidir only: the reverse direction's sender and receiver totals, bits/s. */
  reverseSenderBps?: number;
  reverseReceiverBps?: number;
  bytesSent?: number;
  bytesReceived?: number;
  /** TCP retransmits summed over streams (iperf3 retransmits, iperf2 Retry). */
  retransmits?: number;
  /** UDP: jitter in milliseconds (receiver view). */
  jitterMs?: number;
  /** UDP: datagrams lost / total, and their percentage (receiver view). */
  lostPackets?: number;
  packets?: number;
  lossPercent?: number;
  latency?: Latency;
  /** qperf msg_rate, sockperf's messages (observations) per second of its valid duration, messages/s. */
  messageRatePerS?: number;
  /** http: requests answered per second (wrk Requests/sec). */
  requestsPerS?: number;
  /** http new-connection mode: new TCP connections per second (one per request). */
  connectionsPerS?: number;
  /** The tool's own CPU figures in % of one CPU (iperf3 host_total/remote_total, qperf send/recv or loc/rem cpus_used). */
  localCpuPercent?: number;
  remoteCpuPercent?: number;
  /** Measured duration in seconds as the tool reports it. */
  durationS: number;
  intervals: IntervalSample[];
  streams: StreamTotals[];
  /** Tool-specific extra figures worth keeping, e.g. qperf send_cost_ms_per_gb. Units in the key. */
  extra: Record<string, number>;
}

/** What the exec helper captured from one process. */
export interface CapturedOutput {
  stdout: string;
  stderr: string;
  /** null when killed by a signal. */
  exitCode: number | null;
}

export type ParseOutcome = { ok: true; measurement: Measurement } | { ok: false; failure: DriverFailure };

/** Figures only the server side knows (iperf2 UDP loss/jitter). */
export interface ServerReport {
  jitterMs?: number;
  lostPackets?: number;
  packets?: number;
  lossPercent?: number;
  receiverBps?: number;
  streams: StreamTotals[];
  /** Flags as in Measurement.extra: `reordered_packets`, `reordered_streams` when a negative loss was clamped. */
  extra?: Record<string, number>;
}

/**
 * What a server's output says so far: its report; "pending" while no stream
 * has finished (the agent polls a running server); or a failure, such as
 * output that is not in the format the parser expects (naming the flags it
 * needs) or figures that cannot be true.
 */
export type ServerOutcome = { status: "report"; report: ServerReport } | { status: "pending" } | { status: "failed"; failure: DriverFailure };

/** The transport a tool measures: TCP or UDP as the spec says, or ICMP whatever it says (ping). */
export type Transport = "ip" | "icmp";

/** Paths through a Service a case can take besides the direct one. */
export type ServicePath = "service" | "nodeport";

/** The figures a tool's result headlines. */
export interface Measures {
  /** Bits/s through the path. */
  throughput: boolean;
  /** The latency it reports, if any: a round trip (ping) or one way (qperf, half the round trip). */
  latency?: Latency["kind"];
  /**
   * Its headline figure when not bits/s: requests/s (http; connections/s in
   * its new-connection mode, where each request is one); absent: throughput
   * where measured, else latency.
   */
  headline?: "requests";
  /** Reports latency percentiles (p50/p90/p99, p99.9 where `p999`), which the report shows beside the mean. */
  percentiles?: { p999: boolean };
}

/** What a tool can do. The planner, the runner and the report ask these, never the tool's name. */
export interface Capabilities {
  transport: Transport;
  /** Paces to a target bitrate (`-b`): UDP cases run once per listed bitrate. */
  pacing: boolean;
  /** Leaves the first seconds (slow start) out of its figures (`-O`). */
  omit: boolean;
  /** Reports TCP retransmits. */
  retransmits: boolean;
  /** Per-interval throughput. */
  intervals: boolean;
  /** Why it cannot run through each service path it cannot (absent: it can). */
  cannotCross: Partial<Record<ServicePath, string>>;
  /**
   * Why it cannot run over each address family it cannot (absent: it runs
   * over IPv4 and IPv6, its argv built from the target's and bind's family).
   */
  cannotFamily?: Partial<Record<FamilyName, string>>;
  /**
   * Matrix spec lists its cases are crossed with besides the common ones
   * (http: connections, bodies, httpModes; sockperf: messageRates); they also
   * name the parts of its case keys. Absent: none (those lists do not
   * multiply its cases).
   */
  specLists?: readonly SpecList[];
  /** Whether it takes a length (`lengths`); false: one case of the tool's own sizes stands for every entry. Absent: true. */
  lengths?: boolean;
  /** Whether it sets the TCP maximum segment size of its connections (`-M`, spec key `mss`). Absent: false (its TCP cases are skipped when `mss` lists sizes). */
  mss?: boolean;
  /**
   * Cross-tool agreement (spec key `crosscheck`): the protocols whose bulk
   * throughput it measures comparably with the other tools that say so (UDP
   * only when it paces to the same offered rate), so a crosschecked row's
   * path is also measured by it. Absent: it takes no part.
   */
  crosscheck?: { tcp: boolean; udp: boolean };
}

/** Matrix spec lists only some tools are crossed with (YAML keys). */
export type SpecList = "connections" | "bodies" | "httpModes" | "messageRates";

/** How long a run lasts: the subset of ClientParams that decides it. */
export type RunLength = Pick<ClientParams, "durationS" | "omitS" | "pingCount" | "pingIntervalS">;

/** The payload figures a tool reported, as the wire's Measurement carries them. */
export interface PayloadFigures {
  bytesSent?: number;
  bytesReceived?: number;
  throughputBps?: number;
  durationS: number;
  extra: Record<string, number>;
}

/**
 * What the agent knows about the process its tools run as, for messages that
 * name a setting and its value. The agent supplies it (drivers read nothing).
 */
export interface HostFacts {
  /** The agent's effective group id and supplementary groups (what the kernel checks a group range against). */
  gid: number | undefined;
  groups: number[];
  /** A sysctl's value as this process sees it (its network namespace), whitespace collapsed; undefined when unreadable. */
  sysctl(name: string): string | undefined;
}

/**
 * A short run at agent start-up that shows whether the tool can work on this
 * agent at all (e.g. ping may not open an ICMP socket). The agent runs it
 * generically, with the binary found on PATH, and reports the tool unavailable
 * with the problem when there is one.
 */
export interface SelfTest {
  /** argv of the run; argv[0] is the binary's name (the agent puts its path there). */
  argv(): string[];
  /** Milliseconds it may take. */
  deadlineMs: number;
  /**
   * Why the tool cannot work on this agent (naming the setting and its value)
   * and the fix; undefined when the run shows no such problem (a run that
   * failed for another reason, e.g. no loopback address, is no reason to
   * refuse the tool).
   */
  problem(out: CapturedOutput, host: HostFacts): { reason: string; fix: string } | undefined;
}

/** One tool, behind one interface. */
export interface Driver<N extends string = string> {
  readonly tool: N;
  /** The tool's value on the wire (proto enum). */
  readonly wire: Tool;
  /** Executable name looked up on PATH. */
  readonly binary: string;
  /** Debian package that provides it, for "tool missing" messages. */
  readonly debianPackage: string;
  /** Whether a server process is needed on the far end. */
  readonly needsServer: boolean;
  /** How many consecutive ports the server needs (qperf: 2, control + data). */
  readonly serverPorts: number;
  /** A start-up check that the tool can work here; absent when finding it on PATH and running versionArgv() is enough. */
  readonly selfTest?: SelfTest;
  /** argv that prints the version. */
  versionArgv(): string[];
  /** Extract the version from the combined stdout+stderr of versionArgv(); undefined if unrecognised. */
  parseVersion(output: string): string | undefined;
  /** A reason when this driver cannot do what the params ask (e.g. qperf reverse), else undefined. */
  unsupported(p: ClientParams): string | undefined;
  /** argv of the server, or undefined when the tool needs none (ping). */
  serverArgv(p: ServerParams): string[] | undefined;
  /** argv of the client. */
  clientArgv(p: ClientParams): string[];
  /**
   * Parse a finished client run. Must detect every error form (exit 0 with
   * error included); never throws; every figure of a success is finite and in
   * range (tools/src/validate.ts), else the outcome is a parse error.
   * `host`, when given, lets a failure the agent's settings cause name them.
   */
  parseClient(out: CapturedOutput, p: ClientParams, host?: HostFacts): ParseOutcome;
  /** Parse what the server printed so far (iperf2 UDP: the only source of loss/jitter). Never throws. */
  parseServer?(stdout: string, p: ClientParams): ServerOutcome;
  /**
   * Files its server needs before it starts, written by the agent into the
   * server's private directory (`ServerParams.dir`); absent when it needs none.
   */
  serverFiles?(p: ServerParams): ServerFile[];
  /**
   * The server's executable when it is another program than the client's
   * (http: nginx serves, wrk asks), with its Debian package; absent when
   * `binary` is both.
   */
  readonly serverBinary?: { binary: string; debianPackage: string };
  /**
   * Why a server that exited before it listened failed, in one line, from
   * what it printed (e.g. nginx's "bind() … failed (98: Address already in
   * use)"); undefined when its output says nothing the agent's generic
   * message would not.
   */
  serverFailure?(out: CapturedOutput): string | undefined;
  /** The transport its server listens on for a test of `protocol` (what "ready" waits for). */
  serverListens(protocol: Protocol): Protocol;
  readonly capabilities: Capabilities;
  readonly measures: Measures;
  /** Milliseconds a run measures, omitted seconds included (the deadline adds margins to it). */
  runMs(p: RunLength): number;
  /**
   * How `runMs` comes about for `p`, for the message that refuses a run
   * longer than the cap: the figures (e.g. "100000 requests × 60 s") and how
   * to shorten it.
   */
  describeRun(p: RunLength): { figures: string; shorten: string };
  /**
   * Payload bytes it moved in the measured direction(s), counting what crossed
   * the NIC but is not in its totals (iperf3's omitted seconds); undefined when
   * it moves none (ping) or reported too little to tell.
   */
  payloadBytes(m: PayloadFigures): number | undefined;
}
