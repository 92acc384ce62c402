/**
 * The CLI's service: list agents, run a case and stream its repetitions.
 * Calls arrive authenticated (the auth interceptor); a thrown NetmatrixError
 * becomes a gRPC status, with its hint, at the edge (the adapter).
 */
import { clone, create } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { CaseResultSchema, ListAgentsResponseSchema, RunCaseEventSchema, type ControlService, type RunCaseEvent, WatchEventSchema } from "../../gen/netmatrix/v1/control_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import type { ServiceImpl } from "../../common/src/grpc-adapter.js";
import { LIMITS, specProblems } from "../../tools/src/limits.js";
import { newCase, runRepetition } from "./case-runner.js";
import type { AgentLocks } from "./locks.js";
import type { Registry } from "./registry.js";
import { agentStatus } from "./status.js";
import type { WatchHub } from "./watch-hub.js";

export interface ControlDeps {
  registry: Registry;
  locks: AgentLocks;
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
      const stop = deps.hub.watch({ node, ...(filter ? { filter } : {}), intervalMs: intervalMs || 1000 }, (b) => {
        if (call.cancelled || !call.writable) return;
        call.write(create(WatchEventSchema, { agentId: b.agentId, node: b.node, mode: b.mode, samples: b.samples }));
      });
      const end = (): void => stop();
      call.on("cancelled", end);
      call.on("close", end);
      call.on("error", end);
    },

    async runCase(call): Promise<void> {
      const cancelled = new AbortController();
      call.on("cancelled", () => cancelled.abort());
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
        const client = registry.resolve(request.client);
        const server = registry.resolve(request.server);
        if (client.id === server.id) throw new NetmatrixError("invalid-argument", `client and server are the same agent (${client.id})`, { hint: "pick two different agents" });
        if (!server.info.addresses[0]) throw new NetmatrixError("failed-precondition", `agent ${server.id} registered no address`, { hint: "start it with --address IP" });
        release = await locks.acquire([client.id, server.id]);
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
        if (cancelled.signal.aborted) {
          for (const l of [client, server]) l.send({ case: "cancelAll", value: { reason: "the CLI cancelled the case" } });
        }
        caseLog.info({ failed: result.repetitions.filter((r) => r.outcome.case === "failure").length }, "case finished");
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
