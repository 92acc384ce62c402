/**
 * Statistics over a case's repetitions: summary figures, the ratio to the
 * host-network baseline, and warning flags for results that need a second
 * look. Values keep whatever unit they came in (bits/s, µs, …). Pure.
 */
import { percentile } from "../../../tools/src/stats.js";
import type { Thresholds } from "./spec.js";
import { tCritical975 } from "./student-t.js";
import type { CaseProtocol } from "./variants.js";

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
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  let stddev: number | undefined;
  let cvPercent: number | undefined;
  let ci95: Summary["ci95"];
  if (n > 1) {
    let sq = 0;
    for (const v of values) sq += (v - mean) ** 2;
    stddev = Math.sqrt(sq / (n - 1));
    cvPercent = mean === 0 ? undefined : (stddev / Math.abs(mean)) * 100;
    const half = (tCritical975(n - 1) * stddev) / Math.sqrt(n);
    ci95 = { low: mean - half, high: mean + half };
  }
  return {
    n,
    mean,
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
  protocol: CaseProtocol;
  /** From the spec. */
  thresholds: Thresholds;
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
