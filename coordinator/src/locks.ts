/**
 * Per-agent locks so an agent is in at most one case at a time. Both agents of
 * a case are taken in id order, so two cases never wait on each other. A
 * caller that goes away while it waits (its signal aborts) gives its place up.
 */
import { NetmatrixError } from "../../common/src/errors.js";

export class AgentLocks {
  private readonly tails = new Map<string, Promise<void>>();

  /** True while a case holds `id`. */
  busy(id: string): boolean {
    return this.tails.has(id);
  }

  /**
   * Take every id in `ids`; resolves with the function that releases them all.
   * Rejects (cancelled), holding nothing, when `signal` aborts first.
   */
  async acquire(ids: string[], signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw new NetmatrixError("cancelled", "the caller went away before it got the agents");
    const releases: (() => void)[] = [];
    const releaseAll = (): void => releases.forEach((r) => r());
    try {
      for (const id of [...new Set(ids)].sort()) releases.push(await this.one(id, signal));
    } catch (err) {
      releaseAll();
      throw err;
    }
    return releaseAll;
  }

  private async one(id: string, signal?: AbortSignal): Promise<() => void> {
    const previous = this.tails.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.tails.set(id, tail);
    const free = (): void => {
      release();
      if (this.tails.get(id) === tail) this.tails.delete(id);
    };
    if (signal) {
      let onAbort!: () => void;
      const aborted = new Promise<"aborted">((r) => {
        onAbort = () => r("aborted");
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      });
      const first = await Promise.race([previous.then(() => "mine" as const), aborted]);
      signal.removeEventListener("abort", onAbort);
      if (first === "aborted") {
        // Our place passes straight on to whoever waits behind us once the holder is done (then the entry goes, if nobody does).
        release();
        void tail.then(() => {
          if (this.tails.get(id) === tail) this.tails.delete(id);
        });
        throw new NetmatrixError("cancelled", `gave up waiting for agent ${id}: the caller went away`);
      }
    } else await previous;
    return free;
  }
}
