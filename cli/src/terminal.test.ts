import { expect, test } from "vitest";
import { tableFit, tableWidth } from "./terminal.js";

test.each([
  ["a terminal: its width", { isTTY: true, columns: 132 }, {}, 132],
  ["a terminal that reports no width: 80", { isTTY: true }, {}, 80],
  ["a pipe or a file: no limit", { isTTY: false }, {}, undefined],
  ["$COLUMNS wins over a terminal", { isTTY: true, columns: 132 }, { COLUMNS: "100" }, 100],
  ["$COLUMNS sets a pipe's width", { isTTY: false }, { COLUMNS: "90" }, 90],
  ["a $COLUMNS that is not a positive whole number is ignored", { isTTY: true, columns: 132 }, { COLUMNS: "wide" }, 132],
  ["… also 0", { isTTY: false }, { COLUMNS: "0" }, undefined],
])("%s", (_what, out, env, width) => {
  expect(tableWidth(out, env)).toBe(width);
  expect(tableFit(false, out, env)).toEqual(width === undefined ? {} : { width });
  expect(tableFit(true, out, env)).toEqual({ wide: true });
});
