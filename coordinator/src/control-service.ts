/**
 * The CLI's service: list agents, run a case and stream its repetitions.
 * Calls arrive authenticated (the auth interceptor); a thrown NetmatrixError
 * becomes a gRPC status, with its hint, at the edge (the adapter).
 */
import { clone, create } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import {
  CaseResultSchema,
  RunCaseEventSchema,
  type ControlService,
  type RunCaseEvent,
  type AgentSamples,
  AgentSamplesSchema,
  type WatchEvent,
  WatchEventSchema,
} from "../../gen/netmatrix/v1/control_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { withWire, type ServiceImpl } from "../../common/src/grpc-adapter.js";
import { Outbox } from "../../common/src/outbox.js";
import { toServiceError } from "../../common/src/rpc-status.js";
import { LIMITS, specProblems, stepDeadlines } from "../../tools/src/limits.js";
import { formatDurationS } from "../../common/src/units.js";
import { CASE_OVERHEAD_MS, checkDuration, DEFAULT_MATRIX_CAPS, effectiveCaps, type MatrixCaps } from "./matrix/index.js";
import { newCase, runRepetition } from "./case-runner.js";
import type { AgentLocks } from "./locks.js";
import { listAgents } from "./list-agents.js";
import type { Registry } from "./registry.js";
import { watchProblem, type LiveBatch, type WatchHub } from "./watch-hub.js";
import { encodeWatchEvent } from "./watch-wire.js";

/** A Watch client that takes nothing for this long is cut off (RESOURCE_EXHAUSTED). */
export const WATCH_STALL_MS = 30_000;

/** A batched Watch event is closed at about this many bytes (the client's default message limit is 4 MiB). */
export const WATCH_EVENT_BYTES = 1024 * 1024;

/** About how many bytes `b`'s samples take on the wire (a bound to split ticks by, not an exact size). */
function wireBytes(b: LiveBatch): number {
  let n = 32 + b.agentId.length + b.node.length;
  for (const s of b.samples) {
    n += 64 + 9 * (s.cpu?.perCorePercent.length ?? 0);
    for (const i of s.interfaces) n += 96 + i.name.length;
    for (const p of s.processes) n += 48 + p.name.length + p.role.length;
  }
  return n;
}

/**
 * One tick as Watch events, each carrying its wire bytes (the fast encoder's):
 * batched, the agents in as few events as fit WATCH_EVENT_BYTES each; else
 * one event per agent (what older clients read).
 */
export function watchEvents(batches: readonly LiveBatch[], batched: boolean, skippedTicks: number): WatchEvent[] {
  const sentAtMs = Date.now();
  const event = (init: Parameters<typeof create<typeof WatchEventSchema>>[1]): WatchEvent => {
    const e = create(WatchEventSchema, init);
    return withWire(e, encodeWatchEvent(e));
  };
  if (!batched) return batches.map((b) => event({ agentId: b.agentId, node: b.node, mode: b.mode, samples: b.samples, sentAtMs, skippedTicks }));
  const events: WatchEvent[] = [];
  let agents: AgentSamples[] = [];
  let bytes = 0;
  for (const b of batches) {
    const size = wireBytes(b);
    if (agents.length && bytes + size > WATCH_EVENT_BYTES) {
      events.push(event({ agents, sentAtMs, skippedTicks }));
      agents = [];
      bytes = 0;
    }
    agents.push(create(AgentSamplesSchema, { agentId: b.agentId, node: b.node, mode: b.mode, samples: b.samples }));
    bytes += size;
  }
  if (agents.length) events.push(event({ agents, sentAtMs, skippedTicks }));
  return events;
}

export interface ControlDeps {
  registry: Registry;
  locks: AgentLocks;
  /** The run-duration cap applies to a single case's repetitions too; default DEFAULT_MATRIX_CAPS. */
  caps?: MatrixCaps;
  hub: WatchHub;
  log: Logger;
}

