/**
 * Tables for a terminal, the way kubectl and gh print them: no borders, no
 * line between rows, columns two spaces apart, numbers right-aligned, and
 * the table fitted to a width: columns of lower priority are hidden first
 * and those that fit again are put back (the caller says which, and that
 * `--wide` shows them); when the columns that always stay do not fit, those
 * marked `wrapMin` wrap at spaces. Rows may be grouped
 * under a title line. Without a width (`--wide`, or output that is not a
 * terminal) every column is shown at full width. Pure.
 */
import { wrapWords } from "./legend.js";

export interface TextColumn {
  head: string;
  /** 0: always shown; when the table does not fit, the highest number is hidden first (columns of one number together). */
  priority: number;
  align?: "left" | "right";
  /** Wraps at spaces down to this many characters when the columns that always stay do not fit otherwise. */
  wrapMin?: number;
  /** Never wider than this: longer cells wrap at spaces (e.g. free-text notes). */
  maxWidth?: number;
}

/**
 * A row of cells (one per column), a group title printed on a line of its own, or a note on the row
 * above, indented under it and wrapped to the width (never cut).
 */
export type TextRow = string[] | { group: string } | { note: string };

/** How far a note is indented under its row. */
const NOTE_INDENT = 4;

export interface FitOptions {
  /** Characters per line; undefined: no limit. */
  width?: number;
  /** Show every column, whatever the width. */
  wide?: boolean;
}

export interface RenderedTable {
  lines: string[];
  /** Columns left out to fit the width, in column order. */
  hidden: TextColumn[];
}

const GAP = 2;
/** Rows under group titles are indented by this much. */
const INDENT = 0;

/** Characters as a terminal shows them (every character of these tables is one column wide). */
export function displayWidth(s: string): number {
  return [...s].length;
}

function truncate(s: string, width: number): string {
  const chars = [...s];
  return chars.length <= width ? s : `${chars.slice(0, Math.max(0, width - 1)).join("")}…`;
}

/** Wrap `text` to `width`, breaking words longer than it. */
export function wrapCell(text: string, width: number): string[] {
  return wrapWords(text, width).flatMap((l) => {
    const chars = [...l];
    if (chars.length <= width) return [l];
    const parts: string[] = [];
    for (let i = 0; i < chars.length; i += width) parts.push(chars.slice(i, i + width).join(""));
    return parts;
  });
}

/** Render `rows` under `columns`, fitted to `fit`. */
export function renderTextTable(columns: readonly TextColumn[], rows: readonly TextRow[], fit: FitOptions = {}): RenderedTable {
  const cellRows = rows.filter((r): r is string[] => Array.isArray(r));
  const indent = rows.some((r) => !Array.isArray(r) && "group" in r) ? INDENT : 0;
  const natural = columns.map((c, i) => {
    const w = Math.max(displayWidth(c.head), ...cellRows.map((r) => displayWidth(r[i] ?? "")));
    return c.maxWidth !== undefined ? Math.min(w, Math.max(c.maxWidth, displayWidth(c.head))) : w;
  });
  const least = columns.map((c, i) => (c.wrapMin !== undefined ? Math.min(natural[i]!, Math.max(c.wrapMin, displayWidth(c.head))) : natural[i]!));
  const need = (shown: number[], widths: readonly number[]): number => indent + shown.reduce((n, i) => n + widths[i]!, 0) + GAP * Math.max(0, shown.length - 1);

  let shown = columns.map((_, i) => i);
  const widths = [...natural];
  const limit = fit.wide ? undefined : fit.width;
  if (limit !== undefined && need(shown, natural) > limit) {
    // Hide columns a priority level at a time (highest number first; a level's columns go and come back together)
    // until the rest fits unwrapped; then put back the levels that fit again, lowest number first.
    const fits = (set: number[], w: readonly number[]): boolean => need(set, w) <= limit;
    const levels = [...new Set(columns.map((c) => c.priority).filter((p) => p > 0))].sort((a, b) => b - a);
    const dropped: number[] = [];
    for (const level of levels) {
      if (fits(shown, natural)) break;
      shown = shown.filter((i) => columns[i]!.priority !== level);
      dropped.push(level);
    }
    for (const level of dropped.reverse()) {
      const more = [...shown, ...columns.flatMap((c, i) => (c.priority === level ? [i] : []))].sort((a, b) => a - b);
      if (fits(more, natural)) shown = more;
    }
    // Still too wide with only the columns that stay: the wrapping ones give up width, down to their least.
    if (!fits(shown, natural)) {
      for (const i of shown) widths[i] = least[i]!;
      let room = limit - need(shown, widths);
      for (const i of shown) {
        if (room <= 0) break;
        const more = Math.min(room, natural[i]! - widths[i]!);
        widths[i]! += more;
        room -= more;
      }
    }
  }

  const line = (cells: string[][], k: number): string =>
    (
      " ".repeat(indent) +
      shown
        .map((i, j) => {
          const text = cells[j]![k] ?? "";
          const pad = widths[i]! - displayWidth(text);
          return columns[i]!.align === "right" ? " ".repeat(Math.max(0, pad)) + text : text + " ".repeat(Math.max(0, pad));
        })
        .join(" ".repeat(GAP))
    ).trimEnd();
  const block = (texts: string[]): string[] => {
    const cells = shown.map((i, j) => (widths[i]! < displayWidth(texts[j]!) ? wrapCell(texts[j]!, widths[i]!) : [texts[j]!]));
    const height = Math.max(...cells.map((c) => c.length));
    return Array.from({ length: height }, (_, k) => line(cells, k));
  };

  const lines = [...block(shown.map((i) => columns[i]!.head.toUpperCase()))];
  rows.forEach((r, n) => {
    if (Array.isArray(r)) lines.push(...block(shown.map((i) => r[i] ?? "")));
    else if ("note" in r) {
      const pad = " ".repeat(NOTE_INDENT);
      lines.push(...(limit === undefined ? [r.note] : wrapCell(r.note, Math.max(20, limit - NOTE_INDENT))).map((l) => pad + l));
    } else {
      if (n > 0) lines.push("");
      lines.push(limit === undefined ? r.group : truncate(r.group, limit));
    }
  });
  return { lines, hidden: columns.filter((_, i) => !shown.includes(i)) };
}

/** "columns hidden to fit 80 characters: p90, wire/payload (--wide shows all)", or nothing when none are. */
export function hiddenNote(hidden: readonly TextColumn[], width: number | undefined): string[] {
  if (!hidden.length) return [];
  const text = `columns hidden to fit ${width ?? "the"} characters: ${hidden.map((c) => c.head).join(", ")} (--wide shows all)`;
  return width === undefined ? [text] : wrapWords(text, width);
}
