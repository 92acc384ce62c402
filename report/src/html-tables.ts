/**
 * The HTML report's tables: the run header, the conclusion table (one row
 * per scenario and test variant) and the per-case table (every case, each
 * figure with its 95 % CI, failed repetitions with their reasons). Every
 * string from the run is escaped. Pure.
 */
import type { ReportDocument } from "./report-document.js";
import { orderedCases, variantRows, type AcrossPairs } from "./run-summary.js";
import { variantLabel, variantOf } from "./heatmap.js";
import { bps, esc, fixed, micros, percent, ratioPercent, withCi } from "./html-util.js";

type Case = ReportDocument["cases"][number];

/** The run's identity and progress. */
export function headerHtml(doc: ReportDocument, generatedAt: Date): string {
  const r = doc.run;
  const facts: [string, string][] = [
    ["run", r.runId],
    ["name", r.name],
    ["status", r.status],
    ["created", r.createdAt],
    ["done", `${r.done}/${r.total}`],
    ["failed", String(r.failed)],
    ...(r.error ? [["stopped by", r.error] as [string, string]] : []),
    ["report generated", generatedAt.toISOString()],
  ];
  return `<header>
<h1>netmatrix run ${esc(r.runId)}${r.name ? ` · ${esc(r.name)}` : ""}</h1>
<dl class="facts" id="run-facts">${facts.map(([k, v]) => `<div data-fact="${esc(k)}"><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join("")}</dl>
</header>`;
}

function pairs(p: AcrossPairs | null, fmt: (v: number) => string, range = false): string {
  if (!p) return "-";
  return range && p.n > 1 ? `${fmt(p.mean)} <span class="range">(${fmt(p.min)} – ${fmt(p.max)})</span>` : fmt(p.mean);
}

/** The conclusion table: per scenario and variant, means over node pairs. */
export function summaryHtml(doc: ReportDocument): string {
  const rows = variantRows(doc).map((r) => {
    const cpu = r.clientCpuPercentPerGbps || r.serverCpuPercentPerGbps ? `${pairs(r.clientCpuPercentPerGbps, fixed(1))} · ${pairs(r.serverCpuPercentPerGbps, fixed(1))}` : "-";
    return `<tr data-scenario="${esc(r.scenario)}" data-variant="${esc(r.variant)}">
<td>${esc(r.scenario)}</td><td>${esc(r.label)}</td><td class="num">${r.caseIds.length}</td>
<td class="num">${pairs(r.throughputBps, (v) => esc(bps(v)), true)}</td>
<td class="num">${pairs(r.latencyUs, (v) => esc(micros(v)), true)}</td>
<td class="num">${pairs(r.lossPercent, (v) => esc(percent(v)))}</td>
<td class="num">${cpu}</td>
<td class="num">${pairs(r.wireToPayload, fixed(3))}</td>
<td class="num">${pairs(r.ratioToBaseline, ratioPercent, true)}</td>
<td>${esc(r.flags.join(", "))}</td>
<td class="num">${r.failed ? `<span class="bad">${r.failed}/${r.repetitions}</span>` : `0/${r.repetitions}`}</td>
</tr>`;
  });
  return `<section id="summary">
<h2>Summary</h2>
<p class="note">One row per scenario and test. Figures are the mean over the node pairs of each pair's mean over its repetitions; throughput, latency and the host-host ratio show the range across pairs in brackets. CPU is % of the node per Gbit/s of throughput, client · server. "vs host-host" is throughput over the same pair's host-host throughput (below 100 % is slower); for latency-only tests it is latency over host-host latency (above 100 % is slower).</p>
<table class="grid">
<thead><tr><th>scenario</th><th>test</th><th>pairs</th><th>throughput (min – max)</th><th>latency (min – max)</th><th>loss</th><th>CPU %/Gbit/s c · s</th><th>wire/payload</th><th>vs host-host (min – max)</th><th>flags</th><th>failed</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
</section>`;
}

/** "host-host · iperf3 tcp forward · node-1 → node-2". */
export function caseTitle(c: Case): string {
  return `${c.scenario} · ${variantLabel(variantOf(c))} · ${c.clientNode} → ${c.serverNode}${c.via !== "direct" ? ` (${c.via})` : ""}`;
}

/** Failed repetitions, one per line: "#2 timeout: reason (hint)". */
export function failuresHtml(c: Case): string {
  return c.repetitions
    .filter((r) => !r.ok)
    .map(
      (r) =>
        `<div class="bad">#${r.index + 1} ${esc(r.failure?.code ?? "failed")}: ${esc(r.failure?.reason ?? "")}${r.failure?.hint ? ` <span class="hint">(${esc(r.failure.hint)})</span>` : ""}</div>`,
    )
    .join("");
}

/** Every case with its figures and 95 % CIs. */
export function caseTableHtml(doc: ReportDocument): string {
  const rows = orderedCases(doc).map((c) => {
    const s = c.summary;
    const cpu = s.clientCpuPercentPerGbps || s.serverCpuPercentPerGbps ? `${withCi(s.clientCpuPercentPerGbps, fixed(1))} · ${withCi(s.serverCpuPercentPerGbps, fixed(1))}` : "-";
    return `<tr data-case="${esc(c.caseId)}">
<td>${esc(c.scenario)}</td><td><a href="#case-${esc(c.caseId)}">${esc(c.clientNode)} → ${esc(c.serverNode)}</a>${c.via !== "direct" ? ` (${esc(c.via)})` : ""}</td><td>${esc(variantLabel(variantOf(c)))}</td>
<td class="num">${esc(withCi(s.throughputBps, bps))}</td>
<td class="num">${esc(withCi(s.latencyUs, micros))}</td>
<td class="num">${esc(withCi(s.lossPercent, percent))}</td>
<td class="num">${esc(cpu)}</td>
<td class="num">${esc(withCi(s.wireToPayload, fixed(3)))}</td>
<td class="num">${s.ratioToBaseline === null ? "-" : ratioPercent(s.ratioToBaseline)}</td>
<td>${esc(s.flags.join(", "))}</td>
<td>${s.failed ? `<span class="bad">${s.failed}/${s.repetitions}</span>${failuresHtml(c)}` : `0/${s.repetitions}`}</td>
</tr>`;
  });
  return `<section id="cases-table">
<h2>Every case</h2>
<p class="note">Mean over the repetitions ± half the 95 % confidence interval (Student t; no interval for a single repetition).</p>
<table class="grid">
<thead><tr><th>scenario</th><th>path</th><th>test</th><th>throughput</th><th>latency</th><th>loss</th><th>CPU %/Gbit/s c · s</th><th>wire/payload</th><th>vs host-host</th><th>flags</th><th>failed</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
</section>`;
}
