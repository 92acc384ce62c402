/**
 * The node's recent load, for heartbeats: CPU busy and steal since the
 * previous reading (two reads of /proc/stat), the 1-minute load average and
 * the run queue (/proc/loadavg). One read of each small file per heartbeat;
 * nothing runs between heartbeats. Parser ({@link parseLoadavg}) split from
 * the reader ({@link LoadMeter}).
 */
import { readFileSync } from "node:fs";
import { cpuUsage, readProcStat, type ProcStat } from "./cpu.js";

/** /proc/loadavg: "0.31 1.78 2.26 7/223 9224". */
export interface LoadAvg {
  /** Load averages over 1, 5 and 15 minutes. */
  load1: number;
  load5: number;
  load15: number;
  /** Runnable tasks now (the reader itself is one), and tasks in all. */
  running: number;
  total: number;
}

/** Parse /proc/loadavg; undefined when malformed. */
export function parseLoadavg(text: string): LoadAvg | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+)\/(\d+)/.exec(text);
  if (!m) return undefined;
  return { load1: Number(m[1]), load5: Number(m[2]), load15: Number(m[3]), running: Number(m[4]), total: Number(m[5]) };
}

/** What a heartbeat carries (the fields of the NodeLoad message). */
export interface NodeLoadReading {
  /** Node CPU busy since the previous reading, the agent's own CPU (and its reaped children's) left out, % of the node. */
  cpuBusyPercent: number;
  stealPercent: number;
  loadAverage1m: number;
  procsRunning: number;
  cpuCount: number;
  /** Interval the percentages cover, ms (monotonic). */
  intervalMs: number;
  /** Wall clock, ms since the epoch. */
  atMs: number;
}

/** This process's CPU time with its reaped children's, clock ticks (fields 14–17 of /proc/self/stat); undefined when unreadable. */
export function selfTicks(text: string): number | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  // Field 3 (state) follows ") "; utime, stime, cutime, cstime are fields 14–17.
  const f = text.slice(close + 2).split(" ");
  const ticks = [11, 12, 13, 14].map((i) => Number(f[i]));
  return ticks.every((t) => Number.isFinite(t) && t >= 0) ? ticks.reduce((a, b) => a + b, 0) : undefined;
}

function readSelfTicks(): number | undefined {
  try {
    return selfTicks(readFileSync("/proc/self/stat", "utf8"));
  } catch {
    return undefined;
  }
}

interface Reading {
  stat: ProcStat;
  self: number | undefined;
  atNs: bigint;
}

/**
 * Successive readings of the node's load; each covers the time since the
 * previous one (the first, since construction). The agent's own CPU is left
 * out of the busy share: its start-up (loading, finding tools, connecting)
 * would otherwise make an idle node look busy.
 */
export class LoadMeter {
  private prev: Reading | undefined;

  constructor(private readonly procRoot = "/proc") {
    this.prev = this.take();
  }

  private take(): Reading | undefined {
    const stat = readProcStat(this.procRoot);
    return stat ? { stat, self: readSelfTicks(), atNs: process.hrtime.bigint() } : undefined;
  }

  /** The load since the previous reading; undefined when /proc/stat cannot be read or no time passed (the next reading covers it). */
  read(): NodeLoadReading | undefined {
    const prev = this.prev;
    const cur = this.take();
    if (!cur) return undefined;
    const usage = prev ? cpuUsage(prev.stat, cur.stat) : undefined;
    this.prev = cur;
    if (!prev || !usage) return undefined;
    const p = prev.stat.all;
    const c = cur.stat.all;
    const elapsed = c.user + c.nice + c.system + c.idle + c.iowait + c.irq + c.softirq + c.steal - (p.user + p.nice + p.system + p.idle + p.iowait + p.irq + p.softirq + p.steal);
    const own = cur.self !== undefined && prev.self !== undefined ? Math.max(0, cur.self - prev.self) : 0;
    let avg: LoadAvg | undefined;
    try {
      avg = parseLoadavg(readFileSync(`${this.procRoot}/loadavg`, "utf8"));
    } catch {
      avg = undefined;
    }
    return {
      cpuBusyPercent: Math.min(100, Math.max(0, usage.totalPercent - (elapsed > 0 ? (own * 100) / elapsed : 0))),
      stealPercent: usage.stealPercent,
      loadAverage1m: avg?.load1 ?? 0,
      procsRunning: avg?.running ?? cur.stat.procsRunning ?? 0,
      cpuCount: cur.stat.cores.length,
      intervalMs: Number(cur.atNs - prev.atNs) / 1e6,
      atMs: Date.now(),
    };
  }
}
