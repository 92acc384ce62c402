/**
 * Runs a matrix: plan against the live agents, schedule into node-disjoint
 * rounds with repetitions interleaved, run each round's cases together, retry
 * "server busy" a bounded number of times, and append every finished case
 * repetition to the run's directory before streaming it. Cancelled work is
 * not recorded, so `resume` measures it later; nothing finished is measured twice.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { CaseRecordSchema, CaseResultSchema, type MatrixEventSchema, type RunInfo } from "../../gen/netmatrix/v1/control_pb.js";
import { FailureCode, TestSpecSchema, type NodeLoad, type TestSpec } from "../../gen/netmatrix/v1/types_pb.js";
import { busyBeforeRun } from "../../common/src/busy.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { directions, modes, protocols } from "../../common/src/model.js";
import { drivers, toolName, tools, type ToolName } from "../../tools/src/index.js";
import type { AgentLink } from "./agent-link.js";
import { newCase, runRepetition, type CaseRequest } from "./case-runner.js";
import type { AgentLocks } from "./locks.js";
import {
  CASE_OVERHEAD_MS,
  checkDuration,
  checkPlanSize,
  DEFAULT_MATRIX_CAPS,
  effectiveCaps,
  planSize,
  planSteps,
  runStepsAsync,
  scheduleSteps,
  type MatrixCaps,
  type MatrixSpec,
  type PlannedCase,
  type PlannerAgent,
} from "./matrix/index.js";
import { refusalLines } from "./matrix/refusals.js";
import { formatDurationS } from "../../common/src/units.js";
import type { Registry } from "./registry.js";
import type { ResultsStore, RunDir } from "./results-store.js";
import type { ServiceProvider } from "../../common/src/service-provider.js";
import { agentStatus } from "./status.js";

/** Tries per case repetition when the server says it is busy. */
export const BUSY_ATTEMPTS = 3;

export interface MatrixDeps {
  registry: Registry;
  locks: AgentLocks;
  store: ResultsStore;
  services: ServiceProvider | undefined;
  /** Run ids this process is running now. */
  running: Set<string>;
  log: Logger;
  /** What one run may ask for (the coordinator's --max-cases, --max-run-duration); default DEFAULT_MATRIX_CAPS. */
  caps?: MatrixCaps;
}

export interface MatrixRequest {
  spec: MatrixSpec;
  /** The YAML the spec came from, kept with the run ("" when none). */
  specYaml: string;
  resumeRunId?: string;
  sampleIntervalMs: number;
  allowPartial: boolean;
  /** Lower caps the client asked for (0 or absent: the coordinator's). */
  caps?: Partial<MatrixCaps>;
}

type Emit = (e: MessageInitShape<typeof MatrixEventSchema>["event"]) => void;

/** The registry's agents as the planner sees them. */
export function plannerAgents(registry: Registry): PlannerAgent[] {
  return registry.list().map((l) => ({
    id: l.id,
    node: l.info.node,
    mode: modes.toName(l.info.mode) ?? "host",
    address: l.info.addresses[0] ?? "",
    tools: l.info.tools.filter((t) => t.available).map((t) => toolName(t.tool) as ToolName),
    toolProblems: Object.fromEntries(l.info.tools.filter((t) => !t.available && t.problem).map((t) => [toolName(t.tool), t.problem])),
  }));
}

/** The wire spec of a planned case. */
export function testSpecOf(c: PlannedCase): TestSpec {
  return create(TestSpecSchema, {
    tool: tools.toEnum(c.tool, "tool"),
    protocol: c.protocol === "icmp" ? 0 : protocols.toEnum(c.protocol, "protocol"),
    direction: directions.toEnum(c.direction, "direction"),
    durationS: c.durationS,
    parallel: c.parallel,
    bitrateBps: c.bitrateBps ?? 0,
    lengthBytes: c.lengthBytes,
    omitS: drivers[c.tool].capabilities.omit ? c.omitS : 0,
  });
}

