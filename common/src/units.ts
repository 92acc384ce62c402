/**
 * Sizes and rates as people write them — in a matrix spec ("128K", "1G") and
 * on the command line (`--bitrate 1gbit`) alike — and back. Sizes are bytes
 * with binary multiples, like iperf's `-l 128K`; rates are bits/s with
 * decimal multiples, like iperf's `-b 1G`. One grammar for every reader. Pure.
 */

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([kmg])?(?:i?b)?$/i;
/** A number, an optional k/M/G/T and an optional unit: bit, bits, bps, b, each optionally "/s" ("1G", "1gbit", "2.5Gbit/s", "100Mbps"). */
const RATE_RE = /^(\d+(?:\.\d+)?)\s*([kmgt])?(?:bits?|bps|b)?(?:\/s)?$/i;

const BINARY: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
const DECIMAL: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12 };

/**
 * A size in bytes from a number or a string such as "128K", "1M", "64KiB"
 * (K/M/G = 1024, 1024², 1024³, case-insensitive). Undefined when it is not a
 * whole, non-negative number of bytes ("0.3K" = 307.2 B is rejected).
 */
export function parseSizeBytes(value: unknown): number | undefined {
  return parseWith(value, SIZE_RE, BINARY);
}

/**
 * A rate in bits/s from a number or a string such as "1G", "500M", "100k",
 * "2.5Gbit/s", "1gbit", "10Gbps" (k/M/G/T = 1e3, 1e6, 1e9, 1e12,
 * case-insensitive). Undefined when it is not a whole, non-negative number
 * of bits/s.
 */
export function parseBitrateBps(value: unknown): number | undefined {
  return parseWith(value, RATE_RE, DECIMAL);
}

function parseWith(value: unknown, re: RegExp, multiples: Record<string, number>): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const m = re.exec(value.trim());
  if (!m) return undefined;
  const unit = m[2]?.toLowerCase();
  const scaled = Number(m[1]) * (unit ? (multiples[unit] ?? 1) : 1);
  // Decimal fractions such as "1.1G" land on 1100000000.0000002; accept them when within a rounding error.
  const rounded = Math.round(scaled);
  if (Math.abs(scaled - rounded) > 1e-9 * Math.max(1, scaled)) return undefined;
  return Number.isSafeInteger(rounded) ? rounded : undefined;
}

/**
 * {@link parseBitrateBps} for a command-line value: throws a sentence naming
 * the fix instead of returning undefined.
 */
export function parseBitrate(text: string): number {
  const bps = parseBitrateBps(text);
  if (bps === undefined) throw new Error(`invalid bitrate "${text}": use a whole number of bits/s with an optional k/M/G suffix, e.g. 100M or 1G`);
  return bps;
}

/** {@link parseSizeBytes} for a command-line value: throws a sentence naming the fix. */
export function parseSize(text: string): number {
  const bytes = parseSizeBytes(text);
  if (bytes === undefined) throw new Error(`invalid size "${text}": use a whole number of bytes with an optional K/M/G suffix, e.g. 1400 or 128K`);
  return bytes;
}

/** `bytes` in the largest binary unit that divides it exactly: 131072 → "128K", 1500 → "1500", 0 → "0". */
export function formatSizeBytes(bytes: number): string {
  return formatExact(bytes, 1024, ["", "K", "M", "G"]);
}

/** `bps` in the largest decimal unit that divides it exactly: 1e9 → "1G", 1.5e9 → "1500M", 64000 → "64k". */
export function formatBitrateBps(bps: number): string {
  return formatExact(bps, 1000, ["", "k", "M", "G"]);
}

function formatExact(n: number, base: number, units: readonly string[]): string {
  if (!Number.isSafeInteger(n) || n <= 0) return String(n);
  let value = n;
  let i = 0;
  while (i < units.length - 1 && value % base === 0) {
    value /= base;
    i++;
  }
  return `${value}${units[i]}`;
}

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?)?$/i;
const DURATION_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * A duration in whole seconds from a number of seconds or a string such as
 * "90", "90s", "15m", "36h", "7d" (also "min", "hours", "days"). Undefined
 * when it is not a whole, non-negative number of seconds.
 */
export function parseDurationS(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const m = DURATION_RE.exec(value.trim());
  if (!m) return undefined;
  const seconds = Number(m[1]) * DURATION_S[(m[2] ?? "s")[0]!.toLowerCase()]!;
  const rounded = Math.round(seconds);
  if (Math.abs(seconds - rounded) > 1e-9 * Math.max(1, seconds)) return undefined;
  return Number.isSafeInteger(rounded) ? rounded : undefined;
}

/** {@link parseDurationS} for a command-line value: throws a sentence naming the fix. */
export function parseDuration(text: string): number {
  const s = parseDurationS(text);
  if (s === undefined) throw new Error(`invalid duration "${text}": use whole seconds or a number with s, m, h or d, e.g. 3600, 90m, 36h or 7d`);
  return s;
}

/** A duration for people, in its largest fitting unit: 45 → "45 s", 5400 → "90 min", 129600 → "36 h", 2592000 → "30 d". */
export function formatDurationS(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  const round = (v: number): string => String(Number(v.toFixed(v < 10 ? 1 : 0)));
  if (seconds < 120) return `${round(seconds)} s`;
  if (seconds < 2 * 3600) return `${round(seconds / 60)} min`;
  if (seconds < 2 * 86_400) return `${round(seconds / 3600)} h`;
  return `${round(seconds / 86_400)} d`;
}
