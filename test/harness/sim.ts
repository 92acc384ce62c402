/**
 * Many netmatrix agents in one process, speaking the real protocol to a real
 * coordinator over gRPC — the scale simulator of `bench:scale` and of
 * test/scale-sim.test.ts.
 *
 * Each simulated agent is its own AgentService.Session stream and its own
 * session, exactly as a real agent (agent/src/session.ts) opens it: the bearer
 * token on the call, `Register{info, instance_id}` with an AgentInfo the
 * coordinator's own rules accept (common/src/registration.ts), a first
 * heartbeat as soon as `Registered` arrives and then one every
 * `heartbeat_interval_ms` the coordinator asked, each with a synthetic
 * NodeLoad; replies go through the agent's own bounded Outbox (live batches
 * keep only the newest per stream while the coordinator pushes back). A
 * session that ends is dialled again with the agent's capped, jittered
 * backoff; a refused registration (invalid-argument, permission-denied,
 * unauthenticated) is not retried: it is a configuration problem, reported by
 * {@link Simulator.allRegistered}.
 *
 * Nodes are `sim-00001`, `sim-00002`, …; each has a host agent and
 * `podsPerNode` pod agents (pods `sim-00001-a`, `sim-00001-b`, …), so K agents
 * cover ⌈K / (1 + podsPerNode)⌉ nodes (the last one may have fewer pods).
 * Node labels: `topology.kubernetes.io/zone` (zone-0 … round robin over
 * `zones`) and `rack` (rack-0, … 40 nodes each).
 *
 * Addresses: by default every agent declares 127.0.0.1, the address its
 * session comes from, so the coordinator checks it as "peer" — the path a
 * real cluster takes — and every agent is a target without
 * `--trust-declared-addresses`. With `addressing: "declared"` each agent
 * declares its own address in 198.18.0.0/15 (RFC 2544's benchmarking range;
 * node n's host agent 198.18.x.y, its pods beside it): unique addresses, but
 * the coordinator must run with `--trust-declared-addresses 198.18.0.0/15`
 * ({@link DECLARED_RANGE}), and logs a warning per agent.
 *
 * Live streams: on StartStream the agent sends `SampleBatch{stream_id,
 * samples}` every `interval_ms`, one NodeSample per batch (as the real agent
 * at intervals of 100 ms and more; `batchMs` gathers several), with the
 * stream's interface filter applied by the agent's own filter code; on
 * StopStream (or CancelAll) it stops. Samples carry synthetic interface
 * counters that grow monotonically (a smooth rate per interface, the totals
 * its integral, so rates and totals agree), a synthetic CPU, memory and agent
 * process. `wall_ms` is this process's wall clock when the sample is taken,
 * which is also when its batch is written: a watcher's lag is its receive
 * time less `wall_ms` (same machine, same clock).
 *
 * The simulator runs no tools: StartServer, RunClient, StopServer,
 * StartSampling and StopSampling are answered with CommandFailed
 * (tool-missing, "simulated agent"); CancelCommand is ignored (nothing runs).
 *
 * Transport: plaintext gRPC (no TLS); agents share grpc-js channels, `streamsPerChannel` sessions per
 * channel (default 100), each channel its own HTTP/2 connection (a local
 * subchannel pool), so 15,000 agents are 150 connections, not one and not
 * 15,000. Sample batches and heartbeats — nearly every message — are
 * encoded by ./sim-encode.ts (protobuf-es's own bytes, at a fraction of its
 * CPU) and go through the same client seam; at 15,000 agents protobuf-es's
 * encoder alone would have taken this process's whole core.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { AgentMessageSchema, AgentService, type AgentMessage, type CoordinatorMessage, type HeartbeatSchema, type SampleBatchSchema } from "../../gen/netmatrix/v1/agent_pb.js";
import { AgentInfoSchema, FailureCode, FailureSchema, NetworkMode, type AgentInfo, type InterfaceFilter, type NodeSampleSchema } from "../../gen/netmatrix/v1/types_pb.js";
import { drivers, tools } from "../../tools/src/index.js";
import { createClient, type Client } from "../../common/src/grpc-adapter.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { Outbox } from "../../common/src/outbox.js";
import { fromServiceError } from "../../common/src/rpc-status.js";
import { bearerInterceptor } from "../../common/src/token.js";
import { compileNameFilter } from "../../agent/src/samplers/filter.js";
import { rawAgentMessage } from "./sim-encode.js";

type NodeSampleInit = MessageInitShape<typeof NodeSampleSchema>;
type SampleBatchInit = MessageInitShape<typeof SampleBatchSchema> & { streamId: string; samples: NodeSampleInit[] };
type HeartbeatInit = MessageInitShape<typeof HeartbeatSchema>;

/** The range agents declare their addresses in with `addressing: "declared"` (the coordinator must trust it). */
export const DECLARED_RANGE = "198.18.0.0/15";

