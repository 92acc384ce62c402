/**
 * A comparison as one self-contained HTML page: inline CSS, no scripts, no
 * external URL; every string escaped; rows coloured by verdict. Pure.
 */

/** One table of the page; `verdict` picks the row's colour. */
export interface HtmlSection {
  title: string;
  rows: { cells: string[]; verdict: string }[];
}

const CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2125; }
h1 { font-size: 1.2rem; } h2 { font-size: 1rem; margin-top: 1.5rem; }
table { border-collapse: collapse; }
th, td { border: 1px solid #d0d4d9; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f1f3f5; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.better td.verdict { background: #d3f9d8; }
tr.worse td.verdict { background: #ffe3e3; }
tr.same td.verdict { background: #f8f9fa; }
tr.untested td.verdict, tr.incomparable td.verdict { background: #e9ecef; color: #5c636a; }
tr.incomparable td { color: #5c636a; }
`;

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function verdictClass(verdict: string): string {
  if (verdict === "better" || verdict === "worse") return verdict;
  if (verdict === "no significant change") return "same";
  if (verdict === "not comparable") return "incomparable";
  return "untested";
}

/** Columns holding numbers (A, B, change, p) are right-aligned. */
const NUMERIC = new Set([4, 5, 6, 7]);

/** The page: a title, lines of context, one table per section, lines at the end. */
export function htmlPage(page: { title: string; lines: string[]; head: string[]; sections: HtmlSection[]; footer: string[] }): string {
  const verdictAt = page.head.indexOf("verdict");
  const list = (lines: string[]): string => (lines.length ? `<ul>\n${lines.map((l) => `<li>${escapeHtml(l)}</li>`).join("\n")}\n</ul>` : "");
  const tables = page.sections.map((s) => {
    const head = `<tr>${page.head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr>`;
    const rows = s.rows.map((r) => {
      const tds = r.cells.map((c, i) => `<td${i === verdictAt ? ' class="verdict"' : NUMERIC.has(i) ? ' class="num"' : ""}>${escapeHtml(c)}</td>`).join("");
      return `<tr class="${verdictClass(r.verdict)}">${tds}</tr>`;
    });
    return `<h2>${escapeHtml(s.title)}</h2>\n<table>\n<thead>${head}</thead>\n<tbody>\n${rows.join("\n")}\n</tbody>\n</table>`;
  });
  return [
    "<!doctype html>",
    '<html lang="en">',
    `<head><meta charset="utf-8"><title>${escapeHtml(page.title)}</title><style>${CSS}</style></head>`,
    "<body>",
    `<h1>${escapeHtml(page.title)}</h1>`,
    list(page.lines),
    ...tables,
    list(page.footer),
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
