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
  /** The `procs_running` line: runnable tasks now, the run queue (the reader itself is one); absent when the kernel does not print it. */
  procsRunning?: number;
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
  /** The run queue at the end of the interval (the later read's `procs_running`); absent when not printed. */
  procsRunning?: number;
}

const C = 99;
const P = 112;
const U = 117;
/** The columns of the line being parsed: user nice system idle iowait irq softirq steal guest guest_nice. */
const cols = new Float64Array(10);
/** The run queue's line, found after the `cpu…` lines (past the long `intr` line). */
const PROCS_RUNNING = Buffer.from("\nprocs_running ");

/**
 * Parse /proc/stat (its text, or the bytes a read returned): the leading
 * `cpu…` lines (the kernel prints them first; columns an older kernel lacks
 * read as 0) and the `procs_running` line. Undefined when there is no `cpu` line.
 */
export function parseProcStat(input: string | Uint8Array): ProcStat | undefined {
  const b = toBuffer(input);
  let all: CpuTimes | undefined;
  const cores: CoreTimes[] = [];
  let i = 0;
  while (b[i] === C && b[i + 1] === P && b[i + 2] === U) {
    const id = readUint(b, i + 3) ? scan.value : -1;
    i = id < 0 ? i + 3 : scan.end;
    cols.fill(0);
    for (let k = 0; k < cols.length; k++) {
      i = skipBlanks(b, i);
      if (!readUint(b, i)) break;
      cols[k] = scan.value;
      i = scan.end;
    }
    if (id >= 0) cores.push(coreTimes(id));
    else
      all ??= {
        user: cols[0]!,
        nice: cols[1]!,
        system: cols[2]!,
        idle: cols[3]!,
        iowait: cols[4]!,
        irq: cols[5]!,
        softirq: cols[6]!,
        steal: cols[7]!,
        guest: cols[8]!,
        guestNice: cols[9]!,
      };
    const nl = b.indexOf(10, i);
    if (nl < 0) break;
    i = nl + 1;
  }
  if (all === undefined) return undefined;
  const out: ProcStat = { all, cores };
  const at = b.indexOf(PROCS_RUNNING, Math.max(0, i - 1));
  if (at >= 0 && readUint(b, at + PROCS_RUNNING.length)) out.procsRunning = scan.value;
  return out;
}

function coreTimes(id: number): CoreTimes {
  return {
    id,
    user: cols[0]!,
    nice: cols[1]!,
    system: cols[2]!,
    idle: cols[3]!,
    iowait: cols[4]!,
    irq: cols[5]!,
    softirq: cols[6]!,
    steal: cols[7]!,
    guest: cols[8]!,
    guestNice: cols[9]!,
  };
}

/** True when any counter of `c` is below the same counter of `p`. */
function backwards(p: CpuTimes, c: CpuTimes): boolean {
  return (
    c.user < p.user ||
    c.nice < p.nice ||
    c.system < p.system ||
    c.idle < p.idle ||
    c.iowait < p.iowait ||
    c.irq < p.irq ||
    c.softirq < p.softirq ||
    c.steal < p.steal ||
    c.guest < p.guest ||
    c.guestNice < p.guestNice
  );
}

/** All time between two reads (guest is inside user/nice, so not added again), jiffies. */
function elapsed(p: CpuTimes, c: CpuTimes): number {
  return c.user + c.nice + c.system + c.idle + c.iowait + c.irq + c.softirq + c.steal - (p.user + p.nice + p.system + p.idle + p.iowait + p.irq + p.softirq + p.steal);
}

/**
 * Usage between two parses. Undefined when any counter of the `cpu` line
 * went backwards (or nothing elapsed); a core whose counters went backwards,
 * or that is missing from either read, is left out of `cores`.
 */
export function cpuUsage(prev: ProcStat, cur: ProcStat): CpuUsage | undefined {
  const p = prev.all;
  const c = cur.all;
  if (backwards(p, c)) return undefined;
  const total = elapsed(p, c);
  if (total <= 0) return undefined;
  const pct = 100 / total;
  const cores: CoreUsage[] = [];
  for (let i = 0; i < cur.cores.length; i++) {
    const cc = cur.cores[i]!;
    const pc = prev.cores[i]?.id === cc.id ? prev.cores[i] : prev.cores.find((x) => x.id === cc.id);
    if (pc === undefined || backwards(pc, cc)) continue;
    const t = elapsed(pc, cc);
    if (t > 0) cores.push({ id: cc.id, busyPercent: ((t - (cc.idle - pc.idle) - (cc.iowait - pc.iowait)) * 100) / t });
  }
  const idle = c.idle - p.idle;
  const iowait = c.iowait - p.iowait;
  const usage: CpuUsage = {
    totalPercent: (total - idle - iowait) * pct,
    userPercent: (c.user - p.user + c.nice - p.nice) * pct,
    systemPercent: (c.system - p.system) * pct,
    softirqPercent: (c.softirq - p.softirq) * pct,
    irqPercent: (c.irq - p.irq) * pct,
    iowaitPercent: iowait * pct,
    stealPercent: (c.steal - p.steal) * pct,
    idlePercent: idle * pct,
    cores,
  };
  if (cur.procsRunning !== undefined) usage.procsRunning = cur.procsRunning;
  return usage;
}

/** One synchronous read and parse of `${procRoot}/stat`; undefined when unreadable. */
export function readProcStat(procRoot: string): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`${procRoot}/stat`));
  } catch {
    return undefined;
  }
}
