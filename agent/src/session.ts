/**
 * The agent's one connection: dial out to the coordinator, register, send
 * heartbeats, execute commands, and reconnect with capped exponential backoff
 * with full jitter when the session ends (./backoff.ts), honouring the
 * coordinator's "come back in N ms" when it admits registrations at a bounded
 * rate. Everything the agent runs is stopped when its session ends: a
 * command's result has nowhere to go.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { type AgentMessage, AgentMessageSchema, AgentService, type CoordinatorMessage } from "../../gen/netmatrix/v1/agent_pb.js";
import type { AgentInfo } from "../../gen/netmatrix/v1/types_pb.js";
import { createClient } from "../../common/src/grpc-adapter.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { Outbox } from "../../common/src/outbox.js";
import { registrationError, registrationProblems } from "../../common/src/registration.js";
import { retryAfterMs } from "../../common/src/retry-after.js";
import { fromServiceError } from "../../common/src/rpc-status.js";
import { bearerInterceptor, coordinatorTokenHint, isTokenRefusal, TOKEN_REFUSALS } from "../../common/src/token.js";
import { channelSecurity, type ClientTls } from "../../common/src/tls.js";
import { protocols } from "../../common/src/model.js";
import { tools as toolTable, type ToolName } from "../../tools/src/index.js";
import { AGENT_LIMITS } from "../../tools/src/limits.js";
import { RECONNECT_BACKOFF, reconnectDelay, retryAfterDelay, seededRandom } from "./backoff.js";
import { runClient } from "./client-runner.js";
import { samplesMessage } from "./sample-wire.js";
import { failureFor } from "./convert.js";
import type { SamplingManager } from "./sampling.js";
import type { ServerManager } from "./servers.js";
import type { FoundTool } from "./tools.js";
import type { NodeLoadReading } from "./samplers/load.js";

/** Bounds on what waits for a coordinator that stopped reading: this many replies, or this long without it taking anything. */
export const SESSION_LIMITS = { maxQueued: 1000, stallMs: 30_000 } as const;

export interface SessionOptions {
  coordinator: string;
  token: string;
  /** Verify the coordinator over TLS before sending the token; undefined: plaintext. */
  tls?: ClientTls;
  instanceId: string;
  /** Built anew at each registration (interfaces may change). */
  info: () => Promise<AgentInfo>;
  tools: Map<ToolName, FoundTool>;
  servers: ServerManager;
  sampling: SamplingManager;
  /** The node's load since the previous call, sent with each heartbeat (undefined: none this time). */
  load?: () => NodeLoadReading | undefined;
  log: Logger;
  /**
   * First reconnect step and cap (default RECONNECT_BACKOFF: each wait is drawn from [0, step]), and
   * the delay after a refused registration (default 60 s), milliseconds.
   */
  backoffMs?: { initial: number; max: number; refused?: number };
  /** Draws in [0, 1) for the jitter of reconnect waits; default seeded by `instanceId`. */
  random?: () => number;
  /**
   * How long the coordinator may refuse this agent's credentials (UNAUTHENTICATED: a wrong token, a
   * missing client certificate) before it gives up, milliseconds; default AUTH_GIVE_UP_MS. Retrying
   * cannot fix credentials; exiting lets a DaemonSet restart the agent (with a fixed Secret) visibly.
   */
  authGiveUpMs?: number;
  /** Where the token came from (a file, `$NETMATRIX_TOKEN`), named when the coordinator refuses it. */
  tokenSource?: string;
}

/** Default for SessionOptions.authGiveUpMs: 5 minutes. */
export const AUTH_GIVE_UP_MS = 5 * 60_000;

/** The first wait after the coordinator refused the agent's credentials; doubled after each refusal up to the refused-registration delay. */
const AUTH_RETRY_FIRST_MS = 1000;

/** Why an agent stopped retrying: the coordinator refused its credentials `refusals` times over `overMs`. */
export function authGiveUpError(refusal: NetmatrixError, refusals: number, overMs: number, opts: Pick<SessionOptions, "coordinator" | "tokenSource">): NetmatrixError {
  const over = `${refusals} time${refusals === 1 ? "" : "s"} over ${Math.round(overMs / 1000)} s`;
  if (isTokenRefusal(refusal)) {
    const source = opts.tokenSource ?? "the token given";
    const what = refusal.message === TOKEN_REFUSALS.missing ? "received no token from this agent" : `refused this agent's token`;
    return new NetmatrixError("unauthenticated", `the coordinator at ${opts.coordinator} ${what} ${over}: the token in ${source} does not match the coordinator's; giving up`, {
      cause: refusal,
      hint: `${coordinatorTokenHint(source)}; then start the agent again (a DaemonSet restarts it by itself)`,
    });
  }
  return new NetmatrixError("unauthenticated", `the coordinator at ${opts.coordinator} refused this agent ${over}: ${refusal.message}; giving up`, {
    cause: refusal,
    hint: `${refusal.hint ? `${refusal.hint}; then` : "fix that, then"} start the agent again (a DaemonSet restarts it by itself)`,
  });
}

