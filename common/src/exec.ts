/**
 * The one place that spawns processes: argv arrays only (never a shell), a
 * deadline enforced twice (by us, and by coreutils `timeout` around the child
 * so it dies even if this process is SIGKILLed), SIGTERM then SIGKILL, and
 * output captured up to a bound.
 */
import { spawn } from "node:child_process";

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
  /** Set when the process could not be started (e.g. ENOENT). */
  spawnError: string | undefined;
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

/** Exit code `timeout` uses when the deadline hit (124) or the command was not found (127). */
const TIMEOUT_EXPIRED = 124;

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
  let killTimer: NodeJS.Timeout | undefined;

  const child = spawn(full[0]!, full.slice(1), {
    shell: false,
    stdio: ["ignore", "pipe", "pipe"],
    env: opts.env ?? process.env,
  });
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
      // The guard's own verdicts: 124 = deadline, 127 = program not found.
      if (guard && code === TIMEOUT_EXPIRED) timedOut = true;
      if (guard && code === 127 && !spawnError && /No such file|not found/i.test(err.text())) {
        spawnError = `${opts.argv[0]}: not found on PATH`;
        exitCode = null;
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
        wallMs: Number(process.hrtime.bigint() - started) / 1e6,
      });
    };
    child.on("error", (e: NodeJS.ErrnoException) => {
      spawnError = e.code === "ENOENT" ? `${full[0]}: not found on PATH` : e.message;
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

/** Run a process to completion; see {@link ExecOptions}. Never rejects. */
export function exec(opts: ExecOptions): Promise<ExecResult> {
  return startProcess(opts).exited;
}
