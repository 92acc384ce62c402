/**
 * Small pure number helpers shared by the drivers: reading numbers out of
 * tool output. No I/O. (Summary statistics live in common/src/stats.ts.)
 */

/** `x` when it is a finite number, else undefined (guards NaN/Infinity/strings from parsed output). */
export function finite(x: unknown): number | undefined {
  return typeof x === "number" && Number.isFinite(x) ? x : undefined;
}

/** Parse a decimal number from tool text, allowing thousands separators ("45,402"); undefined when not a number. */
export function parseDecimal(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const cleaned = text.replace(/,/g, "").trim();
  // Unambiguous (`\d+(?:\.\d*)?`, not `\d+\.?\d*`): linear, not quadratic, on a long run of digits.
  if (!/^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/.test(cleaned)) return undefined;
  return finite(Number(cleaned));
}

/** `x` as a non-negative integer (for protobuf uint32 fields such as retransmits), undefined when not representable. */
export function count(x: number | undefined): number | undefined {
  if (x === undefined || !Number.isFinite(x) || x < 0) return undefined;
  return Math.round(x);
}
