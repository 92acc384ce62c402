/**
 * A comparison as a person or a script wants it: a table (fitted to the
 * terminal like `report`'s, grouped by scenario, with a legend), Markdown, a
 * self-contained HTML page, or the JSON document.
 * Headline metrics (throughput, latency) first, then CPU, wire/payload, loss.
 */
import { formatBitrate, formatMicros, formatPercent } from "../../common/src/format.js";
import type { CaseComparison, CompareDocument, MetricComparison } from "./compare.js";
import { formatChange } from "./compare-rollup.js";
import { htmlPage, type HtmlSection } from "./compare-html.js";
import { latencyKindLabel, latencyKindOf, latencyKindsText, scenarioTitle, testCompare } from "./labels.js";
import { naturalCompare, scenarioCompare } from "./heatmap.js";
import { legendLines, legendMarkdown, wrapWords } from "./legend.js";
import { hasPercentiles } from "./request-figures.js";
import { tools } from "../../tools/src/index.js";
import { hiddenNote, renderTextTable, type FitOptions, type TextColumn, type TextRow } from "./text-table.js";

export const COMPARE_FORMATS = ["table", "json", "markdown", "html"] as const;
export type CompareFormat = (typeof COMPARE_FORMATS)[number];

/** One metric of one matched case: a line of the comparison. */
export interface CompareRow {
  case: CaseComparison;
  metric: MetricComparison;
}

export const COMPARE_HEAD = ["scenario", "path", "test", "metric", "A", "B", "change % [95 % CI]", "p", "verdict", "notes"];

/**
 * Every row: headline metrics of every case first, then the secondary ones;
 * each by scenario (the catalogue's order), test (as the report orders them),
 * client and server node (natural order).
 */
export function compareRows(doc: CompareDocument): CompareRow[] {
  const cases = [...doc.cases].sort(
    (x, y) => scenarioCompare(x.scenario, y.scenario) || testCompare(x, y) || naturalCompare(x.clientNode, y.clientNode) || naturalCompare(x.serverNode, y.serverNode),
  );
  const all = cases.flatMap((c) => c.metrics.map((metric) => ({ case: c, metric })));
  return [...all.filter((r) => r.metric.headline), ...all.filter((r) => !r.metric.headline)];
}

/**
 * Comparable rows whose headline metric (throughput for bandwidth tests,
 * latency for latency tests) got significantly worse by more than `pct` %
 * of A.
 */
export function regressions(doc: CompareDocument, pct: number): CompareRow[] {
  return compareRows(doc).filter(({ case: c, metric: m }) => {
    if (!c.comparable || !m.headline || m.verdict !== "worse" || m.changePercent === null) return false;
    return Math.abs(m.changePercent) > pct; // "worse" already fixes the sign
  });
}

/** A metric's value in its unit, for people. */
export function formatValue(m: MetricComparison, v: number | null): string {
  if (v === null) return "-";
  switch (m.metric) {
    case "throughputBps":
      return formatBitrate(v);
    case "latencyUs":
      return formatMicros(v);
    case "lossPercent":
      return formatPercent(v);
    case "clientCpuPercentPerGbps":
    case "serverCpuPercentPerGbps":
      return `${v.toFixed(1)} %`;
    case "wireToPayload":
      return v.toFixed(4);
    case "requestsPerS":
    case "connectionsPerS":
      return Math.round(v).toLocaleString("en-US");
    case "latencyP50Us":
    case "latencyP90Us":
    case "latencyP99Us":
    case "latencyP999Us":
      return formatMicros(v);
    case "clientCpuPercentPer10kRequests":
    case "serverCpuPercentPer10kRequests":
    case "clientCpuPercentPer1kConnections":
    case "serverCpuPercentPer1kConnections":
      return `${v.toFixed(2)} %`;
    case "errorRate":
      return formatPercent(v * 100);
  }
}

/** "<0.001", "0.042", "1.000", "-". */
export function formatP(p: number | null): string {
  return p === null ? "-" : p < 0.001 ? "<0.001" : p.toFixed(3);
}

/** "[−3.91, −2.93]": the 95 % CI of the change, % of A; "" without one. */
function formatCi(m: MetricComparison): string {
  return m.changePercentCi95 ? `[${formatChange(m.changePercentCi95.low, 2).replace(" %", "")}, ${formatChange(m.changePercentCi95.high, 2).replace(" %", "")}]` : "";
}

/** "−3.42 % [−3.91, −2.93]". */
export function formatChangeWithCi(m: MetricComparison): string {
  const ci = formatCi(m);
  return `${formatChange(m.changePercent, 2)}${ci ? ` ${ci}` : ""}`;
}

/** The verdict as shown: "not comparable" overrides the statistics, which then go to the notes. */
export function shownVerdict(r: CompareRow): string {
  return r.case.comparable ? r.metric.verdict : "not comparable";
}

/** The metric as a row names it: latency says what its tool measures ("latency RTT", "latency one-way"), as the driver has it. */
export function metricLabel(r: CompareRow): string {
  const kind = r.metric.metric === "latencyUs" ? latencyKindOf(r.case.tool) : undefined;
  return kind ? `latency ${latencyKindLabel(kind)}` : r.metric.label;
}