function findLink(registry: Registry, id: string): AgentLink | undefined {
  return registry.list().find((l) => l.id === id);
}

/** Open (resume) or create the run's directory; returns it with what is already done. */
function openRun(req: MatrixRequest, deps: MatrixDeps, total: number): { run: RunDir; done: Set<string>; info: RunInfo } {
  if (req.resumeRunId) {
    if (deps.running.has(req.resumeRunId)) throw new NetmatrixError("failed-precondition", `run ${req.resumeRunId} is running now`);
    const run = deps.store.open(req.resumeRunId);
    const records = run.records(true);
    const info = run.readInfo();
    info.status = "running";
    info.error = "";
    info.total = total;
    info.done = records.length;
    info.failed = records.filter((r) => r.result?.repetitions[0]?.outcome.case !== "measurement").length;
    return { run, done: new Set(records.map((r) => `${r.caseId}#${r.repetition}`)), info };
  }
  const agents = deps.registry.list().map((l) => agentStatus(l));
  const run = deps.store.create({ name: req.spec.name, specYaml: req.specYaml, spec: req.spec, agents, total });
  return { run, done: new Set(), info: run.readInfo() };
}

/** Run (or resume) a matrix; events go to `emit`. Throws before any traffic when the spec cannot run here. */
export async function runMatrix(req: MatrixRequest, deps: MatrixDeps, emit: Emit, cancelled: AbortSignal): Promise<void> {
  const { spec, log } = { spec: req.spec, log: deps.log };
  const agents = plannerAgents(deps.registry);
  const planOpts = deps.services ? { serviceProvider: { kinds: deps.services.kinds } } : {};
  // Counted before anything is planned: past the caps, the spec is refused before any large allocation.
  const caps = effectiveCaps(deps.caps ?? DEFAULT_MATRIX_CAPS, req.caps);
  checkPlanSize(planSize(spec, agents, planOpts), spec, caps);
  // Planning and scheduling let the event loop in every few milliseconds, so a cancelled call stops them.
  const p = await runStepsAsync(planSteps(spec, agents, planOpts), cancelled, "planning the run");
  const refused = p.refused.filter((r) => r.kind === "refused");
  if (refused.length && !req.allowPartial) {
    throw new NetmatrixError("failed-precondition", `the spec cannot run on these agents:\n  - ${refused.map((r) => r.reason).join("\n  - ")}`, {
      hint: "fix the spec or the agents, or pass --allow-partial to run what can run",
    });
  }
  if (!p.cases.length)
    throw new NetmatrixError("failed-precondition", "the spec plans no case on these agents", { hint: "check `netmatrix agents` and the spec's scenarios and pairs" });
  const byId = new Map(p.cases.map((c) => [c.id, c]));
  const rounds = await runStepsAsync(scheduleSteps(p.cases, { concurrency: spec.concurrency, repetitions: spec.repetitions }), cancelled, "scheduling the run");
  const runMsOf = new Map(p.cases.map((c) => [c.id, drivers[c.tool].runMs({ durationS: c.durationS, omitS: c.omitS })]));
  const estimate = (rs: typeof rounds): number =>
    rs.reduce((ms, r) => {
      let longest = 0;
      for (const e of r) longest = Math.max(longest, runMsOf.get(e.caseId)!);
      return ms + longest + CASE_OVERHEAD_MS;
    }, 0);
  const fullMs = estimate(rounds);
  checkDuration(fullMs, `an estimated ${formatDurationS(fullMs / 1000)} (${rounds.length} rounds, at most ${spec.concurrency} at a time)`, caps);
  const { run, done, info } = openRun(req, deps, p.cases.length * spec.repetitions);
  const todo = rounds.map((r) => r.filter((e) => !done.has(`${e.caseId}#${e.repetition}`))).filter((r) => r.length);
  run.writeInfo(info); // a storage fault here refuses the run; nothing ran, and it can be resumed
  deps.running.add(run.runId);
  // A fault that stops the run (its results cannot be stored) cancels what is in flight, like a cancel.
  let fault: NetmatrixError | undefined;
  const stopped = new AbortController();
  const stop = (err: unknown): void => {
    fault ??= runFault(run.runId, err);
    stopped.abort();
  };
  const signal = AbortSignal.any([cancelled, stopped.signal]);
  // Before the first case: which involved nodes were busy, from their agents' last heartbeats (no extra traffic, no wait).
  const busyWarnings = busyNodes(deps.registry, p.cases);
  emit({
    case: "started",
    value: {
      runId: run.runId,
      name: spec.name,
      total: todo.reduce((n, r) => n + r.length, 0),
      alreadyDone: done.size,
      cases: p.cases.length,
      rounds: todo.length,
      refused: refusalLines(p.refused, spec.scenarios),
      estimatedMs: estimate(todo),
      dataDir: run.dir,
      busyWarnings,
    },
  });
  const runLog = log.child({ runId: run.runId });
  for (const w of busyWarnings) runLog.warn({ warning: w }, "node busy before the run");
  // A cancel stops each running case's own commands (runRepetition); nothing else on the agents is touched.
  try {
    for (const round of todo) {
      if (signal.aborted) break;
      await Promise.all(
        round.map(async ({ caseId, repetition }) => {
          const c = byId.get(caseId)!;
          emit({ case: "caseStarted", value: { caseId, key: c.key, repetition, done: info.done } });
          const record = await runOne(c, repetition, req, deps, run.runId, runLog, signal);
          if (!record || fault) return; // cancelled, or the run stopped: not recorded, so resume runs it
          try {
            run.append(record);
          } catch (err) {
            return stop(err); // not on disk, not counted: resume runs it
          }
          info.done++;
          if (record.result?.repetitions[0]?.outcome.case !== "measurement") info.failed++;
          info.updatedAtMs = Date.now();
          try {
            run.writeInfo(info);
          } catch (err) {
            stop(err); // the record is on disk; the run stops here
          }
          emit({ case: "record", value: record });
        }),
      );
    }
  } catch (err) {
    stop(err);
  } finally {
    // A run that measured nothing did not finish: it failed, and says so.
    const nothing = !fault && !cancelled.aborted && info.done > 0 && info.done === info.failed;
    info.status = fault || nothing ? "failed" : cancelled.aborted ? "cancelled" : "finished";
    info.error = fault?.message ?? (nothing ? nothingMeasured(info.done) : "");
    info.updatedAtMs = Date.now();
    try {
      run.writeInfo(info);
    } catch (err) {
      // The store keeps the final state in memory, shows it, and writes it at its next successful write.
      fault ??= runFault(run.runId, err);
      info.status = "failed";
      info.error = fault.message;
      try {
        run.writeInfo(info);
      } catch {
        // kept, as above
      }
    }
    deps.running.delete(run.runId);
  }
  if (fault) {
    runLog.error({ reason: fault.message }, "run stopped");
    throw fault;
  }
  emit({ case: "finished", value: { runId: run.runId, measured: info.done - info.failed, failed: info.failed, cancelled: signal.aborted } });
}

