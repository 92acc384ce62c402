/**
 * The UDP rate ladder's search, pure: from a start rate, double while loss
 * stays under the threshold (or halve while it does not, when the first step
 * already loses), then bisect between the highest good and the lowest bad
 * rate — at most `maxSteps` steps, each one call of `measure`. The rate found
 * is the highest rate really offered (the asked rate, or what the sender
 * managed when it fell short) whose loss stayed under the threshold, with
 * what was received at it; when no step did, none is reported.
 */
import { LIMITS } from "../../../tools/src/limits.js";

/** The spec's ladder parameters (`udp: ladder`). */
export interface LadderParams {
  /** A step is good when its loss is below this, %. */
  lossPercent: number;
  /** Steps at most. */
  maxSteps: number;
  /** Length of each step, s. */
  stepDurationS: number;
}

/** What one step measured, or why it measured nothing. */
export type StepOutcome = { receivedBps: number; lossPercent: number; jitterMs?: number; sentBps?: number } | { failure: string };

export type LadderPhase = "up" | "down" | "bisect";

export interface LadderStepResult {
  offeredBps: number;
  phase: LadderPhase;
  outcome: StepOutcome;
}

export interface LadderOutcome {
  steps: LadderStepResult[];
  /** The good step with the highest offered rate; undefined when no step was good. */
  found: { offeredBps: number; receivedBps: number; lossPercent: number; /** Index into steps. */ step: number } | undefined;
  /** Why the search stopped, in one line. */
  stopReason: string;
}

export const LADDER_LIMITS = {
  /** Lowest rate the ladder offers, bits/s: below it, it reports that nothing was good. */
  minBps: 1e6,
  /** Highest rate the ladder offers, bits/s (the agents' own bitrate bound). */
  maxBps: LIMITS.bitrateBps.max,
  /** Bisection stops once the gap between good and bad is this fraction of the good rate. */
  resolution: 0.01,
} as const;

/** After a bad step with nothing good yet, the next rate is this fraction under what the bad step delivered. */
const DOWN_MARGIN = 0.03;

/** A step whose sender sent less than the asked rate by more than this fraction did not offer it (an upper bound for the search). */
export const SEND_SHORTFALL = 0.02;

/** `bps` within the ladder's limits, rounded to whole kbit/s (what a tool's -b takes cleanly). */
export function ladderRate(bps: number): number {
  const r = Number.isFinite(bps) && bps > 0 ? bps : LADDER_LIMITS.minBps;
  return Math.min(LADDER_LIMITS.maxBps, Math.max(LADDER_LIMITS.minBps, Math.round(r / 1000) * 1000));
}

/** Whether a step kept loss under the threshold. */
export function isGood(outcome: StepOutcome, lossPercent: number): boolean {
  return !("failure" in outcome) && outcome.lossPercent < lossPercent;
}

/**
 * The rate a step really offered: the asked rate, or what the sender sent
 * when it fell short of it (its CPU, or backpressure from a full local
 * queue) — a rate never sent is never reported as offered.
 */
export function offeredOf(outcome: StepOutcome, askedBps: number): number {
  return "failure" in outcome || outcome.sentBps === undefined ? askedBps : Math.min(askedBps, outcome.sentBps);
}

/** Whether the sender sent the asked rate (within SEND_SHORTFALL). */
function fullyOffered(outcome: StepOutcome, askedBps: number): boolean {
  return offeredOf(outcome, askedBps) >= askedBps * (1 - SEND_SHORTFALL);
}

/**
 * Run the search. `measure(bps, phase)` runs one step; a failed step stops
 * the ladder (its failure is the stop reason: a failure is never a rate).
 */
export async function searchLadder(
  params: Pick<LadderParams, "lossPercent" | "maxSteps">,
  startBps: number,
  measure: (bps: number, phase: LadderPhase) => Promise<StepOutcome>,
): Promise<LadderOutcome> {
  const steps: LadderStepResult[] = [];
  let good: LadderOutcome["found"];
  let bad: number | undefined;
  // What the path delivered at the lowest bad rate: where the next step above a good one probably lies.
  let badDelivered = 0;
  let rate = ladderRate(startBps);
  let phase: LadderPhase = "up";
  const fmt = (bps: number) => `${(bps / 1e6).toFixed(1)} Mbit/s`;
  let stopReason = `the ${params.maxSteps} steps are used up`;
  while (steps.length < params.maxSteps) {
    const outcome = await measure(rate, phase);
    steps.push({ offeredBps: rate, phase, outcome });
    if ("failure" in outcome) {
      stopReason = `step ${steps.length} at ${fmt(rate)} failed: ${outcome.failure}`;
      break;
    }
    // Good: loss under the threshold, credited with the rate really offered. Bad (an upper bound): lossy, or not offered in full.
    const ok = isGood(outcome, params.lossPercent);
    const offered = offeredOf(outcome, rate);
    if (ok && (!good || offered > good.offeredBps)) good = { offeredBps: offered, receivedBps: outcome.receivedBps, lossPercent: outcome.lossPercent, step: steps.length - 1 };
    if (!(ok && fullyOffered(outcome, rate)) && (bad === undefined || rate < bad)) {
      bad = rate;
      badDelivered = outcome.receivedBps;
    }
    if (bad === undefined) {
      if (rate >= LADDER_LIMITS.maxBps) {
        stopReason = `loss stayed under ${params.lossPercent} % up to the ${fmt(LADDER_LIMITS.maxBps)} cap`;
        break;
      }
      rate = ladderRate(rate * 2);
      phase = "up";
    } else if (!good) {
      if (rate <= LADDER_LIMITS.minBps) {
        stopReason = `loss was at or above ${params.lossPercent} % down to ${fmt(LADDER_LIMITS.minBps)}`;
        break;
      }
      // Down: half, or straight to just under what the path delivered when that is lower (a start far above the path).
      const delivered = outcome.receivedBps * (1 - DOWN_MARGIN);
      rate = ladderRate(delivered > 0 ? Math.min(rate / 2, delivered) : rate / 2);
      phase = "down";
    } else {
      // Bisect; or, when the bad rate is far above what it delivered, try just above that first.
      const hint = badDelivered * (1 + DOWN_MARGIN);
      // At most double the good rate: a bad bound far above it (a sender that fell short there) says little about the path.
      const mid = Math.min((good.offeredBps + bad) / 2, good.offeredBps * 2);
      const next = ladderRate(hint > good.offeredBps * (1 + LADDER_LIMITS.resolution) && hint < mid ? hint : mid);
      if ((bad - good.offeredBps) / good.offeredBps <= LADDER_LIMITS.resolution || next <= good.offeredBps || next >= bad) {
        stopReason = `good ${fmt(good.offeredBps)} and bad ${fmt(bad)} are within ${LADDER_LIMITS.resolution * 100} %`;
        break;
      }
      rate = next;
      phase = "bisect";
    }
  }
  if (!good && !stopReason.includes("failed") && steps.length >= params.maxSteps) stopReason += `; no step kept loss under ${params.lossPercent} %`;
  return { steps, found: good, stopReason };
}
