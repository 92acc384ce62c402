/** HTML escaping and the figure formats the HTML report shares. Pure. */
import { formatBitrate, formatMicros, formatPercent } from "../../common/src/format.js";

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** `text` safe inside HTML text and inside quoted attribute values. */
export function esc(text: string | number | null | undefined): string {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/**
 * `value` as JSON safe inside `<script type="application/json">`: every `<`
 * becomes `\u003c`, so neither `</script>` nor `<!--` can end the block.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** A summary as the report document has it: mean and, for n ≥ 2, the 95 % CI. */
export interface Figure {
  mean: number;
  ci95: { low: number; high: number } | null;
}

/** "955.3 Mbit/s ± 1.21 Mbit/s": the mean and half the 95 % CI, in `fmt`'s unit; "-" without a figure. */
export function withCi(s: Figure | null | undefined, fmt: (v: number) => string): string {
  if (!s) return "-";
  return s.ci95 ? `${fmt(s.mean)} ± ${fmt((s.ci95.high - s.ci95.low) / 2)}` : fmt(s.mean);
}

export const bps = (v: number): string => formatBitrate(v);
export const micros = (v: number): string => formatMicros(v);
export const percent = (v: number): string => formatPercent(v);
/** "12,345 req/s". */
export const requestsPerS = (v: number): string => `${Math.round(v).toLocaleString("en-US")} req/s`;
export const fixed =
  (digits: number) =>
  (v: number): string =>
    v.toFixed(digits);
/** 0.994 → "99.4 %". */
export const ratioPercent = (v: number): string => `${(v * 100).toFixed(1)} %`;

/** Background colour for a heatmap score: 1 (best) green, ≤ 0.5 red, yellow between. */
export function scoreColour(score: number | null): string {
  if (score === null) return "transparent";
  const s = Math.min(1, Math.max(0, (score - 0.5) / 0.5));
  return `hsl(${Math.round(s * 120)} 65% 82%)`;
}
