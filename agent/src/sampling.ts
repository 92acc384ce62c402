/**
 * Sampling sessions on the agent: a case's window (samples kept, returned on
 * stop) and live streams (samples sent in batches while someone watches).
 * Each session owns a SamplerSet ticking on its own interval; nothing runs
 * when nobody asked.
 */
import type { Logger } from "pino";
import type { InterfaceFilter, NodeSample } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { SamplerSet, type ProcConstants, type SamplerOptions } from "./samplers/index.js";
import { pbNodeSample } from "./sample-convert.js";
import { toolPids } from "./tool-pids.js";
import { AGENT_LIMITS, deadlineProblem } from "../../tools/src/limits.js";

/** Bounds on what a coordinator may ask for. */
export const SAMPLING_LIMITS = { minIntervalMs: 10, maxIntervalMs: 60_000, maxSamples: 100_000, maxBatchDelayMs: 500 } as const;

export interface SamplingOptions {
  /** Root of procfs, default /proc. */
  procRoot: string;
  /** Path of the net/dev file to read NIC counters from (the host's /proc/1/net/dev for a pod agent). */
  netDevPath?: string;
  /** Clock ticks per second and page size (read once with getconf). */
  constants: ProcConstants;
  log: Logger;
}

interface Session {
  set: SamplerSet;
  timer: NodeJS.Timeout;
  deadline?: NodeJS.Timeout;
  samples: NodeSample[];
}

function checkInterval(ms: number): number {
  const v = ms || 100;
  if (v < SAMPLING_LIMITS.minIntervalMs || v > SAMPLING_LIMITS.maxIntervalMs) {
    throw new NetmatrixError("invalid-argument", `sampling interval ${v} ms is outside ${SAMPLING_LIMITS.minIntervalMs}..${SAMPLING_LIMITS.maxIntervalMs} ms`);
  }
  return v;
}

export class SamplingManager {
  private readonly sessions = new Map<string, Session>();
  private readonly streams = new Map<string, { set: SamplerSet; timer: NodeJS.Timeout; flush: NodeJS.Timeout }>();

  constructor(private readonly opts: SamplingOptions) {}

  private samplerFor(filter: InterfaceFilter | undefined): SamplerSet {
    const o: SamplerOptions = {
      procRoot: this.opts.procRoot,
      constants: this.opts.constants,
      pids: () => [process.pid, ...toolPids()],
    };
    if (this.opts.netDevPath) o.netDevPath = this.opts.netDevPath;
    if (filter?.include.length) o.include = filter.include;
    if (filter?.exclude.length) o.exclude = filter.exclude;
    return new SamplerSet(o);
  }

  /** Start ticking `set` every `intervalMs`; each finished sample goes to `onSample`. */
  private tick(set: SamplerSet, intervalMs: number, onSample: (s: NodeSample) => void): NodeJS.Timeout {
    set.sample(process.hrtime.bigint()); // prime: the first read only sets the baseline
    return setInterval(() => {
      const s = set.sample(process.hrtime.bigint());
      if (s) onSample(pbNodeSample(s, process.pid));
    }, intervalMs);
  }

  /** Start sampling a case's window; it ends by itself after `deadlineMs`. */
  start(id: string, intervalMs: number, filter: InterfaceFilter | undefined, deadlineMs: number): void {
    const interval = checkInterval(intervalMs);
    // Bounds on what any coordinator may ask: so many windows at once, each ending by itself within the cap.
    const late = deadlineProblem("sampling", deadlineMs);
    if (late) throw new NetmatrixError("invalid-argument", `sampling refused: ${late}`);
    if (this.sessions.size >= AGENT_LIMITS.samplingWindows) {
      throw new NetmatrixError("resource-exhausted", `this agent already samples ${this.sessions.size} case windows, the most it keeps at once (${AGENT_LIMITS.samplingWindows})`);
    }
    const set = this.samplerFor(filter);
    const session: Session = { set, samples: [], timer: undefined as unknown as NodeJS.Timeout };
    session.timer = this.tick(set, interval, (s) => {
      if (session.samples.length < SAMPLING_LIMITS.maxSamples) session.samples.push(s);
    });
    if (deadlineMs > 0) session.deadline = setTimeout(() => clearInterval(session.timer), deadlineMs);
    this.sessions.set(id, session);
  }

  /**
   * Stop a case's sampling and hand back its samples, including a last
   * partial interval up to now, so no traffic between the last tick and the
   * stop is lost.
   */
  stop(id: string): NodeSample[] {
    const s = this.sessions.get(id);
    if (!s) throw new NetmatrixError("not-found", `no sampling session ${id} on this agent`);
    clearInterval(s.timer);
    if (s.deadline) clearTimeout(s.deadline);
    const last = s.set.sample(process.hrtime.bigint());
    if (last && s.samples.length < SAMPLING_LIMITS.maxSamples) s.samples.push(pbNodeSample(last, process.pid));
    s.set.close();
    this.sessions.delete(id);
    return s.samples;
  }

  /** Stream samples to `send` in batches (at most every 500 ms, at least every interval). */
  startStream(streamId: string, intervalMs: number, filter: InterfaceFilter | undefined, send: (batch: NodeSample[]) => void): void {
    this.stopStream(streamId);
    const interval = checkInterval(intervalMs || 1000);
    const pending: NodeSample[] = [];
    const set = this.samplerFor(filter);
    const timer = this.tick(set, interval, (s) => pending.push(s));
    const flush = setInterval(
      () => {
        if (pending.length) send(pending.splice(0));
      },
      Math.min(Math.max(interval, 100), SAMPLING_LIMITS.maxBatchDelayMs),
    );
    this.streams.set(streamId, { set, timer, flush });
    this.opts.log.debug({ streamId, intervalMs: interval }, "stream started");
  }

  stopStream(streamId: string): void {
    const s = this.streams.get(streamId);
    if (!s) return;
    clearInterval(s.timer);
    clearInterval(s.flush);
    s.set.close();
    this.streams.delete(streamId);
  }

  /** Stop everything (session lost, shutdown). */
  stopAll(): void {
    for (const id of [...this.sessions.keys()]) this.stop(id);
    for (const id of [...this.streams.keys()]) this.stopStream(id);
  }
}
