/**
 * The processes of the tools this agent runs right now, so samplers can
 * report the tool's own CPU. Tools run under the exec guard (`timeout`), so
 * the tool is the guard's child: read once from /proc when it appears, then
 * remembered until the guard exits (a 10 Hz sampler asks every tick).
 */
import { readFileSync } from "node:fs";

/** Running guard pids, with their children once seen (undefined: not yet forked). */
const guards = new Map<number, number[] | undefined>();

/** Remember a running guard pid (call `forget` when it exits). */
export function remember(pid: number | undefined): void {
  if (pid) guards.set(pid, undefined);
}

export function forget(pid: number | undefined): void {
  if (pid) guards.delete(pid);
}

/** The children of guard `g` as /proc lists them now; [] when it has none (yet) or just exited. */
function childrenOf(g: number): number[] {
  try {
    return readFileSync(`/proc/${g}/task/${g}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter((c) => c !== "")
      .map(Number);
  } catch {
    return []; // the guard just exited
  }
}

/** Pids of the running tools (children of the guards). */
export function toolPids(): number[] {
  const out: number[] = [];
  for (const [g, known] of guards) {
    let children = known;
    if (children === undefined) {
      children = childrenOf(g);
      // A guard forks its tool once, at its start: once seen, the child is the tool until the guard exits.
      if (children.length) guards.set(g, children);
    }
    out.push(...children);
  }
  return out;
}
