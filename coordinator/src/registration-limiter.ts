/**
 * How many agent sessions the coordinator admits a second. After a
 * coordinator restart every agent of the cluster dials in at once (15,000 on
 * a 5,000-node cluster); admitting them all at once would keep the event loop
 * busy with registrations while the registered agents' heartbeats and the
 * CLI wait. A token bucket admits `burst` at once and `ratePerS` after that;
 * a session beyond it is refused straight away (RESOURCE_EXHAUSTED, before
 * its registration is even read) with its turn: the next free slot after the
 * turns already handed out, one per 1/ratePerS, so the refused come back
 * spread at the rate they can be admitted instead of all together again.
 */

export interface RegistrationLimits {
  /** Sessions admitted per second, once the burst is spent. */
  ratePerS: number;
  /** Sessions admitted at once (the bucket's size). */
  burst: number;
}

/** `netmatrix coordinator --registration-rate / --registration-burst` defaults. */
export const DEFAULT_REGISTRATION_LIMITS: RegistrationLimits = { ratePerS: 1000, burst: 2000 };

/** What the flags accept. */
export const REGISTRATION_LIMIT_BOUNDS = {
  ratePerS: { min: 1, max: 100_000 },
  burst: { min: 1, max: 1_000_000 },
} as const;

/** The furthest turn handed out, ms from now: agents that keep coming back early (ignoring their turn) cannot push it further. */
export const MAX_TURN_MS = 120_000;

export type Admission = { admitted: true } | { admitted: false; retryAfterMs: number };

export class RegistrationLimiter {
  private tokens: number;
  private at: number;
  /** Monotonic ms up to which turns have been handed out. */
  private horizon = 0;
  /** Sessions admitted and refused so far. */
  admitted = 0;
  refused = 0;

  constructor(
    readonly limits: RegistrationLimits,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = limits.burst;
    this.at = this.now();
  }

  /** Admit one session now, or say in how many ms it should come back. */
  admit(): Admission {
    const now = this.now();
    const { ratePerS, burst } = this.limits;
    this.tokens = Math.min(burst, this.tokens + ((now - this.at) * ratePerS) / 1000);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.admitted++;
      return { admitted: true };
    }
    this.refused++;
    // The next turn after those handed out (and not in the past): one per 1/rate, so they come back at the rate.
    this.horizon = Math.min(Math.max(this.horizon, now) + 1000 / ratePerS, now + MAX_TURN_MS);
    return { admitted: false, retryAfterMs: Math.round(this.horizon - now) };
  }
}
