/**
 * Dropping agents whose heartbeats stopped but whose connection did not (a
 * frozen process, a link cut without TCP noticing): an agent silent for
 * longer than the timeout is dropped. Silent means the agent said nothing,
 * not that the coordinator heard nothing: while the coordinator's own event
 * loop is stalled (a long synchronous piece of work, a GC pause, a machine
 * swapping) every agent's heartbeats wait unread in their sockets, and
 * dropping agents for that would turn one slow moment into a cluster-wide
 * reconnect. So the sweep measures the stalls itself: it runs every
 * `everyMs`, and its timer's lateness is time the loop was not running;
 * that time, since an agent's last message, does not count against it.
 */
import type { Logger } from "pino";
import type { AgentLink } from "./agent-link.js";

/** What the sweep reads of an agent. */
export type SweptLink = Pick<AgentLink, "id" | "lastSeen">;

/** A stall at least this long is logged, ms. */
const LOGGED_STALL_MS = 1000;

/** The silence after which an agent asked for heartbeats every `heartbeatIntervalMs` is dropped: three missed, plus 5 s. */
export function heartbeatTimeoutMs(heartbeatIntervalMs: number): number {
  return heartbeatIntervalMs * 3 + 5_000;
}

/** The decisions of the sweep, without its timer (see the module comment). */
export class SilenceSweep {
  /** Per agent: its lastSeen when the sweep last looked, and the stall time since then. */
  private readonly excused = new WeakMap<SweptLink, { lastSeen: number; ms: number }>();
  private last: number;
  /** The loop's stall time the sweep has measured in all, ms. */
  stalledMs = 0;

  constructor(
    readonly timeoutMs: number,
    readonly everyMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.last = this.now();
  }

  /** One sweep, at its tick: the loop's stall since the previous one (ms), and the agents silent for longer than the timeout, that stall left out. */
  sweep<L extends SweptLink>(links: Iterable<L>): { stallMs: number; silent: L[] } {
    const now = this.now();
    const stallMs = Math.max(0, now - this.last - this.everyMs);
    this.last = now;
    this.stalledMs += stallMs;
    const silent: L[] = [];
    for (const link of links) {
      let e = this.excused.get(link);
      if (!e) this.excused.set(link, (e = { lastSeen: link.lastSeen, ms: 0 }));
      else if (e.lastSeen !== link.lastSeen) {
        // Heard from since the last sweep: only stalls from now on count for it.
        e.lastSeen = link.lastSeen;
        e.ms = 0;
      }
      e.ms += stallMs;
      if (now - link.lastSeen - e.ms > this.timeoutMs) silent.push(link);
    }
    return { stallMs, silent };
  }
}

export interface HeartbeatSweepOptions {
  /** The live agents now (read each tick). */
  links: () => Iterable<AgentLink>;
  /** Drop one agent (it was silent too long). */
  drop: (link: AgentLink, reason: string) => void;
  heartbeatIntervalMs: number;
  log: Logger;
}

/** Run the sweep every second (or every heartbeat interval, when shorter) until `stop()`. */
export function startHeartbeatSweep(o: HeartbeatSweepOptions): { sweep: SilenceSweep; stop(): void } {
  const timeoutMs = heartbeatTimeoutMs(o.heartbeatIntervalMs);
  const sweep = new SilenceSweep(timeoutMs, Math.min(1000, o.heartbeatIntervalMs));
  const timer = setInterval(() => {
    const { stallMs, silent } = sweep.sweep(o.links());
    if (stallMs >= LOGGED_STALL_MS) {
      o.log.warn({ stallMs: Math.round(stallMs) }, `the coordinator's event loop stalled for ${(stallMs / 1000).toFixed(1)} s; agents' silence during it is not held against them`);
    }
    for (const link of silent) {
      o.log.warn({ agentId: link.id }, "agent missed its heartbeats; dropping it");
      o.drop(link, `no heartbeat for ${Math.round(timeoutMs / 1000)} s`);
    }
  }, sweep.everyMs);
  return { sweep, stop: () => clearInterval(timer) };
}
