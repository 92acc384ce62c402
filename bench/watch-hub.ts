/**
 * bench:watch-hub — what does the watch hub cost at thousands of agents, in
 * process (no network, no simulator process)?
 *
 * K agents (real AgentLinks in a real Registry; their session streams are
 * stand-ins that take whatever is written) each deliver one SampleBatch a
 * second, spread evenly over the second; each batch is decoded from its
 * wire bytes, as the coordinator's gRPC server would, and its sample stamped
 * with the current wall clock (the end of its interval). Two watchers at
 * 1 s: one to every node, one to a single node; each tick is turned into
 * batched Watch events and encoded to bytes, as the gRPC call would.
 *
 * Prints, over a steady window after a warm-up: this process's CPU (% of one
 * core) without watchers (the generator and decoding alone) and with them
 * (the difference is the hub: ingestion, ticks, encoding), event-loop
 * utilisation, heap, and each watcher's lag (sample wall clock → tick
 * handed to the transport) p50/p99/max and samples per agent per second.
 *
 *   npm run build:dev && node dist-dev/bench/watch-hub.js [--agents 5000] [--seconds 30] [--interfaces 8] [--cores 8]
 */
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { ServerDuplexStream } from "@grpc/grpc-js";
import pino from "pino";
import { AgentMessageSchema, type AgentMessage, type CoordinatorMessage } from "../gen/netmatrix/v1/agent_pb.js";
import { AgentInfoSchema, NetworkMode, NodeSampleSchema } from "../gen/netmatrix/v1/types_pb.js";
import { AgentLink } from "../coordinator/src/agent-link.js";
import { watchEvents } from "../coordinator/src/control-service.js";
import { Registry } from "../coordinator/src/registry.js";
import { WatchHub, type LiveBatch } from "../coordinator/src/watch-hub.js";

const { values } = parseArgs({
  options: {
    agents: { type: "string", default: "5000" },
    seconds: { type: "string", default: "30" },
    warmup: { type: "string", default: "5" },
    interfaces: { type: "string", default: "8" },
    cores: { type: "string", default: "8" },
  },
});
const K = Number(values.agents);
const SECONDS = Number(values.seconds);
const WARMUP_S = Number(values.warmup);
const IFACES = Number(values.interfaces);
const CORES = Number(values.cores);
/** The generator's step: every STEP_MS, 1/(1000/STEP_MS) of the agents deliver. */
const STEP_MS = 10;
const SLOTS = 1000 / STEP_MS;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]! : NaN);

/** A session stream that takes everything: the hub's StartStream/StopStream land here. */
function standInCall(onWrite: (m: CoordinatorMessage) => void): ServerDuplexStream<AgentMessage, CoordinatorMessage> {
  return {
    writable: true,
    write: (m: CoordinatorMessage) => (onWrite(m), true),
    once: () => undefined,
    removeListener: () => undefined,
    emit: () => true,
    end: () => undefined,
  } as unknown as ServerDuplexStream<AgentMessage, CoordinatorMessage>;
}

/** One agent's sample batch as wire bytes (wallMs is stamped after decoding). */
function batchBytes(streamId: string, agent: number): Uint8Array {
  const sample = create(NodeSampleSchema, {
    intervalMs: 1000,
    interfaces: Array.from({ length: IFACES }, (_, k) => ({
      name: k === 0 ? "eth0" : `veth${agent % 1000}x${k}`,
      rxBps: 1e6 * k,
      txBps: 2e6 * k,
      rxPps: 100 * k,
      txPps: 200 * k,
      rxBytesTotal: 1e12,
      txBytesTotal: 2e12,
    })),
    cpu: { totalPercent: 12, userPercent: 8, systemPercent: 3, softirqPercent: 1, perCorePercent: Array.from({ length: CORES }, (_, c) => c) },
    memory: { totalBytes: 64e9, availableBytes: 32e9, usedBytes: 32e9 },
  });
  return toBinary(AgentMessageSchema, create(AgentMessageSchema, { msg: { case: "sampleBatch", value: { streamId, samples: [sample] } } }));
}

interface Probe {
  lags: number[];
  samples: number;
  ticks: number;
  events: number;
  /** Per tick: the hub's own work (ready() → send()), and turning the tick into encoded events, ms. */
  hubMs: number[];
  encodeMs: number[];
}

