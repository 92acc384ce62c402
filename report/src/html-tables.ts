/**
 * The HTML report's tables: the run header, the conclusion table (one row
 * per scenario and test variant) and the per-case table (every case, each
 * figure with its 95 % CI, failed repetitions with their reasons). Every
 * string from the run is escaped. Pure.
 */
import type { ReportDocument } from "./report-document.js";
import { orderedCases, variantRows, type AcrossPairs } from "./run-summary.js";
import { bps, esc, fixed, micros, percent, ratioPercent, requestsPerS, withCi, type Figure } from "./html-util.js";
import { BASELINE_TEXT, baselineCell, baselineState, latencyKindLabel, latencyKindOf, testLabelOf } from "./labels.js";

type Case = ReportDocument["cases"][number];

/** " RTT" / " one-way" after a latency of `tool`, as its driver says; "" for a tool without a latency kind. */
function kindSuffix(tool: string): string {
  const kind = latencyKindOf(tool);
  return kind ? ` ${latencyKindLabel(kind)}` : "";
}

/** "64.7 µs ± 3.10 µs RTT": a latency with its CI and what it measures. */
export function latencyWithCi(s: Figure | null | undefined, tool: string): string {
  return s ? `${withCi(s, micros)}${kindSuffix(tool)}` : "-";
}

/** What a row's "vs host-host" cell says without a ratio: why there is none (the cases of a row share their scenario). */
function noRatioText(doc: ReportDocument, caseIds: readonly string[]): string {
  const c = doc.cases.find((x) => x.caseId === caseIds[0]);
  const state = c ? baselineState(c) : "unmeasured";
  return state === "ratio" ? "-" : BASELINE_TEXT[state];
}

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

/** What the request/response columns mean, for a table's note; "" when the table has none. */
function requestNote(requests: boolean, percentiles: boolean): string {
  const parts = [
    requests ? "requests/s: requests answered per second (http), higher is better" : "",
    percentiles ? "p50 · p90 · p99: percentiles of the round trip of each request or message (http, sockperf), lower is better" : "",
  ].filter(Boolean);
  return parts.length ? ` ${parts.join("; ")}.` : "";
}

/**
 * A table's column heads: `lead`, then the figures (`range` after those with a range across pairs),
 * requests/s when `requests`, the latency `percentiles` head when given.
 */
function tableHeads(lead: readonly string[], range: string, requests: boolean, percentiles: string | undefined): string[] {
  return [
    ...lead,
    `throughput${range}`,
    ...(requests ? [`requests/s${range}`] : []),
    `latency${range}`,
    ...(percentiles ? [percentiles] : []),
    "loss",
    "CPU %/Gbit/s c · s",
    "wire/payload",
    `vs host-host${range}`,
    "flags",
    "failed",
  ];
}

/** The conclusion table: per scenario and variant, means over node pairs; request/response columns when a test has them. */
export function summaryHtml(doc: ReportDocument): string {
  const variants = variantRows(doc);
  const withRequests = variants.some((r) => r.requestsPerS);
  const withP99 = variants.some((r) => r.latencyP99Us);
  const rows = variants.map((r) => {
    const tool = r.variant.split("/")[0] ?? "";
    const first = doc.cases.find((c) => c.caseId === r.caseIds[0]);
    // A latency-only test's ratio is latency over the host-host latency: marked with its kind, lower is better.
    const ratioKind = first && !first.summary.throughputBps && !first.summary.requestsPerS ? kindSuffix(tool) : "";
    const cpu = r.clientCpuPercentPerGbps || r.serverCpuPercentPerGbps ? `${pairs(r.clientCpuPercentPerGbps, fixed(1))} · ${pairs(r.serverCpuPercentPerGbps, fixed(1))}` : "-";
    return `<tr data-scenario="${esc(r.scenario)}" data-variant="${esc(r.variant)}">
<td>${esc(r.scenario)}</td><td>${esc(r.label)}</td><td class="num">${r.caseIds.length}</td>
<td class="num">${pairs(r.throughputBps, (v) => esc(bps(v)), true)}</td>${withRequests ? `\n<td class="num" data-figure="requests">${pairs(r.requestsPerS, (v) => esc(requestsPerS(v)), true)}</td>` : ""}
<td class="num">${pairs(r.latencyUs, (v) => esc(micros(v)), true)}${r.latencyUs ? esc(kindSuffix(tool)) : ""}</td>${withP99 ? `\n<td class="num" data-figure="p99">${pairs(r.latencyP99Us, (v) => esc(micros(v)), true)}</td>` : ""}
<td class="num">${pairs(r.lossPercent, (v) => esc(percent(v)))}</td>
<td class="num">${cpu}</td>
<td class="num">${pairs(r.wireToPayload, fixed(3))}</td>
<td class="num">${r.ratioToBaseline ? `${pairs(r.ratioToBaseline, ratioPercent, true)}${esc(ratioKind)}` : esc(noRatioText(doc, r.caseIds))}</td>
<td>${esc(r.flags.join(", "))}</td>
<td class="num">${r.failed ? `<span class="bad">${r.failed}/${r.repetitions}</span>` : `0/${r.repetitions}`}</td>
</tr>`;
  });
  const heads = tableHeads(["scenario", "test", "pairs"], " (min – max)", withRequests, withP99 ? "p99 (min – max)" : undefined);
  return `<section id="summary">
<h2>Summary</h2>
<p class="note">One row per scenario and test. Figures are the mean over the node pairs of each pair's mean over its repetitions; throughput, latency and the host-host ratio show the range across pairs in brackets. Latency: RTT = round trip (ping), one-way = half the round trip (qperf). CPU is % of the node (all cores = 100 %) per Gbit/s of throughput, client · server. "vs host-host" is throughput (requests/s for http) over the same pair's host-host figure (higher is better; below 100 % is slower); marked RTT or one-way (latency-only tests) it is latency over host-host latency (lower is better; above 100 % is slower). "n/a: same node": a path within one node crosses no NIC and has no host-host baseline; "baseline": the host-host rows themselves.${esc(requestNote(withRequests, withP99))}</p>
<table class="grid">
<thead><tr>${heads.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
</section>`;
}

