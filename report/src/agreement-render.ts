/**
 * The cross-tool agreement (agreement.ts) as the report shows it: one row
 * per path, each tool's median side by side, the spread and the verdict, and
 * under it what the NIC counters say — as text lines, Markdown and HTML. Pure.
 */
import { formatBitrate } from "../../common/src/format.js";
import type { AgreementGroup } from "./agreement.js";
import { esc } from "./html-util.js";
import { renderTextTable, wrapCell, type FitOptions, type TextColumn, type TextRow } from "./text-table.js";

/** The tools of `groups` in first-seen order: the columns. */
function toolColumns(groups: readonly AgreementGroup[]): string[] {
  return [...new Set(groups.flatMap((g) => g.tools.map((t) => t.tool)))];
}

/** The cells of a group's row: path, each tool's median ("-" where it did not measure), spread, verdict. */
function rowCells(g: AgreementGroup, tools: readonly string[]): string[] {
  const median = (tool: string) => g.tools.find((t) => t.tool === tool)?.medianBps;
  return [g.path, ...tools.map((t) => formatBitrate(median(t))), `${g.spreadPercent.toFixed(1)} %`, g.disagree ? "tools-disagree" : "agree"];
}

const TITLE = "cross-tool agreement (crosscheck): median throughput of each tool on the same path; more than 5 % apart is tools-disagree";

/** The terminal table's columns: every one stays; a path wraps before the table gives way to a list. */
function textColumns(tools: readonly string[]): TextColumn[] {
  return [
    { head: "path", priority: 0, wrapMin: 12 },
    ...tools.map((t): TextColumn => ({ head: t, priority: 0, align: "right" })),
    { head: "spread", priority: 0, align: "right" },
    { head: "verdict", priority: 0 },
  ];
}

/**
 * Text lines (empty without groups): a title, then a table fitted to `fit` like the report's, each path's
 * NIC verdict under its row; where even that table is too wide (many tools, a narrow terminal), one block
 * per path: the path, then its tools, spread and verdict, then the NIC verdict, each wrapped.
 */
export function agreementLines(groups: readonly AgreementGroup[], fit: FitOptions = {}): string[] {
  if (!groups.length) return [];
  const tools = toolColumns(groups);
  const width = fit.wide ? undefined : fit.width;
  const wrap = (text: string, indent = ""): string[] => (width === undefined ? [indent + text] : wrapCell(text, width - indent.length).map((l) => indent + l));
  const title = wrap(TITLE);
  const rows: TextRow[] = groups.flatMap((g) => [rowCells(g, tools), { note: `NIC: ${g.referee.text}` }]);
  const table = renderTextTable(textColumns(tools), rows, fit).lines;
  if (width === undefined || table.every((l) => [...l].length <= width)) return [...title, ...table];
  return [
    ...title,
    ...groups.flatMap((g) => {
      const [path, ...figures] = rowCells(g, tools);
      const spread = figures.at(-2)!;
      const measured = tools.map((t, i) => `${t} ${figures[i]}`).join(" · ");
      return ["", ...wrap(path!), ...wrap(`${measured}; spread ${spread}: ${figures.at(-1)}`, "    "), ...wrap(`NIC: ${g.referee.text}`, "    ")];
    }),
  ];
}

/** The same as Markdown (empty without groups). */
export function agreementMarkdown(groups: readonly AgreementGroup[]): string[] {
  if (!groups.length) return [];
  const tools = toolColumns(groups);
  const md = (t: string) => t.replace(/\|/g, "\\|");
  const head = ["path", ...tools, "spread", "verdict", "NIC counters"];
  return [
    `### ${TITLE}`,
    "",
    `| ${head.map(md).join(" | ")} |`,
    `|---|${tools.map(() => "---:").join("|")}|---:|---|---|`,
    ...groups.map((g) => `| ${[...rowCells(g, tools), g.referee.text].map(md).join(" | ")} |`),
  ];
}

/** The same as an HTML section (empty without groups); disagreeing rows carry class "disagree". */
export function agreementHtml(groups: readonly AgreementGroup[]): string {
  if (!groups.length) return "";
  const tools = toolColumns(groups);
  const head = ["path", ...tools, "spread", "verdict", "NIC counters"];
  const rows = groups.map((g) => {
    const cells = [...rowCells(g, tools), g.referee.text];
    return `<tr${g.disagree ? ' class="disagree"' : ""}>${cells.map((c, i) => `<td${i > 0 && i <= tools.length + 1 ? ' class="num"' : ""}>${esc(c)}</td>`).join("")}</tr>`;
  });
  return `<section id="agreement"><h2>Cross-tool agreement</h2>
<p>${esc(TITLE)}. The NIC counters referee: a tool whose wire bytes per payload byte lie within what the path's framing allows reported the payload the carrying interface saw.</p>
<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>
<tbody>${rows.join("\n")}</tbody></table></section>`;
}