async function main(): Promise<void> {
  const registry = new Registry();
  const hub = new WatchHub(registry, pino({ level: "silent" }));
  const streamOf = new Map<string, string>();
  const links: AgentLink[] = [];
  for (let i = 0; i < K; i++) {
    const node = `node-${i}`;
    const info = create(AgentInfoSchema, { node, mode: NetworkMode.HOST, addresses: [`10.0.${i >> 8}.${i & 255}`], hostname: node, agentVersion: "0.1.0" });
    const link = new AgentLink(
      `${node}/host`,
      `inst-${i}`,
      info,
      "ipv4:127.0.0.1:1",
      standInCall((m) => {
        if (m.msg.case === "startStream") streamOf.set(`${node}/host`, m.msg.value.streamId);
      }),
    );
    registry.add(link);
    links.push(link);
  }
  let bytes = links.map((l, i) => batchBytes(streamOf.get(l.id) ?? "none", i));
  let measuring = false;
  let delivered = 0;
  // The agents: slot s delivers at s × STEP_MS within each second; a late timer catches up (as agents' batches would queue).
  const start = performance.now();
  let steps = 0;
  const generator = setInterval(() => {
    const due = Math.floor((performance.now() - start) / STEP_MS);
    for (; steps < due; steps++) {
      const now = Date.now();
      for (let i = steps % SLOTS; i < K; i += SLOTS) {
        const m = fromBinary(AgentMessageSchema, bytes[i]!);
        if (m.msg.case === "sampleBatch") m.msg.value.samples[0]!.wallMs = now;
        links[i]!.onMessage(m);
        delivered++;
      }
    }
  }, STEP_MS);

  const window = async (what: string) => {
    await sleep(WARMUP_S * 1000);
    measuring = true;
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    const d0 = delivered;
    await sleep(SECONDS * 1000);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const elu = performance.eventLoopUtilization(elu0);
    measuring = false;
    const heap = process.memoryUsage();
    const out = {
      what,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
      elu: elu.utilization * 100,
      batchesPerS: ((delivered - d0) / wallMs) * 1000,
      heapMB: heap.heapUsed / 1e6,
      rssMB: heap.rss / 1e6,
    };
    console.log(
      `${what}: CPU ${out.cpuPercent.toFixed(1)} % of a core, event loop ${out.elu.toFixed(1)} % busy, ${out.batchesPerS.toFixed(0)} batches/s, heap ${out.heapMB.toFixed(0)} MB, RSS ${out.rssMB.toFixed(0)} MB`,
    );
    return out;
  };

  console.log(`bench:watch-hub — ${K} agents, 1 batch/s each (1 sample, ${IFACES} interfaces, ${CORES} cores), ${SECONDS} s window after ${WARMUP_S} s warm-up`);
  const base = await window("generator and decoding alone (no watcher)");

  const probe = (): Probe => ({ lags: [], samples: 0, ticks: 0, events: 0, hubMs: [], encodeMs: [] });
  const sink = (p: Probe) => {
    let asked = 0;
    return {
      ready: () => ((asked = performance.now()), true),
      send: (batches: LiveBatch[]) => {
        const now = Date.now();
        const t0 = performance.now();
        // Built and encoded (watch-wire.ts) as for the gRPC call; the serializer sends those bytes.
        const events = watchEvents(batches, true, 0).length;
        if (!measuring) return;
        p.events += events;
        p.hubMs.push(t0 - asked);
        p.encodeMs.push(performance.now() - t0);
        p.ticks++;
        for (const b of batches) for (const s of b.samples) p.lags.push(now - s.wallMs);
        p.samples += batches.length;
      },
    };
  };
  const all = probe();
  const one = probe();
  const wAll = hub.watch({ intervalMs: 1000 }, sink(all));
  const wOne = hub.watch({ node: "node-42", intervalMs: 1000 }, sink(one));
  bytes = links.map((l, i) => batchBytes(streamOf.get(l.id) ?? "none", i));
  const withWatchers = await window("with the two watchers");
  clearInterval(generator);
  wAll.stop();
  wOne.stop();

  const stats = hub.stats();
  console.log(`hub: ${stats.batches} batches, ${stats.samples} samples taken; streams asked: ${streamOf.size} for ${K} agents`);
  console.log(`hub's share: ${(withWatchers.cpuPercent - base.cpuPercent).toFixed(1)} % of a core (ingestion, ticks, encoding the events)`);
  for (const [name, p, agents] of [
    ["all nodes", all, K],
    ["one node (node-42)", one, 1],
  ] as const) {
    console.log(
      `watcher ${name}: lag (sample → transport) p50 ${quantile(p.lags, 0.5)} ms, p99 ${quantile(p.lags, 0.99)} ms, max ${p.lags.reduce((m, x) => Math.max(m, x), -Infinity)} ms; ` +
        `${(p.samples / SECONDS / agents).toFixed(2)} samples per agent per s, ${(p.ticks / SECONDS).toFixed(2)} ticks/s, ${(p.events / Math.max(1, p.ticks)).toFixed(1)} events per tick; ` +
        `per tick: hub ${quantile(p.hubMs, 0.5).toFixed(1)} ms (max ${Math.max(...p.hubMs).toFixed(1)}), events built and encoded ${quantile(p.encodeMs, 0.5).toFixed(1)} ms (max ${Math.max(...p.encodeMs).toFixed(1)})`,
    );
  }
}

await main();
