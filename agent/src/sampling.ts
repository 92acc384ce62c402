/**
 * Sampling sessions on the agent: a case's window (samples kept, returned on
 * stop) and live streams (samples sent in batches, at most one a second,
 * while someone watches). Each session owns a SamplerSet ticking on its own
 * interval; nothing runs when nobody asked.
 */
import type { Logger } from "pino";
import type { InterfaceFilter } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { SamplerSet, type NodeSample, type ProcConstants, type SamplerOptions } from "./samplers/index.js";
import { toolPids } from "./tool-pids.js";
import { AGENT_LIMITS, deadlineProblem } from "../../tools/src/limits.js";

/**
 * Bounds on what a coordinator may ask for, and how live samples travel: a
 * stream sends its first sample at once, then at most one batch per
 * `batchMs` (the samples taken since the last one, at most
 * `maxBatchSamples`); a 1 s stream's sample goes out as it is taken.
 */
export const SAMPLING_LIMITS = { minIntervalMs: 10, maxIntervalMs: 60_000, maxSamples: 100_000, batchMs: 1000, maxBatchSamples: 100 } as const;

/** A batch goes out at the first tick at most this much before `batchMs` has passed (timers fire a little early or late), ms. */
const BATCH_SLACK_MS = 50;

export interface SamplingOptions {
  /** Root of procfs, default /proc. */
  procRoot: string;
  /** Path of the net/dev file to read NIC counters from (the host's /proc/1/net/dev for a pod agent). */
  netDevPath?: string;
  /** Clock ticks per second and page size (read once with getconf). */
  constants: ProcConstants;
  log: Logger;
}

/** A case's window: the samples as taken (encoded for the wire once, on stop: ./sample-wire.ts). */
interface Window {
  set: SamplerSet;
  timer: NodeJS.Timeout;
  samples: NodeSample[];
}

/** A live stream: samples gathered into batches. */
interface Stream {
  set: SamplerSet;
  timer: NodeJS.Timeout;
}

function checkInterval(ms: number): number {
  const v = ms || 100;
  if (v < SAMPLING_LIMITS.minIntervalMs || v > SAMPLING_LIMITS.maxIntervalMs) {
    throw new NetmatrixError("invalid-argument", `sampling interval ${v} ms is outside ${SAMPLING_LIMITS.minIntervalMs}..${SAMPLING_LIMITS.maxIntervalMs} ms`);
  }
  return v;
}

/**
 * Sampling windows and live streams. Each has one SamplerSet and one timer
 * (no separate deadline or flush timer); with none of either, nothing runs.
 * Per tick: one read of each procfs file and the rates, kept as the
 * samplers' plain objects; the session encodes what goes on the wire (a
 * batch, a stopped window's samples) straight to bytes (./sample-wire.ts).
 */
export class SamplingManager {
  private readonly sessions = new Map<string, Window>();
  private readonly streams = new Map<string, Stream>();
  private readonly pids = (): number[] => [process.pid, ...toolPids()];

  constructor(private readonly opts: SamplingOptions) {}

  /** Windows and streams sampling now (their timers). */
  get active(): number {
    return this.sessions.size + this.streams.size;
  }

  private samplerFor(filter: InterfaceFilter | undefined): SamplerSet {
    const o: SamplerOptions = {
      procRoot: this.opts.procRoot,
      constants: this.opts.constants,
      pids: this.pids,
    };
    if (this.opts.netDevPath) o.netDevPath = this.opts.netDevPath;
    if (filter?.include.length) o.include = filter.include;
    if (filter?.exclude.length) o.exclude = filter.exclude;
    return new SamplerSet(o);
  }

  /** Start sampling a case's window; it stops ticking by itself after `deadlineMs` (0: no deadline). */
  start(id: string, intervalMs: number, filter: InterfaceFilter | undefined, deadlineMs: number): void {
    const interval = checkInterval(intervalMs);
    // Bounds on what any coordinator may ask: so many windows at once, each ending by itself within the cap.
    const late = deadlineProblem("sampling", deadlineMs);
    if (late) throw new NetmatrixError("invalid-argument", `sampling refused: ${late}`);
    if (this.sessions.size >= AGENT_LIMITS.samplingWindows) {
      throw new NetmatrixError("resource-exhausted", `this agent already samples ${this.sessions.size} case windows, the most it keeps at once (${AGENT_LIMITS.samplingWindows})`);
    }
    const set = this.samplerFor(filter);
    const samples: NodeSample[] = [];
    const startNs = process.hrtime.bigint();
    const endNs = deadlineMs > 0 ? startNs + BigInt(Math.round(deadlineMs * 1e6)) : undefined;
    set.sample(startNs); // prime: the first read only sets the baseline
    const timer = setInterval(() => {
      const now = process.hrtime.bigint();
      if (endNs !== undefined && now >= endNs) {
        // Past its deadline (the coordinator never stopped it): stop ticking and let go of the descriptors.
        clearInterval(timer);
        set.close();
        return;
      }
      const s = set.sample(now);
      if (s && samples.length < SAMPLING_LIMITS.maxSamples) samples.push(s);
    }, interval);
    this.sessions.set(id, { set, timer, samples });
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
    const last = s.set.sample(process.hrtime.bigint());
    if (last && s.samples.length < SAMPLING_LIMITS.maxSamples) s.samples.push(last);
    s.set.close();
    this.sessions.delete(id);
    return s.samples;
  }

  /**
   * Stream samples to `send`, every `intervalMs`, in batches: the first
   * sample as it is taken, then at most one batch per
   * SAMPLING_LIMITS.batchMs, of at most maxBatchSamples samples; a stream at
   * 1 s or slower sends each sample as it is taken.
   */
  startStream(streamId: string, intervalMs: number, filter: InterfaceFilter | undefined, send: (batch: NodeSample[]) => void): void {
    this.stopStream(streamId);
    const interval = checkInterval(intervalMs || 1000);
    const set = this.samplerFor(filter);
    const batchNs = BigInt(Math.round((SAMPLING_LIMITS.batchMs - Math.min(BATCH_SLACK_MS, interval / 2)) * 1e6));
    const pending: NodeSample[] = [];
    // When the last batch went out; none yet: the first sample goes out as it is taken (a watcher sees the node at once).
    let sentNs: bigint | undefined;
    set.sample(process.hrtime.bigint()); // prime
    const timer = setInterval(() => {
      const now = process.hrtime.bigint();
      const s = set.sample(now);
      if (s) pending.push(s);
      if (pending.length && (sentNs === undefined || pending.length >= SAMPLING_LIMITS.maxBatchSamples || now - sentNs >= batchNs)) {
        sentNs = now;
        send(pending.splice(0));
      }
    }, interval);
    this.streams.set(streamId, { set, timer });
    this.opts.log.debug({ streamId, intervalMs: interval }, "stream started");
  }

  stopStream(streamId: string): void {
    const s = this.streams.get(streamId);
    if (!s) return;
    clearInterval(s.timer);
    s.set.close();
    this.streams.delete(streamId);
  }

  /** Stop everything (session lost, shutdown). */
  stopAll(): void {
    for (const id of [...this.sessions.keys()]) this.stop(id);
    for (const id of [...this.streams.keys()]) this.stopStream(id);
  }
}
