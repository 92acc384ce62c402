/**
 * Sweeps as the reports show them (series from sweeps.ts): a table per series
 * for the terminal and Markdown, and for the HTML page an SVG chart per series
 * — throughput (left axis) and CPU per Gbit/s at each end (right axis)
 * against the size on a log₂ axis — beside its table. Drawn here, as SVG
 * text: no script, so it prints and opens offline like the rest. Pure.
 */
import { formatBitrate } from "../../common/src/format.js";
import { formatSize } from "./labels.js";
import { renderTextTable, type FitOptions, type TextColumn } from "./text-table.js";
import { esc } from "./html-util.js";
import { axisName, seriesTitle, type SweepPoint, type SweepSeries } from "./sweeps.js";

const cpu = (v: number | null): string => (v === null ? "-" : v.toFixed(1));
const tp = (v: number | null): string => (v === null ? "-" : formatBitrate(v));

/** The rows of a series' table: size, throughput, client and server %CPU per Gbit/s. */
function rows(s: SweepSeries): string[][] {
  return s.points.map((p) => [formatSize(p.sizeBytes), tp(p.throughputBps), cpu(p.clientCpuPercentPerGbps), cpu(p.serverCpuPercentPerGbps)]);
}

const HEADS = (s: SweepSeries): string[] => [s.axis === "mss" ? "mss" : "length", "throughput", "client %CPU/Gbit/s", "server %CPU/Gbit/s"];

/** The terminal's sweep tables, after the case table; no lines without a sweep. */
export function sweepTextLines(series: readonly SweepSeries[], opts: FitOptions = {}): string[] {
  if (!series.length) return [];
  const out = ["", "Sweeps (medians over repetitions; %CPU of the node per Gbit/s, lower is better):"];
  for (const s of series) {
    const columns: TextColumn[] = HEADS(s).map((head, i) => ({ head, priority: 0, align: i === 0 ? "left" : "right" }));
    out.push("", seriesTitle(s), ...renderTextTable(columns, rows(s), opts).lines);
  }
  return out;
}

/** The Markdown sweep tables; no lines without a sweep. */
export function sweepMarkdownLines(series: readonly SweepSeries[]): string[] {
  if (!series.length) return [];
  const e = (t: string): string => t.replace(/\|/g, "\\|");
  const out = ["", "### Sweeps", "", "Medians over repetitions; %CPU of the node per Gbit/s, lower is better."];
  for (const s of series) {
    out.push("", `**${e(seriesTitle(s))}**`, "", `| ${HEADS(s).join(" | ")} |`, "|---|---:|---:|---:|", ...rows(s).map((r) => `| ${r.map(e).join(" | ")} |`));
  }
  return out;
}

const W = 560;
const H = 240;
const M = { left: 78, right: 56, top: 30, bottom: 40 };
const LINES = [
  { key: "throughputBps", name: "throughput", colour: "#1f5fa8", dash: "" },
  { key: "clientCpuPercentPerGbps", name: "client %CPU/Gbit/s", colour: "#c2571a", dash: "6 3" },
  { key: "serverCpuPercentPerGbps", name: "server %CPU/Gbit/s", colour: "#2e7d32", dash: "2 3" },
] as const;

/** x of each size on a log₂ axis across the plot area. */
function xScale(points: readonly SweepPoint[]): (size: number) => number {
  const lo = Math.log2(points[0]!.sizeBytes);
  const hi = Math.log2(points[points.length - 1]!.sizeBytes);
  const span = hi - lo || 1;
  return (size) => M.left + ((Math.log2(size) - lo) / span) * (W - M.left - M.right);
}

/** y of a value against `max` (0 at the bottom); max 0 or absent draws at the bottom. */
function yScale(max: number): (v: number) => number {
  return (v) => H - M.bottom - (max > 0 ? v / max : 0) * (H - M.top - M.bottom);
}

const n1 = (v: number): string => v.toFixed(1);

