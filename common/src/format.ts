/**
 * Numbers as people read them: rates, latencies, percentages. The one
 * implementation for the CLI, the reports and the web pages; the pages run
 * {@link formatBitrate} itself in the browser (its source text is put into
 * their scripts, see {@link browserFunction}). Pure.
 */

/**
 * "941.2 Mbit/s" for 941.2e6, "9.41 Gbit/s", "12.50 kbit/s"; `missing`
 * (default "-") for undefined, null or a non-finite value. Self-contained
 * (no imports, no helpers) so that its source runs unchanged in a browser.
 */
export function formatBitrate(bps: number | null | undefined, missing = "-"): string {
  if (bps === undefined || bps === null || !Number.isFinite(bps)) return missing;
  const units: [number, string][] = [
    [1e12, "Tbit/s"],
    [1e9, "Gbit/s"],
    [1e6, "Mbit/s"],
    [1e3, "kbit/s"],
  ];
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

/**
 * The JavaScript source of a self-contained function, for a page's inline
 * script: the page then runs this very implementation rather than a copy.
 * Throws when the source is not a plain named function declaration (a
 * transform that renamed it or wrapped it would otherwise break the page
 * silently).
 */
export function browserFunction(fn: (...args: never[]) => unknown): string {
  const source = fn.toString();
  if (!source.startsWith(`function ${fn.name}(`)) throw new Error(`browserFunction: ${fn.name || "an anonymous function"} is not a plain function declaration`);
  return source;
}
