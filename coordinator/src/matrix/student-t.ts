/**
 * Two-sided 95 % critical values of Student's t distribution, t(0.975, df),
 * for confidence intervals over a handful of repetitions. Pure.
 */

/** t(0.975, df) for df = 1..30, to four decimals (standard tables; checked against scipy.stats.t.ppf). */
const T975 = [
  12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.306, 2.2622, 2.2281,
  2.201, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.093, 2.086,
  2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
] as const;

/** The standard normal's 97.5 % quantile: the limit of t(0.975, df) as df → ∞. */
export const Z975 = 1.959963984540054;

/**
 * t(0.975, df): the table for df ≤ 30, beyond it the Cornish–Fisher
 * expansion of t around the normal quantile (error below 1e-7 for df > 30).
 * `Infinity` gives the normal value 1.96. Throws for df < 1 or a fractional
 * df below 30.
 */
export function tCritical975(df: number): number {
  if (!(df >= 1)) throw new RangeError(`tCritical975: degrees of freedom must be ≥ 1, got ${df}`);
  if (df === Infinity) return Z975;
  if (df <= 30) {
    if (!Number.isInteger(df)) throw new RangeError(`tCritical975: degrees of freedom below 30 must be whole, got ${df}`);
    return T975[df - 1]!;
  }
  const z = Z975;
  const z2 = z * z;
  const g1 = (z * (z2 + 1)) / 4;
  const g2 = (z * (5 * z2 * z2 + 16 * z2 + 3)) / 96;
  const g3 = (z * (3 * z2 ** 3 + 19 * z2 * z2 + 17 * z2 - 15)) / 384;
  const g4 = (z * (79 * z2 ** 4 + 776 * z2 ** 3 + 1482 * z2 * z2 - 1920 * z2 - 945)) / 92160;
  return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4;
}