/** One series as an SVG chart: a throughput line on the left axis, the CPU lines on the right one. */
export function sweepSvg(s: SweepSeries): string {
  const x = xScale(s.points);
  const maxOf = (vals: (number | null)[]): number => Math.max(0, ...vals.filter((v): v is number => v !== null));
  const tpMax = maxOf(s.points.map((p) => p.throughputBps)) * 1.1;
  const cpuMax = maxOf(s.points.flatMap((p) => [p.clientCpuPercentPerGbps, p.serverCpuPercentPerGbps])) * 1.1;
  const yTp = yScale(tpMax);
  const yCpu = yScale(cpuMax);
  const parts: string[] = [];
  const bottom = H - M.bottom;
  parts.push(`<line x1="${M.left}" y1="${bottom}" x2="${W - M.right}" y2="${bottom}" stroke="#999"/>`);
  parts.push(`<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${bottom}" stroke="#999"/>`);
  parts.push(`<line x1="${W - M.right}" y1="${M.top}" x2="${W - M.right}" y2="${bottom}" stroke="#999"/>`);
  for (const p of s.points) {
    const px = n1(x(p.sizeBytes));
    parts.push(`<line x1="${px}" y1="${bottom}" x2="${px}" y2="${bottom + 4}" stroke="#999"/>`);
    parts.push(`<text x="${px}" y="${bottom + 15}" text-anchor="middle">${esc(formatSize(p.sizeBytes))}</text>`);
  }
  for (const f of [0, 0.5, 1]) {
    const yl = n1(yTp(f * tpMax));
    parts.push(`<text x="${M.left - 4}" y="${yl}" text-anchor="end" dominant-baseline="middle">${esc(formatBitrate(f * tpMax))}</text>`);
    parts.push(`<text x="${W - M.right + 4}" y="${yl}" dominant-baseline="middle">${esc((f * cpuMax).toFixed(1))}</text>`);
  }
  parts.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 6}" text-anchor="middle">${esc(axisName(s.axis))} (log scale)</text>`);
  LINES.forEach((line, i) => {
    const y = line.key === "throughputBps" ? yTp : yCpu;
    const pts = s.points.flatMap((p) => (p[line.key] === null ? [] : [[x(p.sizeBytes), y(p[line.key]!), p] as const]));
    if (pts.length > 1) {
      const d = pts.map(([px, py]) => `${n1(px)},${n1(py)}`).join(" ");
      parts.push(`<polyline points="${d}" fill="none" stroke="${line.colour}" stroke-width="2"${line.dash ? ` stroke-dasharray="${line.dash}"` : ""}/>`);
    }
    for (const [px, py, p] of pts) {
      const value = line.key === "throughputBps" ? formatBitrate(p[line.key]) : cpu(p[line.key]);
      parts.push(`<circle cx="${n1(px)}" cy="${n1(py)}" r="3" fill="${line.colour}"><title>${esc(`${formatSize(p.sizeBytes)}: ${line.name} ${value}`)}</title></circle>`);
    }
    parts.push(`<text x="${M.left + i * 150}" y="12" fill="${line.colour}" dominant-baseline="middle">${esc(line.name)}</text>`);
  });
  const label = `${seriesTitle(s)}: throughput and CPU per Gbit/s against ${axisName(s.axis)}`;
  return `<svg class="sweep-chart" role="img" aria-label="${esc(label)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-size="11" font-family="system-ui, sans-serif">${parts.join("")}</svg>`;
}

/** The sweeps section of the HTML page: per series its chart and table; nothing without a sweep. */
export function sweepsHtml(series: readonly SweepSeries[]): string {
  if (!series.length) return "";
  const body = series.map((s) => {
    const head = HEADS(s)
      .map((h, i) => `<th${i ? ' class="num"' : ""}>${esc(h)}</th>`)
      .join("");
    const trs = rows(s).map(
      (r, j) =>
        `<tr><td><a href="#case-${esc(s.points[j]!.caseId)}">${esc(r[0])}</a></td>${r
          .slice(1)
          .map((c) => `<td class="num">${esc(c)}</td>`)
          .join("")}</tr>`,
    );
    return `<div class="sweep"><h3>${esc(seriesTitle(s))}</h3>${sweepSvg(s)}<table class="grid"><thead><tr>${head}</tr></thead><tbody>${trs.join("")}</tbody></table></div>`;
  });
  return `<section id="sweeps">
<h2>Sweeps</h2>
<p class="note">Median throughput (left axis) and CPU per Gbit/s at each end (right axis, % of the node's CPU per Gbit/s; lower is better) against the size, for cases that differ only in it.</p>
${body.join("\n")}
</section>`;
}