/**
 * Keep a session with the coordinator until `signal` aborts. Rejects (an
 * `unauthenticated` NetmatrixError) when the coordinator has refused this
 * agent's credentials for `authGiveUpMs`; an unreachable coordinator is
 * retried for ever. Every wait before dialling again is jittered (see
 * ./backoff.ts), and a coordinator that says when to come back (it admits
 * only so many registrations a second) is believed.
 */
export async function runSessions(opts: SessionOptions, signal: AbortSignal): Promise<void> {
  const backoff = { initialMs: opts.backoffMs?.initial ?? RECONNECT_BACKOFF.initialMs, maxMs: opts.backoffMs?.max ?? RECONNECT_BACKOFF.maxMs };
  const refusedMs = opts.backoffMs?.refused ?? 60_000;
  const giveUpMs = opts.authGiveUpMs ?? AUTH_GIVE_UP_MS;
  const random = opts.random ?? seededRandom(opts.instanceId);
  // Dials since the last registration: the exponent of the next wait.
  let attempt = 0;
  // Credentials refused in a row (no registration in between), and since when.
  let authRefusals = 0;
  let firstAuthRefusal = 0;
  while (!signal.aborted) {
    const end = await oneSession(opts, signal);
    if (signal.aborted) break;
    // A registration the coordinator refused (bad name, wrong token, address not its own) cannot succeed by retrying: back off.
    const refusal = end.refused;
    if (end.registered) {
      authRefusals = 0;
      attempt = 0;
    }
    let wait: number;
    if (refusal?.code === "unauthenticated") {
      const now = performance.now();
      if (authRefusals++ === 0) firstAuthRefusal = now;
      const elapsed = now - firstAuthRefusal;
      if (elapsed >= giveUpMs) {
        const e = authGiveUpError(refusal, authRefusals, elapsed, opts);
        opts.log.fatal({ refusals: authRefusals, overMs: Math.round(elapsed), hint: e.hint }, e.message);
        throw e;
      }
      // Exponential, capped, and never past the give-up time: the last attempt comes right at it.
      wait = Math.min(refusedMs, AUTH_RETRY_FIRST_MS * 2 ** (authRefusals - 1), giveUpMs - elapsed);
      opts.log.error(
        { retryInMs: Math.round(wait), refusals: authRefusals, giveUpInMs: Math.round(giveUpMs - elapsed) },
        `credentials refused (${authRefusals} time${authRefusals === 1 ? "" : "s"}): retrying in ${(wait / 1000).toFixed(1)} s; giving up ${Math.round((giveUpMs - elapsed) / 1000)} s from now unless the coordinator accepts them`,
      );
    } else if (refusal) {
      wait = refusedMs;
      opts.log.error({ retryInMs: wait }, `registration refused: retrying in ${Math.round(wait / 1000)} s; fix what the error above says`);
    } else if (end.retryAfterMs !== undefined) {
      // The coordinator is admitting registrations at its rate and gave this agent its turn.
      wait = retryAfterDelay(end.retryAfterMs, random());
      attempt++;
      opts.log.info({ retryInMs: Math.round(wait) }, `the coordinator asked this agent to come back later: retrying in ${(wait / 1000).toFixed(1)} s`);
    } else {
      wait = reconnectDelay(attempt++, backoff, random());
      opts.log.info({ retryInMs: Math.round(wait) }, "session ended; reconnecting");
    }
    await new Promise<void>((r) => {
      const t = setTimeout(r, wait);
      signal.addEventListener("abort", () => (clearTimeout(t), r()), { once: true });
    });
  }
}

/** How a session ended. */
interface SessionEnd {
  /** It got as far as registering. */
  registered: boolean;
  /** The coordinator refused this agent's credentials or registration (retrying as usual cannot fix it). */
  refused?: NetmatrixError;
  /** The coordinator refused the session for now and said when to come back, ms. */
  retryAfterMs?: number;
}