/**
 * One warning per node of `cases` whose CPU was busy before the run
 * (common/src/busy.ts BUSY_BEFORE_RUN), from the freshest load report of its
 * agents; nodes not reported yet are not guessed at.
 */
export function busyNodes(registry: Registry, cases: readonly Pick<PlannedCase, "client" | "server">[]): string[] {
  const ids = new Set(cases.flatMap((c) => [c.client, c.server]));
  const freshest = new Map<string, NodeLoad>();
  for (const link of registry.list()) {
    if (!ids.has(link.id) || !link.load) continue;
    const seen = freshest.get(link.info.node);
    if (!seen || link.load.atMs > seen.atMs) freshest.set(link.info.node, { ...link.load, cpuCount: link.load.cpuCount || link.info.cpuCount });
  }
  return [...freshest.entries()].flatMap(([node, load]) => busyBeforeRun(node, load) ?? []);
}

/** Why a run whose every case repetition failed is "failed". */
export function nothingMeasured(failed: number): string {
  return `nothing was measured: all ${failed} case repetitions failed`;
}

/** The error a run stops with, naming the run, the cause (a storage error names the file and its fix) and how to go on. */
function runFault(runId: string, err: unknown): NetmatrixError {
  const e = NetmatrixError.from(err);
  return new NetmatrixError(e.code, `run ${runId} stopped: ${e.message}`, {
    cause: e,
    hint: `${e.hint ? `${e.hint}; then` : "fix that, then"} continue it with \`netmatrix run --resume ${runId}\` (the coordinator need not restart)`,
  });
}

