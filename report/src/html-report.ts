/**
 * One run as ONE self-contained HTML file that opens offline: header,
 * conclusion table, per-case table, node×node heatmaps (plain tables),
 * per-case timelines drawn by uPlot (inlined, as is its CSS) from data
 * embedded as JSON, and the environment. Nothing is fetched: no CDN, no
 * fonts, no images. Pure apart from reading uPlot's files once.
 */
import { agreementHtml } from "./agreement-render.js";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { GetRunResponse } from "../../gen/netmatrix/v1/control_pb.js";
import { reportDocument, type ReportDocument } from "./report-document.js";
import { heatmaps } from "./heatmap.js";
import { defaultRepetition, repetitionTimeline, type Timeline } from "./timeline.js";
import { environment } from "./environment.js";
import { fingerprintHtml } from "./html-fingerprint.js";
import { caseTableHtml, headerHtml, summaryHtml } from "./html-tables.js";
import { casesHtml, environmentHtml, heatmapsHtml } from "./html-sections.js";
import { esc, scriptJson } from "./html-util.js";
import { sweepsHtml } from "./sweep-render.js";
import { REPORT_SCRIPT } from "./html-script.js";
import { driverNamed } from "../../tools/src/index.js";
import { laddersHtml } from "./ladder.js";

let uplot: { js: string; css: string } | undefined;

/** uPlot's IIFE build and stylesheet, read once. The banner's link loses its scheme so the file names no URL. */
function uplotAssets(): { js: string; css: string } {
  if (!uplot) {
    const require = createRequire(import.meta.url);
    const js = readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8").replace(/^\/\*![^*]*\*\//, (banner) => banner.replace(/https?:\/\//g, ""));
    const css = readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8");
    uplot = { js: js.replace(/<\/script/gi, "<\\/script"), css: css.replace(/<\/style/gi, "<\\/style") };
  }
  return uplot;
}

/**
 * CSP sources of the report's inline scripts (uPlot and the page script;
 * the embedded data is JSON, not run): a server that serves the report can
 * allow exactly these with `script-src` and no other inline script.
 */
export function reportScriptHashes(): string[] {
  return [uplotAssets().js, REPORT_SCRIPT].map((js) => `'sha256-${createHash("sha256").update(js, "utf8").digest("base64")}'`);
}

/** What the page script reads: per case id, the tool, the repetition to show first and every repetition's timeline. */
export interface ReportPageData {
  /** `noIntervals`: what the interval chart says when a repetition has none. */
  cases: Record<string, { tool: string; noIntervals: string; def: number; reps: { failure?: string; t: Timeline }[] }>;
}

/** The embedded data and each case's default repetition (an index into its repetitions). */
export function pageData(resp: GetRunResponse, doc: ReportDocument): { data: ReportPageData; defaults: Map<string, number> } {
  const records = new Map<string, GetRunResponse["records"]>();
  for (const r of resp.records) records.set(r.caseId, [...(records.get(r.caseId) ?? []), r]);
  const data: ReportPageData = { cases: {} };
  const defaults = new Map<string, number>();
  for (const c of doc.cases) {
    const recs = [...(records.get(c.caseId) ?? [])].sort((a, b) => a.repetition - b.repetition);
    const reps = recs.flatMap((r) => r.result?.repetitions.slice(0, 1) ?? []);
    const def = defaultRepetition(
      reps.map((rep) => {
        const m = rep.outcome.case === "measurement" ? rep.outcome.value : undefined;
        return { ok: m !== undefined, value: m?.throughputBps ?? m?.latency?.meanUs };
      }),
    );
    defaults.set(c.caseId, def);
    data.cases[c.caseId] = {
      tool: c.tool,
      noIntervals: driverNamed(c.tool)?.capabilities.intervals === false ? `${c.tool} reports no per-interval throughput.` : "No per-interval throughput in this repetition.",
      def,
      reps: reps.map((rep) => ({
        ...(rep.outcome.case === "failure" ? { failure: rep.outcome.value.reason || "failed" } : {}),
        t: repetitionTimeline(rep, { clientNode: c.clientNode, serverNode: c.serverNode }),
      })),
    };
  }
  return { data, defaults };
}

