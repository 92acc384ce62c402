/**
 * Welch's unequal-variance t-test on two samples (two runs' repetitions of
 * one case): is the mean of B different from the mean of A? Values keep
 * whatever unit they came in (bits/s, µs, …); the difference is B − A in
 * that unit. Pure.
 */
import { mean, sampleVariance, studentT } from "../../common/src/stats.js";

/** The test's result when both samples have at least two values. */
export interface WelchTested {
  tested: true;
  nA: number;
  nB: number;
  /** Sample means, in the values' unit. */
  meanA: number;
  meanB: number;
  /** Sample variances (n − 1 in the denominator), in the unit squared. */
  varianceA: number;
  varianceB: number;
  /** meanB − meanA, in the values' unit. */
  diff: number;
  /** Standard error of the difference, √(s²A/nA + s²B/nB), in the values' unit. */
  se: number;
  /** Welch–Satterthwaite degrees of freedom; `Infinity` when both variances are zero. */
  df: number;
  /** diff / se; 0 or ±Infinity when both variances are zero. */
  t: number;
  /** Two-sided p-value, 0..1. Exact (0 or 1) when both variances are zero. */
  p: number;
  /** 95 % confidence interval of the difference, in the values' unit. */
  ci95: { low: number; high: number };
  /** True when both variances are zero: the comparison is exact, no distribution involved. */
  exact: boolean;
}

/** No test: one side has fewer than two values. */
export interface WelchUntested {
  tested: false;
  nA: number;
  nB: number;
  /** Undefined for an empty sample. */
  meanA: number | undefined;
  meanB: number | undefined;
  /** Why, as a sentence naming how many repetitions are needed. */
  reason: string;
}

export type WelchResult = WelchTested | WelchUntested;

/** Sample variance; exactly 0 when every value is the same (so equal samples compare exactly). */
function variance(xs: readonly number[], m: number): number {
  return xs.every((x) => x === xs[0]) ? 0 : sampleVariance(xs, m)!;
}

function checkFinite(xs: readonly number[], side: string): void {
  for (const x of xs) if (!Number.isFinite(x)) throw new RangeError(`welch: sample ${side} must hold finite numbers, got ${x}`);
}

/**
 * Welch's t-test of B against A, two-sided, with the 95 % confidence interval
 * of meanB − meanA. Fewer than two values on either side: untested, with a
 * reason. Both variances zero: exact — p is 0 when the means differ and 1
 * when they are equal, and the interval is the difference itself. Throws on
 * a non-finite value.
 */
export function welch(a: readonly number[], b: readonly number[]): WelchResult {
  checkFinite(a, "A");
  checkFinite(b, "B");
  const nA = a.length;
  const nB = b.length;
  const meanA = mean(a);
  const meanB = mean(b);
  if (nA < 2 || nB < 2 || meanA === undefined || meanB === undefined) {
    const count = (side: string, n: number): string => `${side} has ${n} measured repetition${n === 1 ? "" : "s"}`;
    const short = [nA < 2 ? count("A", nA) : "", nB < 2 ? count("B", nB) : ""].filter(Boolean).join(" and ");
    return { tested: false, nA, nB, meanA, meanB, reason: `${short}; a t-test needs at least 2 on each side (run with repetitions ≥ 2).` };
  }
  const varianceA = variance(a, meanA);
  const varianceB = variance(b, meanB);
  const diff = meanB - meanA;
  const wA = varianceA / nA;
  const wB = varianceB / nB;
  const se = Math.sqrt(wA + wB);
  const base = { tested: true as const, nA, nB, meanA, meanB, varianceA, varianceB, diff, se };
  if (se === 0) {
    return { ...base, df: Infinity, t: diff === 0 ? 0 : Math.sign(diff) * Infinity, p: diff === 0 ? 1 : 0, ci95: { low: diff, high: diff }, exact: true };
  }
  // Welch–Satterthwaite on the weights' shares, so tiny variances cannot underflow to 0/0.
  const rA = wA / (wA + wB);
  const rB = wB / (wA + wB);
  const df = 1 / (rA ** 2 / (nA - 1) + rB ** 2 / (nB - 1));
  const t = diff / se;
  // 2 × the lower tail at −|t| keeps precision for large |t| (1 − cdf would round to 0).
  const p = Math.min(1, 2 * studentT.cdf(-Math.abs(t), df));
  const half = studentT.quantile(0.975, df) * se;
  return { ...base, df, t, p, ci95: { low: diff - half, high: diff + half }, exact: false };
}
