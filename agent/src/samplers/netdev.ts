/**
 * Interface counters from /proc/net/dev and the rates between two reads.
 *
 * The reader ({@link readNetDev}) is one synchronous read of the file; the
 * parser ({@link parseNetDev}) and the rate arithmetic ({@link netDevRates})
 * are pure. In Kubernetes the agent reads the node's NICs through the host's
 * `/proc/1/net/dev`; any process's `/proc/<pid>/net/dev` shows that process's
 * network namespace.
 */
import { readFileSync } from "node:fs";

/** One interface's counters as the kernel prints them: cumulative since the interface was created (64-bit, hence bigint). */
export interface NetDevCounters {
  name: string;
  /** Cumulative bytes received since the interface was created. */
  rxBytes: bigint;
  /** Cumulative packets received. */
  rxPackets: bigint;
  /** Cumulative receive errors. */
  rxErrs: bigint;
  /** Cumulative received packets dropped. */
  rxDrop: bigint;
  /** Cumulative bytes sent since the interface was created. */
  txBytes: bigint;
  /** Cumulative packets sent. */
  txPackets: bigint;
  /** Cumulative transmit errors. */
  txErrs: bigint;
  /** Cumulative packets dropped on transmit. */
  txDrop: bigint;
}

/** One interface's rates over one interval. */
export interface InterfaceRate {
  name: string;
  /** Received, bits/s (bytes as the kernel counts them, link-layer header included). */
  rxBps: number;
  /** Sent, bits/s. */
  txBps: number;
  /** Received, packets/s (on veth a GSO super-packet counts once). */
  rxPps: number;
  /** Sent, packets/s. */
  txPps: number;
  /** Received packets dropped, per second. */
  rxDropsPerS: number;
  /** Transmit drops, per second. */
  txDropsPerS: number;
  /** Receive errors, per second. */
  rxErrorsPerS: number;
  /** Transmit errors, per second. */
  txErrorsPerS: number;
  /** Cumulative bytes received since the interface was created (exact below 2^53). */
  rxBytesTotal: number;
  /** Cumulative bytes sent since the interface was created (exact below 2^53). */
  txBytesTotal: number;
}

/** Decides whether an interface name is sampled. */
export type NameFilter = (name: string) => boolean;

/** Interfaces left out when the caller gives no exclude list. */
export const DEFAULT_EXCLUDE: readonly string[] = ["lo"];

const SPACE = 32;
const TAB = 9;
const NL = 10;
const COLON = 58;
const D0 = 48;
const D9 = 57;
/** Numeric columns per line: 8 receive, 8 transmit. */
const COLUMNS = 16;
/** Up to this many digits the value is exact in a double. */
const SAFE_DIGITS = 15;

const scratch: bigint[] = new Array<bigint>(COLUMNS).fill(0n);

/**
 * Parse the text of /proc/net/dev. The name ends at the last ':' of a line,
 * so old alias names (`eth0:1`) and counters glued to the colon
 * (`eth0:123456789`, older kernels) both parse. Header and malformed lines
 * are skipped. With `accept`, lines whose name it rejects are not parsed
 * further (cheaper than filtering afterwards).
 */
export function parseNetDev(text: string, accept?: NameFilter): NetDevCounters[] {
  const out: NetDevCounters[] = [];
  const len = text.length;
  let start = 0;
  while (start < len) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = len;
    const colon = text.lastIndexOf(":", end - 1);
    if (colon >= start) {
      const name = text.slice(start, colon).trim();
      if (name !== "" && (accept === undefined || accept(name)) && parseColumns(text, colon + 1, end)) {
        out.push({
          name,
          rxBytes: scratch[0]!,
          rxPackets: scratch[1]!,
          rxErrs: scratch[2]!,
          rxDrop: scratch[3]!,
          txBytes: scratch[8]!,
          txPackets: scratch[9]!,
          txErrs: scratch[10]!,
          txDrop: scratch[11]!,
        });
      }
    }
    start = end + 1;
  }
  return out;
}

/** Read the 16 unsigned decimal columns of text[from, to) into `scratch`; false unless there are exactly 16. */
function parseColumns(text: string, from: number, to: number): boolean {
  let i = from;
  let col = 0;
  while (i < to) {
    let c = text.charCodeAt(i);
    if (c === SPACE || c === TAB || c === NL || c === 13) {
      i++;
      continue;
    }
    if (col === COLUMNS || c < D0 || c > D9) return false;
    const digitsFrom = i;
    let n = 0;
    while (i < to && (c = text.charCodeAt(i)) >= D0 && c <= D9) {
      n = n * 10 + (c - D0);
      i++;
    }
    if (i < to && c !== SPACE && c !== TAB && c !== 13) return false;
    scratch[col++] = i - digitsFrom <= SAFE_DIGITS ? BigInt(n) : BigInt(text.slice(digitsFrom, i));
  }
  return col === COLUMNS;
}

