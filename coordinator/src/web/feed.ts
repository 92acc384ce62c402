/**
 * One browser's live feed over a WebSocket: the hub's ticks as JSON. A tick
 * goes out whole when the socket has room and is skipped (counted) when it
 * does not: nothing waits in the coordinator for a slow or stuck browser, and
 * the next tick it takes carries the newest of every agent. A browser that
 * takes nothing for 30 s (its socket stays backed up, or it answers no
 * ping) is cut off.
 */
import type { WebSocket } from "ws";
import type { LiveBatch, WatchSink } from "../watch-hub.js";
import { modes } from "../../../common/src/model.js";

/** Bytes queued in the socket above which a tick is skipped. */
export const MAX_BUFFERED_BYTES = 256 * 1024;
/** A browser whose socket stays backed up this long is cut off. */
export const FEED_STALL_MS = 30_000;

/** One agent's samples as the page reads them: rates in bits/s and packets/s, CPU in % of the node. */
function agentJson(b: LiveBatch): object {
  return {
    agentId: b.agentId,
    node: b.node,
    mode: modes.toName(b.mode) ?? "unknown",
    samples: b.samples.map((s) => ({
      wallMs: s.wallMs,
      intervalMs: s.intervalMs,
      cpuPercent: s.cpu?.totalPercent ?? null,
      interfaces: s.interfaces.map((i) => ({ name: i.name, rxBps: i.rxBps, txBps: i.txBps, rxPps: i.rxPps, txPps: i.txPps })),
    })),
  };
}

/** The JSON a browser receives per tick: every agent that sampled since the last one (`type: "tick"`). */
export function tickMessage(batches: readonly LiveBatch[], sentAtMs = Date.now()): string {
  return JSON.stringify({ type: "tick", sentAtMs, agents: batches.map(agentJson) });
}

export class Feed implements WatchSink {
  /** Ticks sent (the hub counts those it skipped). */
  sent = 0;

  /** Monotonic ms since when the socket has been backed up; undefined while it takes ticks. */
  private blockedSince: number | undefined;
  /** Monotonic ms of the ping not answered yet; undefined when none is out. */
  private pingSince: number | undefined;
  private stalled = false;

  constructor(
    private readonly ws: Pick<WebSocket, "send" | "bufferedAmount" | "readyState" | "OPEN" | "ping" | "on">,
    private readonly maxBuffered = MAX_BUFFERED_BYTES,
    /** Called once when the browser took nothing for `ms`: the server closes it. */
    private readonly stall: { ms: number; onStall(reason: string): void } = { ms: FEED_STALL_MS, onStall: () => undefined },
  ) {
    ws.on("pong", () => (this.pingSince = undefined));
  }

  /** Whether the socket takes a tick now; false while it is backed up (or closed). Checks the stall bound too. */
  ready(): boolean {
    if (this.ws.readyState !== this.ws.OPEN || this.stalled) return false;
    const room = this.ws.bufferedAmount <= this.maxBuffered;
    if (room) this.blockedSince = undefined;
    else this.checkStall();
    return room && !this.stalled;
  }

  /**
   * Call every second or so: cut the browser off once it took nothing for
   * the stall bound — its socket stayed backed up, or it answered no ping
   * (ticks are small now, so the kernel's socket buffers can hold minutes of
   * them before the socket backs up; a ping, read only after them, says
   * whether the browser reads at all).
   */
  checkStall(): void {
    if (this.stalled || this.ws.readyState !== this.ws.OPEN) return;
    const now = performance.now();
    if (this.ws.bufferedAmount > this.maxBuffered) this.blockedSince ??= now;
    else this.blockedSince = undefined;
    if (this.pingSince === undefined) {
      this.pingSince = now;
      this.ws.ping();
    }
    if (now - Math.min(this.blockedSince ?? now, this.pingSince) < this.stall.ms) return;
    this.stalled = true;
    this.stall.onStall(`the browser took nothing for ${Math.round(this.stall.ms / 1000)} s`);
  }

  /** Send one tick (the hub asked `ready()` first). */
  send(batches: LiveBatch[]): void {
    if (this.ws.readyState !== this.ws.OPEN || this.stalled) return;
    this.ws.send(tickMessage(batches));
    this.sent++;
  }

  /** Whether the browser was cut off for not reading. */
  get isStalled(): boolean {
    return this.stalled;
  }
}
