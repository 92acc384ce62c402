/**
 * The last line of defence of the long-running commands (`coordinator`,
 * `agent`): an exception no handler caught, or a rejection nobody awaited,
 * is logged with a running count and the process goes on serving its other
 * agents and clients instead of dying. Every edge handles its own errors
 * (and its tests prove it); this catches what slips through, so one bad
 * request never drops every agent's session. A count above zero in the log
 * is a bug to report.
 */
import type { Logger } from "pino";

export interface ProcessGuard {
  /** Exceptions and rejections survived so far. */
  readonly survived: number;
  /** Remove the handlers (tests). */
  dispose(): void;
}

export function guardProcess(log: Pick<Logger, "error">, role: string): ProcessGuard {
  let survived = 0;
  const onException = (err: Error, origin: string): void => {
    survived++;
    log.error({ err, origin, survived }, `${role} survived an uncaught exception (a bug: please report it with this log)`);
  };
  const onRejection = (reason: unknown): void => {
    survived++;
    log.error({ err: reason, origin: "unhandledRejection", survived }, `${role} survived an unhandled rejection (a bug: please report it with this log)`);
  };
  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);
  return {
    get survived() {
      return survived;
    },
    dispose() {
      process.off("uncaughtException", onException);
      process.off("unhandledRejection", onRejection);
    },
  };
}
