/**
 * Planning work that can be stopped: the planner's and the scheduler's loops
 * are generators that yield every few thousand iterations. `runSteps` drives
 * one to the end at once (pure callers, tests, benchmarks); `runStepsAsync`
 * drives it in slices of a few milliseconds, lets the event loop in between
 * (a cancelled RPC is only seen there) and stops at the next yield once its
 * signal aborts.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { NetmatrixError } from "../../../common/src/errors.js";

/** Work that yields now and then and returns a T. */
export type Steps<T> = Generator<void, T, void>;

/** Iterations between yields in the hot loops (a power of two minus one: `(i & STEP_MASK) === 0`). */
export const STEP_MASK = 4095;

/** Run `steps` to the end without letting anything else in. */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * Run `steps` in slices of about `sliceMs`, giving the event loop a turn in
 * between; rejects with a "cancelled" NetmatrixError (naming `what`) at the
 * first yield after `signal` aborts.
 */
export async function runStepsAsync<T>(steps: Steps<T>, signal: AbortSignal | undefined, what: string, sliceMs = 10): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    if (signal?.aborted) {
      steps.return(undefined as T);
      throw new NetmatrixError("cancelled", `${what} was cancelled`);
    }
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
}
