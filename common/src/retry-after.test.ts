import { Metadata } from "@grpc/grpc-js";
import { describe, expect, test } from "vitest";
import { NetmatrixError } from "./errors.js";
import { MAX_RETRY_AFTER_MS, RETRY_AFTER_KEY, retryAfterMs, setRetryAfter } from "./retry-after.js";

/** A grpc-js ServiceError-shaped object whose trailers say `value`. */
function refusal(value?: string): { code: number; metadata: Metadata } {
  const metadata = new Metadata();
  if (value !== undefined) metadata.set(RETRY_AFTER_KEY, value);
  return { code: 8, metadata };
}

describe("retry-after in a status's trailers", () => {
  test("round trip, rounded and never negative", () => {
    for (const [ms, want] of [
      [1500.4, 1500],
      [0, 0],
      [-20, 0],
    ] as const) {
      const e = refusal();
      setRetryAfter(e.metadata, ms);
      expect(retryAfterMs(e)).toBe(want);
    }
  });

  test.each([
    ["none", undefined, undefined],
    ["empty", "", undefined],
    ["negative", "-5", undefined],
    ["a fraction", "1.5", undefined],
    ["text", "soon", undefined],
    ["too many digits", "1".repeat(12), undefined],
    ["above the cap", String(MAX_RETRY_AFTER_MS * 10), MAX_RETRY_AFTER_MS],
  ])("%s → %s", (_, value, want) => {
    expect(retryAfterMs(refusal(value))).toBe(want);
  });

  test("found through the cause of the NetmatrixError a call's error became; not in errors without metadata", () => {
    const se = refusal("250");
    expect(retryAfterMs(new NetmatrixError("resource-exhausted", "busy", { cause: se }))).toBe(250);
    expect(retryAfterMs(new Error("plain"))).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs({ metadata: { get: "not a function" } })).toBeUndefined();
  });
});
