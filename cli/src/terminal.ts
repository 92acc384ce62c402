/**
 * How wide the CLI's tables may be, the way kubectl and gh decide it: the
 * terminal's width when standard output is a terminal; no limit when it is
 * piped or redirected (a file or a script gets every column, unwrapped);
 * $COLUMNS, when set to a positive whole number, wins over both (e.g.
 * `COLUMNS=100 netmatrix report RUN_ID > report.txt`). `--wide` shows every
 * column whatever the width.
 */
import type { FitOptions } from "../../report/src/text-table.js";

/** Characters per line a table may take, undefined: no limit. */
export function tableWidth(out: { isTTY?: boolean; columns?: number } = process.stdout, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const columns = Number(env["COLUMNS"]);
  if (env["COLUMNS"] && Number.isInteger(columns) && columns > 0) return columns;
  if (!out.isTTY) return undefined;
  return out.columns && out.columns > 0 ? out.columns : 80;
}

/** The fit of a table printed to standard output, `--wide` or not. */
export function tableFit(wide: boolean | undefined, out: { isTTY?: boolean; columns?: number } = process.stdout, env: NodeJS.ProcessEnv = process.env): FitOptions {
  if (wide) return { wide: true };
  const width = tableWidth(out, env);
  return width === undefined ? {} : { width };
}

/** The `--wide` option's help text, the same on every command that has it. */
export const WIDE_HELP = "table output: show every column, whatever the terminal's width (without it, columns of lower priority are hidden to fit)";
