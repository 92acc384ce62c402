/**
 * The processes of the tools this agent runs right now, so samplers can
 * report the tool's own CPU. Tools run under the exec guard (`timeout`), so
 * the tool is the guard's child.
 */
import { readFileSync } from "node:fs";

const guards = new Set<number>();

/** Remember a running guard pid (call `forget` when it exits). */
export function remember(pid: number | undefined): void {
  if (pid) guards.add(pid);
}

export function forget(pid: number | undefined): void {
  if (pid) guards.delete(pid);
}

/** Pids of the running tools (children of the guards), read from /proc. */
export function toolPids(): number[] {
  const out: number[] = [];
  for (const g of guards) {
    try {
      for (const c of readFileSync(`/proc/${g}/task/${g}/children`, "utf8").trim().split(/\s+/)) {
        if (c) out.push(Number(c));
      }
    } catch {
      // the guard just exited
    }
  }
  return out;
}
