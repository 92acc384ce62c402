/**
 * Small pure number helpers shared by the drivers. No I/O.
 */

/**
 * The p-th percentile (0..100) of `sorted` (ascending), by linear
 * interpolation between the closest ranks (rank = p/100 × (n − 1), the same
 * rule as numpy's default). Undefined for an empty list.
 */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  const n = sorted.length;
  if (n === 0 || !Number.isFinite(p)) return undefined;
  const clamped = Math.min(100, Math.max(0, p));
  const rank = (clamped / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (rank - lo);
}

/** Arithmetic mean; undefined for an empty list. */
export function mean(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  return sum(values) / values.length;
}

/** Sum of `values` (0 for an empty list). */
export function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

/** Population standard deviation; undefined for an empty list. */
export function stddev(values: readonly number[]): number | undefined {
  const m = mean(values);
  if (m === undefined) return undefined;
  return Math.sqrt(mean(values.map((v) => (v - m) ** 2))!);
}

/** `x` when it is a finite number, else undefined (guards NaN/Infinity/strings from parsed output). */
export function finite(x: unknown): number | undefined {
  return typeof x === "number" && Number.isFinite(x) ? x : undefined;
}

/** Parse a decimal number from tool text, allowing thousands separators ("45,402"); undefined when not a number. */
export function parseDecimal(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const cleaned = text.replace(/,/g, "").trim();
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(cleaned)) return undefined;
  return finite(Number(cleaned));
}

/** `x` as a non-negative integer (for protobuf uint32 fields such as retransmits), undefined when not representable. */
export function count(x: number | undefined): number | undefined {
  if (x === undefined || !Number.isFinite(x) || x < 0) return undefined;
  return Math.round(x);
}