export interface SimOptions {
  /** HOST:PORT of the coordinator's gRPC port. */
  coordinator: string;
  token: string;
  /** Agents to run (K). */
  agents: number;
  /** Pod agents per node besides its host agent (default 2: the chart's three agents per node). */
  podsPerNode?: number;
  /** Node name prefix (default "sim"): nodes are PREFIX-00001, … */
  prefix?: string;
  /** Sessions per grpc-js channel (one HTTP/2 connection each); default 100. */
  streamsPerChannel?: number;
  /** "loopback" (default: every agent declares 127.0.0.1, checked as "peer") or "declared" (unique addresses in DECLARED_RANGE; the coordinator must trust it). */
  addressing?: "loopback" | "declared";
  /**
   * Sessions opened per second at the start; 0 (default) opens them all at
   * once (the thundering herd of a coordinator restart).
   */
  ratePerS?: number;
  /** Zones the nodes are spread over, round robin (label topology.kubernetes.io/zone = zone-0, …); default 3. Racks: 40 nodes each (label `rack`). */
  zones?: number;
  /** Veth interfaces of each host agent besides eth0, cni0 and flannel.1 (default 4): a sample's size. */
  veths?: number;
  /** Gather a stream's samples into one batch per this many ms (default 0: one sample per batch, sent when taken). */
  batchMs?: number;
  /** First reconnect delay and cap, ms (default the agent's: 500, 15,000). */
  backoffMs?: { initial: number; max: number };
}

/** What the simulator has done so far. */
export interface SimStats {
  agents: number;
  nodes: number;
  channels: number;
  /** Agents registered now. */
  registered: number;
  /** Sessions opened, in all (a reconnect opens one more). */
  sessions: number;
  /** Sessions that ended while the simulator ran (then redialled, unless refused). */
  sessionsEnded: number;
  /** Agents whose registration was refused for good (see {@link SimAgent.failure}). */
  refused: number;
  heartbeats: number;
  batches: number;
  samples: number;
  /** Live streams running now. */
  streams: number;
  /** Commands answered with CommandFailed (the simulator runs no tools). */
  commandsFailed: number;
  /** Live batches replaced by a newer one while the coordinator pushed back (the agent's Outbox). */
  droppedBatches: number;
  /** The last reason a session ended, for messages. */
  lastEnd: string;
  /** The heartbeat interval the coordinator asked for (Registered), ms; 0 before any registration. */
  heartbeatIntervalMs: number;
}

/** One simulated agent. */
export interface SimAgent {
  readonly index: number;
  readonly node: string;
  readonly mode: "host" | "pod";
  /** The pod name; "" for the host agent. */
  readonly pod: string;
  /** The id the coordinator gives it (node/mode[/pod]). */
  readonly id: string;
  readonly instanceId: string;
  readonly info: AgentInfo;
  /** Whether it is registered now. */
  registered: boolean;
  /** Why its registration was refused for good, when it was. */
  failure: NetmatrixError | undefined;
}