export function controlServiceHandlers(deps: ControlDeps): Pick<ServiceImpl<typeof ControlService>, "listAgents" | "watch" | "runCase"> {
  const { registry, locks, log } = deps;
  return {
    listAgents(call) {
      return listAgents(registry, locks, call.request);
    },

    watch(call): void {
      const { node, filter, intervalMs, batched } = call.request;
      const problem = watchProblem({ node, intervalMs, include: filter?.include ?? [], exclude: filter?.exclude ?? [] });
      if (problem) throw new NetmatrixError("invalid-argument", `watch refused: ${problem}`, { hint: "see `netmatrix watch --help`" });
      // A tick is written whole (its events wait in the outbox while the call pushes back, so at most one
      // tick's worth); while any of it waits, further ticks are skipped, not queued. A client that takes
      // nothing for WATCH_STALL_MS is cut off.
      const outbox = new Outbox<WatchEvent>(call, {
        maxQueued: Number.POSITIVE_INFINITY,
        stallMs: WATCH_STALL_MS,
        onCutOff: (reason) => {
          log.warn({ peer: call.getPeer(), reason, skippedTicks: watcher.stats().skipped }, "watch client cut off: it stopped reading");
          end();
          call.emit(
            "error",
            toServiceError(
              new NetmatrixError("resource-exhausted", `watch ended by the coordinator: ${reason}`, {
                hint: "read the stream as it comes, or watch fewer nodes or a longer --interval",
              }),
            ),
          );
        },
      });
      const watcher = deps.hub.watch(
        { node, ...(filter ? { filter } : {}), intervalMs: intervalMs || 1000 },
        {
          ready: () => !call.cancelled && !outbox.isCutOff && !outbox.isBlocked && outbox.backlog === 0,
          send: (batches) => {
            for (const e of watchEvents(batches, batched, watcher.stats().skipped)) outbox.send(e);
          },
        },
      );
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        watcher.stop();
        outbox.close();
      };
      call.on("cancelled", end);
      call.on("close", end);
      call.on("error", end);
      // Cancelled before this handler ran: "cancelled" has been emitted already, and would never end the watch.
      if (call.cancelled) end();
    },

    async runCase(call): Promise<void> {
      // The CLI cancelled, or its connection went (Ctrl-C, SIGTERM, SIGKILL): the case's tools stop and its agents are freed.
      const cancelled = new AbortController();
      call.on("cancelled", () => cancelled.abort());
      if (call.cancelled) cancelled.abort();
      const emit = (event: RunCaseEvent["event"]): void => {
        if (!call.cancelled) call.write(create(RunCaseEventSchema, { event }));
      };
      let release: (() => void) | undefined;
      try {
        const { request } = call;
        if (!request.spec) throw new NetmatrixError("invalid-argument", "no test spec given");
        const problems = specProblems(request.spec);
        if (problems.length) {
          throw new NetmatrixError("invalid-argument", `spec refused: ${problems.join("; ")}`, { hint: "see `netmatrix run --help` for the allowed ranges" });
        }
        const reps = request.repetitions || 1;
        if (reps > LIMITS.repetitions.max) throw new NetmatrixError("invalid-argument", `repetitions ${reps} is above ${LIMITS.repetitions.max}`);
        // Every repetition within the run-duration cap, counted before any traffic.
        const eachMs = stepDeadlines(request.spec).runMs + CASE_OVERHEAD_MS;
        checkDuration(
          reps * eachMs,
          `about ${formatDurationS((reps * eachMs) / 1000)} (${reps} repetitions of ${formatDurationS(eachMs / 1000)})`,
          effectiveCaps(deps.caps ?? DEFAULT_MATRIX_CAPS, { maxRunDurationS: request.maxRunDurationS }),
        );
        const client = registry.resolve(request.client);
        const server = registry.resolve(request.server);
        if (client.id === server.id) throw new NetmatrixError("invalid-argument", `client and server are the same agent (${client.id})`, { hint: "pick two different agents" });
        if (!server.info.addresses[0]) throw new NetmatrixError("failed-precondition", `agent ${server.id} registered no address`, { hint: "start it with --address IP" });
        release = await locks.acquire([client.id, server.id], cancelled.signal);
        const req = { client, server, spec: request.spec, repetitions: reps, sampleIntervalMs: request.sampleIntervalMs || 100 };
        const result = newCase(req);
        const caseLog = log.child({ caseId: result.caseId });
        caseLog.info({ client: client.id, server: server.id, target: result.target }, "case started");
        // grpc-js serializes after write(): never write a message we go on mutating.
        emit({ case: "started", value: clone(CaseResultSchema, result) });
        for (let i = 0; i < reps && !cancelled.signal.aborted; i++) {
          const rep = await runRepetition(req, i, caseLog, cancelled.signal);
          result.repetitions.push(rep);
          emit({ case: "repetition", value: rep });
        }
        if (cancelled.signal.aborted) caseLog.info({ done: result.repetitions.length, of: reps }, "case cancelled by its caller; its tools are stopped");
        else caseLog.info({ failed: result.repetitions.filter((r) => r.outcome.case === "failure").length }, "case finished");
        emit({ case: "finished", value: result });
        call.end();
      } catch (err) {
        log.warn({ reason: (err as Error).message }, "run refused");
        throw err;
      } finally {
        release?.();
      }
    },
  };
}
