/**
 * Runs a matrix: plan against the live agents as a stream (matrix/stream.ts:
 * totals counted, rounds made one at a time, never every case at once), run
 * each round's cases together, retry "server busy" a bounded number of
 * times, and append every finished case repetition to the run's directory
 * before streaming it. Cancelled work is not recorded, so `resume` measures
 * it later; nothing finished is measured twice (finished case repetitions
 * are skipped by key).
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import {
  CaseRecordSchema,
  CaseResultSchema,
  PlanSummarySchema,
  type MatrixEventSchema,
  type PlanSummary,
  type Repetition,
  type RunInfo,
} from "../../gen/netmatrix/v1/control_pb.js";
import { FailureCode, TestSpecSchema, type NodeLoad, type TestSpec } from "../../gen/netmatrix/v1/types_pb.js";
import { busyBeforeRun } from "../../common/src/busy.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { directions, families, httpModes, modes, protocols } from "../../common/src/model.js";
import { targetAddress } from "./address-check.js";
import { drivers, toolName, tools, type ToolName } from "../../tools/src/index.js";
import { newCase, runRepetition, type CaseRequest } from "./case-runner.js";
import type { AgentLocks } from "./locks.js";
import {
  CaseIds,
  checkDuration,
  checkPlanSize,
  DEFAULT_MATRIX_CAPS,
  effectiveCaps,
  PlanStream,
  planSize,
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
import { runLadder } from "./ladder/run-ladder.js";
import { ladderPathKey, ladderStart } from "./ladder/start.js";
import { setImmediate as nextTurn } from "node:timers/promises";

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
  /** Plan only: emit the plan's summary and return; nothing is measured or created. */
  dryRun?: boolean;
  /** Run only the rounds whose estimated durations fit in this many ms (undefined or 0: all). */
  budgetMs?: number;
}

type Emit = (e: MessageInitShape<typeof MatrixEventSchema>["event"]) => void;

/** The registry's agents as the planner sees them. */
export function plannerAgents(registry: Registry): PlannerAgent[] {
  return registry.list().map((l) => ({
    id: l.id,
    node: l.info.node,
    mode: modes.toName(l.info.mode) ?? "host",
    address: l.info.addresses[0] ?? "",
    addresses: l.info.addresses,
    tools: l.info.tools.filter((t) => t.available).map((t) => toolName(t.tool) as ToolName),
    toolProblems: Object.fromEntries(l.info.tools.filter((t) => !t.available && t.problem).map((t) => [toolName(t.tool), t.problem])),
    labels: l.info.labels,
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
    httpMode: c.httpMode !== undefined ? httpModes.toEnum(c.httpMode, "HTTP mode") : 0,
    connections: c.connections ?? 0,
    bodyBytes: c.bodyBytes ?? 0,
    messageRatePerS: c.messageRatePerS ?? 0,
    mss: c.mssBytes ?? 0,
    family: c.family !== undefined ? families.toEnum(c.family, "address family") : 0,
  });
}

/** How a finished case repetition is known on resume: its key (the same spec on the same agents plans the same keys) and repetition. */
const doneKey = (key: string, repetition: number): string => `${key}#${repetition}`;

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
    return { run, done: new Set(records.map((r) => doneKey(r.key, r.repetition))), info };
  }
  const agents = deps.registry.list().map((l) => agentStatus(l));
  const run = deps.store.create({ name: req.spec.name, specYaml: req.specYaml, spec: req.spec, agents, total });
  return { run, done: new Set(), info: run.readInfo() };
}

