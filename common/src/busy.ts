/**
 * The busy-machine guard: when a measurement measured CPU rather than the
 * network. Every threshold is here, with why it is what it is; the rules are
 * pure functions over figures the agents sample (coordinator/src/usage.ts
 * turns samples into those figures, coordinator/src/case-runner.ts flags the
 * repetition, report/src/report-document.ts the cases).
 *
 * - A repetition is `cpu-bound` when, over the time its tool ran, either end
 *   broke one of the {@link CPU_BOUND} rules.
 * - Before a run, a node whose agent last reported it busy gets a warning
 *   ({@link BUSY_BEFORE_RUN}); a warning, not a verdict: the cases where the
 *   load mattered are the ones flagged cpu-bound.
 * - A pod path faster than its host-host baseline on the same node pair
 *   makes both `baseline-suspect` ({@link BASELINE_SUSPECT}): pods ride on the
 *   host network and cannot beat it, so the baseline was held back
 *   (typically by CPU).
 */

/**
 * When one end of a repetition counts as CPU-saturated. Figures are means
 * over the samples in which that end's tool ran.
 */
export const CPU_BOUND = {
  /**
   * Node CPU busy (all cores, everything but idle and iowait), % of the node.
   * 90 %: a node that busy has less than a tenth of its CPU left for the
   * tool, its softirqs and the kernel's network stack; the measurement then
   * waits for CPU. The traffic's own cost counts too: a node saturated by the
   * measurement itself (loopback, a fast NIC on few cores) is CPU-bound as well.
   */
  nodeBusyPercent: 90,
  /**
   * The end's tool processes, % of ONE core, per stream the tool may spread
   * over (at most the node's cores): 95 % of a core for one stream. A
   * single-threaded sender or receiver (iperf3 before 3.16, qperf) cannot go
   * faster than its core; 95 rather than 100 leaves room for sampling
   * granularity (10 ms ticks) and the tool's idle moments at start and end.
   */
  toolCorePercent: 95,
  /**
   * Steal time, % of the node: the hypervisor ran someone else while this
   * VM wanted the CPU. 10 %: a tenth of the machine's time went to another
   * VM over the whole measurement; a noisy neighbour or a burstable instance
   * out of credits (which shows far more), not jitter.
   */
  stealPercent: 10,
} as const;

/** When a node counts as busy before a run (its agent's last heartbeat). */
export const BUSY_BEFORE_RUN = {
  /**
   * Node CPU busy over the agent's last heartbeat interval (2 s by default),
   * the agent's own CPU left out, % of the node. An idle node shows a few %;
   * half the node taken by something else leaves the measurement competing
   * for CPU. Lower than {@link CPU_BOUND}'s 90 %: the measurement adds its own load.
   */
  cpuBusyPercent: 50,
  /** Steal time, % of the node (as {@link CPU_BOUND}'s). */
  stealPercent: 10,
} as const;

/**
 * A pod path whose mean throughput is more than this fraction above its
 * host-host baseline's (same node pair, tool, protocol, direction,
 * parameters) flags both. 5 %: repetitions of one path differ by a few %
 * on an idle machine, so a pod path 1–2 % "faster" is noise, not a suspect baseline.
 */
export const BASELINE_SUSPECT = { marginPercent: 5 } as const;

/** A rule of {@link CPU_BOUND} one end broke. */
export type CpuBoundReason = "node-busy" | "tool-core" | "steal";

/** One end's CPU over a repetition's measured interval (the fields of the EndCpu message). */
export interface EndCpuFigures {
  /** "client" or "server". */
  end: string;
  node: string;
  /** The node's cores; 0 when unknown. */
  cpuCount: number;
  /** Samples behind the figures; none, no verdict. */
  samples: number;
  /** % of the node. */
  nodeBusyPercent: number;
  /** % of one core. */
  toolCpuPercent: number;
  /** % of the node. */
  stealPercent: number;
  /** Run queue (runnable tasks), mean; undefined when not reported. */
  procsRunning?: number | undefined;
}

/** The tool CPU (% of one core) at which an end is CPU-bound with `parallel` streams on `cpuCount` cores (0: unknown). */
export function toolCoreLimit(parallel: number, cpuCount: number): number {
  const streams = Math.max(1, Math.floor(parallel) || 1);
  const cores = cpuCount > 0 ? Math.min(streams, cpuCount) : streams;
  return CPU_BOUND.toolCorePercent * cores;
}