const CSS = `
body { font: 13px/1.4 system-ui, sans-serif; margin: 1.2em auto; max-width: 1280px; padding: 0 1em; color: #222; }
h1 { font-size: 1.35em; margin: 0 0 .3em; } h2 { font-size: 1.15em; margin: 1.4em 0 .4em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1em; margin: 1em 0 .3em; } h4 { font-size: .9em; margin: .6em 0 .2em; font-weight: 600; }
.note { color: #555; font-size: .92em; margin: .2em 0 .6em; }
.facts { display: flex; flex-wrap: wrap; gap: .2em 1.4em; margin: .3em 0; }
.facts div { display: flex; gap: .4em; } .facts dt { color: #666; } .facts dd { margin: 0; font-weight: 500; }
table { border-collapse: collapse; }
.grid { width: 100%; margin: .4em 0 1em; }
.grid th, .grid td { padding: .2em .5em; border-bottom: 1px solid #e3e3e3; text-align: left; vertical-align: top; }
.grid th { background: #f4f4f4; font-weight: 600; }
.num { text-align: right !important; font-variant-numeric: tabular-nums; white-space: nowrap; }
#agreement tr.disagree td { background: #fdecea; }
.range { color: #666; font-size: .9em; }
.bad { color: #b00020; } .hint { color: #666; }
.heatmaps { display: flex; flex-wrap: wrap; gap: 1em 2em; }
.heatmap { margin: 0; } .heatmap figcaption { font-weight: 600; margin-bottom: .3em; }
.heatmap th, .heatmap td { border: 1px solid #ddd; padding: .3em .6em; text-align: center; font-variant-numeric: tabular-nums; }
.heatmap th { background: #f4f4f4; } .heatmap .corner { font-weight: 400; color: #666; font-size: .85em; }
.heatmap td.empty { color: #999; background: #fafafa; } .heatmap td.failed a { color: #b00020; }
.heatmap td a { color: inherit; text-decoration: none; }
.case { border-top: 1px solid #ddd; padding: .3em 0 .5em; }
.case h3 { margin: .4em 0 .2em; }
.charts-box summary { cursor: pointer; color: #1f5fa8; }
.chart { margin: .3em 0; }
.cni { margin: .4em 0 1em; } .cni ul { margin: .2em 0; }
.nodes { display: flex; flex-wrap: wrap; gap: 0 2em; } .node { min-width: 340px; }
pre.spec { background: #f6f6f6; border: 1px solid #e3e3e3; padding: .6em; overflow-x: auto; font-size: .9em; }
button { font: inherit; font-size: .9em; }
@media print {
  body { max-width: none; margin: 0; font-size: 10px; }
  .heatmap td, .heatmap th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .case { break-inside: avoid; } #open-all, .charts-box summary, label { display: none; }
  a { color: inherit; text-decoration: none; }
}
`;

/**
 * The HTML report of `resp`. Figures: throughput in bits/s, latency in µs,
 * CPU in % of the node (shown formatted; raw numbers in data-value and the
 * embedded JSON). `generatedAt` defaults to now.
 */
export function htmlReport(resp: GetRunResponse, opts: { generatedAt?: Date } = {}): string {
  const doc = reportDocument(resp);
  const { data, defaults } = pageData(resp, doc);
  const { js, css } = uplotAssets();
  const title = `netmatrix run ${doc.run.runId}${doc.run.name ? ` · ${doc.run.name}` : ""}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${css}</style>
<style>${CSS}</style>
</head>
<body>
${headerHtml(doc, opts.generatedAt ?? new Date())}
${summaryHtml(doc)}
${caseTableHtml(doc)}
${agreementHtml(doc.agreement ?? [])}
${heatmapsHtml(heatmaps(doc))}${doc.sweeps ? `\n${sweepsHtml(doc.sweeps)}` : ""}${laddersHtml(doc.cases)}
${casesHtml(doc, defaults)}
${environmentHtml(environment(resp))}
${fingerprintHtml(resp.agents)}
<script type="application/json" id="netmatrix-data">${scriptJson(data)}</script>
<script>${js}</script>
<script>${REPORT_SCRIPT}</script>
</body>
</html>
`;
}
