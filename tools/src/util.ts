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

/**
 * Collapse whitespace to single spaces and cap the length. Reads only as far
 * as the cap needs (a tool's "message" can be a megabyte of garbage).
 */
export function oneLine(text: string, max = MAX_REASON): string {
  const words: string[] = [];
  let length = -1;
  const word = /\S+/g;
  let m: RegExpExecArray | null;
  // Collect words until the collapsed text is longer than the cap (or the words run out).
  while (length <= max && (m = word.exec(text))) {
    const w = m[0].length > max + 1 ? m[0].slice(0, max + 1) : m[0];
    words.push(w);
    length += w.length + 1;
  }
  const flat = words.join(" ");
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

/**
 * Visit the lines of `text` (split at "\n" or "\r\n", as
 * `text.split(/\r?\n/)` does) in order, leaving out empty ones; with `first`,
 * only the lines that start with that character. Stops when `visit` returns
 * true. Never builds an array of lines, and skips what it leaves out at
 * string-search speed: a megabyte of newlines costs what a megabyte of text does.
 */
export function eachLine(text: string, visit: (line: string) => boolean | void, first?: string): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (first !== undefined) {
      const k = text.indexOf(first, i);
      if (k < 0) return;
      if (k > 0 && text.charCodeAt(k - 1) !== 10) {
        // Not at a line start: no line from i up to k's starts with `first`.
        const nl = text.indexOf("\n", k);
        if (nl < 0) return;
        i = nl + 1;
        continue;
      }
      i = k;
    } else if (text.charCodeAt(i) === 10) {
      i++;
      continue;
    } else if (text.charCodeAt(i) === 13 && text.charCodeAt(i + 1) === 10) {
      i += 2;
      continue;
    }
    let j = text.indexOf("\n", i);
    if (j < 0) j = n;
    const end = j < n && text.charCodeAt(j - 1) === 13 ? j - 1 : j;
    if (visit(text.slice(i, end)) === true) return;
    i = j + 1;
  }
}

/**
 * Visit each line of `text` that contains `needle` (no line break in it), in
 * order, until `visit` returns true. Finds them by string search: the lines
 * without it cost nothing but the search.
 */
export function eachLineWith(text: string, needle: string, visit: (line: string) => boolean | void): void {
  let from = 0;
  while (from < text.length) {
    const k = text.indexOf(needle, from);
    if (k < 0) return;
    const start = text.lastIndexOf("\n", k) + 1;
    let end = text.indexOf("\n", k + needle.length);
    if (end < 0) end = text.length;
    const line = text.slice(start, end < text.length && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
    if (visit(line) === true) return;
    from = end + 1;
  }
}

/** The first result of `parse` that is not undefined, over the lines of `text` that contain `needle`. */
export function firstParsed<T>(text: string, needle: string, parse: (line: string) => T | undefined): T | undefined {
  let found: T | undefined;
  eachLineWith(text, needle, (line) => (found = parse(line)) !== undefined);
  return found;
}

/**
 * The first line of `text` matching `re` (trimmed), or undefined. One search
 * of the whole text, so `re` must not match across a line break, and has no
 * `g`, `y` or `m` flag and no `^`/`$`.
 */
export function findLine(text: string, re: RegExp): string | undefined {
  const m = re.exec(text);
  if (!m) return undefined;
  const start = m.index === 0 ? 0 : text.lastIndexOf("\n", m.index - 1) + 1;
  const end = text.indexOf("\n", m.index);
  return text.slice(start, end < 0 ? text.length : end).trim();
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
