/**
 * Start netmatrix processes (coordinator, agents, CLI) from the built CLI,
 * optionally inside a network namespace, and keep track of them by PID so
 * they can all be stopped, even after a failure.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { NETMATRIX_BIN } from "../../lab/src/netmatrix-bin.js";

export { NETMATRIX_BIN };

export interface Proc {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the exit code (null when signalled). */
  exited: Promise<number | null>;
  /** Wait until stderr (log) matches `re`; rejects after `timeoutMs` with what was printed. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, SIGKILL after `graceMs`; resolves when gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Every process started here and not yet exited. */
const live = new Set<Proc>();

export interface SpawnOptions {
  /** Run inside this network namespace (`ip netns exec`). */
  ns?: string;
  /** Run under this command, e.g. `["setpriv", "--bounding-set", "-net_raw"]` (inside the namespace, if any). */
  wrap?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Start `netmatrix ARGS`. */
export function spawnNetmatrix(args: string[], opts: SpawnOptions = {}): Proc {
  const argv = [...(opts.wrap ?? []), process.execPath, NETMATRIX_BIN, ...args];
  const full = opts.ns ? ["ip", "netns", "exec", opts.ns, ...argv] : argv;
  const child = spawn(full[0]!, full.slice(1), {
    stdio: ["ignore", "pipe", "pipe"],
    // JSON logs (the tests read them), whatever NETMATRIX_LOG_FORMAT the caller's shell has.
    env: { ...process.env, NETMATRIX_LOG_LEVEL: "debug", NETMATRIX_LOG_FORMAT: "json", ...opts.env },
  });
  let stdout = "";
  let stderr = "";
  const waiters: { re: RegExp; resolve(m: RegExpMatchArray): void }[] = [];
  child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on("data", (c: Buffer) => {
    stderr += c.toString();
    for (const w of [...waiters]) {
      const m = stderr.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const proc: Proc = {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    waitFor(re, timeoutMs = 15_000) {
      const m = stderr.match(re);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const w = { re, resolve: (x: RegExpMatchArray) => (clearTimeout(t), resolve(x)) };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`timed out waiting for ${re} from netmatrix ${args.join(" ")}; stderr so far:\n${stderr.slice(-3000)}`));
        }, timeoutMs);
        waiters.push(w);
        void exited.then(() => {
          if (waiters.includes(w)) {
            clearTimeout(t);
            waiters.splice(waiters.indexOf(w), 1);
            reject(new Error(`netmatrix ${args.join(" ")} exited before printing ${re}; stderr:\n${stderr.slice(-3000)}`));
          }
        });
      });
    },
    async stop(graceMs = 3000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
  live.add(proc);
  void exited.then(() => live.delete(proc));
  return proc;
}

/** Run `netmatrix ARGS` to completion. */
export async function runNetmatrix(args: string[], opts: SpawnOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnNetmatrix(args, opts);
  const code = await p.exited;
  return { code, stdout: p.stdout, stderr: p.stderr };
}

/** Stop every process started here. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}
