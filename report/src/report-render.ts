/**
 * A report as a person or a script wants it: a table like field report 004's
 * conclusion (one row per case, grouped by scenario in the catalogue's
 * order: repetitions, throughput, latency, loss, CPU, ratio to the host-host
 * baseline, flags) with a legend under it, Markdown, CSV, YAML or JSON. The
 * terminal table fits a width: lower-priority columns are hidden first and
 * `wide` shows them all.
 */
import { stringify } from "yaml";
import type { ReportDocument } from "./report-document.js";
import { formatBitrate, formatMicros, formatPercent } from "../../common/src/format.js";
import { BASELINE_TEXT, baselineCell, baselineState, formatLatency, latencyKindOf, latencyKindsText, measuresOf, scenarioTitle, testLabelOf } from "./labels.js";
import { agreementLines, agreementMarkdown } from "./agreement-render.js";
import { flagEntries, legendLines, legendMarkdown, wrapWords, type LegendEntry } from "./legend.js";
import { orderedCases } from "./run-summary.js";
import { sweepMarkdownLines, sweepTextLines } from "./sweep-render.js";
import { ladderLines } from "./ladder.js";
import { hasPercentiles, headlinesRequests, REQUEST_FIGURES } from "./request-figures.js";
import { hiddenNote, renderTextTable, type FitOptions, type TextColumn, type TextRow } from "./text-table.js";

