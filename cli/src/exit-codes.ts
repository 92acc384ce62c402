/**
 * The CLI's exit codes, as README.md ("Exit codes") documents them, and the
 * one place an error becomes one:
 *
 * | code | meaning |
 * |---|---|
 * | 0 | every repetition measured (or the command did what it was asked) |
 * | 1 | a repetition failed (the command ran; a measurement did not) |
 * | 2 | the command could not run: a bad option or spec, no coordinator, a refused token, no such run or agent, a full disk, … |
 * | 3 | `compare --fail-on-regression` found a regression |
 * | 130 / 143 | interrupted by SIGINT (Ctrl-C) / SIGTERM, after cancelling what ran (130 also for a call the coordinator cancelled) |
 */
import { constants } from "node:os";
import { CommanderError } from "commander";
import { NetmatrixError, type ErrorCode } from "../../common/src/errors.js";

export const EXIT = {
  ok: 0,
  repetitionFailed: 1,
  error: 2,
  regression: 3,
  sigint: 128 + constants.signals.SIGINT,
  sigterm: 128 + constants.signals.SIGTERM,
} as const;

/** Every error code is "the command could not run", except a cancellation (which the user asked for). */
const BY_ERROR_CODE: Record<ErrorCode, number> = {
  "invalid-argument": EXIT.error,
  "not-found": EXIT.error,
  unauthenticated: EXIT.error,
  "failed-precondition": EXIT.error,
  unavailable: EXIT.error,
  "deadline-exceeded": EXIT.error,
  cancelled: EXIT.sigint,
  "resource-exhausted": EXIT.error,
  "already-exists": EXIT.error,
  "permission-denied": EXIT.error,
  internal: EXIT.error,
};

/** The exit code for the signal that ended a command (SIGINT 130, SIGTERM 143). */
export function exitCodeForSignal(signal: "SIGINT" | "SIGTERM"): number {
  return signal === "SIGINT" ? EXIT.sigint : EXIT.sigterm;
}

/**
 * The exit code for an error that ended a command. commander's errors are
 * usage errors (2), except `--help` and `--version`, which succeed (0).
 */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.error;
  return BY_ERROR_CODE[NetmatrixError.from(err).code];
}
