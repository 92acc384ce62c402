/**
 * The one place that spawns processes: argv arrays only (never a shell), a
 * deadline enforced twice (by us, and by coreutils `timeout` around the child
 * so it dies even if this process is SIGKILLed), SIGTERM then SIGKILL, and
 * output captured up to a bound.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import { getSystemErrorMap } from "node:util";

/** Default cap on captured bytes per stream. */
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

export interface ExecOptions {
  /** Program and arguments; argv[0] is looked up on PATH. */
  argv: string[];
  /** Milliseconds after which the process is terminated. */
  deadlineMs: number;
  /** Milliseconds between SIGTERM and SIGKILL. Default 2000. */
  killGraceMs?: number;
  /** Bytes kept per stream (stdout, stderr); the rest is dropped and `truncated` set. */
  maxOutputBytes?: number;
  /** Aborting terminates the process (result has `cancelled: true`). */
  signal?: AbortSignal;
  /**
   * Also wrap the child in `timeout -k GRACE DEADLINE` so it cannot outlive its
   * deadline when this process dies without cleaning up. Default true.
   */
  guard?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface ExecResult {
  /** The argv as asked (without the guard). */
  argv: string[];
  pid: number | undefined;
  /** null when the process ended by a signal or never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  /** We killed it because its deadline passed. */
  timedOut: boolean;
  /** We killed it because it was cancelled or stopped. */
  cancelled: boolean;
  /**
   * Set when the process could not be started: not found, or the kernel
   * refused to execute it (EACCES, EPERM, ...). Never thrown: a spawn that
   * fails, synchronously or not, with or without the guard, ends here.
   */
  spawnError: string | undefined;
  /** The errno name of a spawn error (ENOENT, EACCES, EPERM, ...) when known. */
  spawnErrorCode?: string;
  /** Wall time from spawn to exit, milliseconds. */
  wallMs: number;
}

/** A running child. */
export interface RunningProcess {
  readonly pid: number | undefined;
  readonly argv: string[];
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExecResult>;
  /** What it printed so far. */
  output(): { stdout: string; stderr: string };
  /** SIGTERM, then SIGKILL after the grace period; resolves with the result. */
  stop(): Promise<ExecResult>;
}

/** Exit code `timeout` uses when the deadline hit (124). */
const TIMEOUT_EXPIRED = 124;
/** Exit codes `timeout` uses when it could not run the command: 126 cannot execute (EACCES, EPERM), 127 not found. */
const TIMEOUT_CANNOT_EXECUTE = 126;
const TIMEOUT_NOT_FOUND = 127;
/** `timeout: failed to run command ‘X’: Operation not permitted` (the quotes follow the locale). */
const TIMEOUT_FAILED_RUN = /^timeout: failed to run command .*: ([^:\n]+)$/m;

/** The errno name (EPERM) of a strerror text (Operation not permitted), when it is one. */
function errnoNamed(message: string): string | undefined {
  const wanted = message.trim().toLowerCase();
  for (const [name, text] of getSystemErrorMap().values()) if (text.toLowerCase() === wanted) return name;
  return undefined;
}

/** One line for a program that could not be started. */
function cannotStart(program: string, code: string | undefined, detail: string): string {
  if (code === "ENOENT" && !program.includes("/")) return `${program}: not found on PATH`;
  if (code === "ENOENT") return `${program}: not found (ENOENT: ${detail})`;
  return `${program}: cannot execute (${code ?? "error"}: ${detail})`;
}

/** The errno name and text of a spawn error (Node's message is only "spawn EPERM"). */
function describeErrno(e: NodeJS.ErrnoException): { code: string | undefined; detail: string } {
  const code = typeof e.code === "string" ? e.code : undefined;
  const known = typeof e.errno === "number" ? getSystemErrorMap().get(e.errno) : undefined;
  return { code, detail: known?.[1] ?? e.message };
}

class Capture {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    const room = this.max - this.size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (part.length < chunk.length) this.truncated = true;
    this.chunks.push(part);
    this.size += part.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

/** Start a process; see {@link ExecOptions}. */
export function startProcess(opts: ExecOptions): RunningProcess {
  const grace = opts.killGraceMs ?? 2000;
  const guard = opts.guard ?? true;
  const deadlineS = Math.max(1, Math.ceil(opts.deadlineMs / 1000));
  const graceS = Math.max(1, Math.ceil(grace / 1000));
  const full = guard ? ["timeout", "-k", `${graceS}s`, `${deadlineS + graceS}s`, ...opts.argv] : opts.argv;
  const started = process.hrtime.bigint();
  const out = new Capture(opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES);
  const err = new Capture(opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES);
  let timedOut = false;
  let cancelled = false;
  let spawnError: string | undefined;
  let spawnErrorCode: string | undefined;
  let killTimer: NodeJS.Timeout | undefined;

  let child: ChildProcessByStdio<null, Readable, Readable>;
  try {
    child = spawn(full[0]!, full.slice(1), {
      shell: false,
      stdio: ["ignore", "pipe", "pipe"],
      env: opts.env ?? process.env,
    });
  } catch (err) {
    // Node throws (rather than emitting "error") for most errnos, e.g. EPERM when the binary
    // has file capabilities outside the bounding set: the same result as any spawn error.
    const { code, detail } = describeErrno(err as NodeJS.ErrnoException);
    return notStarted(opts.argv, cannotStart(full[0]!, code, detail), code, started);
  }
  child.stdout.on("data", (c: Buffer) => out.push(c));
  child.stderr.on("data", (c: Buffer) => err.push(c));

  const terminate = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    killTimer ??= setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) {
        // `timeout` leads its own process group: SIGKILL the group, or the tool would outlive its killed guard.
        try {
          if (guard && child.pid) process.kill(-child.pid, "SIGKILL");
          else child.kill("SIGKILL");
        } catch {
          child.kill("SIGKILL");
        }
      }
    }, grace);
  };
  const deadline = setTimeout(() => {
    timedOut = true;
    terminate();
  }, opts.deadlineMs);
  const onAbort = (): void => {
    cancelled = true;
    terminate();
  };
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();

  const exited = new Promise<ExecResult>((resolve) => {
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener("abort", onAbort);
      let exitCode = code;
      // The guard's own verdicts: 124 = deadline, 126 = cannot execute, 127 = program not found.
      if (guard && code === TIMEOUT_EXPIRED) timedOut = true;
      if (guard && (code === TIMEOUT_CANNOT_EXECUTE || code === TIMEOUT_NOT_FOUND) && !spawnError) {
        const said = TIMEOUT_FAILED_RUN.exec(err.text());
        if (said || (code === TIMEOUT_NOT_FOUND && /No such file|not found/i.test(err.text()))) {
          const detail = said?.[1]?.trim() ?? "no such file or directory";
          spawnErrorCode = errnoNamed(detail) ?? (code === TIMEOUT_NOT_FOUND ? "ENOENT" : undefined);
          spawnError = cannotStart(opts.argv[0]!, spawnErrorCode, detail.toLowerCase());
          exitCode = null;
        }
      }
      resolve({
        argv: opts.argv,
        pid: child.pid,
        exitCode,
        signal,
        stdout: out.text(),
        stderr: err.text(),
        truncated: out.truncated || err.truncated,
        timedOut,
        cancelled,
        spawnError,
        ...(spawnErrorCode ? { spawnErrorCode } : {}),
        wallMs: Number(process.hrtime.bigint() - started) / 1e6,
      });
    };
    child.on("error", (e: NodeJS.ErrnoException) => {
      // The errnos Node reports by this event rather than by throwing (ENOENT, EACCES, ...).
      const { code, detail } = describeErrno(e);
      spawnError = cannotStart(full[0]!, code, detail);
      spawnErrorCode = code;
      finish(null, null);
    });
    child.on("close", (code, signal) => finish(code, signal));
  });

  return {
    pid: child.pid,
    argv: opts.argv,
    exited,
    output: () => ({ stdout: out.text(), stderr: err.text() }),
    stop: () => {
      cancelled = true;
      terminate();
      return exited;
    },
  };
}

/** A process that never started: its result is ready at once. */
function notStarted(argv: string[], spawnError: string, spawnErrorCode: string | undefined, started: bigint): RunningProcess {
  const result: ExecResult = {
    argv,
    pid: undefined,
    exitCode: null,
    signal: null,
    stdout: "",
    stderr: "",
    truncated: false,
    timedOut: false,
    cancelled: false,
    spawnError,
    ...(spawnErrorCode ? { spawnErrorCode } : {}),
    wallMs: Number(process.hrtime.bigint() - started) / 1e6,
  };
  const exited = Promise.resolve(result);
  return { pid: undefined, argv, exited, output: () => ({ stdout: "", stderr: "" }), stop: () => exited };
}

/** Run a process to completion; see {@link ExecOptions}. Never rejects. */
export function exec(opts: ExecOptions): Promise<ExecResult> {
  return startProcess(opts).exited;
}