/**
 * Rates between two parses taken `dtNs` nanoseconds apart (monotonic clock).
 * An interface missing from `prev` (new) or with any counter lower than
 * before (reset, or deleted and re-created under the same name) yields no
 * rate for this interval: it is left out, never reported negative. Order
 * follows `cur`. Empty when `dtNs` is not positive.
 */
export function netDevRates(prev: readonly NetDevCounters[], cur: readonly NetDevCounters[], dtNs: bigint): InterfaceRate[] {
  const out: InterfaceRate[] = [];
  if (dtNs <= 0n) return out;
  const perS = 1e9 / Number(dtNs);
  const bitsPerS = 8 * perS;
  let byName: Map<string, NetDevCounters> | undefined;
  for (let i = 0; i < cur.length; i++) {
    const c = cur[i]!;
    // The kernel lists interfaces in a stable order, so the same index nearly always matches.
    let p = prev[i];
    if (p === undefined || p.name !== c.name) {
      byName ??= new Map(prev.map((x) => [x.name, x]));
      p = byName.get(c.name);
      if (p === undefined) continue;
    }
    if (
      c.rxBytes < p.rxBytes ||
      c.txBytes < p.txBytes ||
      c.rxPackets < p.rxPackets ||
      c.txPackets < p.txPackets ||
      c.rxErrs < p.rxErrs ||
      c.txErrs < p.txErrs ||
      c.rxDrop < p.rxDrop ||
      c.txDrop < p.txDrop
    ) {
      continue;
    }
    out.push({
      name: c.name,
      rxBps: Number(c.rxBytes - p.rxBytes) * bitsPerS,
      txBps: Number(c.txBytes - p.txBytes) * bitsPerS,
      rxPps: Number(c.rxPackets - p.rxPackets) * perS,
      txPps: Number(c.txPackets - p.txPackets) * perS,
      rxDropsPerS: Number(c.rxDrop - p.rxDrop) * perS,
      txDropsPerS: Number(c.txDrop - p.txDrop) * perS,
      rxErrorsPerS: Number(c.rxErrs - p.rxErrs) * perS,
      txErrorsPerS: Number(c.txErrs - p.txErrs) * perS,
      rxBytesTotal: Number(c.rxBytes),
      txBytesTotal: Number(c.txBytes),
    });
  }
  return out;
}

/** Most names remembered by a filter before it starts over (pods come and go, and so do their veths). */
const FILTER_CACHE_MAX = 4096;

/**
 * Compile include/exclude patterns once into a name filter. Each entry may be
 * a comma-separated list; `*` matches any run of characters, everything else
 * is literal. A name is sampled when it matches an include pattern (default:
 * all) and no exclude pattern (default: {@link DEFAULT_EXCLUDE}, i.e. `lo`).
 * Verdicts are cached per name, so steady-state ticks run no regex.
 */
export function compileNameFilter(include?: readonly string[], exclude?: readonly string[]): NameFilter {
  const inc = globsToRegExp(include ?? ["*"]);
  const exc = globsToRegExp(exclude ?? DEFAULT_EXCLUDE);
  const cache = new Map<string, boolean>();
  return (name) => {
    let v = cache.get(name);
    if (v === undefined) {
      v = inc !== undefined && inc.test(name) && (exc === undefined || !exc.test(name));
      if (cache.size >= FILTER_CACHE_MAX) cache.clear();
      cache.set(name, v);
    }
    return v;
  };
}

/** One anchored alternation for all patterns; undefined when there are none. */
function globsToRegExp(list: readonly string[]): RegExp | undefined {
  const parts = list
    .flatMap((entry) => entry.split(","))
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .map((p) => p.split("*").map((lit) => lit.replace(/[.+?^${}()|[\]\\/-]/g, "\\$&")).join(".*"));
  return parts.length === 0 ? undefined : new RegExp(`^(?:${parts.join("|")})$`);
}

/** `${procRoot}/net/dev`: the default net/dev path. */
export function netDevPathFor(procRoot: string): string {
  return `${procRoot}/net/dev`;
}

/** One synchronous read and parse of a net/dev file; undefined when it cannot be read (e.g. the process whose namespace it shows has exited). */
export function readNetDev(path: string, accept?: NameFilter): NetDevCounters[] | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  return parseNetDev(text, accept);
}