/** One case repetition with its bounded busy-retries; undefined when cancelled. */
async function runOne(c: PlannedCase, repetition: number, req: MatrixRequest, deps: MatrixDeps, runId: string, log: Logger, signal: AbortSignal) {
  const client = findLink(deps.registry, c.client);
  const server = findLink(deps.registry, c.server);
  const spec = testSpecOf(c);
  const caseReq: CaseRequest | undefined =
    client && server
      ? {
          client,
          server,
          spec,
          repetitions: 1,
          sampleIntervalMs: req.sampleIntervalMs,
          ...(c.via !== "direct" && deps.services
            ? {
                expose: (port: number, dataPort: number) =>
                  deps.services!.expose({
                    kind: c.via === "service" ? "clusterip" : "nodeport",
                    runId,
                    caseId: c.id,
                    serverNode: c.serverNode,
                    serverAddress: server.info.addresses[0] ?? "",
                    port,
                    dataPort,
                    protocol: c.protocol === "udp" ? "udp" : "tcp",
                  }),
              }
            : {}),
        }
      : undefined;
  let attempts = 0;
  let result;
  if (!caseReq) {
    const missing = !client ? c.client : c.server;
    result = gone(c, spec, missing, repetition);
  } else {
    let release: () => void;
    try {
      release = await deps.locks.acquire([caseReq.client.id, caseReq.server.id], signal);
    } catch {
      return undefined; // cancelled while waiting for the agents
    }
    try {
      result = newCase(caseReq);
      for (;;) {
        attempts++;
        const rep = await runRepetition(caseReq, repetition, log, signal);
        const code = rep.outcome.case === "failure" ? rep.outcome.value.code : undefined;
        // Cut short by this run's cancel: not recorded, so resume runs it. A cancel the run did not ask for is a failure like any other.
        if (signal.aborted && code !== undefined) return undefined;
        if (code === FailureCode.SERVER_BUSY && attempts < BUSY_ATTEMPTS) {
          await new Promise((r) => setTimeout(r, 1000 * attempts));
          continue;
        }
        result.repetitions.push(rep);
        break;
      }
    } finally {
      release();
    }
  }
  return create(CaseRecordSchema, {
    runId,
    caseId: c.id,
    key: c.key,
    scenario: c.scenario,
    via: c.via,
    clientNode: c.clientNode,
    serverNode: c.serverNode,
    baselineKey: c.baselineKey ?? "",
    repetition,
    attempts,
    result,
    finishedAtMs: Date.now(),
  });
}

/** A case result for an agent that is not connected any more. */
function gone(c: PlannedCase, spec: TestSpec, missing: string, repetition: number) {
  return create(CaseResultSchema, {
    caseId: c.id,
    spec,
    repetitions: [
      {
        index: repetition,
        startedAtMs: Date.now(),
        outcome: {
          case: "failure",
          value: { code: FailureCode.AGENT_GONE, reason: `agent ${missing} is not connected`, hint: "check `netmatrix agents`; the run goes on without it" },
        },
      },
    ],
  });
}
