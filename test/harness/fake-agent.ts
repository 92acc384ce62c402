/**
 * Synthetic agents and watchers over real gRPC, for load and abuse: an agent
 * that registers like a real one and answers every live stream with sample
 * batches as large and as often as asked (the coordinator's fan-out under a
 * heavy load), optionally one that stops reading its session; and a Watch
 * client that stops reading. The coordinator they talk to is real.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { ClientDuplexStream, ClientReadableStream } from "@grpc/grpc-js";
import { AgentMessageSchema, AgentService, type AgentMessage, type CoordinatorMessage } from "../../gen/netmatrix/v1/agent_pb.js";
import { ControlService, type WatchEvent } from "../../gen/netmatrix/v1/control_pb.js";
import { NetworkMode, NodeSampleSchema, type NodeSample } from "../../gen/netmatrix/v1/types_pb.js";
import { createClient, type Client } from "../../common/src/grpc-adapter.js";
import { bearerInterceptor } from "../../common/src/token.js";

export interface FakeAgentOptions {
  /** HOST:PORT of the coordinator's gRPC port. */
  coordinator: string;
  token: string;
  node: string;
  /** Interfaces per sample and samples per batch (the batch's size). */
  interfaces?: number;
  samples?: number;
  /** A batch per live stream every this many ms (default 50). */
  periodMs?: number;
  /** Stop reading the session once registered (the coordinator's commands then pile up on its side). */
  stopReading?: boolean;
}

export interface FakeAgent {
  /** The id the coordinator gave it. */
  agentId: string;
  /** Live streams the coordinator asked for and has not stopped. */
  streams: Set<string>;
  /** Batches sent. */
  sent: number;
  /** Resolves with how the session ended (a gRPC status, as a message). */
  ended: Promise<string>;
  close(): void;
}

/** One synthetic sample: `interfaces` interfaces with made-up rates. */
export function syntheticSample(interfaces: number, wallMs: number): NodeSample {
  return create(NodeSampleSchema, {
    wallMs,
    intervalMs: 10,
    interfaces: Array.from({ length: interfaces }, (_, k) => ({ name: `veth${k}`, rxBps: 1e6 * k, txBps: 2e6 * k, rxPps: k, txPps: k })),
    cpu: { totalPercent: 5 },
  });
}

/** Register a synthetic agent; resolves once the coordinator has answered. */
export async function startFakeAgent(o: FakeAgentOptions): Promise<FakeAgent> {
  const client = createClient(AgentService, o.coordinator, { interceptors: [bearerInterceptor(o.token)] });
  const call: ClientDuplexStream<AgentMessage, CoordinatorMessage> = client.session();
  const send = (msg: MessageInitShape<typeof AgentMessageSchema>["msg"]): void => void (call.writable && call.write(create(AgentMessageSchema, { msg })));
  const streams = new Set<string>();
  const samples = Array.from({ length: o.samples ?? 10 }, (_, i) => syntheticSample(o.interfaces ?? 100, i));
  let ticker: NodeJS.Timeout | undefined;
  const heartbeat = setInterval(() => send({ case: "heartbeat", value: { uptimeMs: 1 } }), 1000);
  const ended = new Promise<string>((resolve) => {
    call.on("status", (s: { code: number; details: string }) => resolve(`${s.code} ${s.details}`));
    call.on("error", () => undefined);
  });
  const agent: FakeAgent = {
    agentId: "",
    streams,
    sent: 0,
    ended,
    close: () => {
      clearInterval(heartbeat);
      clearInterval(ticker);
      call.cancel();
      client.close();
    },
  };
  void ended.then(() => (clearInterval(heartbeat), clearInterval(ticker)));
  const registered = new Promise<void>((resolve, reject) => {
    call.on("data", (m: CoordinatorMessage) => {
      const c = m.msg;
      if (c.case === "registered") {
        agent.agentId = c.value.agentId;
        if (o.stopReading) call.pause();
        resolve();
      } else if (c.case === "startStream") streams.add(c.value.streamId);
      else if (c.case === "stopStream") streams.delete(c.value.streamId);
    });
    void ended.then((s) => reject(new Error(`fake agent ${o.node}: session ended before registering: ${s}`)));
  });
  send({
    case: "register",
    value: {
      instanceId: `fake-${o.node}`,
      info: { node: o.node, mode: NetworkMode.HOST, addresses: ["127.0.0.1"], hostname: o.node, agentVersion: "0.1.0", portMin: 20000, portMax: 20999 },
    },
  });
  await registered;
  ticker = setInterval(() => {
    for (const streamId of streams) {
      send({ case: "sampleBatch", value: { streamId, samples } });
      agent.sent++;
    }
  }, o.periodMs ?? 50);
  return agent;
}

export interface StuckWatcher {
  /** Events received before it stopped reading. */
  received: WatchEvent[];
  /** Start reading again; resolves with how the call ended (its error message) once it ends, or "" when it is still open after `waitMs`. */
  resume(waitMs: number): Promise<{ code: number | undefined; details: string }>;
  close(): void;
}

/** A Watch client that reads `readFirst` events and then never reads again. */
export function stuckWatcher(coordinator: string, token: string, opts: { intervalMs?: number; readFirst?: number } = {}): StuckWatcher {
  const control: Client<typeof ControlService> = createClient(ControlService, coordinator, { interceptors: [bearerInterceptor(token)] });
  const call: ClientReadableStream<WatchEvent> = control.watch({ intervalMs: opts.intervalMs ?? 100 });
  const received: WatchEvent[] = [];
  let reading = true;
  let ended: { code: number | undefined; details: string } | undefined;
  call.on("error", (e: { code?: number; details?: string; message: string }) => (ended = { code: e.code, details: e.details ?? e.message }));
  call.on("end", () => (ended ??= { code: 0, details: "ended" }));
  call.on("data", (e: WatchEvent) => {
    if (reading) received.push(e);
    if (reading && received.length >= (opts.readFirst ?? 1)) {
      reading = false;
      call.pause();
    }
  });
  return {
    received,
    async resume(waitMs) {
      call.resume();
      const t0 = performance.now();
      while (!ended && performance.now() - t0 < waitMs) await new Promise((r) => setTimeout(r, 100));
      return ended ?? { code: undefined, details: "" };
    },
    close: () => {
      call.cancel();
      control.close();
    },
  };
}
