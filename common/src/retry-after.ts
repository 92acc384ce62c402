/**
 * "Come back later": a refusal that waiting fixes (the coordinator admits
 * only so many agent registrations a second), with when to come back. The
 * coordinator puts the delay in the status's trailing metadata; an agent
 * reads it and waits that long (plus its own jitter) before it dials again.
 */
import type { Metadata } from "@grpc/grpc-js";

/** Trailing-metadata key of the delay, milliseconds as a decimal string. */
export const RETRY_AFTER_KEY = "netmatrix-retry-after-ms";

/** The longest delay an agent believes (a larger one is cut to this), milliseconds. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** Say in `metadata` that the caller should come back in `ms` milliseconds. */
export function setRetryAfter(metadata: Metadata, ms: number): void {
  metadata.set(RETRY_AFTER_KEY, String(Math.max(0, Math.round(ms))));
}

/**
 * The delay a refused call was given, milliseconds (at most
 * {@link MAX_RETRY_AFTER_MS}); undefined when it carries none or a malformed
 * one. `err` is a grpc-js ServiceError, or an error whose `cause` chain holds one.
 */
export function retryAfterMs(err: unknown): number | undefined {
  for (let e = err, depth = 0; e && typeof e === "object" && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const md = (e as { metadata?: Partial<Metadata> }).metadata;
    const v = typeof md?.get === "function" ? md.get(RETRY_AFTER_KEY)[0] : undefined;
    if (typeof v !== "string" || !/^\d{1,9}$/.test(v)) continue;
    return Math.min(MAX_RETRY_AFTER_MS, Number(v));
  }
  return undefined;
}
