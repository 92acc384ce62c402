/**
 * When an agent dials the coordinator again. After a coordinator restart every
 * agent of the cluster has lost its session at the same moment; were they all
 * to come back at the same moment (or at the same doubling steps), the new
 * coordinator would get the whole cluster at once, again and again. So each
 * wait is drawn uniformly from [0, the capped exponential step] ("full
 * jitter"), the first one too, from a generator seeded per agent; and when
 * the coordinator says when to come back (it admits only so many
 * registrations a second), that is honoured, with a little jitter on top.
 */
import { createHash } from "node:crypto";

export interface BackoffOptions {
  /** The first step (the wait after a registered session ended is drawn from [0, initialMs]), ms. */
  initialMs: number;
  /** The cap of a step, ms. */
  maxMs: number;
}

/** The agent's default: first step 500 ms, doubling, capped at 15 s. */
export const RECONNECT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 15_000 };

/** The share of the coordinator's retry-after delay added on top at most (uniformly drawn), so agents told the same moment spread out. */
export const RETRY_AFTER_JITTER = 0.2;

/**
 * The wait before dial `attempt` (0: the first after a session ended, 1: after
 * one failed dial, …): `u` × min(maxMs, initialMs × 2^attempt), for `u` in [0, 1).
 */
export function reconnectDelay(attempt: number, o: BackoffOptions, u: number): number {
  const step = Math.min(o.maxMs, o.initialMs * 2 ** Math.max(0, attempt));
  return clampUnit(u) * step;
}

/** The wait after the coordinator asked to come back in `retryAfterMs`: that, plus up to {@link RETRY_AFTER_JITTER} of it, by `u` in [0, 1). */
export function retryAfterDelay(retryAfterMs: number, u: number): number {
  const ms = Math.max(0, retryAfterMs);
  return ms * (1 + RETRY_AFTER_JITTER * clampUnit(u));
}

function clampUnit(u: number): number {
  return Number.isFinite(u) ? Math.min(Math.max(u, 0), 1) : 0;
}

/**
 * A pseudo-random generator in [0, 1) seeded by `seed` (the agent's instance
 * id): agents draw different waits, and a test can replay one agent's draws.
 * mulberry32 over a SHA-256 of the seed.
 */
export function seededRandom(seed: string): () => number {
  let a = createHash("sha256").update(seed).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
