/**
 * A set of non-negative integers (below 2^53) in one typed array: open
 * addressing with linear probing, no per-entry allocation. The scheduler
 * keeps millions of (round, node) marks; a `Set<number>` per node costs
 * several times more time and memory. Fixed capacity: sized for the most
 * entries it will ever hold, it never rehashes. Pure.
 */
export class NumberSet {
  private readonly slots: Float64Array; // 0 = empty, else value + 1
  private readonly mask: number;
  private count = 0;
  private readonly limit: number;

  /** A set for up to `maxEntries` values (kept at most half full). */
  constructor(maxEntries: number) {
    let size = 16;
    while (size < maxEntries * 2) size *= 2;
    this.slots = new Float64Array(size);
    this.mask = size - 1;
    this.limit = maxEntries;
  }

  /** How many values are in the set. */
  get size(): number {
    return this.count;
  }

  /** Whether `value` is in the set. */
  has(value: number): boolean {
    const v = value + 1;
    const slots = this.slots;
    for (let i = this.slot(value); ; i = (i + 1) & this.mask) {
      const s = slots[i]!;
      if (s === v) return true;
      if (s === 0) return false;
    }
  }

  /** Add `value`; throws when the set already holds its `maxEntries`. */
  add(value: number): void {
    const v = value + 1;
    const slots = this.slots;
    let i = this.slot(value);
    for (; ; i = (i + 1) & this.mask) {
      const s = slots[i]!;
      if (s === v) return;
      if (s === 0) break;
    }
    if (this.count >= this.limit) throw new RangeError(`NumberSet: more than ${this.limit} entries`);
    slots[i] = v;
    this.count++;
  }

  /** Home slot: both 32-bit halves of the value, multiplied and folded. */
  private slot(value: number): number {
    const lo = value >>> 0;
    const hi = (value / 4294967296) >>> 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1);
    h ^= h >>> 15;
    return h & this.mask;
  }
}
