/** The one mapping from an error to an exit code (README.md, "Exit codes"). */
import { CommanderError, InvalidArgumentError } from "commander";
import { describe, expect, test } from "vitest";
import { NetmatrixError, type ErrorCode } from "../../common/src/errors.js";
import { EXIT, exitCodeFor, exitCodeForSignal } from "./exit-codes.js";

const CODES: ErrorCode[] = [
  "invalid-argument",
  "not-found",
  "unauthenticated",
  "failed-precondition",
  "unavailable",
  "deadline-exceeded",
  "resource-exhausted",
  "already-exists",
  "permission-denied",
  "internal",
];

describe("exitCodeFor", () => {
  test.each(CODES)("%s: 2, the command could not run", (code) => expect(exitCodeFor(new NetmatrixError(code, "x"))).toBe(2));
  test("a cancellation: 130", () => expect(exitCodeFor(new NetmatrixError("cancelled", "cancelled"))).toBe(130));
  test("anything else thrown: 2", () => expect(exitCodeFor(new Error("boom"))).toBe(2));
  test.each([
    ["a usage error", new CommanderError(1, "commander.unknownOption", "unknown option '--bogus'"), 2],
    ["a bad option value thrown by an action", new InvalidArgumentError("give --client and --server"), 2],
    ["--help", new CommanderError(0, "commander.helpDisplayed", "(outputHelp)"), 0],
    ["--version", new CommanderError(0, "commander.version", "0.1.0"), 0],
  ])("%s: %d", (_, err, code) => expect(exitCodeFor(err)).toBe(code));
  test("signals: 128 + their number", () => {
    expect([exitCodeForSignal("SIGINT"), exitCodeForSignal("SIGTERM")]).toEqual([130, 143]);
    expect(EXIT).toEqual({ ok: 0, repetitionFailed: 1, error: 2, regression: 3, sigint: 130, sigterm: 143 });
  });
});
