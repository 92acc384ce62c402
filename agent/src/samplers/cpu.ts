/**
 * Node CPU usage from /proc/stat: the `cpu` (all cores) and `cpuN` lines,
 * cumulative jiffies (USER_HZ ticks) since boot, and the usage between two
 * reads. Reader ({@link readProcStat}) split from the pure parser
 * ({@link parseProcStat}) and arithmetic ({@link cpuUsage}).
 */
import { readFileSync } from "node:fs";
import { readUint, scan, skipBlanks, toBuffer } from "./bytes.js";

/** Cumulative time per mode since boot, in jiffies (USER_HZ ticks), as /proc/stat prints it. */
export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
  /** Already included in `user` by the kernel. */
  guest: number;
  /** Already included in `nice` by the kernel. */
  guestNice: number;
}

/** One core's cumulative times; `id` is N of its `cpuN` line. */
export interface CoreTimes extends CpuTimes {
  id: number;
}

/** A parse of /proc/stat. */
export interface ProcStat {
  /** The `cpu` line: all cores summed, jiffies since boot. */
  all: CpuTimes;
  /** The `cpuN` lines in file order (offline cores are absent). */
  cores: CoreTimes[];
}

/** One core's busy share over an interval. */
export interface CoreUsage {
  id: number;
  /** Busy time, % of that one core (0–100). */
  busyPercent: number;
}

/** Node CPU usage over one interval; every figure but `cores` is % of the node (all cores, 0–100). */
export interface CpuUsage {
  /** Busy (everything but idle and iowait), % of the node. */
  totalPercent: number;
  /** user + nice (guest time included), % of the node. */
  userPercent: number;
  systemPercent: number;
  softirqPercent: number;
  irqPercent: number;
  iowaitPercent: number;
  stealPercent: number;
  idlePercent: number;
  /** Per core, for cores present in both reads. */
  cores: CoreUsage[];
}

const NAMES = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guestNice"] as const;
const C = 99;
const P = 112;
const U = 117;

/**
 * Parse /proc/stat (its text, or the bytes a read returned). Only the
 * leading `cpu…` lines are looked at (the kernel prints them first); columns
 * an older kernel lacks read as 0. Undefined when there is no `cpu` line.
 */
export function parseProcStat(input: string | Uint8Array): ProcStat | undefined {
  const b = toBuffer(input);
  let all: CpuTimes | undefined;
  const cores: CoreTimes[] = [];
  let i = 0;
  while (b[i] === C && b[i + 1] === P && b[i + 2] === U) {
    const id = readUint(b, i + 3) ? scan.value : -1;
    i = id < 0 ? i + 3 : scan.end;
    const t = zeroTimes(id);
    for (let k = 0; k < NAMES.length; k++) {
      i = skipBlanks(b, i);
      if (!readUint(b, i)) break;
      t[NAMES[k]!] = scan.value;
      i = scan.end;
    }
    if (id < 0) all ??= t;
    else cores.push(t as CoreTimes);
    const nl = b.indexOf(10, i);
    if (nl < 0) break;
    i = nl + 1;
  }
  return all === undefined ? undefined : { all, cores };
}

/** All zero; a {@link CoreTimes} when `id` ≥ 0. */
function zeroTimes(id: number): CpuTimes {
  if (id < 0) return { user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0, guest: 0, guestNice: 0 };
  const core: CoreTimes = { id, user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0, guest: 0, guestNice: 0 };
  return core;
}

/** All time (guest is inside user/nice, so not added again), jiffies. */
function totalOf(t: CpuTimes): number {
  return t.user + t.nice + t.system + t.idle + t.iowait + t.irq + t.softirq + t.steal;
}

/** Deltas per mode, or undefined when any counter went backwards. */
function deltas(p: CpuTimes, c: CpuTimes): CpuTimes | undefined {
  const d = {} as CpuTimes;
  for (const k of NAMES) {
    const v = c[k] - p[k];
    if (v < 0) return undefined;
    d[k] = v;
  }
  return d;
}

/**
 * Usage between two parses. Undefined when any counter of the `cpu` line
 * went backwards (or nothing elapsed); a core whose counters went backwards,
 * or that is missing from either read, is left out of `cores`.
 */
export function cpuUsage(prev: ProcStat, cur: ProcStat): CpuUsage | undefined {
  const d = deltas(prev.all, cur.all);
  if (d === undefined) return undefined;
  const total = totalOf(d);
  if (total <= 0) return undefined;
  const pct = 100 / total;
  const cores: CoreUsage[] = [];
  for (let i = 0; i < cur.cores.length; i++) {
    const c = cur.cores[i]!;
    const p = prev.cores[i]?.id === c.id ? prev.cores[i] : prev.cores.find((x) => x.id === c.id);
    if (p === undefined) continue;
    const dc = deltas(p, c);
    if (dc === undefined) continue;
    const t = totalOf(dc);
    if (t > 0) cores.push({ id: c.id, busyPercent: ((t - dc.idle - dc.iowait) * 100) / t });
  }
  return {
    totalPercent: (total - d.idle - d.iowait) * pct,
    userPercent: (d.user + d.nice) * pct,
    systemPercent: d.system * pct,
    softirqPercent: d.softirq * pct,
    irqPercent: d.irq * pct,
    iowaitPercent: d.iowait * pct,
    stealPercent: d.steal * pct,
    idlePercent: d.idle * pct,
    cores,
  };
}

/** One synchronous read and parse of `${procRoot}/stat`; undefined when unreadable. */
export function readProcStat(procRoot: string): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`${procRoot}/stat`));
  } catch {
    return undefined;
  }
}
