/**
 * The root logger. Create it once in a `main` and pass it down; components
 * take `log.child({ component })`. On stderr (stdout stays free for command
 * output): one colourized line per record when stderr is a terminal, JSON
 * lines otherwise (for files, `kubectl logs`, log shippers and the tests).
 * NETMATRIX_LOG_FORMAT=json|pretty (or --log-format) forces either.
 */
import { pino, type Logger } from "pino";
import pretty from "pino-pretty";
import { NetmatrixError } from "./errors.js";

export type { Logger } from "pino";

export const LOG_FORMATS = ["json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_FORMAT_ENV = "NETMATRIX_LOG_FORMAT";
export const LOG_LEVEL_ENV = "NETMATRIX_LOG_LEVEL";

export interface LoggerOptions {
  /** pino level name; default `info` (env NETMATRIX_LOG_LEVEL). */
  level?: string;
  /** Force a format; default: $NETMATRIX_LOG_FORMAT, else pretty when stderr is a terminal, JSON otherwise. */
  format?: LogFormat;
  /** Fields on every line, e.g. { node: "node-a" }. */
  base?: Record<string, unknown>;
  /** Where to write: a file descriptor (default 2, stderr). */
  fd?: number;
  /** Whether `fd` is a terminal (default: process.stderr.isTTY for fd 2); decides the default format and colours. */
  tty?: boolean;
}

/** The format `opts` and the environment ask for; a wrong $NETMATRIX_LOG_FORMAT is an error naming the accepted values. */
export function logFormat(opts: Pick<LoggerOptions, "format" | "tty">, env: NodeJS.ProcessEnv = process.env): LogFormat {
  if (opts.format) return opts.format;
  const fromEnv = env[LOG_FORMAT_ENV]?.trim().toLowerCase();
  if (fromEnv) {
    if (!(LOG_FORMATS as readonly string[]).includes(fromEnv)) {
      throw new NetmatrixError("invalid-argument", `${LOG_FORMAT_ENV}=${env[LOG_FORMAT_ENV]} is not a log format`, { hint: `set it to ${LOG_FORMATS.join(" or ")}, or unset it` });
    }
    return fromEnv as LogFormat;
  }
  return opts.tty ? "pretty" : "json";
}

export function createRootLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env[LOG_LEVEL_ENV] ?? "info";
  const fd = opts.fd ?? 2;
  const tty = opts.tty ?? (fd === 2 ? Boolean(process.stderr.isTTY) : fd === 1 ? Boolean(process.stdout.isTTY) : false);
  const base = { ...(opts.base ?? {}) };
  if (logFormat({ ...opts, tty }) === "pretty") {
    return pino(
      { level, base },
      pretty({
        destination: fd,
        sync: true,
        // Colours only for a terminal; a forced pretty format into a file stays plain text.
        colorize: tty,
        singleLine: true,
        translateTime: "SYS:HH:MM:ss.l",
        // "[session] registered {…}": the component up front, the rest of the record's fields on the same line.
        messageFormat: "{if component}[{component}] {end}{msg}",
        ignore: "pid,hostname,component,role",
      }),
    );
  }
  return pino({ level, base }, pino.destination({ dest: fd, sync: true }));
}