/** The cells of a row, in `COMPARE_HEAD` order. */
export function compareCells(r: CompareRow): string[] {
  const { case: c, metric: m } = r;
  const notes = [...(m.headline ? [...c.reasons, ...c.notes] : []), ...(!c.comparable ? [`statistically: ${m.verdict}`] : []), ...(m.reason ? [m.reason] : [])];
  return [
    c.scenario,
    c.path,
    c.test,
    metricLabel(r),
    `${formatValue(m, m.a.mean)} (n=${m.a.n})`,
    `${formatValue(m, m.b.mean)} (n=${m.b.n})`,
    formatChangeWithCi(m),
    formatP(m.p),
    shownVerdict(r),
    notes.join("; "),
  ];
}

/** Lines above the tables: the runs, spec and node differences, the per-scenario roll-up. */
function preamble(doc: CompareDocument): { title: string; lines: string[] } {
  const ref = (r: CompareDocument["a"]): string => `${r.runId} (${r.name}, ${r.status}, ${r.cases} cases)`;
  const lines = [
    doc.run.specDifferences.length
      ? `spec differences (A → B): ${doc.run.specDifferences.join(" ")}`
      : `specs: identical${doc.a.name === doc.b.name ? "" : " apart from the name"}`,
    ...doc.run.notes,
    `matched cases: ${doc.cases.length} (${doc.cases.filter((c) => !c.comparable).length} not comparable); only in A: ${doc.unmatched.onlyInA.length}; only in B: ${doc.unmatched.onlyInB.length}`,
    ...doc.rollup.map((r) => r.summary),
  ];
  return { title: `compare A: ${ref(doc.a)} → B: ${ref(doc.b)}`, lines };
}

function sections(doc: CompareDocument): { title: string; rows: CompareRow[] }[] {
  const rows = compareRows(doc);
  return [
    { title: "headline metrics", rows: rows.filter((r) => r.metric.headline) },
    { title: "secondary metrics (CPU, wire/payload, loss)", rows: rows.filter((r) => !r.metric.headline) },
  ].filter((s) => s.rows.length > 0);
}

function unmatchedLines(doc: CompareDocument): string[] {
  const line = (side: string, list: CompareDocument["unmatched"]["onlyInA"]): string[] =>
    list.length ? [`only in ${side} (${list.length}): ${list.map((c) => `${c.scenario} ${c.path} ${c.test}`).join("; ")}`] : [];
  return [...line("A", doc.unmatched.onlyInA), ...line("B", doc.unmatched.onlyInB)];
}

/**
 * The terminal table's columns (the scenario is the group title above the
 * rows), the same figures and formats as {@link compareCells} with the
 * repetition counts and the CI in columns of their own, so they can hide
 * first when the table does not fit.
 */
const TABLE_COLUMNS: TextColumn[] = [
  { head: "path", priority: 0 },
  { head: "test", priority: 0, wrapMin: 18 },
  { head: "metric", priority: 0, wrapMin: 10 },
  { head: "A", priority: 1, align: "right" },
  { head: "B", priority: 1, align: "right" },
  { head: "n A/B", priority: 4, align: "right" },
  { head: "change %", priority: 0, align: "right" },
  { head: "95 % CI", priority: 3, align: "right" },
  { head: "p", priority: 5, align: "right" },
  { head: "verdict", priority: 0, wrapMin: 8 },
  { head: "notes", priority: 2, maxWidth: 40, wrapMin: 16 },
];

/** A row's cells in {@link TABLE_COLUMNS} order, after its scenario. */
function tableCells(r: CompareRow): [string, string[]] {
  const m = r.metric;
  const [scenario, path, test, metric, , , , p, verdict, notes] = compareCells(r);
  return [
    scenario!,
    [path!, test!, metric!, formatValue(m, m.a.mean), formatValue(m, m.b.mean), `${m.a.n}/${m.b.n}`, formatChange(m.changePercent, 2), formatCi(m) || "-", p!, verdict!, notes!],
  ];
}

/** What the compare table's columns mean (Markdown: "A" and "B" carry n, "change % [95 % CI]" the interval). */
const COMPARE_LEGEND: { head: string; text: string }[] = [
  { head: "A", text: "run A's mean over its repetitions (the run compared against)" },
  { head: "B", text: "run B's mean over its repetitions" },
  { head: "n A/B", text: "repetitions measured in A / in B (2 or more each for a test)" },
  { head: "change %", text: "(B − A) / A" },
  { head: "95 % CI", text: "the 95 % confidence interval of the change, % of A (Welch)" },
  { head: "change % [95 % CI]", text: "(B − A) / A, with the 95 % confidence interval of that change (Welch)" },
  { head: "p", text: "Welch's t-test, two-sided: below 0.05 the change is significant" },
  {
    head: "verdict",
    text: "better or worse: a significant change in the metric's good or bad direction — throughput: higher is better; latency, loss, CPU per Gbit/s, wire/payload: lower is better. not comparable: the two runs differ in more than the network (the notes say how)",
  },
  { head: "metric", text: "" },
];