export const REPORT_FORMATS = ["table", "json", "yaml", "csv", "markdown"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** How a table is fitted: `width` characters (undefined: no limit), `wide` shows every column. */
export type RenderOptions = FitOptions;

type Case = ReportDocument["cases"][number];

/** What a cell shows when the tool does not report the figure at all. */
const NOT_APPLICABLE = "-";
/** … when every repetition failed. */
const FAILED = "failed";
/** … when the tool reports it but this case has none (e.g. no CPU samples). */
const UNMEASURED = "?";

interface Ctx {
  /** Repetitions the spec asked for per case. */
  asked: number;
}

interface ReportColumn extends TextColumn {
  cell: (c: Case, ctx: Ctx) => string;
  /** Shown only when some case of the report needs it (the request/response columns); absent: always. */
  when?: (cases: readonly Case[]) => boolean;
  /** What the column means, for the legend; the cases shown, for entries that depend on them. */
  legend?: (cases: readonly Case[]) => string;
}

function measured(c: Case): number {
  return c.summary.repetitions - c.summary.failed;
}

/** The cell of a figure that is missing: not applicable, all failed, or not measured. */
function missing(c: Case, reported: boolean): string {
  if (!reported) return NOT_APPLICABLE;
  return measured(c) === 0 ? FAILED : UNMEASURED;
}

/** "12,345": a rate per second, whole. */
function formatRate(v: number): string {
  return Math.round(v).toLocaleString("en-US");
}

function fixedOr(v: number | undefined, digits: number): string {
  return v === undefined ? UNMEASURED : v.toFixed(digits);
}

/** The latency column's legend, naming the kinds (and their tools) the cases show. */
function latencyLegend(cases: readonly Case[]): string {
  const kinds = latencyKindsText(cases.filter((c) => c.summary.latencyUs).map((c) => c.tool));
  return `mean over the repetitions${kinds ? `: ${kinds}` : ""}; lower is better`;
}

const COLUMNS: ReportColumn[] = [
  { head: "path", priority: 0, cell: (c) => `${c.clientNode} → ${c.serverNode}` },
  { head: "test", priority: 0, wrapMin: 10, cell: (c) => testLabelOf(c) },
  {
    head: "n",
    priority: 3,
    align: "right",
    cell: (c, ctx) => `${measured(c)}/${Math.max(ctx.asked, c.summary.repetitions)}`,
    legend: () => "repetitions measured / asked for",
  },
  {
    head: "throughput",
    priority: 0,
    align: "right",
    cell: (c) => (c.summary.throughputBps ? formatBitrate(c.summary.throughputBps.mean) : missing(c, measuresOf(c).throughput)),
    legend: () => "mean over the measured repetitions, bits/s in decimal units (the receiver's figure where the tool has one); higher is better",
  },
  {
    head: "± 95% CI",
    priority: 5,
    align: "right",
    cell: (c) => {
      const ci = c.summary.throughputBps?.ci95;
      return ci ? `± ${formatBitrate((ci.high - ci.low) / 2)}` : NOT_APPLICABLE;
    },
    legend: () => "half the 95 % confidence interval of the mean throughput (Student t; none for one repetition)",
  },
  {
    head: "p90",
    priority: 7,
    align: "right",
    cell: (c) => (c.summary.throughputBps ? formatBitrate(c.summary.throughputBps.p90) : missing(c, measuresOf(c).throughput)),
    legend: () => "90th percentile of the repetitions' throughput",
  },
  {
    head: "latency",
    priority: 1,
    align: "right",
    cell: (c) => (c.summary.latencyUs ? formatLatency(c.summary.latencyUs.mean, c.tool) : missing(c, measuresOf(c).latency)),
    legend: latencyLegend,
  },
  {
    head: "req/s",
    priority: 1,
    align: "right",
    when: (cases) => cases.some((c) => headlinesRequests(c.tool)),
    cell: (c) => (c.summary.requestsPerS ? formatRate(c.summary.requestsPerS.mean) : missing(c, headlinesRequests(c.tool))),
    legend: () =>
      'requests answered per second, mean over the measured repetitions (http: nginx + wrk); higher is better. Its tests\' "vs host-host" is requests/s over the host-host requests/s',
  },
  {
    head: "conn/s",
    priority: 2,
    align: "right",
    when: (cases) => cases.some((c) => c.summary.connectionsPerS),
    cell: (c) => (c.summary.connectionsPerS ? formatRate(c.summary.connectionsPerS.mean) : NOT_APPLICABLE),
    legend: () => "new TCP connections per second (http new-connection: one per request, what a Service's DNAT and conntrack cost per connection); higher is better",
  },
  {
    head: "p50 · p90 · p99",
    priority: 3,
    align: "right",
    when: (cases) => cases.some((c) => hasPercentiles(c.tool)),
    cell: (c) => {
      if (!hasPercentiles(c.tool)) return NOT_APPLICABLE;
      const s = c.summary;
      if (!s.latencyP50Us && !s.latencyP90Us && !s.latencyP99Us) return missing(c, true);
      return [s.latencyP50Us, s.latencyP90Us, s.latencyP99Us].map((v) => (v ? formatMicros(v.mean) : UNMEASURED)).join(" · ");
    },
    legend: () => "latency percentiles of each repetition's requests or messages (round trip), mean over the repetitions; lower is better",
  },
  {
    head: "p99.9",
    priority: 5,
    align: "right",
    when: (cases) => cases.some((c) => c.summary.latencyP999Us),
    cell: (c) => (c.summary.latencyP999Us ? formatMicros(c.summary.latencyP999Us.mean) : NOT_APPLICABLE),
    legend: () => "99.9th latency percentile (sockperf), mean over the repetitions; lower is better",
  },
  {
    head: "loss",
    priority: 4,
    align: "right",
    cell: (c) => (c.summary.lossPercent ? formatPercent(c.summary.lossPercent.mean) : missing(c, measuresOf(c).loss)),
    legend: () => "datagrams lost, % of those sent (UDP and ping); lower is better",
  },
  {
    head: "%CPU/Gbit/s",
    priority: 2,
    align: "right",
    cell: (c) => {
      if (!measuresOf(c).throughput) return NOT_APPLICABLE;
      if (measured(c) === 0) return FAILED;
      return `${fixedOr(c.summary.clientCpuPercentPerGbps?.mean, 1)} · ${fixedOr(c.summary.serverCpuPercentPerGbps?.mean, 1)}`;
    },
    legend: () => "client · server: % of the node's CPU (all cores = 100 %) per Gbit/s of throughput; lower is better",
  },
  {
    head: "%CPU/10k req",
    priority: 4,
    align: "right",
    when: (cases) => cases.some((c) => headlinesRequests(c.tool)),
    cell: (c) => {
      if (!headlinesRequests(c.tool)) return NOT_APPLICABLE;
      if (measured(c) === 0) return FAILED;
      return `${fixedOr(c.summary.clientCpuPercentPer10kRequests?.mean, 2)} · ${fixedOr(c.summary.serverCpuPercentPer10kRequests?.mean, 2)}`;
    },
    legend: () => "client · server: % of the node's CPU (all cores = 100 %) per 10,000 requests/s; lower is better",
  },
  {
    head: "%CPU/1k conn",
    priority: 4,
    align: "right",
    when: (cases) => cases.some((c) => c.summary.connectionsPerS),
    cell: (c) => {
      if (!c.summary.connectionsPerS) return NOT_APPLICABLE;
      return `${fixedOr(c.summary.clientCpuPercentPer1kConnections?.mean, 2)} · ${fixedOr(c.summary.serverCpuPercentPer1kConnections?.mean, 2)}`;
    },
    legend: () => "client · server: % of the node's CPU (all cores = 100 %) per 1,000 new connections/s; lower is better",
  },
  {
    head: "wire/payload",
    priority: 6,
    align: "right",
    cell: (c) => (c.summary.wireToPayload ? c.summary.wireToPayload.mean.toFixed(3) : missing(c, measuresOf(c).throughput)),
    legend: () => "bytes on the wire per payload byte (1.046: 4.6 % headers and encapsulation); lower is better",
  },
  {
    head: "vs host-host",
    priority: 0,
    align: "right",
    cell: (c) => baselineCell(c),
    legend: () =>
      "this row over the host-host row of the same node pair and test. Throughput: higher is better, 100 % = as fast as the host network. Marked RTT or one-way (latency-only tests): latency over the host-host latency, lower is better",
  },
  {
    head: "flags",
    priority: 0,
    wrapMin: 11,
    cell: (c) => [...c.summary.flags, ...(c.summary.failed ? [`${c.summary.failed} failed`] : [])].join(", "),
  },
];

/** What the words in the cells mean, for those that appear in `cells`. */
const CELL_WORDS: [string, string][] = [
  [BASELINE_TEXT["is-baseline"], "this is the host-host row the other scenarios are compared with"],
  [BASELINE_TEXT["same-node"], "no host-host baseline: the path stays within one node and crosses no NIC"],
  [BASELINE_TEXT.external, "no host-host baseline: the client is outside the cluster"],
  [BASELINE_TEXT["no-baseline"], "the matching host-host case is not in this run"],
  [BASELINE_TEXT.unmeasured, "this case or its host-host baseline measured nothing"],
  [NOT_APPLICABLE, "not applicable: the tool does not report it (e.g. ping has no throughput; a single repetition has no CI)"],
  [FAILED, "every repetition of the case failed"],
  [UNMEASURED, "the tool reports it, but this case has no value (e.g. no CPU samples)"],
];

/** The legend of the cases under `shown` columns (with their cells): columns, cell words, flags. */
function legend(shown: readonly ReportColumn[], cases: readonly Case[], cells: readonly string[][], upper: boolean): LegendEntry[] {
  const entries: LegendEntry[] = [];
  for (const col of shown) if (col.legend) entries.push({ term: upper ? col.head.toUpperCase() : col.head, text: col.legend(cases) });
  const present = new Set(cells.flat());
  for (const [word, text] of CELL_WORDS) if (present.has(word)) entries.push({ term: word, text });
  const flags = cases.flatMap((c) => [...c.summary.flags, ...(c.summary.failed ? [`${c.summary.failed} failed`] : [])]);
  if (shown.some((c) => c.head === "flags")) entries.push(...flagEntries(flags));
  return entries;
}

/** The cases by scenario, in the order of {@link orderedCases}. */
function groups(doc: ReportDocument): { scenario: string; cases: Case[] }[] {
  const out: { scenario: string; cases: Case[] }[] = [];
  for (const c of orderedCases(doc)) {
    const last = out[out.length - 1];
    if (last?.scenario === c.scenario) last.cases.push(c);
    else out.push({ scenario: c.scenario, cases: [c] });
  }
  return out;
}

function csvCell(v: string | number | null | undefined): string {
  const t = v === null || v === undefined ? "" : String(v);
  return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

/** CSV columns: name and value per case; every summary with its 95 % CI, as the JSON has it. */
const CSV: [string, (c: Case) => string | number | null | undefined][] = [
  ["caseId", (c) => c.caseId],
  ["scenario", (c) => c.scenario],
  ["clientNode", (c) => c.clientNode],
  ["serverNode", (c) => c.serverNode],
  ["via", (c) => c.via],
  ["tool", (c) => c.tool],
  ["protocol", (c) => c.protocol],
  ["direction", (c) => c.direction],
  ["parallel", (c) => c.parallel],
  ["bitrateBps", (c) => c.bitrateBps],
  ["test", (c) => testLabelOf(c)],
  ["repetitions", (c) => c.summary.repetitions],
  ["failed", (c) => c.summary.failed],
  ["throughputMeanBps", (c) => c.summary.throughputBps?.mean],
  ["throughputCi95LowBps", (c) => c.summary.throughputBps?.ci95?.low],
  ["throughputCi95HighBps", (c) => c.summary.throughputBps?.ci95?.high],
  ["throughputMedianBps", (c) => c.summary.throughputBps?.median],
  ["throughputP90Bps", (c) => c.summary.throughputBps?.p90],
  ["throughputMinBps", (c) => c.summary.throughputBps?.min],
  ["throughputMaxBps", (c) => c.summary.throughputBps?.max],
  ["throughputCvPercent", (c) => c.summary.throughputBps?.cvPercent],
  ["latencyKind", (c) => (c.summary.latencyUs ? latencyKindOf(c.tool) : undefined)],
  ["latencyMeanUs", (c) => c.summary.latencyUs?.mean],
  ["latencyCi95LowUs", (c) => c.summary.latencyUs?.ci95?.low],
  ["latencyCi95HighUs", (c) => c.summary.latencyUs?.ci95?.high],
  ["lossMeanPercent", (c) => c.summary.lossPercent?.mean],
  ["lossCi95LowPercent", (c) => c.summary.lossPercent?.ci95?.low],
  ["lossCi95HighPercent", (c) => c.summary.lossPercent?.ci95?.high],
  ["clientCpuPercentPerGbps", (c) => c.summary.clientCpuPercentPerGbps?.mean],
  ["clientCpuPercentPerGbpsCi95Low", (c) => c.summary.clientCpuPercentPerGbps?.ci95?.low],
  ["clientCpuPercentPerGbpsCi95High", (c) => c.summary.clientCpuPercentPerGbps?.ci95?.high],
  ["serverCpuPercentPerGbps", (c) => c.summary.serverCpuPercentPerGbps?.mean],
  ["serverCpuPercentPerGbpsCi95Low", (c) => c.summary.serverCpuPercentPerGbps?.ci95?.low],
  ["serverCpuPercentPerGbpsCi95High", (c) => c.summary.serverCpuPercentPerGbps?.ci95?.high],
  ["wireToPayload", (c) => c.summary.wireToPayload?.mean],
  ["wireToPayloadCi95Low", (c) => c.summary.wireToPayload?.ci95?.low],
  ["wireToPayloadCi95High", (c) => c.summary.wireToPayload?.ci95?.high],
  ["ratioToBaseline", (c) => c.summary.ratioToBaseline],
  ["baseline", (c) => baselineState(c)],
  ["flags", (c) => c.summary.flags.join(" ")],
];

/** The CSV header, for tests and scripts. */
export const CSV_COLUMNS: readonly string[] = CSV.map(([name]) => name);

/**
 * Columns appended when some case has request/response figures (http,
 * sockperf): each figure's mean and 95 % CI, as the JSON has them; a report
 * without such cases keeps the columns above only.
 */
const CSV_REQUESTS: [string, (c: Case) => string | number | null | undefined][] = REQUEST_FIGURES.flatMap((k): [string, (c: Case) => string | number | null | undefined][] => [
  [k, (c) => c.summary[k]?.mean],
  [`${k}Ci95Low`, (c) => c.summary[k]?.ci95?.low],
  [`${k}Ci95High`, (c) => c.summary[k]?.ci95?.high],
]);

/** The request/response CSV columns' names. */
export const CSV_REQUEST_COLUMNS: readonly string[] = CSV_REQUESTS.map(([name]) => name);

/** The CSV columns of `cases`: the request/response ones only when some case has such a figure. */
function csvColumns(cases: readonly Case[]): [string, (c: Case) => string | number | null | undefined][] {
  return cases.some((c) => REQUEST_FIGURES.some((k) => c.summary[k])) ? [...CSV, ...CSV_REQUESTS] : CSV;
}

/** The table columns of `cases`: those without a condition, and those whose condition some case meets. */
function columnsOf(cases: readonly Case[]): ReportColumn[] {
  return COLUMNS.filter((c) => !c.when || c.when(cases));
}

function title(doc: ReportDocument): string {
  const r = doc.run;
  const reps = doc.spec.repetitions;
  return `run ${r.runId} (${r.name}): ${r.status}, ${r.done}/${r.total} done, ${r.failed} failed; ${reps} repetition${reps === 1 ? "" : "s"} per case${r.error ? ` — ${r.error}` : ""}`;
}

/** Render `doc` in `format`; a table fitted to `opts` (no limit without a width). */
export function renderReport(doc: ReportDocument, format: ReportFormat, opts: RenderOptions = {}): string {
  const ctx: Ctx = { asked: doc.spec.repetitions ?? 0 };
  switch (format) {
    case "json":
      return JSON.stringify(doc, null, 2);
    case "yaml":
      return stringify(doc);
    case "csv": {
      const columns = csvColumns(doc.cases);
      const rows = orderedCases(doc).map((c) => columns.map(([, f]) => csvCell(f(c))).join(","));
      return [columns.map(([name]) => name).join(","), ...rows].join("\n");
    }
    case "markdown": {
      const COLUMNS = columnsOf(doc.cases);
      const esc = (t: string): string => t.replace(/\|/g, "\\|");
      const lines = [`## netmatrix run ${doc.run.runId} (${doc.run.name}, ${doc.run.status})`];
      const all: string[][] = [];
      for (const g of groups(doc)) {
        lines.push(
          "",
          `### ${esc(scenarioTitle(g.scenario))}`,
          "",
          `| ${COLUMNS.map((c) => esc(c.head)).join(" | ")} |`,
          `|${COLUMNS.map((c) => (c.align === "right" ? "---:" : "---")).join("|")}|`,
        );
        for (const c of g.cases) {
          const cells = COLUMNS.map((col) => col.cell(c, ctx));
          all.push(cells);
          lines.push(`| ${cells.map(esc).join(" | ")} |`);
        }
      }
      const entries = legend(COLUMNS, orderedCases(doc), all, false);
      if (entries.length) lines.push("", ...legendMarkdown(entries));
      lines.push(...sweepMarkdownLines(doc.sweeps ?? []));
      if (doc.agreement) lines.push("", ...agreementMarkdown(doc.agreement));
      return lines.join("\n");
    }
    case "table": {
      const COLUMNS = columnsOf(doc.cases);
      const rows: TextRow[] = [];
      const all: string[][] = [];
      for (const g of groups(doc)) {
        rows.push({ group: scenarioTitle(g.scenario) });
        for (const c of g.cases) {
          const cells = COLUMNS.map((col) => col.cell(c, ctx));
          all.push(cells);
          rows.push(cells);
        }
      }
      const t = renderTextTable(COLUMNS, rows, opts);
      const shownIdx = COLUMNS.map((_, i) => i).filter((i) => !t.hidden.includes(COLUMNS[i]!));
      const shown = shownIdx.map((i) => COLUMNS[i]!);
      const cases = orderedCases(doc);
      const entries = legend(
        shown,
        cases,
        all.map((r) => shownIdx.map((i) => r[i]!)),
        true,
      );
      const width = opts.wide ? undefined : opts.width;
      const out = width === undefined ? [title(doc)] : wrapWords(title(doc), width);
      if (doc.cases.length)
        out.push(...t.lines, "", ...legendLines(entries, width), ...hiddenNote(t.hidden, width), ...sweepTextLines(doc.sweeps ?? [], opts), ...ladderLines(doc.cases, opts));
      else out.push("no case has finished yet");
      if (doc.agreement) out.push("", ...agreementLines(doc.agreement, opts));
      return out.join("\n");
    }
  }
}
