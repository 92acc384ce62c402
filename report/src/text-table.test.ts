import { describe, expect, test } from "vitest";
import { renderTextTable, type TextColumn } from "./text-table.js";

const COLUMNS: TextColumn[] = [
  { head: "name", priority: 0 },
  { head: "a", priority: 2, align: "right" },
  { head: "b", priority: 2, align: "right" },
  { head: "wide figure", priority: 1, align: "right" },
  { head: "note", priority: 0, wrapMin: 8 },
];
const ROWS = [{ group: "group one" }, ["alpha", "1", "22", "333.3 units", "short"], { group: "group two" }, ["beta", "10", "2", "4.0 units", "a longer note that wraps"]];

describe("renderTextTable", () => {
  test.each([
    // [width, the columns shown]
    [undefined, ["NAME", "A", "B", "WIDE FIGURE", "NOTE"]],
    [200, ["NAME", "A", "B", "WIDE FIGURE", "NOTE"]],
    // Too narrow for all: level 2 (a and b together) goes first; then wide figure fits again.
    [47, ["NAME", "WIDE FIGURE", "NOTE"]],
    // Narrower still: level 1 goes too, and a, b (5 characters) come back.
    [40, ["NAME", "A", "B", "NOTE"]],
    [33, ["NAME", "NOTE"]],
  ])("width %s shows %j", (width, heads) => {
    const t = renderTextTable(COLUMNS, ROWS, width === undefined ? {} : { width });
    expect(t.lines[0]!.split(/ {2,}/)).toEqual(heads);
    expect(t.hidden.map((c) => c.head.toUpperCase())).toEqual(COLUMNS.map((c) => c.head.toUpperCase()).filter((h) => !heads.includes(h)));
    if (width !== undefined) for (const l of t.lines) expect(l.length, l).toBeLessThanOrEqual(width);
  });

  test("when the columns that always stay do not fit, the wrapping ones wrap at spaces", () => {
    const t = renderTextTable(COLUMNS, ROWS, { width: 20 });
    expect(t.lines).toEqual(["NAME   NOTE", "group one", "alpha  short", "", "group two", "beta   a longer note", "       that wraps"]);
  });

  test("--wide shows every column whatever the width; no line between rows, no borders", () => {
    const t = renderTextTable(COLUMNS, ROWS, { width: 10, wide: true });
    expect(t.hidden).toEqual([]);
    expect(t.lines).toEqual([
      "NAME    A   B  WIDE FIGURE  NOTE",
      "group one",
      "alpha   1  22  333.3 units  short",
      "",
      "group two",
      "beta   10   2    4.0 units  a longer note that wraps",
    ]);
  });

  test("maxWidth wraps a long free-text column even without a width", () => {
    const t = renderTextTable(
      [
        { head: "n", priority: 0 },
        { head: "notes", priority: 0, maxWidth: 10 },
      ],
      [["1", "one two three four"]],
    );
    expect(t.lines).toEqual(["N  NOTES", "1  one two", "   three four"]);
  });

  test.each([
    [undefined, ["NAME   A", "alpha  1", "    why: a note on alpha that is longer than the table", "beta   2"]],
    [24, ["NAME   A", "alpha  1", "    why: a note on alpha", "    that is longer than", "    the table", "beta   2"]],
  ])("a note row at width %s goes under its row, indented, wrapped and never cut", (width, lines) => {
    const rows = [["alpha", "1"], { note: "why: a note on alpha that is longer than the table" }, ["beta", "2"]];
    const t = renderTextTable(COLUMNS.slice(0, 2), rows, width === undefined ? {} : { width });
    expect(t.lines).toEqual(lines);
  });
});
