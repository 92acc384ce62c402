/**
 * The node sampler: owns the previous reads of /proc/net/dev, /proc/stat and
 * the watched processes' /proc/<pid>/stat, and turns each new read into
 * rates. One synchronous read of each file per tick through a kept
 * descriptor ({@link ProcFile}; on procfs far cheaper than async reads, and
 * than reopening), patterns compiled once, no process spawned per tick.
 *
 *   const s = await createSamplerSet({ pids: () => [process.pid] });
 *   s.sample(process.hrtime.bigint());            // primes → undefined
 *   const x = s.sample(process.hrtime.bigint());  // NodeSample
 */
import { cpuUsage, parseProcStat, type CpuUsage, type ProcStat } from "./cpu.js";
import { parseMeminfo, type MemoryInfo } from "./memory.js";
import { compileNameFilter, type NameFilter } from "./filter.js";
import { netDevPathFor, netDevRates, parseNetDev, type InterfaceRate, type NetDevCounters } from "./netdev.js";
import {
  DEFAULT_PAGE_SIZE,
  DEFAULT_TICKS_PER_SECOND,
  parseProcessStat,
  processUsage,
  readProcConstants,
  type ProcConstants,
  type ProcessStat,
  type ProcessUsage,
} from "./process.js";
import { DEFAULT_REOPEN_MS, ProcFile } from "./procfile.js";

/** Options of a {@link SamplerSet}. */
export interface SamplerOptions {
  /** Where procfs is mounted (default "/proc"; e.g. "/host/proc" in a pod). */
  procRoot?: string;
  /**
   * The net/dev file to read (default `${procRoot}/net/dev`, this process's
   * namespace). `/proc/1/net/dev` of a host-mounted proc gives the node's NICs;
   * `/proc/<pid>/net/dev` gives the namespace of that pid.
   */
  netDevPath?: string;
  /** Interface name patterns to sample (`*` wildcard, comma-separated lists ok); default all. */
  include?: string[];
  /** Interface name patterns to skip; default ["lo"]. */
  exclude?: string[];
  /** The pids to report each tick (the agent's own, the running tool's); default none. */
  pids?: () => readonly number[];
  /** Clock ticks per second and page size; default 100 and 4096 ({@link createSamplerSet} asks getconf). */
  constants?: ProcConstants;
  /**
   * Longest a kept descriptor of net/dev or of a process's stat is reused
   * before reopening, ms (default 1000): a `/proc/<pid>/net/dev` left open
   * would keep showing, and keep alive, the namespace of an exited pid.
   */
  reopenMs?: number;
}

/** Everything sampled over one interval. */
export interface NodeSample {
  /** The monotonic time of this sample, ns (`process.hrtime.bigint()` as the caller passed it). */
  monoNs: bigint;
  /** Wall-clock time of this sample, ms since the epoch (for labels only; never used in rates). */
  wallMs: number;
  /** Length of the interval the rates cover, ms (monotonic). */
  intervalMs: number;
  /** Rates of the sampled interfaces; interfaces new, reset or re-created in this interval are left out. */
  interfaces: InterfaceRate[];
  /** Node CPU; undefined when /proc/stat was unreadable or a counter went backwards. */
  cpu?: CpuUsage;
  /** Node memory at the end of the interval; undefined when /proc/meminfo was unreadable. */
  memory?: MemoryInfo;
  /** The watched processes alive at both ends of the interval. */
  processes: ProcessUsage[];
}

interface Reads {
  monoNs: bigint;
  net: NetDevCounters[] | undefined;
  stat: ProcStat | undefined;
  procs: Map<number, ProcessStat>;
}

/** Turns successive reads of procfs into {@link NodeSample}s; see the module comment. */
export class SamplerSet {
  readonly procRoot: string;
  readonly netDevPath: string;
  private readonly accept: NameFilter;
  private readonly pids: () => readonly number[];
  private readonly constants: ProcConstants;
  private readonly reopenMs: number;
  private readonly netFile: ProcFile;
  private readonly statFile: ProcFile;
  private readonly memFile: ProcFile;
  /** Kept /proc/<pid>/stat files, with the tick that last asked for them. */
  private readonly pidFiles = new Map<number, { file: ProcFile; tick: number }>();
  private tick = 0;
  private prev: Reads | undefined;

  constructor(opts: SamplerOptions = {}) {
    this.procRoot = opts.procRoot ?? "/proc";
    this.netDevPath = opts.netDevPath ?? netDevPathFor(this.procRoot);
    this.accept = compileNameFilter(opts.include, opts.exclude);
    this.pids = opts.pids ?? (() => []);
    this.constants = opts.constants ?? { ticksPerSecond: DEFAULT_TICKS_PER_SECOND, pageSize: DEFAULT_PAGE_SIZE };
    this.reopenMs = opts.reopenMs ?? DEFAULT_REOPEN_MS;
    this.netFile = new ProcFile(this.netDevPath, this.reopenMs);
    this.statFile = new ProcFile(`${this.procRoot}/stat`, Infinity, true);
    this.memFile = new ProcFile(`${this.procRoot}/meminfo`, Infinity, true);
  }

