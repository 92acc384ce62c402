/**
 * A comparison as a person or a script wants it: a table (cli-table3, like
 * `report`), Markdown, a self-contained HTML page, or the JSON document.
 * Headline metrics (throughput, latency) first, then CPU, wire/payload, loss.
 */
import Table from "cli-table3";
import { formatBitrate, formatMicros, formatPercent } from "../../common/src/format.js";
import type { CaseComparison, CompareDocument, MetricComparison } from "./compare.js";
import { formatChange } from "./compare-rollup.js";
import { htmlPage, type HtmlSection } from "./compare-html.js";

export const COMPARE_FORMATS = ["table", "json", "markdown", "html"] as const;
export type CompareFormat = (typeof COMPARE_FORMATS)[number];

/** One metric of one matched case: a line of the comparison. */
export interface CompareRow {
  case: CaseComparison;
  metric: MetricComparison;
}

export const COMPARE_HEAD = ["scenario", "path", "test", "metric", "A", "B", "change % [95 % CI]", "p", "verdict", "notes"];

/** Every row: headline metrics of every case first, then the secondary ones; each by scenario, test, path. */
export function compareRows(doc: CompareDocument): CompareRow[] {
  const scenarios = [...new Set(doc.cases.map((c) => c.scenario))];
  const cases = [...doc.cases].sort((x, y) => scenarios.indexOf(x.scenario) - scenarios.indexOf(y.scenario) || x.test.localeCompare(y.test) || x.path.localeCompare(y.path));
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
  }
}

/** "<0.001", "0.042", "1.000", "-". */
export function formatP(p: number | null): string {
  return p === null ? "-" : p < 0.001 ? "<0.001" : p.toFixed(3);
}

/** "−3.42 % [−3.91, −2.93]". */
export function formatChangeWithCi(m: MetricComparison): string {
  const ci = m.changePercentCi95 ? ` [${formatChange(m.changePercentCi95.low, 2).replace(" %", "")}, ${formatChange(m.changePercentCi95.high, 2).replace(" %", "")}]` : "";
  return `${formatChange(m.changePercent, 2)}${ci}`;
}

/** The verdict as shown: "not comparable" overrides the statistics, which then go to the notes. */
export function shownVerdict(r: CompareRow): string {
  return r.case.comparable ? r.metric.verdict : "not comparable";
}

/** The cells of a row, in `COMPARE_HEAD` order. */
export function compareCells(r: CompareRow): string[] {
  const { case: c, metric: m } = r;
  const notes = [...(m.headline ? [...c.reasons, ...c.notes] : []), ...(!c.comparable ? [`statistically: ${m.verdict}`] : []), ...(m.reason ? [m.reason] : [])];
  return [
    c.scenario,
    c.path,
    c.test,
    m.label,
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

/** Render `doc` in `format`. */
export function renderCompare(doc: CompareDocument, format: CompareFormat): string {
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
      return out.join("\n");
    }
    case "html": {
      const html: HtmlSection[] = sections(doc).map((s) => ({ title: s.title, rows: s.rows.map((r) => ({ cells: compareCells(r), verdict: shownVerdict(r) })) }));
      return htmlPage({ title, lines, head: COMPARE_HEAD, sections: html, footer: unmatchedLines(doc) });
    }
    case "table": {
      const out = [title, ...lines.map((l) => `  ${l}`)];
      for (const s of sections(doc)) {
        const t = new Table({ head: COMPARE_HEAD.map((h) => h.toUpperCase()), style: { head: [], border: [] } });
        for (const r of s.rows) t.push(compareCells(r));
        out.push(`${s.title}:`, t.toString());
      }
      out.push(...unmatchedLines(doc));
      return out.join("\n");
    }
  }
}
