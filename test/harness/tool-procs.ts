/**
 * The tool processes (iperf3, iperf, qperf, ping) running under given
 * processes, found from /proc: a test looks only at what its own agents
 * started, never at other tests' tools on the same machine.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Process names of the tools the agents run (comm, as /proc shows it). */
export const TOOL_COMMS: ReadonlySet<string> = new Set(["iperf3", "iperf", "qperf", "ping"]);

export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  /** Clock ticks after boot when it started: with the pid, names one process for good. */
  startTime: string;
}

/** `/proc/PID/stat` of one process, or undefined when it is gone. */
export function procInfo(pid: number): ProcInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // comm is in parentheses and may itself hold spaces or parentheses: split after the last ")".
  const close = stat.lastIndexOf(")");
  const comm = stat.slice(stat.indexOf("(") + 1, close);
  const rest = stat.slice(close + 2).split(" ");
  // rest[0] is the state (field 3); ppid is field 4, starttime field 22.
  return { pid, ppid: Number(rest[1]), comm, startTime: rest[19] ?? "" };
}

/** Every process now, by pid. */
function allProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const p = procInfo(Number(d));
    if (p) out.push(p);
  }
  return out;
}

/** Every descendant of the processes `roots` (not the roots themselves). */
export function descendants(roots: number[]): ProcInfo[] {
  const procs = allProcs();
  const children = new Map<number, ProcInfo[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: ProcInfo[] = [];
  const queue = [...roots];
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

/** The tool processes under `roots` (e.g. the agents' pids). */
export function toolsUnder(roots: number[]): ProcInfo[] {
  return descendants(roots).filter((p) => TOOL_COMMS.has(p.comm));
}

/** Poll `probe` every 25 ms until it returns something truthy; rejects after `timeoutMs` naming `what`. */
export async function until<T>(probe: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const by = performance.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (performance.now() > by) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** SIGKILL the processes `procs` that are still the same processes (pid and start time); for cleanup of orphans a test made. */
export function killIfAlive(procs: ProcInfo[]): void {
  for (const p of procs) {
    const now = procInfo(p.pid);
    if (now && now.startTime === p.startTime) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
  }
}