  /**
   * Read everything once at monotonic time `nowNs` (ns, from
   * `process.hrtime.bigint()`). The first call only primes and returns
   * undefined, as does a call whose time is not after the previous one
   * (it primes afresh).
   */
  sample(nowNs: bigint): NodeSample | undefined {
    const netBytes = this.netFile.readBytes(nowNs);
    const net = netBytes === undefined ? undefined : parseNetDev(netBytes, this.accept, this.prev?.net);
    const statBytes = this.statFile.readBytes(nowNs);
    const stat = statBytes === undefined ? undefined : parseProcStat(statBytes);
    const memBytes = this.memFile.readBytes(nowNs);
    const memory = memBytes === undefined ? undefined : parseMeminfo(memBytes);
    const procs = this.readProcesses(nowNs);
    const prev = this.prev;
    this.prev = { monoNs: nowNs, net, stat, procs };
    if (prev === undefined || nowNs <= prev.monoNs) return undefined;

    const dtNs = nowNs - prev.monoNs;
    const processes: ProcessUsage[] = [];
    for (const cur of procs.values()) {
      const p = prev.procs.get(cur.pid);
      const u = p === undefined ? undefined : processUsage(p, cur, dtNs, this.constants);
      if (u !== undefined) processes.push(u);
    }
    const out: NodeSample = {
      monoNs: nowNs,
      wallMs: Date.now(),
      intervalMs: Number(dtNs) / 1e6,
      interfaces: net !== undefined && prev.net !== undefined ? netDevRates(prev.net, net, dtNs) : [],
      processes,
    };
    const cpu = stat !== undefined && prev.stat !== undefined ? cpuUsage(prev.stat, stat) : undefined;
    if (cpu !== undefined) out.cpu = cpu;
    if (memory !== undefined) out.memory = memory;
    return out;
  }

  private readProcesses(nowNs: bigint): Map<number, ProcessStat> {
    const tick = ++this.tick;
    const procs = new Map<number, ProcessStat>();
    for (const pid of this.pids()) {
      let entry = this.pidFiles.get(pid);
      if (entry === undefined) {
        entry = { file: new ProcFile(`${this.procRoot}/${pid}/stat`, this.reopenMs, true), tick };
        this.pidFiles.set(pid, entry);
      } else if (entry.tick === tick) {
        continue; // listed twice
      }
      entry.tick = tick;
      const bytes = entry.file.readBytes(nowNs);
      const ps = bytes === undefined ? undefined : parseProcessStat(bytes);
      if (ps !== undefined) procs.set(pid, ps);
    }
    if (this.pidFiles.size > procs.size) {
      for (const [pid, e] of this.pidFiles) {
        if (e.tick !== tick) {
          e.file.close();
          this.pidFiles.delete(pid);
        }
      }
    }
    return procs;
  }

  /** Forget the previous reads; the next {@link sample} primes again. */
  reset(): void {
    this.prev = undefined;
  }

  /** Close every kept descriptor (a later {@link sample} reopens what it needs). */
  close(): void {
    this.netFile.close();
    this.statFile.close();
    this.memFile.close();
    for (const e of this.pidFiles.values()) e.file.close();
    this.pidFiles.clear();
  }
}

/** A {@link SamplerSet} with clock ticks per second and page size read once via getconf (unless given). */
export async function createSamplerSet(opts: SamplerOptions = {}): Promise<SamplerSet> {
  return new SamplerSet({ ...opts, constants: opts.constants ?? (await readProcConstants()) });
}

export { compileNameFilter, DEFAULT_EXCLUDE } from "./filter.js";
export type { NameFilter } from "./filter.js";
export { netDevPathFor, netDevRates, parseNetDev, readNetDev } from "./netdev.js";
export type { InterfaceRate, NetDevCounters } from "./netdev.js";
export { cpuUsage, parseProcStat, readProcStat } from "./cpu.js";
export type { CoreTimes, CoreUsage, CpuTimes, CpuUsage, ProcStat } from "./cpu.js";
export { parseMeminfo, readMeminfo } from "./memory.js";
export type { MemoryInfo } from "./memory.js";
export { DEFAULT_PAGE_SIZE, DEFAULT_TICKS_PER_SECOND, parseProcessStat, processUsage, readProcConstants, readProcessStat } from "./process.js";
export type { ProcConstants, ProcessStat, ProcessUsage } from "./process.js";
export { DEFAULT_REOPEN_MS, ProcFile } from "./procfile.js";
