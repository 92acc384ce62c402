/**
 * The root logger. Create it once in a `main` and pass it down; components
 * take `log.child({ component })`. JSON lines on stderr by default, readable
 * when stderr is a terminal. stdout stays free for command output.
 */
import { pino, type Logger } from "pino";
import pretty from "pino-pretty";

export type { Logger } from "pino";

export interface LoggerOptions {
  /** pino level name; default `info` (env NETMATRIX_LOG_LEVEL). */
  level?: string;
  /** Force pretty (true) or JSON (false); default: pretty when stderr is a TTY. */
  pretty?: boolean;
  /** Fields on every line, e.g. { node: "node-a" }. */
  base?: Record<string, unknown>;
}

export function createRootLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.NETMATRIX_LOG_LEVEL ?? "info";
  const usePretty = opts.pretty ?? Boolean(process.stderr.isTTY);
  const base = { ...(opts.base ?? {}) };
  if (usePretty) {
    return pino({ level, base }, pretty({ destination: 2, sync: true, colorize: true, ignore: "pid,hostname" }));
  }
  return pino({ level, base }, pino.destination({ dest: 2, sync: true }));
}
