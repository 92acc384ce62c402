/**
 * Ctrl-C (SIGINT) and SIGTERM on a command that runs something on the
 * agents: the first one cancels it (the coordinator stops the tools); a
 * second one ends the CLI at once, as the signal would by default.
 */
import { exitCodeForSignal } from "./exit-codes.js";

export interface Interruption {
  /** Aborts at the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** The exit code the signal stands for (128 + its number: 130 for SIGINT, 143 for SIGTERM), once one came. */
  readonly exitCode: number | undefined;
  /** What interrupted, for messages: "Ctrl-C" (SIGINT) or "SIGTERM", once one came. */
  readonly cause: string | undefined;
  /** Stop listening (the default handlers are back). */
  dispose(): void;
}

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** Listen for SIGINT and SIGTERM; `message` goes to stderr when the first one comes. */
export function interruption(message: string): Interruption {
  const ac = new AbortController();
  let exitCode: number | undefined;
  let cause: string | undefined;
  const handlers = SIGNALS.map((sig) => {
    const handler = (): void => {
      exitCode = exitCodeForSignal(sig);
      cause = sig === "SIGINT" ? "Ctrl-C" : sig;
      process.stderr.write(`\n${message}\n`);
      dispose();
      ac.abort();
    };
    process.once(sig, handler);
    return [sig, handler] as const;
  });
  const dispose = (): void => {
    for (const [sig, handler] of handlers) process.off(sig, handler);
  };
  return {
    signal: ac.signal,
    get exitCode() {
      return exitCode;
    },
    get cause() {
      return cause;
    },
    dispose,
  };
}
