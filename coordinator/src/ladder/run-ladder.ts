/**
 * Runs one UDP rate ladder between two agents: each step one short
 * repetition (coordinator/src/case-runner.ts runRepetition) at the step's
 * offered rate, the search (search.ts) choosing the next. The case keeps the
 * found step's repetition (or, when no step kept loss under the threshold,
 * the lowest-rate step's, its loss as measured) and the ladder: every step
 * and the rate found.
 */
import { clone, create } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import type { Repetition } from "../../../gen/netmatrix/v1/control_pb.js";
import { LadderStepSchema, UdpLadderResultSchema, type UdpLadderResult } from "../../../gen/netmatrix/v1/ladder_pb.js";
import { FailureCode, TestSpecSchema, type TestSpec } from "../../../gen/netmatrix/v1/types_pb.js";
import { runRepetition, type CaseRequest } from "../case-runner.js";
import type { UdpLadderSpec } from "../matrix/spec-types.js";
import { isGood, searchLadder, type LadderOutcome, type StepOutcome } from "./search.js";
import type { StartFrom } from "./start.js";

/** Socket buffer of each step's sockets (the tool's -w), bytes; the kernel caps it at net.core.rmem_max / wmem_max. */
export const LADDER_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** Tries of a step whose server says it is busy. */
const BUSY_ATTEMPTS = 3;

export interface LadderRun {
  /** The repetition the case keeps (see above). */
  repetition: Repetition;
  /** The spec of that repetition's step. */
  spec: TestSpec;
  ladder: UdpLadderResult;
}

/** What a repetition says for the search: receiver rate, loss and jitter, or why it has none. */
export function stepOutcome(rep: Repetition): StepOutcome {
  if (rep.outcome.case === "failure") return { failure: rep.outcome.value.reason || "the step failed" };
  if (rep.outcome.case !== "measurement") return { failure: "the step returned no outcome" };
  const m = rep.outcome.value;
  const receivedBps = m.receiverBps ?? m.throughputBps;
  if (receivedBps === undefined || m.lossPercent === undefined) return { failure: "the tool reported no received rate or loss for the step" };
  return {
    receivedBps,
    lossPercent: m.lossPercent,
    ...(m.jitterMs !== undefined ? { jitterMs: m.jitterMs } : {}),
    ...(m.senderBps !== undefined ? { sentBps: m.senderBps } : {}),
  };
}

/** The stored ladder of a search's outcome. */
export function ladderResult(params: UdpLadderSpec, start: { bps: number; from: StartFrom }, out: LadderOutcome): UdpLadderResult {
  return create(UdpLadderResultSchema, {
    lossThresholdPercent: params.lossPercent,
    maxSteps: params.maxSteps,
    stepDurationS: params.stepDurationS,
    startBps: start.bps,
    startFrom: start.from,
    steps: out.steps.map((s) =>
      create(LadderStepSchema, {
        offeredBps: s.offeredBps,
        phase: s.phase,
        good: isGood(s.outcome, params.lossPercent),
        ...("failure" in s.outcome
          ? { failure: { reason: s.outcome.failure } }
          : {
              receivedBps: s.outcome.receivedBps,
              lossPercent: s.outcome.lossPercent,
              ...(s.outcome.jitterMs !== undefined ? { jitterMs: s.outcome.jitterMs } : {}),
              ...(s.outcome.sentBps !== undefined ? { sentBps: s.outcome.sentBps } : {}),
            }),
      }),
    ),
    found: out.found !== undefined,
    ...(out.found ? { foundOfferedBps: out.found.offeredBps, foundReceivedBps: out.found.receivedBps, foundLossPercent: out.found.lossPercent } : {}),
    stopReason: out.stopReason,
  });
}

/** Run the ladder; undefined when cancelled (nothing recorded, so resume runs it again). */
export async function runLadder(
  req: CaseRequest,
  params: UdpLadderSpec,
  start: { bps: number; from: StartFrom },
  index: number,
  log: Logger,
  signal?: AbortSignal,
): Promise<LadderRun | undefined> {
  const reps: { spec: TestSpec; rep: Repetition; offeredBps: number }[] = [];
  const out = await searchLadder(params, start.bps, async (bps) => {
    if (signal?.aborted) return { failure: "run cancelled" };
    const spec = clone(TestSpecSchema, req.spec);
    spec.bitrateBps = bps;
    spec.durationS = params.stepDurationS;
    spec.omitS = 0;
    // A deep socket buffer at both ends (unless the spec sets one): loss then measures the path, not a receiver descheduled for a few ms.
    if (!spec.windowBytes) spec.windowBytes = LADDER_SOCKET_BUFFER_BYTES;
    let rep = await runRepetition({ ...req, spec }, index, log, signal);
    // A server still busy from the step before: tried again after a pause, as the matrix runner does (bounded).
    for (let attempt = 1; attempt < BUSY_ATTEMPTS && rep.outcome.case === "failure" && rep.outcome.value.code === FailureCode.SERVER_BUSY && !signal?.aborted; attempt++) {
      await new Promise((r) => setTimeout(r, 1000 * attempt));
      rep = await runRepetition({ ...req, spec }, index, log, signal);
    }
    reps.push({ spec, rep, offeredBps: bps });
    const o = stepOutcome(rep);
    log.info({ offeredBps: bps, ...o }, "ladder step");
    return o;
  });
  if (signal?.aborted) return undefined;
  const keep = out.found
    ? reps[out.found.step]
    : ([...reps].filter((r) => r.rep.outcome.case === "measurement").sort((a, b) => a.offeredBps - b.offeredBps)[0] ?? reps[reps.length - 1]);
  if (!keep) throw new Error("a ladder ran no step"); // maxSteps ≥ 3: unreachable
  return { repetition: keep.rep, spec: keep.spec, ladder: ladderResult(params, start, out) };
}
