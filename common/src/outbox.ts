/**
 * A bounded outbox in front of a stream that pushes back — a grpc-js call,
 * whose `write()` returns false once its own buffer is full and emits
 * "drain" when the peer has taken it. While the stream takes messages they
 * go straight through. While it pushes back, the outbox holds:
 *
 * - messages that must all arrive (replies, commands), in order, at most
 *   `maxQueued`; one more cuts the stream off;
 * - messages only the newest of which matters (live samples), one per key:
 *   a newer one replaces the waiting one, which is counted as dropped.
 *
 * A stream that stays blocked longer than `stallMs` is cut off too. Cutting
 * off is the owner's job (`onCutOff`, called once, with the reason): end the
 * call with a clear status, or cancel it. Memory per stream is therefore
 * bounded whatever the peer does: the stream's own buffer (its high-water
 * mark), `maxQueued` messages and one message per key.
 */

/** What the outbox writes to: a Node Writable such as a grpc-js call. */
export interface OutboxTarget<T> {
  write(msg: T): boolean;
  once(event: "drain", listener: () => void): unknown;
  removeListener(event: "drain", listener: () => void): unknown;
  readonly writable: boolean;
}

export interface OutboxOptions {
  /** Must-arrive messages held while blocked; one more cuts the stream off. */
  maxQueued: number;
  /** Blocked this long (ms) without the peer taking anything: cut off. */
  stallMs: number;
  /** Called once when a bound is crossed; the owner ends the stream. */
  onCutOff(reason: string): void;
}

export class Outbox<T> {
  private blocked = false;
  private readonly queue: T[] = [];
  private readonly latest = new Map<string, T>();
  private stall: NodeJS.Timeout | undefined;
  private cut = false;
  /** Messages replaced by a newer one of the same key before they could be written. */
  dropped = 0;
  /** Messages handed to the stream. */
  written = 0;

  constructor(
    private readonly target: OutboxTarget<T>,
    private readonly opts: OutboxOptions,
  ) {}

  /** Whether the stream is pushing back right now. */
  get isBlocked(): boolean {
    return this.blocked;
  }

  /** Whether a bound was crossed (nothing is written any more). */
  get isCutOff(): boolean {
    return this.cut;
  }

  /** Messages waiting in the outbox (not counting the stream's own buffer). */
  get backlog(): number {
    return this.queue.length + this.latest.size;
  }

  /** Deliver `msg`, in order with the other `send`s. */
  send(msg: T): void {
    if (this.cut || !this.target.writable) return;
    if (!this.blocked) return this.write(msg);
    if (this.queue.length >= this.opts.maxQueued) {
      return this.cutOff(`the peer took nothing while ${this.queue.length} messages waited for it`);
    }
    this.queue.push(msg);
  }

  /** Deliver `msg`, unless a newer message with the same `key` replaces it while the stream is blocked. */
  sendLatest(key: string, msg: T): void {
    if (this.cut || !this.target.writable) return;
    if (!this.blocked) return this.write(msg);
    if (this.latest.has(key)) this.dropped++;
    // Re-inserting moves the key last, so keys are served oldest-waiting first.
    this.latest.delete(key);
    this.latest.set(key, msg);
  }

  /** Stop: drop what waits and forget the stream (its owner ended it). */
  close(): void {
    this.cut = true;
    this.clear();
  }

  private write(msg: T): void {
    this.written++;
    if (this.target.write(msg)) return;
    this.blocked = true;
    this.target.once("drain", this.onDrain);
    this.stall ??= setTimeout(() => this.cutOff(`the peer took nothing for ${Math.round(this.opts.stallMs / 1000)} s`), this.opts.stallMs);
  }

  private readonly onDrain = (): void => {
    if (this.cut) return;
    this.blocked = false;
    clearTimeout(this.stall);
    this.stall = undefined;
    while (!this.blocked && this.target.writable) {
      const next = this.queue.shift();
      if (next !== undefined) {
        this.write(next);
        continue;
      }
      const first = this.latest.entries().next();
      if (first.done) break;
      this.latest.delete(first.value[0]);
      this.write(first.value[1]);
    }
  };

  private cutOff(reason: string): void {
    if (this.cut) return;
    this.cut = true;
    this.clear();
    this.opts.onCutOff(reason);
  }

  private clear(): void {
    clearTimeout(this.stall);
    this.stall = undefined;
    this.target.removeListener("drain", this.onDrain);
    this.dropped += this.latest.size;
    this.queue.length = 0;
    this.latest.clear();
  }
}