/** The metrics of request/response tests, which the legend explains only when the comparison has them. */
const REQUEST_METRICS: ReadonlySet<string> = new Set(["requestsPerS", "connectionsPerS", "latencyP50Us", "latencyP90Us", "latencyP99Us", "latencyP999Us", "errorRate"]);

/** The legend's entries for `doc`: the latency kinds of its tools, and the request/response metrics when it has them. */
function compareLegend(doc: CompareDocument): { head: string; text: string }[] {
  const requests = doc.cases.some((c) => c.metrics.some((m) => REQUEST_METRICS.has(m.metric)));
  return COMPARE_LEGEND.map((e) => {
    if (e.head === "metric") {
      const cpu = `CPU/Gbit/s: % of the node's CPU (all cores = 100 %) per Gbit/s of throughput${requests ? " (per 10k req/s, per 1k conn/s: per 10,000 requests/s, per 1,000 new connections/s)" : ""}`;
      // Every tool of the catalogue, as before the request/response tools; those (http, sockperf) only when compared here.
      const present = new Set(doc.cases.map((c) => c.tool));
      const named = tools.names.filter((t) => present.has(t) || !hasPercentiles(t));
      return { ...e, text: `latency ${latencyKindsText(named)}; ${cpu}` };
    }
    if (e.head === "verdict" && requests) {
      return {
        ...e,
        text: e.text.replace(
          "throughput: higher is better; latency, loss,",
          "throughput, requests/s, connections/s: higher is better; latency (mean and percentiles), failed repetitions (errors), loss,",
        ),
      };
    }
    return e;
  });
}

/** Render `doc` in `format`; the table fitted to `opts` (no limit without a width). */
export function renderCompare(doc: CompareDocument, format: CompareFormat, opts: FitOptions = {}): string {
  const { title, lines } = preamble(doc);
  switch (format) {
    case "json":
      return JSON.stringify(doc, null, 2);
    case "markdown": {
      const esc = (t: string): string => t.replace(/\|/g, "\\|");
      const out = [`## ${title}`, "", ...lines.map((l) => `- ${l}`)];
      for (const s of sections(doc)) {
        out.push("", `### ${s.title}`, "", `| ${COMPARE_HEAD.join(" | ")} |`, `|${COMPARE_HEAD.map(() => "---").join("|")}|`);
        for (const r of s.rows) out.push(`| ${compareCells(r).map(esc).join(" | ")} |`);
      }
      const un = unmatchedLines(doc);
      if (un.length) out.push("", ...un.map((l) => `- ${l}`));
      const inHead = new Set(COMPARE_HEAD);
      const entries = compareLegend(doc)
        .filter((e) => inHead.has(e.head))
        .map((e) => ({ term: e.head, text: e.text }));
      if (sections(doc).length)
        out.push("", ...legendMarkdown([...entries, { term: "(n=…)", text: "after A and B: the repetitions measured on that side (2 or more each for a test)" }]));
      return out.join("\n");
    }
    case "html": {
      const html: HtmlSection[] = sections(doc).map((s) => ({ title: s.title, rows: s.rows.map((r) => ({ cells: compareCells(r), verdict: shownVerdict(r) })) }));
      return htmlPage({ title, lines, head: COMPARE_HEAD, sections: html, footer: unmatchedLines(doc) });
    }
    case "table": {
      const width = opts.wide ? undefined : opts.width;
      const indented = (l: string): string[] => (width === undefined ? [`  ${l}`] : wrapWords(l, width - 4).map((x, i) => `${i ? "    " : "  "}${x}`));
      const out = [title, ...lines.flatMap(indented)];
      const hidden = new Set<string>();
      const shownHeads = new Set<string>();
      const rows = sections(doc);
      for (const s of rows) {
        const table: TextRow[] = [];
        let scenario: string | undefined;
        for (const r of s.rows) {
          const [sc, cells] = tableCells(r);
          if (sc !== scenario) table.push({ group: scenarioTitle((scenario = sc!)) });
          table.push(cells);
        }
        const t = renderTextTable(TABLE_COLUMNS, table, opts);
        for (const c of t.hidden) hidden.add(c.head);
        for (const c of TABLE_COLUMNS) if (!t.hidden.includes(c)) shownHeads.add(c.head);
        out.push("", `${s.title}:`, ...t.lines);
      }
      out.push(...unmatchedLines(doc).flatMap((l) => (width === undefined ? [l] : wrapWords(l, width))));
      if (rows.length) {
        const entries = compareLegend(doc)
          .filter((e) => shownHeads.has(e.head))
          .map((e) => ({ term: e.head.toUpperCase(), text: e.text }));
        out.push(
          "",
          ...legendLines(entries, width),
          ...hiddenNote(
            TABLE_COLUMNS.filter((c) => hidden.has(c.head)),
            width,
          ),
        );
      }
      return out.join("\n");
    }
  }
}
