/**
 * Per-agent locks so an agent is in at most one case at a time. Both agents of
 * a case are taken in id order, so two cases never wait on each other.
 */
export class AgentLocks {
  private readonly tails = new Map<string, Promise<void>>();

  /** True while a case holds `id`. */
  busy(id: string): boolean {
    return this.tails.has(id);
  }

  /** Take every id in `ids`; resolves with the function that releases them all. */
  async acquire(ids: string[]): Promise<() => void> {
    const releases: (() => void)[] = [];
    for (const id of [...new Set(ids)].sort()) releases.push(await this.one(id));
    return () => releases.forEach((r) => r());
  }

  private async one(id: string): Promise<() => void> {
    const previous = this.tails.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.tails.set(id, tail);
    await previous;
    return () => {
      release();
      if (this.tails.get(id) === tail) this.tails.delete(id);
    };
  }
}
