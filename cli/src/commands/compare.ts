/** `netmatrix compare RUN_A RUN_B`: two runs (e.g. CNI A vs CNI B) case by case, with significance. */
import { writeFileSync } from "node:fs";
import { Command, InvalidArgumentError, Option } from "commander";
import { withConnection, type ConnectionOptions } from "../options.js";
import { DATA_DIR_ENV, defaultDataDir } from "../defaults.js";
import { loadRun } from "../run-source.js";
import { tableFit, WIDE_HELP } from "../terminal.js";
import { EXIT } from "../exit-codes.js";
import { compareRuns } from "../../../report/src/compare.js";
import { COMPARE_FORMATS, compareCells, regressions, renderCompare, type CompareFormat } from "../../../report/src/compare-render.js";

/** Exit code when --fail-on-regression finds a regression (2 is taken by errors; see exit-codes.ts). */
export const REGRESSION_EXIT_CODE = EXIT.regression;

interface CompareOptions extends ConnectionOptions {
  dataDir: string;
  output: CompareFormat;
  file?: string;
  failOnRegression?: number;
  wide?: boolean;
}

/** Parse --fail-on-regression: a positive percentage. */
export function parseRegressionPercent(value: string): number {
  const n = Number(value.trim().replace(/%$/, ""));
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(`"${value}" is not a positive percentage; give the largest acceptable worsening in %, e.g. --fail-on-regression 5`);
  }
  return n;
}

export function compareCommand(): Command {
  return withConnection(new Command("compare"))
    .description("compare two runs case by case (B against A): change %, 95 % CI and significance (Welch's t-test) per metric")
    .argument("<run-a>", "the baseline run: a run id (local data dir or coordinator) or a run directory")
    .argument("<run-b>", "the run compared against it, named the same way")
    .addOption(new Option("--data-dir <dir>", "where local runs are kept").env(DATA_DIR_ENV).default(defaultDataDir()))
    .addOption(new Option("--output <format>", "output format").choices([...COMPARE_FORMATS]).default("table"))
    .addOption(new Option("--file <path>", "write the output to this file instead of stdout"))
    .option("--wide", WIDE_HELP)
    .addOption(
      new Option("--fail-on-regression <pct>", `exit ${REGRESSION_EXIT_CODE} when a comparable case's headline metric got significantly worse by more than pct %`).argParser(
        parseRegressionPercent,
      ),
    )
    .action(async (runA: string, runB: string, opts: CompareOptions) => {
      const a = await loadRun(runA, opts);
      const b = await loadRun(runB, opts);
      const doc = compareRuns(a, b);
      // A file gets every column (it is not a terminal); so does --wide.
      const text = `${renderCompare(doc, opts.output, opts.file ? { wide: true } : tableFit(opts.wide))}\n`;
      if (opts.file) writeFileSync(opts.file, text);
      else process.stdout.write(text);
      if (opts.failOnRegression === undefined) return;
      const found = regressions(doc, opts.failOnRegression);
      if (found.length === 0) {
        process.stderr.write(`no regression above ${opts.failOnRegression} % (B ${doc.b.runId} against A ${doc.a.runId})\n`);
        return;
      }
      process.stderr.write(`${found.length} regression${found.length === 1 ? "" : "s"} above ${opts.failOnRegression} % (B ${doc.b.runId} against A ${doc.a.runId}):\n`);
      for (const r of found) {
        const [scenario, path, test, metric, av, bv, change, p] = compareCells(r);
        process.stderr.write(`  ${scenario} ${path} ${test}: ${metric} ${av} → ${bv}, ${change}, p ${p}\n`);
      }
      process.exitCode = REGRESSION_EXIT_CODE;
    });
}