export interface Simulator {
  readonly agents: readonly SimAgent[];
  /** Node names, in order. */
  readonly nodes: readonly string[];
  stats(): SimStats;
  /**
   * Resolves with the milliseconds from the start until all K agents were
   * registered at once (the first time); rejects when any registration was
   * refused for good (the error names the agent and the coordinator's reason),
   * or after `timeoutMs` (with how many registered).
   */
  allRegistered(timeoutMs?: number): Promise<number>;
  /** Cancel every session and close every channel; resolves when all sessions have ended (at most ~2 s). */
  close(): Promise<void>;
}

interface Stream {
  timer: NodeJS.Timeout;
  flush: NodeJS.Timeout | undefined;
  pending: NodeSampleInit[];
}

interface Iface {
  name: string;
  /** Mean rate, bytes/s, and the phase of its variation. */
  rx: number;
  tx: number;
  phase: number;
}

interface AgentState extends SimAgent {
  ifaces: Iface[];
  call: grpc.ClientDuplexStream<AgentMessage, CoordinatorMessage> | undefined;
  outbox: Outbox<AgentMessage> | undefined;
  heartbeat: NodeJS.Timeout | undefined;
  reconnect: NodeJS.Timeout | undefined;
  streams: Map<string, Stream>;
  delayMs: number;
  startedMono: number;
}

const NODE_DIGITS = 5;
const POD_SUFFIXES = "abcdefghijklmnopqrstuvwxyz";
/** The agent's own bounds on replies waiting for a coordinator that stopped reading (agent/src/session.ts SESSION_LIMITS). */
const OUTBOX_LIMITS = { maxQueued: 1000, stallMs: 30_000 } as const;
/** Refusals a retry cannot fix (the real agent backs off for a minute; the simulator reports them). */
const FATAL = new Set(["invalid-argument", "permission-denied", "unauthenticated"]);
/** Period of the synthetic rates' variation, s. */
const RATE_PERIOD_S = 60;
const OMEGA = (2 * Math.PI) / RATE_PERIOD_S;
const RATE_SWING = 0.25;

