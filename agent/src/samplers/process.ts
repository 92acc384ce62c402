/**
 * Per-process CPU and memory from /proc/<pid>/stat. Reader
 * ({@link readProcessStat}) split from the pure parser
 * ({@link parseProcessStat}) and arithmetic ({@link processUsage}).
 */
import { readFileSync } from "node:fs";
import { readUint, scan, toBuffer } from "./bytes.js";
import { exec } from "../../../common/src/exec.js";

/** Clock ticks per second used when `getconf CLK_TCK` cannot be run. */
export const DEFAULT_TICKS_PER_SECOND = 100;
/** Page size (bytes) used when `getconf PAGESIZE` cannot be run. */
export const DEFAULT_PAGE_SIZE = 4096;

/** The fields of /proc/<pid>/stat the sampler uses. */
export interface ProcessStat {
  pid: number;
  /** Executable name as the kernel keeps it (at most 15 characters; may hold spaces and parentheses). */
  comm: string;
  /** Cumulative user-mode CPU time since the process started, clock ticks. */
  utimeTicks: number;
  /** Cumulative kernel-mode CPU time since the process started, clock ticks. */
  stimeTicks: number;
  /** When the process started, clock ticks after boot (tells a reused pid apart). */
  startTicks: number;
  /** Resident set size, pages. */
  rssPages: number;
}

/** One process over one interval. */
export interface ProcessUsage {
  pid: number;
  comm: string;
  /** user + system time, % of ONE cpu (a process busy on two cores shows 200). */
  cpuPercent: number;
  /** Resident set size at the end of the interval, bytes. */
  rssBytes: number;
}

/** Per-host constants the process arithmetic needs. */
export interface ProcConstants {
  /** USER_HZ, clock ticks per second (`getconf CLK_TCK`). */
  ticksPerSecond: number;
  /** Bytes per page (`getconf PAGESIZE`). */
  pageSize: number;
}

/** The fields taken (1-based, as in proc(5)): utime, stime, starttime, rss. */
const WANT = [14, 15, 22, 24] as const;
const picked = new Float64Array(WANT.length);

/**
 * Parse /proc/<pid>/stat (its text, or the bytes a read returned). The comm field sits between the first
 * '(' and the LAST ')' (it may itself contain spaces and ')'). Undefined
 * when the line is malformed.
 */
export function parseProcessStat(input: string | Uint8Array): ProcessStat | undefined {
  const b = toBuffer(input);
  const open = b.indexOf(40);
  const close = b.lastIndexOf(41);
  if (open < 2 || close < open || !readUint(b, 0) || scan.end !== open - 1 || b[scan.end] !== 32) return undefined;
  const pid = scan.value;
  // Field 3 (state) starts at close + 2; walk the spaces to fields 14, 15, 22 and 24.
  let i = close + 2;
  let field = 3;
  for (let w = 0; w < WANT.length; w++) {
    for (; field < WANT[w]!; field++) {
      i = b.indexOf(32, i) + 1;
      if (i === 0) return undefined;
    }
    if (!readUint(b, i)) return undefined;
    picked[w] = scan.value;
  }
  return { pid, comm: b.toString("utf8", open + 1, close), utimeTicks: picked[0]!, stimeTicks: picked[1]!, startTicks: picked[2]!, rssPages: picked[3]! };
}

/**
 * Usage of one process between two parses `dtNs` nanoseconds apart
 * (monotonic clock). Undefined when the two reads are not the same process
 * (pid reused: start time differs), its CPU time went backwards, or no time
 * elapsed.
 */
export function processUsage(prev: ProcessStat, cur: ProcessStat, dtNs: bigint, k: ProcConstants): ProcessUsage | undefined {
  if (prev.pid !== cur.pid || prev.startTicks !== cur.startTicks || dtNs <= 0n) return undefined;
  const ticks = cur.utimeTicks + cur.stimeTicks - prev.utimeTicks - prev.stimeTicks;
  if (ticks < 0) return undefined;
  return {
    pid: cur.pid,
    comm: cur.comm,
    cpuPercent: (ticks * 1e11) / (k.ticksPerSecond * Number(dtNs)),
    rssBytes: cur.rssPages * k.pageSize,
  };
}

/** One synchronous read and parse of `${procRoot}/<pid>/stat`; undefined when the process is gone. */
export function readProcessStat(procRoot: string, pid: number): ProcessStat | undefined {
  try {
    return parseProcessStat(readFileSync(`${procRoot}/${pid}/stat`));
  } catch {
    return undefined;
  }
}

async function getconf(name: string, fallback: number): Promise<number> {
  const r = await exec({ argv: ["getconf", name], deadlineMs: 5000, guard: false });
  const v = Number(r.stdout.trim());
  return r.exitCode === 0 && Number.isInteger(v) && v > 0 ? v : fallback;
}

/**
 * Read USER_HZ and the page size once, via `getconf CLK_TCK` and
 * `getconf PAGESIZE`; {@link DEFAULT_TICKS_PER_SECOND} and
 * {@link DEFAULT_PAGE_SIZE} when getconf fails.
 */
export async function readProcConstants(): Promise<ProcConstants> {
  const [ticksPerSecond, pageSize] = await Promise.all([getconf("CLK_TCK", DEFAULT_TICKS_PER_SECOND), getconf("PAGESIZE", DEFAULT_PAGE_SIZE)]);
  return { ticksPerSecond, pageSize };
}
