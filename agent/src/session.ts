/**
 * The agent's one connection: dial out to the coordinator, register, send
 * heartbeats, execute commands, and reconnect with capped exponential backoff
 * (with jitter) when the session ends. Everything the agent runs is stopped
 * when its session ends: a command's result has nowhere to go.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { AgentMessageSchema, AgentService, type CoordinatorMessage } from "../../gen/netmatrix/v1/agent_pb.js";
import type { AgentInfo } from "../../gen/netmatrix/v1/types_pb.js";
import { createClient } from "../../common/src/grpc-adapter.js";
import { fromServiceError } from "../../common/src/rpc-status.js";
import { bearerInterceptor } from "../../common/src/token.js";
import { protocols } from "../../common/src/model.js";
import { tools as toolTable, type ToolName } from "../../tools/src/index.js";
import { runClient } from "./client-runner.js";
import { failureFor } from "./convert.js";
import type { SamplingManager } from "./sampling.js";
import type { ServerManager } from "./servers.js";
import type { FoundTool } from "./tools.js";

export interface SessionOptions {
  coordinator: string;
  token: string;
  instanceId: string;
  /** Built anew at each registration (interfaces may change). */
  info: () => Promise<AgentInfo>;
  tools: Map<ToolName, FoundTool>;
  servers: ServerManager;
  sampling: SamplingManager;
  log: Logger;
  /** First reconnect delay and cap, milliseconds. */
  backoffMs?: { initial: number; max: number };
}

/** Keep a session with the coordinator until `signal` aborts. */
export async function runSessions(opts: SessionOptions, signal: AbortSignal): Promise<void> {
  const { initial, max } = opts.backoffMs ?? { initial: 500, max: 15_000 };
  let delay = initial;
  while (!signal.aborted) {
    const registered = await oneSession(opts, signal);
    if (signal.aborted) break;
    delay = registered ? initial : Math.min(max, delay * 2);
    const wait = delay * (0.5 + Math.random() / 2);
    opts.log.info({ retryInMs: Math.round(wait) }, "session ended; reconnecting");
    await new Promise<void>((r) => {
      const t = setTimeout(r, wait);
      signal.addEventListener("abort", () => (clearTimeout(t), r()), { once: true });
    });
  }
}

/** One session; resolves when it ends, with whether it got as far as registering. */
async function oneSession(opts: SessionOptions, signal: AbortSignal): Promise<boolean> {
  const { log } = opts;
  const client = createClient(AgentService, opts.coordinator, {
    channelOptions: {
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
      "grpc.keepalive_permit_without_calls": 1,
    },
    interceptors: [bearerInterceptor(opts.token)],
  });
  const call = client.session();
  const running = new AbortController();
  let registered = false;
  let heartbeat: NodeJS.Timeout | undefined;
  let clients = 0;
  const started = performance.now();

  const send = (msg: MessageInitShape<typeof AgentMessageSchema>["msg"]): void => {
    if (!call.writable) return;
    call.write(create(AgentMessageSchema, { msg }));
  };

  const handle = async (m: CoordinatorMessage): Promise<void> => {
    const c = m.msg;
    switch (c.case) {
      case "registered": {
        registered = true;
        log.info({ agentId: c.value.agentId, coordinator: opts.coordinator }, "registered");
        heartbeat = setInterval(
          () =>
            send({
              case: "heartbeat",
              value: { uptimeMs: performance.now() - started, runningServers: opts.servers.count, runningClients: clients },
            }),
          Math.max(200, c.value.heartbeatIntervalMs || 5000),
        );
        return;
      }
      case "startServer": {
        const { commandId, tool, protocol, deadlineMs } = c.value;
        try {
          const name = toolTable.toName(tool);
          if (!name) throw Object.assign(new Error("unknown tool"), { code: "invalid-argument" });
          const ports = await opts.servers.start(commandId, name, protocols.toName(protocol) ?? "tcp", deadlineMs);
          send({ case: "serverReady", value: { commandId, port: ports.port, dataPort: ports.dataPort } });
        } catch (err) {
          log.warn({ err, commandId }, "server did not start");
          send({ case: "commandFailed", value: { commandId, failure: failureFor(err) } });
        }
        return;
      }
      case "runClient": {
        const { commandId, spec, target, port, dataPort, deadlineMs } = c.value;
        const name = spec ? toolTable.toName(spec.tool) : undefined;
        clients++;
        try {
          const run = await runClient(name, name ? opts.tools.get(name) : undefined, {
            spec: spec!,
            target,
            port,
            dataPort,
            deadlineMs,
            signal: running.signal,
          });
          send({ case: "clientResult", value: { commandId, run } });
        } finally {
          clients--;
        }
        return;
      }
      case "stopServer": {
        const { commandId, startCommandId, spec } = c.value;
        try {
          const run = await opts.servers.stop(startCommandId, spec);
          send({ case: "serverStopped", value: { commandId, run } });
        } catch (err) {
          send({ case: "commandFailed", value: { commandId, failure: failureFor(err) } });
        }
        return;
      }
      case "startSampling": {
        const { commandId, intervalMs, filter, deadlineMs } = c.value;
        try {
          opts.sampling.start(commandId, intervalMs, filter, deadlineMs);
          send({ case: "samplingStarted", value: { commandId } });
        } catch (err) {
          send({ case: "commandFailed", value: { commandId, failure: failureFor(err) } });
        }
        return;
      }
      case "stopSampling": {
        const { commandId, startCommandId } = c.value;
        try {
          send({ case: "samplingStopped", value: { commandId, samples: opts.sampling.stop(startCommandId) } });
        } catch (err) {
          send({ case: "commandFailed", value: { commandId, failure: failureFor(err) } });
        }
        return;
      }
      case "startStream": {
        const { streamId, intervalMs, filter } = c.value;
        try {
          opts.sampling.startStream(streamId, intervalMs, filter, (samples) => send({ case: "sampleBatch", value: { streamId, samples } }));
        } catch (err) {
          log.warn({ err, streamId }, "stream refused");
        }
        return;
      }
      case "stopStream":
        opts.sampling.stopStream(c.value.streamId);
        return;
      case "cancelAll":
        log.warn({ reason: c.value.reason }, "cancelling everything on request");
        running.abort();
        opts.sampling.stopAll();
        await opts.servers.stopAll();
        return;
      default:
        return;
    }
  };

  const onAbort = (): void => call.cancel();
  signal.addEventListener("abort", onAbort, { once: true });

  return new Promise<boolean>((resolve) => {
    call.on("data", (m: CoordinatorMessage) => {
      handle(m).catch((err: unknown) => log.error({ err }, "command handling failed"));
    });
    call.on("error", (err) => {
      const e = fromServiceError(err, opts.coordinator);
      if (e.code === "cancelled" && signal.aborted) return;
      if (e.code === "unauthenticated") log.error({ hint: e.hint }, `coordinator refused this agent: ${e.message}`);
      else log.warn({ reason: e.message }, "session error");
    });
    // grpc-js emits "status" exactly once when the call ends, however it ends.
    call.on("status", () => {
      if (heartbeat) clearInterval(heartbeat);
      signal.removeEventListener("abort", onAbort);
      running.abort();
      opts.sampling.stopAll();
      void opts.servers.stopAll().finally(() => {
        client.close();
        resolve(registered);
      });
    });
    opts
      .info()
      .then((info) => send({ case: "register", value: { info, instanceId: opts.instanceId } }))
      .catch((err: unknown) => {
        log.error({ err }, "could not build registration");
        call.cancel();
      });
  });
}