/** Deterministic pseudo-random in [0, 1) from an integer (a hash, so agents differ without a seed to carry). */
function unit(n: number): number {
  let x = (n + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  x ^= x >>> 16;
  return (x >>> 0) / 2 ** 32;
}

/** Bytes an interface has carried by monotonic second `t`: the integral of mean·(1 + swing·sin(ωt + φ)), which is never negative. */
export function syntheticTotal(mean: number, phase: number, t: number): number {
  return mean * (t + (RATE_SWING / OMEGA) * (Math.cos(phase) - Math.cos(OMEGA * t + phase)));
}

/** The address of agent `slot` (0 = host, 1.. = pods) of node `n` (0-based) in DECLARED_RANGE. */
function declaredAddress(n: number, slot: number, perNode: number): string {
  const k = n * perNode + slot + 1;
  return `198.${18 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`;
}

/** Nodes per rack (label `rack`). */
const RACK_NODES = 40;

function agentInfo(node: string, pod: string, mode: "host" | "pod", address: string, ifaces: Iface[], n: number, zones: number): AgentInfo {
  const hex = (v: number) => (v & 255).toString(16).padStart(2, "0");
  return create(AgentInfoSchema, {
    node,
    pod,
    mode: mode === "host" ? NetworkMode.HOST : NetworkMode.POD,
    addresses: [address],
    interfaces: [
      { name: "lo", mtu: 65536, addresses: ["127.0.0.1", "::1"], mac: "00:00:00:00:00:00" },
      ...ifaces.map((f, i) => ({
        name: f.name,
        mtu: f.name === "flannel.1" ? 1450 : 1500,
        speedMbps: f.name === "eth0" && mode === "host" ? 25_000 : 0,
        addresses: f.name === "eth0" ? [`10.${(n >> 8) & 255}.${n & 255}.${mode === "host" ? 1 : 10 + POD_SUFFIXES.indexOf(pod.slice(-1))}`] : [],
        mac: `02:42:${hex(n >> 16)}:${hex(n >> 8)}:${hex(n)}:${hex(i + (mode === "host" ? 0 : 64 + POD_SUFFIXES.indexOf(pod.slice(-1))))}`,
      })),
    ],
    // Every tool of the catalogue, installed (a realistic-looking entry each).
    tools: tools.names.map((t) => ({ tool: drivers[t].wire, available: true, version: "1.0", path: `/usr/bin/${drivers[t].binary}`, package: drivers[t].debianPackage })),
    kernel: "Linux 6.8.0-1015-aws",
    cpuModel: "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
    cpuCount: 4,
    hostname: mode === "host" ? node : pod,
    agentVersion: "0.1.0-sim",
    portMin: 20_000,
    portMax: 20_999,
    labels: { "topology.kubernetes.io/zone": `zone-${n % zones}`, rack: `rack-${Math.floor(n / RACK_NODES)}` },
  });
}

/** Start K simulated agents; their sessions open now (or at `ratePerS`). */
export function startSimulator(o: SimOptions): Simulator {
  const perNode = 1 + (o.podsPerNode ?? 2);
  if (perNode - 1 > POD_SUFFIXES.length) throw new Error(`at most ${POD_SUFFIXES.length} pods per node`);
  if (!Number.isInteger(o.agents) || o.agents < 1) throw new Error(`agents must be a positive integer, not ${o.agents}`);
  if (o.addressing === "declared" && o.agents >= 2 ** 17) throw new Error(`addressing "declared" has ${2 ** 17 - 1} addresses in ${DECLARED_RANGE}, fewer than ${o.agents} agents`);
  const prefix = o.prefix ?? "sim";
  const perChannel = Math.max(1, o.streamsPerChannel ?? 100);
  const backoff = o.backoffMs ?? { initial: 500, max: 15_000 };
  const veths = o.veths ?? 4;
  const nodeCount = Math.ceil(o.agents / perNode);
  const digits = Math.max(NODE_DIGITS, String(nodeCount).length);
  const nodes = Array.from({ length: nodeCount }, (_, n) => `${prefix}-${String(n + 1).padStart(digits, "0")}`);
  const runTag = `${process.pid.toString(36)}-${Date.now().toString(36)}`;

  const agents: AgentState[] = [];
  for (let i = 0; i < o.agents; i++) {
    const n = Math.floor(i / perNode);
    const slot = i % perNode;
    const node = nodes[n]!;
    const mode = slot === 0 ? "host" : "pod";
    const pod = slot === 0 ? "" : `${node}-${POD_SUFFIXES[slot - 1]}`;
    const names =
      mode === "host" ? ["eth0", "cni0", "flannel.1", ...Array.from({ length: veths }, (_, v) => `veth${(unit(i * 31 + v) * 0xffffff).toString(16).slice(0, 6)}${v}`)] : ["eth0"];
    const ifaces = names.map((name, k) => {
      const r = unit(i * 131 + k);
      // eth0 of a host: 20–120 Mbit/s; the rest: a tenth of that.
      const mean = ((name === "eth0" && mode === "host" ? 20e6 : 2e6) + r * (name === "eth0" && mode === "host" ? 100e6 : 10e6)) / 8;
      return { name, rx: mean, tx: mean * (0.5 + unit(i * 7 + k)), phase: r * 2 * Math.PI };
    });
    const address = o.addressing === "declared" ? declaredAddress(n, slot, perNode) : "127.0.0.1";
    agents.push({
      index: i,
      node,
      mode,
      pod,
      id: pod ? `${node}/${mode}/${pod}` : `${node}/${mode}`,
      instanceId: `sim-${runTag}-${i}`,
      info: agentInfo(node, pod, mode, address, ifaces, n, Math.max(1, o.zones ?? 3)),
      registered: false,
      failure: undefined,
      ifaces,
      call: undefined,
      outbox: undefined,
      heartbeat: undefined,
      reconnect: undefined,
      streams: new Map(),
      delayMs: backoff.initial,
      startedMono: performance.now(),
    });
  }

  const channels: grpc.Channel[] = [];
  const clients: Client<typeof AgentService>[] = [];
  const clientFor = (i: number): Client<typeof AgentService> => {
    const c = Math.floor(i / perChannel);
    if (!clients[c]) {
      // A local subchannel pool: this channel gets its own HTTP/2 connection (grpc-js otherwise shares one per target).
      const channel = new grpc.Channel(o.coordinator, grpc.credentials.createInsecure(), {
        "grpc.use_local_subchannel_pool": 1,
        // Nothing to replay on a session stream; grpc-js's retry layer would only buffer every write.
        "grpc.enable_retries": 0,
        "grpc.keepalive_time_ms": 10_000,
        "grpc.keepalive_timeout_ms": 5_000,
        "grpc.keepalive_permit_without_calls": 1,
      });
      channels[c] = channel;
      clients[c] = createClient(AgentService, channel, { interceptors: [bearerInterceptor(o.token)] });
    }
    return clients[c];
  };

  const stats: SimStats = {
    agents: o.agents,
    nodes: nodeCount,
    channels: 0,
    registered: 0,
    sessions: 0,
    sessionsEnded: 0,
    refused: 0,
    heartbeats: 0,
    batches: 0,
    samples: 0,
    streams: 0,
    commandsFailed: 0,
    droppedBatches: 0,
    lastEnd: "",
    heartbeatIntervalMs: 0,
  };
  const t0 = performance.now();
  let closing = false;
  let allAtMs: number | undefined;
  const waiters = new Set<{ resolve(ms: number): void; reject(e: Error): void }>();
  let firstFailure: { agent: AgentState; error: NetmatrixError } | undefined;

  const settleWaiters = (): void => {
    if (firstFailure) {
      const { agent, error } = firstFailure;
      const e = new NetmatrixError(error.code, `simulated agent ${agent.id}: ${error.message}`, error.hint ? { hint: error.hint } : {});
      for (const w of waiters) w.reject(e);
      waiters.clear();
    } else if (allAtMs !== undefined) {
      for (const w of waiters) w.resolve(allAtMs);
      waiters.clear();
    }
  };

  const send = (a: AgentState, msg: MessageInitShape<typeof AgentMessageSchema>["msg"]): void => {
    if (!a.call?.writable || !a.outbox) return;
    a.outbox.send(create(AgentMessageSchema, { msg }));
  };
  /** The hot messages, encoded by sim-encode (the same bytes, a fraction of protobuf-es's CPU). */
  const sendBatch = (a: AgentState, batch: SampleBatchInit): void => {
    if (!a.call?.writable || !a.outbox) return;
    a.outbox.sendLatest(batch.streamId, rawAgentMessage("sampleBatch", batch));
  };
  const sendHeartbeat = (a: AgentState, hb: HeartbeatInit): void => {
    if (!a.call?.writable || !a.outbox) return;
    a.outbox.send(rawAgentMessage("heartbeat", hb));
  };

  const sample = (a: AgentState, ifaces: Iface[], intervalMs: number): NodeSampleInit => {
    const t = performance.now() / 1000;
    const dt = intervalMs / 1000;
    const seed = a.index * 1009 + Math.floor(t);
    const busy = 5 + 20 * unit(seed);
    return {
      wallMs: Date.now(),
      intervalMs,
      interfaces: ifaces.map((f) => {
        const rxTotal = syntheticTotal(f.rx, f.phase, t);
        const txTotal = syntheticTotal(f.tx, f.phase + 1, t);
        const rxBps = ((rxTotal - syntheticTotal(f.rx, f.phase, t - dt)) / dt) * 8;
        const txBps = ((txTotal - syntheticTotal(f.tx, f.phase + 1, t - dt)) / dt) * 8;
        return { name: f.name, rxBps, txBps, rxPps: rxBps / 8 / 1200, txPps: txBps / 8 / 1200, rxBytesTotal: rxTotal, txBytesTotal: txTotal };
      }),
      cpu: {
        totalPercent: busy,
        userPercent: busy * 0.6,
        systemPercent: busy * 0.3,
        softirqPercent: busy * 0.1,
        perCorePercent: [0, 1, 2, 3].map((c) => busy * (0.5 + unit(seed + c))),
        procsRunning: 1 + Math.floor(3 * unit(seed + 7)),
      },
      memory: { totalBytes: 16 * 2 ** 30, availableBytes: 11 * 2 ** 30, usedBytes: 5 * 2 ** 30 },
      processes: [{ pid: 1000 + a.index, name: "netmatrix", cpuPercent: 0.3, rssBytes: 60e6, role: "agent" }],
    };
  };

  const stopStream = (a: AgentState, streamId: string): void => {
    const s = a.streams.get(streamId);
    if (!s) return;
    clearInterval(s.timer);
    clearInterval(s.flush);
    a.streams.delete(streamId);
    stats.streams--;
  };

  const startStream = (a: AgentState, streamId: string, intervalMs: number, filter: InterfaceFilter | undefined): void => {
    stopStream(a, streamId);
    const interval = intervalMs || 1000;
    // The agent's own bounds (SAMPLING_LIMITS): a stream it would refuse is refused (logged there; nothing is sent).
    if (interval < 10 || interval > 60_000) return;
    const accept = compileNameFilter(filter?.include.length ? filter.include : undefined, filter?.exclude.length ? filter.exclude : undefined);
    const ifaces = a.ifaces.filter((f) => accept(f.name));
    const batchMs = o.batchMs ?? 0;
    const s: Stream = { timer: undefined as unknown as NodeJS.Timeout, flush: undefined, pending: [] };
    const flush = (): void => {
      if (!s.pending.length) return;
      const samples = s.pending.splice(0);
      stats.batches++;
      stats.samples += samples.length;
      sendBatch(a, { streamId, samples });
    };
    s.timer = setInterval(() => {
      s.pending.push(sample(a, ifaces, interval));
      if (batchMs <= interval) flush();
    }, interval);
    if (batchMs > interval) s.flush = setInterval(flush, batchMs);
    a.streams.set(streamId, s);
    stats.streams++;
  };

  const stopAllStreams = (a: AgentState): void => {
    for (const id of [...a.streams.keys()]) stopStream(a, id);
  };

  const fail = (a: AgentState, commandId: string, what: string): void => {
    stats.commandsFailed++;
    send(a, {
      case: "commandFailed",
      value: {
        commandId,
        failure: create(FailureSchema, {
          code: FailureCode.TOOL_MISSING,
          reason: `simulated agent ${a.id}: it runs no tools (${what})`,
          hint: "run real agents (`netmatrix agent`) to measure; the simulator only registers, heartbeats and streams samples",
        }),
      },
    });
  };

  const handle = (a: AgentState, m: CoordinatorMessage): void => {
    const c = m.msg;
    switch (c.case) {
      case "registered": {
        if (!a.registered) stats.registered++;
        a.registered = true;
        a.delayMs = backoff.initial;
        const intervalMs = Math.max(200, c.value.heartbeatIntervalMs || 5000);
        stats.heartbeatIntervalMs = intervalMs;
        const beat = (): void => {
          stats.heartbeats++;
          const seed = Math.floor(a.index / perNode) * 7919 + Math.floor(Date.now() / intervalMs);
          sendHeartbeat(a, {
            uptimeMs: performance.now() - a.startedMono,
            runningServers: 0,
            runningClients: 0,
            load: {
              cpuBusyPercent: 5 + 20 * unit(seed),
              stealPercent: 0,
              loadAverage1m: 0.2 + 1.5 * unit(seed + 1),
              procsRunning: 1 + Math.floor(3 * unit(seed + 2)),
              cpuCount: 4,
              intervalMs,
              atMs: Date.now(),
            },
          });
        };
        beat();
        clearInterval(a.heartbeat);
        a.heartbeat = setInterval(beat, intervalMs);
        if (allAtMs === undefined && stats.registered === o.agents) {
          allAtMs = performance.now() - t0;
          settleWaiters();
        }
        return;
      }
      case "startStream":
        return startStream(a, c.value.streamId, c.value.intervalMs, c.value.filter);
      case "stopStream":
        return stopStream(a, c.value.streamId);
      case "cancelAll":
        // As the real agent: what runs stops, live streams too.
        return stopAllStreams(a);
      case "startServer":
      case "runClient":
      case "stopServer":
      case "startSampling":
      case "stopSampling":
        return fail(a, c.value.commandId, c.case);
      default:
        // CancelCommand: nothing runs here to cancel.
        return;
    }
  };

  const connect = (a: AgentState): void => {
    a.reconnect = undefined;
    if (closing) return;
    stats.sessions++;
    const call = clientFor(a.index).session();
    a.call = call;
    a.outbox = new Outbox<AgentMessage>(call, { ...OUTBOX_LIMITS, onCutOff: () => call.cancel() });
    let error: NetmatrixError | undefined;
    let registeredHere = false;
    call.on("data", (m: CoordinatorMessage) => {
      if (m.msg.case === "registered") registeredHere = true;
      handle(a, m);
    });
    call.on("error", (err) => (error = fromServiceError(err, o.coordinator)));
    // grpc-js emits "status" exactly once, however the call ends.
    call.on("status", () => {
      if (a.call !== call) return;
      stats.droppedBatches += a.outbox?.dropped ?? 0;
      a.outbox?.close();
      a.call = undefined;
      a.outbox = undefined;
      clearInterval(a.heartbeat);
      a.heartbeat = undefined;
      stopAllStreams(a);
      if (a.registered) stats.registered--;
      a.registered = false;
      if (closing) return;
      stats.sessionsEnded++;
      stats.lastEnd = error ? `${error.code}: ${error.message}` : "ended by the coordinator";
      if (!registeredHere && error && FATAL.has(error.code)) {
        a.failure = error;
        stats.refused++;
        firstFailure ??= { agent: a, error };
        settleWaiters();
        return;
      }
      a.delayMs = registeredHere ? backoff.initial : Math.min(backoff.max, a.delayMs * 2);
      a.reconnect = setTimeout(() => connect(a), a.delayMs * (0.5 + Math.random() / 2));
    });
    send(a, { case: "register", value: { info: a.info, instanceId: a.instanceId } });
  };

  // Open the sessions: all now, or paced.
  let opener: NodeJS.Timeout | undefined;
  if (!o.ratePerS) for (const a of agents) connect(a);
  else {
    let next = 0;
    const step = Math.max(1, Math.round(o.ratePerS / 100));
    opener = setInterval(
      () => {
        for (let k = 0; k < step && next < agents.length; k++) connect(agents[next++]!);
        if (next >= agents.length) clearInterval(opener);
      },
      Math.max(1, (1000 * step) / o.ratePerS),
    );
  }

  return {
    agents,
    nodes,
    stats: () => {
      let dropped = stats.droppedBatches;
      for (const a of agents) dropped += a.outbox?.dropped ?? 0;
      return { ...stats, channels: channels.filter(Boolean).length, droppedBatches: dropped };
    },
    allRegistered(timeoutMs = 120_000) {
      return new Promise<number>((resolve, reject) => {
        const t = setTimeout(() => {
          waiters.delete(w);
          reject(
            new Error(
              `${stats.registered} of ${o.agents} simulated agents registered within ${Math.round(timeoutMs / 1000)} s (${stats.sessions} sessions opened; last session end: ${stats.lastEnd || "none"})`,
            ),
          );
        }, timeoutMs);
        const w = {
          resolve: (ms: number) => (clearTimeout(t), resolve(ms)),
          reject: (e: Error) => (clearTimeout(t), reject(e)),
        };
        waiters.add(w);
        settleWaiters();
      });
    },
    async close() {
      closing = true;
      clearInterval(opener);
      const ended: Promise<void>[] = [];
      for (const a of agents) {
        clearTimeout(a.reconnect);
        clearInterval(a.heartbeat);
        stopAllStreams(a);
        const call = a.call;
        if (call) {
          ended.push(new Promise<void>((r) => call.once("status", () => r())));
          call.cancel();
        }
      }
      await Promise.race([Promise.all(ended), new Promise((r) => setTimeout(r, 2000))]);
      // Each client closes its channel (the one it was given).
      for (const c of clients) c?.close();
    },
  };
}
