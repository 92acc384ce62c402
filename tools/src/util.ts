/**
 * Small pure helpers shared by the drivers: outcome constructors, argv number
 * formatting and picking a tool's own error line out of its output.
 */
import type { Driver, FailureCode, Measurement, ParseOutcome, PayloadFigures } from "./types.js";

/** Longest reason we hand back; tool messages are one line, garbage can be long. */
const MAX_REASON = 300;

/** A failed parse with `reason` collapsed to one bounded line. */
export function fail(code: FailureCode, reason: string): ParseOutcome {
  return { ok: false, failure: { code, reason: oneLine(reason) } };
}

/** A successful parse. */
export function ok(measurement: Measurement): ParseOutcome {
  return { ok: true, measurement };
}

/** Collapse whitespace to single spaces and cap the length. */
export function oneLine(text: string, max = MAX_REASON): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * A number as a command-line argument: integers without exponent or
 * fraction, other values with at most `digits` decimals and no trailing zeros
 * (0.2, not 0.20000000000000001).
 */
export function argNum(n: number, digits = 3): string {
  if (Number.isInteger(n)) return BigInt(n).toString();
  return Number(n.toFixed(digits)).toString();
}

/** The first line of `text` matching `re` (trimmed), or undefined. */
export function findLine(text: string, re: RegExp): string | undefined {
  for (const line of text.split(/\r?\n/)) {
    if (re.test(line)) return line.trim();
  }
  return undefined;
}

/** The first non-empty line of `text` (trimmed), or undefined. */
export function firstLine(text: string): string | undefined {
  return findLine(text, /\S/);
}

/**
 * Payload bytes of a bulk-transfer tool in the measured direction: what the
 * receiver got (else what the sender wrote, else throughput × duration), plus
 * the reverse half of a bidir test. The receiver's figure comes first: a
 * sender counts what it wrote into its socket, and at the end of a test up to
 * a socket buffer of that (megabytes) never reached the wire — 0.3 % of a 4 s
 * test at 1 Gbit/s, enough to put wire/payload below 1. Undefined when the
 * tool reported no payload figure (latency-only).
 */
export function bulkPayloadBytes(m: PayloadFigures): number | undefined {
  const forward = m.bytesReceived ?? m.bytesSent ?? (m.throughputBps !== undefined ? (m.throughputBps * m.durationS) / 8 : undefined);
  if (forward === undefined) return undefined;
  return forward + (m.extra.reverse_bytes_received ?? 0);
}

/** Whether `addr` is an IPv6 literal (contains a colon; IPv4 and host names never do). */
export function isIPv6(addr: string): boolean {
  return addr.includes(":");
}

/** Messages that mean "no path to the peer or nobody listening": the failure code is "unreachable". */
export const UNREACHABLE_RE =
  /connection refused|no route to host|network is unreachable|host is unreachable|unable to connect|connection timed out|failed to connect|name or service not known|temporary failure in name resolution|unknown host|cannot assign requested address/i;

/** A driver with its tool name kept as a literal type (the catalogue derives its tool names from them). */
export function defineDriver<const N extends string>(d: Driver<N>): Driver<N> {
  return d;
}
