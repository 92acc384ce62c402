/** Parsing and printing of rates, sizes and durations the way network people write them. */

const SI: Record<string, number> = { "": 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };

/**
 * Parse a bitrate such as "100M", "1.5G", "1gbit", "500k" or "2000000" into
 * bits/s (decimal units, like iperf). Throws a sentence naming the fix.
 */
export function parseBitrate(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:bit|bps|b)?(?:\/s)?\s*$/i.exec(text);
  if (!m) throw new Error(`invalid bitrate "${text}": use a number with an optional k/M/G suffix, e.g. 100M or 1G`);
  return Math.round(Number(m[1]) * SI[m[2]!.toLowerCase()]!);
}

/** Parse a size such as "128K", "1M", "1400" into bytes (binary units, like iperf's -l/-w). */
export function parseSize(text: string): number {
  const m = /^\s*(\d+)\s*([kmg]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw new Error(`invalid size "${text}": use bytes with an optional K/M/G suffix, e.g. 1400 or 128K`);
  const mult: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  return Number(m[1]) * mult[m[2]!.toLowerCase()]!;
}

/** "941.2 Mbit/s" for 941.2e6. */
export function formatBitrate(bps: number | undefined): string {
  if (bps === undefined || !Number.isFinite(bps)) return "-";
  const units: [number, string][] = [[1e12, "Tbit/s"], [1e9, "Gbit/s"], [1e6, "Mbit/s"], [1e3, "kbit/s"]];
  for (const [f, u] of units) if (Math.abs(bps) >= f) return `${(bps / f).toFixed(bps / f >= 100 ? 1 : 2)} ${u}`;
  return `${bps.toFixed(0)} bit/s`;
}

/** "123 µs" / "1.23 ms" for microseconds. */
export function formatMicros(us: number | undefined): string {
  if (us === undefined || !Number.isFinite(us)) return "-";
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(us >= 100 ? 0 : 1)} µs`;
}

export function formatPercent(p: number | undefined, digits = 2): string {
  return p === undefined || !Number.isFinite(p) ? "-" : `${p.toFixed(digits)} %`;
}