/** The {@link CPU_BOUND} rules `e` broke, in a fixed order; empty when it broke none or has no samples. */
export function cpuBoundReasons(e: EndCpuFigures, parallel = 1): CpuBoundReason[] {
  if (e.samples <= 0) return [];
  const out: CpuBoundReason[] = [];
  if (e.nodeBusyPercent >= CPU_BOUND.nodeBusyPercent) out.push("node-busy");
  if (e.toolCpuPercent >= toolCoreLimit(parallel, e.cpuCount)) out.push("tool-core");
  if (e.stealPercent >= CPU_BOUND.stealPercent) out.push("steal");
  return out;
}

const pct = (v: number): string => `${Math.round(v)} %`;
const one = (v: number): string => (Math.round(v * 10) / 10).toFixed(1);

/**
 * Why `ends` make a repetition cpu-bound, for people, one clause per end
 * that broke a rule: "client node-1: node CPU 98 % busy (≥ 90 %), iperf3 at
 * 97 % of one core (≥ 95 %); run queue 4.2 on 2 cores". "" when none did.
 */
export function cpuBoundText(ends: readonly (EndCpuFigures & { reasons: readonly string[] })[], tool: string, parallel = 1): string {
  return ends
    .filter((e) => e.reasons.length)
    .map((e) => {
      const why = e.reasons.map((r) => {
        if (r === "node-busy") return `node CPU ${pct(e.nodeBusyPercent)} busy (≥ ${CPU_BOUND.nodeBusyPercent} %)`;
        if (r === "tool-core") {
          const limit = toolCoreLimit(parallel, e.cpuCount);
          return `${tool} at ${pct(e.toolCpuPercent)} of one core (≥ ${limit} %${limit > CPU_BOUND.toolCorePercent ? `: ${limit / CPU_BOUND.toolCorePercent} streams` : ""})`;
        }
        if (r === "steal") return `steal ${pct(e.stealPercent)} (≥ ${CPU_BOUND.stealPercent} %)`;
        return r;
      });
      const queue = e.procsRunning !== undefined ? `run queue ${one(e.procsRunning)}` : "";
      const cores = e.cpuCount > 0 ? `${e.cpuCount} core${e.cpuCount === 1 ? "" : "s"}` : "";
      const context = queue && cores ? `${queue} on ${cores}` : queue || cores;
      return `${e.end} ${e.node}: ${why.join(", ")}${context ? `; ${context}` : ""}`;
    })
    .join("; ");
}

/** A node's load as its agent reports it (the fields of the NodeLoad message). */
export interface NodeLoadFigures {
  cpuBusyPercent: number;
  stealPercent: number;
  loadAverage1m: number;
  cpuCount: number;
}

/**
 * The warning for a node busy before a run, or undefined when it is not
 * ({@link BUSY_BEFORE_RUN}): "node-1: CPU 87 % busy before the run (load 3.9
 * on 2 cores): results may measure CPU, not the network; cases where it
 * matters are flagged cpu-bound".
 */
export function busyBeforeRun(node: string, load: NodeLoadFigures | undefined): string | undefined {
  if (!load) return undefined;
  const busy = load.cpuBusyPercent >= BUSY_BEFORE_RUN.cpuBusyPercent;
  const steal = load.stealPercent >= BUSY_BEFORE_RUN.stealPercent;
  if (!busy && !steal) return undefined;
  const what = [`CPU ${pct(load.cpuBusyPercent)} busy`, ...(steal ? [`${pct(load.stealPercent)} stolen by the hypervisor`] : [])].join(", ");
  const cores = load.cpuCount > 0 ? ` on ${load.cpuCount} core${load.cpuCount === 1 ? "" : "s"}` : "";
  return `${node}: ${what} before the run (load ${load.loadAverage1m.toFixed(1)}${cores}): results may measure CPU, not the network; cases where it matters are flagged cpu-bound`;
}

/**
 * True when a pod path's mean (`value`) beats its host-host baseline's mean
 * by more than {@link BASELINE_SUSPECT}'s margin. Higher is better: pass
 * throughputs (bits/s). False when either is missing or the baseline is not positive.
 */
export function beatsBaseline(value: number | undefined, baseline: number | undefined): boolean {
  if (value === undefined || baseline === undefined || !Number.isFinite(value) || !Number.isFinite(baseline) || baseline <= 0) return false;
  return value > baseline * (1 + BASELINE_SUSPECT.marginPercent / 100);
}