/** "host-host · iperf3 tcp forward · node-1 → node-2". */
export function caseTitle(c: Case): string {
  return `${c.scenario} · ${testLabelOf(c)} · ${c.clientNode} → ${c.serverNode}${c.via !== "direct" ? ` (${c.via})` : ""}`;
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
  const cases = orderedCases(doc);
  const withRequests = cases.some((c) => c.summary.requestsPerS);
  const withPercentiles = cases.some((c) => c.summary.latencyP50Us || c.summary.latencyP99Us);
  const rows = cases.map((c) => {
    const s = c.summary;
    const percentiles = [s.latencyP50Us, s.latencyP90Us, s.latencyP99Us].some(Boolean)
      ? [s.latencyP50Us, s.latencyP90Us, s.latencyP99Us].map((f) => (f ? micros(f.mean) : "-")).join(" · ")
      : "-";
    const cpu = s.clientCpuPercentPerGbps || s.serverCpuPercentPerGbps ? `${withCi(s.clientCpuPercentPerGbps, fixed(1))} · ${withCi(s.serverCpuPercentPerGbps, fixed(1))}` : "-";
    return `<tr data-case="${esc(c.caseId)}">
<td>${esc(c.scenario)}</td><td><a href="#case-${esc(c.caseId)}">${esc(c.clientNode)} → ${esc(c.serverNode)}</a>${c.via !== "direct" ? ` (${esc(c.via)})` : ""}</td><td>${esc(testLabelOf(c))}</td>
<td class="num">${esc(withCi(s.throughputBps, bps))}</td>${withRequests ? `\n<td class="num" data-figure="requests">${esc(withCi(s.requestsPerS, requestsPerS))}</td>` : ""}
<td class="num">${esc(latencyWithCi(s.latencyUs, c.tool))}</td>${withPercentiles ? `\n<td class="num" data-figure="percentiles">${esc(percentiles)}</td>` : ""}
<td class="num">${esc(withCi(s.lossPercent, percent))}</td>
<td class="num">${esc(cpu)}</td>
<td class="num">${esc(withCi(s.wireToPayload, fixed(3)))}</td>
<td class="num">${esc(baselineCell(c))}</td>
<td>${esc(s.flags.join(", "))}</td>
<td>${s.failed ? `<span class="bad">${s.failed}/${s.repetitions}</span>${failuresHtml(c)}` : `0/${s.repetitions}`}</td>
</tr>`;
  });
  const heads = tableHeads(["scenario", "path", "test"], "", withRequests, withPercentiles ? "p50 · p90 · p99" : undefined);
  return `<section id="cases-table">
<h2>Every case</h2>
<p class="note">Mean over the repetitions ± half the 95 % confidence interval (Student t; no interval for a single repetition).${esc(requestNote(withRequests, withPercentiles))}</p>
<table class="grid">
<thead><tr>${heads.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
</section>`;
}