/** Run (or resume) a matrix; events go to `emit`. Throws before any traffic when the spec cannot run here. */
export async function runMatrix(req: MatrixRequest, deps: MatrixDeps, emit: Emit, cancelled: AbortSignal): Promise<void> {
  const { spec, log } = { spec: req.spec, log: deps.log };
  const agents = plannerAgents(deps.registry);
  const svc = deps.services;
  const planOpts = svc ? { serviceProvider: { kinds: svc.kinds, families: svc.families, familiesNote: svc.familiesNote } } : {};
  // Counted before anything is planned: past the caps, the spec is refused before any large allocation.
  const caps = effectiveCaps(deps.caps ?? DEFAULT_MATRIX_CAPS, req.caps);
  checkPlanSize(planSize(spec, agents, planOpts), spec, caps);
  // The plan streams: its totals are arithmetic, its rounds are made as they run.
  const stream = new PlanStream(spec, agents, planOpts);
  const { totals } = stream;
  const budget = req.budgetMs ? stream.roundsWithin(req.budgetMs) : { rounds: totals.rounds, ms: totals.estimatedMs };
  if (req.dryRun) {
    emit({ case: "planned", value: planSummary(stream, budget, req.budgetMs) });
    return;
  }
  const refused = stream.refused.filter((r) => r.kind === "refused");
  if (refused.length && !req.allowPartial) {
    throw new NetmatrixError("failed-precondition", `the spec cannot run on these agents:\n  - ${refused.map((r) => r.reason).join("\n  - ")}`, {
      hint: "fix the spec or the agents, or pass --allow-partial to run what can run",
    });
  }
  if (!totals.cases)
    throw new NetmatrixError("failed-precondition", "the spec plans no case on these agents", { hint: "check `netmatrix agents` and the spec's scenarios and pairs" });
  if (budget.rounds === 0) {
    throw new NetmatrixError(
      "invalid-argument",
      `a budget of ${formatDurationS((req.budgetMs ?? 0) / 1000)} fits no round (the first takes about ${formatDurationS(stream.roundMs(0) / 1000)})`,
      {
        hint: "give a larger --budget, or none",
      },
    );
  }
  checkDuration(budget.ms, `an estimated ${formatDurationS(budget.ms / 1000)} (${budget.rounds} rounds, at most ${spec.concurrency} at a time)`, caps);
  // Case runs within the budget: all of them, or (cut short) counted by making the rounds that fit, one at a time.
  let total = totals.caseRuns;
  if (budget.rounds < totals.rounds) {
    total = 0;
    for (let k = 0; k < budget.rounds; k++) {
      total += stream.round(k).cases.length;
      if ((k & 255) === 255) await nextTurn();
      if (cancelled.aborted) throw new NetmatrixError("cancelled", "planning the run was cancelled");
    }
  }
  const { run, done, info } = openRun(req, deps, total);
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
  const busyWarnings = busyNodes(deps.registry, stream.involvedAgents());
  const todoRuns = Math.max(0, total - done.size);
  emit({
    case: "started",
    value: {
      runId: run.runId,
      name: spec.name,
      total: todoRuns,
      alreadyDone: done.size,
      cases: totals.cases,
      rounds: budget.rounds,
      refused: refusalLines(stream.refused, spec.scenarios),
      estimatedMs: total > 0 ? (budget.ms * todoRuns) / total : 0,
      dataDir: run.dir,
      busyWarnings,
    },
  });
  const runLog = log.child({ runId: run.runId });
  for (const w of busyWarnings) runLog.warn({ warning: w }, "node busy before the run");
  // A cancel stops each running case's own commands (runRepetition); nothing else on the agents is touched.
  // Case ids stay unique as cases stream out (every case shows first in repetition 0).
  const ids = new CaseIds(totals.cases);
  // The best TCP receiver rate measured on each path so far: where a UDP ladder on the same path starts.
  const tcpByPath = new Map<string, number>();
  try {
    for (let k = 0; k < budget.rounds; k++) {
      if (signal.aborted) break;
      const { repetition, cases } = stream.round(k);
      const round = cases.map((c) => ids.fix(c, repetition === 0)).filter((c) => !done.has(doneKey(c.key, repetition)));
      if (!round.length) {
        if ((k & 255) === 255) await nextTurn(); // a long stretch of finished rounds (resume) lets the event loop in
        continue;
      }
      await Promise.all(
        round.map(async (c) => {
          const caseId = c.id;
          emit({ case: "caseStarted", value: { caseId, key: c.key, repetition, done: info.done } });
          const record = await runOne(c, repetition, req, deps, run.runId, runLog, signal, tcpByPath);
          if (!record || fault) return; // cancelled, or the run stopped: not recorded, so resume runs it
          noteTcp(tcpByPath, c, record.result?.repetitions[0]);
          // Group commit: one fdatasync for the records finishing together, and resolved only once it is done.
          try {
            await run.appendDurable(record);
          } catch (err) {
            return stop(err); // not on disk, not counted: resume runs it
          }
          // On disk now (a fault elsewhere meanwhile does not change that): counted, and resume skips it.
          info.done++;
          if (record.result?.repetitions[0]?.outcome.case !== "measurement") info.failed++;
          info.updatedAtMs = Date.now();
          run.progress(info); // meta.json is written on state changes only; `runs` shows these counts from memory
          emit({ case: "record", value: record });
        }),
      );
    }
  } catch (err) {
    stop(err);
  } finally {
    await run.close(); // the last batch is on disk before the run's final state
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
export function busyNodes(registry: Registry, agentIds: Iterable<string>): string[] {
  const ids = new Set(agentIds);
  const freshest = new Map<string, NodeLoad>();
  for (const link of registry.list()) {
    if (!ids.has(link.id) || !link.load) continue;
    const seen = freshest.get(link.info.node);
    if (!seen || link.load.atMs > seen.atMs) freshest.set(link.info.node, { ...link.load, cpuCount: link.load.cpuCount || link.info.cpuCount });
  }
  return [...freshest.entries()].flatMap(([node, load]) => busyBeforeRun(node, load) ?? []);
}

/** The answer to a dry run: the stream's totals, the budget's cut, what is refused. */
function planSummary(stream: PlanStream, budget: { rounds: number; ms: number }, budgetMs: number | undefined): PlanSummary {
  const { totals, spec } = stream;
  return create(PlanSummarySchema, {
    name: spec.name,
    cases: BigInt(totals.cases),
    caseRuns: BigInt(totals.caseRuns),
    repetitions: spec.repetitions,
    roundsPerRepetition: BigInt(totals.roundsPerRepetition),
    rounds: BigInt(totals.rounds),
    concurrency: spec.concurrency,
    estimatedMs: totals.estimatedMs,
    ...(budgetMs ? { budgetRounds: BigInt(budget.rounds), budgetMs: budget.ms } : {}),
    refused: refusalLines(stream.refused, spec.scenarios),
    nodes: stream.universe.length,
    agents: stream.agents.length,
  });
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

/** Keep the best TCP receiver rate of `c`'s path (a measured TCP case), for the UDP ladders on it. */
function noteTcp(tcpByPath: Map<string, number>, c: PlannedCase, rep: Repetition | undefined): void {
  if (c.protocol !== "tcp" || rep?.outcome.case !== "measurement") return;
  const bps = rep.outcome.value.receiverBps ?? rep.outcome.value.throughputBps;
  const key = ladderPathKey(c);
  if (bps !== undefined && Number.isFinite(bps) && bps > 0 && bps > (tcpByPath.get(key) ?? 0)) tcpByPath.set(key, bps);
}

/** One case repetition with its bounded busy-retries (or, `udp: ladder`, one rate ladder); undefined when cancelled. */
async function runOne(
  c: PlannedCase,
  repetition: number,
  req: MatrixRequest,
  deps: MatrixDeps,
  runId: string,
  log: Logger,
  signal: AbortSignal,
  tcpByPath = new Map<string, number>(),
) {
  const client = deps.registry.get(c.client);
  const server = deps.registry.get(c.server);
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
                    serverAddress: targetAddress(server.info, c.family ?? "ipv4") ?? "",
                    ...(c.family ? { family: c.family } : {}),
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
      if (c.ladder) {
        attempts = 1;
        const start = ladderStart(tcpByPath.get(ladderPathKey(c)), caseReq.client.info, caseReq.server.info);
        const ran = await runLadder(caseReq, c.ladder, start, repetition, log, signal);
        if (!ran) return undefined; // cancelled: not recorded, so resume runs it
        result.spec = ran.spec;
        result.repetitions.push(ran.repetition);
        result.ladder = ran.ladder;
      } else {
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
