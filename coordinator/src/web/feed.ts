/**
 * One browser's live feed over a WebSocket: what it asked to watch, and a
 * bounded outbox. When the socket backs up (a slow or stuck browser) the
 * coordinator keeps only the newest batch per agent for it and drops the
 * older ones, so memory stays bounded whatever the browser does.
 */
import type { WebSocket } from "ws";
import type { LiveBatch } from "../watch-hub.js";
import { modes } from "../../../common/src/model.js";

/** Bytes queued in the socket above which new batches wait (and replace older waiting ones). */
export const MAX_BUFFERED_BYTES = 256 * 1024;
/** A browser whose socket stays backed up this long is cut off. */
export const FEED_STALL_MS = 30_000;

/** The JSON a browser receives for one batch: rates in bits/s and packets/s, CPU in % of the node. */
export function batchMessage(b: LiveBatch): string {
  return JSON.stringify({
    type: "batch",
    agentId: b.agentId,
    node: b.node,
    mode: modes.toName(b.mode) ?? "unknown",
    samples: b.samples.map((s) => ({
      wallMs: s.wallMs,
      intervalMs: s.intervalMs,
      cpuPercent: s.cpu?.totalPercent ?? null,
      interfaces: s.interfaces.map((i) => ({ name: i.name, rxBps: i.rxBps, txBps: i.txBps, rxPps: i.rxPps, txPps: i.txPps })),
    })),
  });
}

export class Feed {
  /** Newest waiting batch per agent (older ones are dropped). */
  private readonly waiting = new Map<string, LiveBatch>();
  /** Batches dropped because the socket was backed up. */
  dropped = 0;
  sent = 0;

  /** Monotonic ms since when the socket has been backed up; undefined while it takes batches. */
  private blockedSince: number | undefined;
  private stalled = false;

  constructor(
    private readonly ws: Pick<WebSocket, "send" | "bufferedAmount" | "readyState" | "OPEN">,
    private readonly maxBuffered = MAX_BUFFERED_BYTES,
    /** Called once when the socket stayed backed up for `stallMs`: the server closes it. */
    private readonly stall: { ms: number; onStall(reason: string): void } = { ms: FEED_STALL_MS, onStall: () => undefined },
  ) {}

  /** Queue a batch: send now if the socket has room, else keep it as this agent's newest. */
  push(b: LiveBatch): void {
    if (this.stalled) return void this.dropped++;
    if (this.waiting.has(b.agentId)) this.dropped++;
    this.waiting.set(b.agentId, b);
    this.flush();
  }

  /** Send what waits while the socket has room. Call again when it drains. */
  flush(): void {
    if (this.ws.readyState !== this.ws.OPEN || this.stalled) return;
    if (this.ws.bufferedAmount > this.maxBuffered) {
      this.blockedSince ??= performance.now();
      if (performance.now() - this.blockedSince >= this.stall.ms) {
        this.stalled = true;
        this.dropped += this.waiting.size;
        this.waiting.clear();
        this.stall.onStall(`the browser took nothing for ${Math.round(this.stall.ms / 1000)} s`);
      }
      return;
    }
    this.blockedSince = undefined;
    for (const [id, b] of this.waiting) {
      if (this.ws.bufferedAmount > this.maxBuffered) return;
      this.waiting.delete(id);
      this.ws.send(batchMessage(b));
      this.sent++;
    }
  }

  /** How many batches wait (at most one per agent). */
  get backlog(): number {
    return this.waiting.size;
  }
}
