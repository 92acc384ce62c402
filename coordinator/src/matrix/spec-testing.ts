/**
 * For the spec tests (not built into dist): the SpecError a spec text is
 * refused with, the check every refusal table makes of it, and the variants
 * a small spec plans and skips.
 */
import { expect } from "vitest";
import { NetmatrixError } from "../../../common/src/errors.js";
import { parseSpec, specFromObject, type MatrixSpec } from "./spec.js";
import { SpecError } from "./spec-error.js";
import { variants } from "./variants.js";

/** The SpecError `text` (read as "spec.yaml") is refused with; throws when it is accepted or fails otherwise. */
export function specError(text: string): SpecError {
  try {
    parseSpec(text, "spec.yaml");
  } catch (err) {
    if (err instanceof SpecError) return err;
    throw err;
  }
  throw new Error("expected a SpecError, the spec was accepted");
}

/**
 * Checks that `text` is refused as invalid-argument at `line`, on the key `path`, with a message that
 * starts "spec.yaml:LINE: " and holds `message` and the `fix`; returns the refusal.
 */
export function expectRefused(text: string, line: number, path: string, message: string, fix: string): SpecError {
  const err = specError(text);
  expect(err.line).toBe(line);
  expect(err.path).toBe(path);
  expect(err.message.startsWith(`spec.yaml:${line}: `)).toBe(true);
  expect(err.message).toContain(message);
  expect(err.message).toContain(fix);
  expect(err).toBeInstanceOf(NetmatrixError);
  expect(err.code).toBe("invalid-argument");
  return err;
}

/** A host-host spec named "v" with `keys` added. */
export const hostHostSpec = (keys: Record<string, unknown>): MatrixSpec => specFromObject({ name: "v", scenarios: ["host-host"], ...keys });
const specVariants = (keys: Record<string, unknown>) => variants(hostHostSpec(keys));

/** The parameter keys a host-host spec with `keys` plans. */
export const plannedKeys = (keys: Record<string, unknown>): string[] =>
  specVariants(keys)
    .filter((v) => !v.skip)
    .map((v) => v.paramKey);

/** The [parameter key, reason] of each combination a host-host spec with `keys` skips. */
export const skippedKeys = (keys: Record<string, unknown>): [string, string][] =>
  specVariants(keys)
    .filter((v) => v.skip)
    .map((v) => [v.paramKey, v.skip!]);