/** One session; resolves when it ends, with how it ended. */
async function oneSession(opts: SessionOptions, signal: AbortSignal): Promise<SessionEnd> {
  const { log } = opts;
  let refused: NetmatrixError | undefined;
  let retryAfter: number | undefined;
  const onRefused = (e: NetmatrixError): void => void (refused = e);
  // TLS files are read again per session, so a renewed certificate is used at the next reconnect.
  const security = channelSecurity(opts.tls);
  const client = createClient(AgentService, opts.coordinator, {
    credentials: security.credentials,
    channelOptions: {
      ...security.channelOptions,
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
      "grpc.keepalive_permit_without_calls": 1,
    },
    interceptors: [bearerInterceptor(opts.token)],
  });
  const call = client.session();
  /** What each running command (a client run, a server starting) can be cancelled by, by command id: one case's cancel never touches another's. */
  const running = new Map<string, AbortController>();
  const track = (commandId: string): AbortController => {
    const ac = new AbortController();
    running.set(commandId, ac);
    return ac;
  };
  const cancelEverything = (): void => {
    for (const ac of running.values()) ac.abort();
    running.clear();
  };
  let registered = false;
  let heartbeat: NodeJS.Timeout | undefined;
  let clients = 0;
  const started = performance.now();

  // What waits for a coordinator that stopped reading is bounded: live sample batches keep only the
  // newest per stream; replies wait, up to SESSION_LIMITS, and then the session is cut and redialled.
  const outbox = new Outbox<AgentMessage>(call, {
    ...SESSION_LIMITS,
    onCutOff: (reason) => {
      log.warn({ reason, droppedBatches: outbox.dropped }, "the coordinator stopped reading this agent's session; reconnecting");
      call.cancel();
    },
  });
  const send = (msg: MessageInitShape<typeof AgentMessageSchema>["msg"]): void => {
    if (!call.writable) return;
    const m = create(AgentMessageSchema, { msg });
    if (m.msg.case === "sampleBatch") outbox.sendLatest(m.msg.value.streamId, m);
    else outbox.send(m);
  };
  /** A message encoded by ./sample-wire.ts; with `latest` (a stream id), only the newest of that stream waits while the coordinator pushes back. */
  const sendEncoded = (m: AgentMessage, latest?: string): void => {
    if (!call.writable) return;
    if (latest !== undefined) outbox.sendLatest(latest, m);
    else outbox.send(m);
  };

  const handle = async (m: CoordinatorMessage): Promise<void> => {
    const c = m.msg;
    switch (c.case) {
      case "registered": {
        registered = true;
        log.info({ agentId: c.value.agentId, coordinator: opts.coordinator }, "registered");
        const beat = (): void => {
          const load = opts.load?.();
          send({
            case: "heartbeat",
            value: { uptimeMs: performance.now() - started, runningServers: opts.servers.count, runningClients: clients, ...(load ? { load } : {}) },
          });
        };
        // One now, so the coordinator knows the node's load (busy before a run?) from the start.
        beat();
        heartbeat = setInterval(beat, Math.max(200, c.value.heartbeatIntervalMs || 5000));
        return;
      }
      case "startServer": {
        const { commandId, tool, protocol, deadlineMs, spec } = c.value;
        const cancel = track(commandId);
        try {
          const name = toolTable.toName(tool);
          if (!name) throw Object.assign(new Error("unknown tool"), { code: "invalid-argument" });
          const ports = await opts.servers.start(commandId, name, protocols.toName(protocol) ?? "tcp", deadlineMs, spec);
          // Cancelled while it started: stop it now rather than leave it to its deadline.
          if (cancel.signal.aborted) {
            await opts.servers.cancel(commandId);
            throw new NetmatrixError("cancelled", "the server was cancelled while it started");
          }
          send({ case: "serverReady", value: { commandId, port: ports.port, dataPort: ports.dataPort } });
        } catch (err) {
          const cancelled = cancel.signal.aborted;
          if (cancelled) log.info({ commandId }, "server cancelled while starting");
          else log.warn({ err, commandId }, "server did not start");
          const why = cancelled ? new NetmatrixError("cancelled", "the server was cancelled while it started") : err;
          send({ case: "commandFailed", value: { commandId, failure: failureFor(why) } });
        } finally {
          running.delete(commandId);
        }
        return;
      }
      case "runClient": {
        const { commandId, spec, target, port, dataPort, deadlineMs } = c.value;
        const name = spec ? toolTable.toName(spec.tool) : undefined;
        // Where this agent is asked to send traffic: the audit trail of every client run.
        log.debug({ commandId, tool: name, target, port, dataPort }, "client run");
        if (clients >= AGENT_LIMITS.clients) {
          const e = new NetmatrixError("resource-exhausted", `this agent already runs ${clients} tool clients, the most it runs at once (${AGENT_LIMITS.clients})`);
          send({ case: "commandFailed", value: { commandId, failure: failureFor(e) } });
          return;
        }
        const cancel = track(commandId);
        clients++;
        try {
          const run = await runClient(name, name ? opts.tools.get(name) : undefined, {
            spec: spec!,
            target,
            port,
            dataPort,
            deadlineMs,
            signal: cancel.signal,
          });
          send({ case: "clientResult", value: { commandId, run } });
        } finally {
          clients--;
          running.delete(commandId);
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
          sendEncoded(samplesMessage("samplingStopped", commandId, opts.sampling.stop(startCommandId), process.pid));
        } catch (err) {
          send({ case: "commandFailed", value: { commandId, failure: failureFor(err) } });
        }
        return;
      }
      case "startStream": {
        const { streamId, intervalMs, filter } = c.value;
        try {
          opts.sampling.startStream(streamId, intervalMs, filter, (samples) => sendEncoded(samplesMessage("sampleBatch", streamId, samples, process.pid), streamId));
        } catch (err) {
          log.warn({ err, streamId }, "stream refused");
        }
        return;
      }
      case "stopStream":
        opts.sampling.stopStream(c.value.streamId);
        return;
      case "cancel": {
        // One command of one case: its client run, or its server (starting or running).
        const { commandId, reason } = c.value;
        log.info({ commandId, reason }, "cancelling a command on request");
        running.get(commandId)?.abort();
        await opts.servers.cancel(commandId);
        return;
      }
      case "cancelAll":
        // What runs now stops; commands that come after run as usual.
        log.warn({ reason: c.value.reason }, "cancelling everything on request");
        cancelEverything();
        opts.sampling.stopAll();
        await opts.servers.stopAll();
        return;
      default:
        return;
    }
  };

  const onAbort = (): void => call.cancel();
  signal.addEventListener("abort", onAbort, { once: true });

  return new Promise<SessionEnd>((resolve) => {
    call.on("data", (m: CoordinatorMessage) => {
      handle(m).catch((err: unknown) => log.error({ err }, "command handling failed"));
    });
    call.on("error", (err) => {
      const e = fromServiceError(err, opts.coordinator);
      if (e.code === "cancelled" && signal.aborted) return;
      if (e.code === "unauthenticated") {
        onRefused(e);
        const which = isTokenRefusal(e) && opts.tokenSource ? ` (the token in ${opts.tokenSource})` : "";
        log.error({ hint: e.hint }, `coordinator refused this agent: ${e.message}${which}`);
      } else if (!registered && (e.code === "invalid-argument" || e.code === "permission-denied")) {
        onRefused(e);
        log.error({ code: e.code, hint: e.hint }, `coordinator refused this agent's registration: ${e.message}`);
      } else if (!registered && e.code === "already-exists") {
        // The name's holder may be this agent's own old session, not yet gone: retried with the usual backoff.
        log.error({ hint: e.hint }, `coordinator refused this agent's name: ${e.message}`);
      } else if (!registered && (retryAfter = retryAfterMs(err)) !== undefined) {
        // Not a fault of this agent: the coordinator admits only so many registrations a second (a whole cluster reconnecting).
        log.info({ code: e.code, retryAfterMs: retryAfter }, `coordinator asked this agent to wait: ${e.message}`);
      } else log.warn({ reason: e.message }, "session error");
    });
    // grpc-js emits "status" exactly once when the call ends, however it ends.
    call.on("status", () => {
      outbox.close();
      if (heartbeat) clearInterval(heartbeat);
      signal.removeEventListener("abort", onAbort);
      cancelEverything();
      opts.sampling.stopAll();
      void opts.servers.stopAll().finally(() => {
        client.close();
        resolve({ registered, ...(refused ? { refused } : {}), ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}) });
      });
    });
    opts
      .info()
      .then((info) => {
        // Checked here with the coordinator's own rules, so a registration that cannot succeed is never sent.
        const problems = registrationProblems(info, opts.instanceId);
        if (problems.length) throw registrationError(problems);
        send({ case: "register", value: { info, instanceId: opts.instanceId } });
      })
      .catch((err: unknown) => {
        const e = NetmatrixError.from(err);
        if (e.code === "invalid-argument") {
          onRefused(e);
          log.error({ hint: e.hint }, `this agent's registration cannot succeed: ${e.message}`);
        } else log.error({ err }, "could not build registration");
        call.cancel();
      });
  });
}
