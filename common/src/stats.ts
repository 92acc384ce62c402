/**
 * The one home of the project's statistics: sums, means, percentiles, the
 * summary of a case's repetitions (with its 95 % confidence interval), the
 * ratio to a baseline, warning flags, and Student's t distribution
 * (@stdlib, for confidence intervals here and Welch's test in the report).
 * Values keep whatever unit they came in (bits/s, µs, …). Pure.
 */
import tCdf from "@stdlib/stats-base-dists-t-cdf";
import tQuantile from "@stdlib/stats-base-dists-t-quantile";

/** Sum of `values` (0 for an empty list), added in order. */
export function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

/** Arithmetic mean; undefined for an empty list. */
export function mean(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  return sum(values) / values.length;
}

/** The largest of `values`; undefined for an empty list. A loop, so a long series cannot overflow the call stack. */
export function max(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  let m = -Infinity;
  for (const v of values) if (v > m) m = v;
  return m;
}

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

/**
 * Sample variance (n − 1 in the denominator) around `m` (the mean, by
 * default computed here). Undefined for fewer than two values.
 */
export function sampleVariance(values: readonly number[], m: number | undefined = mean(values)): number | undefined {
  if (values.length < 2 || m === undefined) return undefined;
  let sq = 0;
  for (const v of values) sq += (v - m) ** 2;
  return sq / (values.length - 1);
}

/** Student's t distribution (from @stdlib): the cumulative distribution and the quantile function with `df` degrees of freedom. */
export const studentT = {
  /** P(T ≤ t). */
  cdf: (t: number, df: number): number => tCdf(t, df),
  /** The t with P(T ≤ t) = p. */
  quantile: (p: number, df: number): number => tQuantile(p, df),
};

/** Figures over the successful repetitions of one case, in the values' unit. */
export interface Summary {
  n: number;
  mean: number;
  /** 50th percentile (linear interpolation between closest ranks). */
  median: number;
  /** 90th percentile (same rule). */
  p90: number;
  min: number;
  max: number;
  /** Sample standard deviation (n − 1 in the denominator); undefined for n = 1. */
  stddev: number | undefined;
  /** Coefficient of variation, stddev / |mean| × 100, percent; undefined for n = 1 or mean 0. */
  cvPercent: number | undefined;
  /** 95 % confidence interval of the mean, mean ± t(0.975, n−1) × stddev / √n; undefined for n = 1. */
  ci95: { low: number; high: number } | undefined;
}

/**
 * Summarise `values` (one per successful repetition). Undefined for no
 * values: a failed repetition is a failure, not a zero, so callers pass only
 * measured values. Throws on a non-finite value.
 */
export function describe(values: readonly number[]): Summary | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  for (const v of values) {
    if (!Number.isFinite(v)) throw new RangeError(`describe: values must be finite numbers, got ${v}`);
  }
  const sorted = [...values].sort((a, b) => a - b);
  const m = mean(values)!;
  let stddev: number | undefined;
  let cvPercent: number | undefined;
  let ci95: Summary["ci95"];
  if (n > 1) {
    stddev = Math.sqrt(sampleVariance(values, m)!);
    cvPercent = m === 0 ? undefined : (stddev / Math.abs(m)) * 100;
    const half = (studentT.quantile(0.975, n - 1) * stddev) / Math.sqrt(n);
    ci95 = { low: m - half, high: m + half };
  }
  return {
    n,
    mean: m,
    median: percentile(sorted, 50)!,
    p90: percentile(sorted, 90)!,
    min: sorted[0]!,
    max: sorted[n - 1]!,
    stddev,
    cvPercent,
    ci95,
  };
}

/**
 * `value / baseline` (e.g. pod-pod throughput over host-host: 0.994 = 99.4 %
 * of the host network). Undefined when either is missing or not finite, or
 * the baseline is not positive.
 */
export function ratio(value: number | undefined, baseline: number | undefined): number | undefined {
  if (value === undefined || baseline === undefined || !Number.isFinite(value) || !Number.isFinite(baseline) || baseline <= 0) return undefined;
  return value / baseline;
}

/** What `flags` needs to know about a case besides its summary. */
export interface FlagContext {
  /** The case's protocol ("icmp" for ping). */
  protocol: "tcp" | "udp" | "icmp";
  /** From the spec: the CV and UDP loss above which a case is flagged, percent. */
  thresholds: { cvPercent: number; udpLossPercent: number };
  /** Mean UDP loss over the repetitions, percent. */
  lossPercent?: number;
  /** TCP retransmits summed over the repetitions. */
  retransmits?: number;
  /**
   * Line rate of the slower NIC of the two ends, bits/s, when known and the
   * summary is a throughput that crosses it. Leave undefined for same-node
   * cases (traffic stays on veth/bridge and may exceed it) and for latency.
   */
  nicSpeedBps?: number;
  /** "is-baseline" for host-host cases; "missing" when a case has no matching host-host result. */
  baseline: "is-baseline" | "present" | "missing";
}

/**
 * Warnings for a case, in a fixed order:
 * - "cv>10%": the coefficient of variation is above `thresholds.cvPercent` (the number is the threshold);
 * - "udp-loss>1%": a UDP case lost more than `thresholds.udpLossPercent` on average;
 * - "retransmits": a TCP case retransmitted;
 * - "above-nic-speed": a repetition measured more than the NIC can carry — impossible, so the measurement is suspect;
 * - "no-baseline": no host-host result to compare with.
 */
export function flags(summary: Summary | undefined, ctx: FlagContext): string[] {
  const out: string[] = [];
  const { cvPercent, udpLossPercent } = ctx.thresholds;
  if (summary?.cvPercent !== undefined && summary.cvPercent > cvPercent) out.push(`cv>${trim(cvPercent)}%`);
  if (ctx.protocol === "udp" && ctx.lossPercent !== undefined && ctx.lossPercent > udpLossPercent) out.push(`udp-loss>${trim(udpLossPercent)}%`);
  if (ctx.protocol === "tcp" && ctx.retransmits !== undefined && ctx.retransmits > 0) out.push("retransmits");
  if (summary && ctx.nicSpeedBps !== undefined && ctx.nicSpeedBps > 0 && summary.max > ctx.nicSpeedBps) out.push("above-nic-speed");
  if (ctx.baseline === "missing") out.push("no-baseline");
  return out;
}

/** 10 → "10", 2.5 → "2.5", 1/3 → "0.333". */
function trim(n: number): string {
  return String(Number(n.toFixed(3)));
}
