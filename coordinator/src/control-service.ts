/**
 * The CLI's service: list agents, run a case and stream its repetitions.
 * Calls arrive authenticated (the auth interceptor); a thrown NetmatrixError
 * becomes a gRPC status, with its hint, at the edge (the adapter).
 */
import { clone, create } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import {
  CaseResultSchema,
  ListAgentsResponseSchema,
  RunCaseEventSchema,
  type ControlService,
  type RunCaseEvent,
  type WatchEvent,
  WatchEventSchema,
} from "../../gen/netmatrix/v1/control_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import type { ServiceImpl } from "../../common/src/grpc-adapter.js";
import { Outbox } from "../../common/src/outbox.js";
import { toServiceError } from "../../common/src/rpc-status.js";
import { LIMITS, specProblems, stepDeadlines } from "../../tools/src/limits.js";
import { formatDurationS } from "../../common/src/units.js";
import { CASE_OVERHEAD_MS, checkDuration, DEFAULT_MATRIX_CAPS, effectiveCaps, type MatrixCaps } from "./matrix/index.js";
import { newCase, runRepetition } from "./case-runner.js";
import type { AgentLocks } from "./locks.js";
import type { Registry } from "./registry.js";
import { agentStatus } from "./status.js";
import { watchProblem, type WatchHub } from "./watch-hub.js";

/** A Watch client that takes nothing for this long is cut off (RESOURCE_EXHAUSTED). */
export const WATCH_STALL_MS = 30_000;

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
    listAgents() {
      const agents = registry.list().map((l) => agentStatus(l, locks.busy(l.id)));
      return create(ListAgentsResponseSchema, { agents });
    },

    watch(call): void {
      const { node, filter, intervalMs } = call.request;
      const problem = watchProblem({ node, intervalMs, include: filter?.include ?? [], exclude: filter?.exclude ?? [] });
      if (problem) throw new NetmatrixError("invalid-argument", `watch refused: ${problem}`, { hint: "see `netmatrix watch --help`" });
      // A client that stops reading gets only the newest batch per agent, and is cut off after WATCH_STALL_MS.
      const outbox = new Outbox<WatchEvent>(call, {
        maxQueued: 0,
        stallMs: WATCH_STALL_MS,
        onCutOff: (reason) => {
          log.warn({ peer: call.getPeer(), reason, dropped: outbox.dropped }, "watch client cut off: it stopped reading");
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
      const stop = deps.hub.watch({ node, ...(filter ? { filter } : {}), intervalMs: intervalMs || 1000 }, (b) => {
        if (call.cancelled) return;
        outbox.sendLatest(b.agentId, create(WatchEventSchema, { agentId: b.agentId, node: b.node, mode: b.mode, samples: b.samples }));
      });
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        stop();
        outbox.close();
      };
      call.on("cancelled", end);
      call.on("close", end);
      call.on("error", end);
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
