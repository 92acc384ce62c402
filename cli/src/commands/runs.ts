/** `netmatrix runs` and `netmatrix report RUN_ID`. */
import { Command, Option } from "commander";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Table from "cli-table3";
import { NetmatrixError } from "../../../common/src/errors.js";
import { ResultsStore } from "../../../coordinator/src/results-store.js";
import { connect, withConnection, type ConnectionOptions } from "../options.js";
import { reportDocument } from "../../../report/src/report-document.js";
import { REPORT_FORMATS, renderReport } from "../../../report/src/report-render.js";
import { htmlReport } from "../../../report/src/html-report.js";
import { defaultDataDir } from "../defaults.js";
import { loadRun, type RunSourceOptions } from "../run-source.js";
import { tableFit, WIDE_HELP } from "../terminal.js";

export function runsCommand(): Command {
  return withConnection(new Command("runs"))
    .description("list matrix runs kept by the coordinator (or, when it is not up, those in the local data dir)")
    .addOption(new Option("--output <format>", "output format").choices(["table", "json"]).default("table"))
    .addOption(new Option("--data-dir <dir>", "where runs are kept locally").env("NETMATRIX_DATA_DIR").default(defaultDataDir()))
    .action(async (opts: ConnectionOptions & { output: "table" | "json"; dataDir: string }) => {
      const client = connect(opts);
      try {
        const runs = await client.listRuns().then(
          (r) => r.runs,
          (err: unknown) => {
            // After `lab run` the coordinator is gone but its runs are on disk.
            if (!(err instanceof NetmatrixError && err.code === "unavailable") || !existsSync(join(opts.dataDir, "runs"))) throw err;
            process.stderr.write(`no coordinator at ${opts.coordinator}: runs kept in ${opts.dataDir}\n`);
            return new ResultsStore(opts.dataDir).list();
          },
        );
        if (opts.output === "json") {
          process.stdout.write(
            `${JSON.stringify({ kind: "netmatrix.runs/v1", runs: runs.map((r) => ({ runId: r.runId, name: r.name, status: r.status, createdAt: new Date(r.createdAtMs).toISOString(), total: r.total, done: r.done, failed: r.failed, ...(r.error ? { error: r.error } : {}) })) }, null, 2)}\n`,
          );
          return;
        }
        const t = new Table({ head: ["RUN", "NAME", "STATUS", "CREATED", "DONE", "FAILED"], style: { head: [], border: [] } });
        for (const r of runs) t.push([r.runId, r.name, r.status, new Date(r.createdAtMs).toISOString().replace("T", " ").slice(0, 19), `${r.done}/${r.total}`, String(r.failed)]);
        process.stdout.write(runs.length ? `${t.toString()}\n` : "no runs yet: start one with `netmatrix run --spec default`\n");
      } finally {
        client.close();
      }
    });
}

const REPORT_COMMAND_FORMATS = [...REPORT_FORMATS, "html"] as const;
type ReportCommandFormat = (typeof REPORT_COMMAND_FORMATS)[number];

export function reportCommand(): Command {
  return withConnection(new Command("report"))
    .description(
      "render a run: per case throughput, latency, loss, CPU, ratio to the host-host baseline; --output html: one self-contained page with node×node heatmaps and per-NIC timelines",
    )
    .argument("<run>", "a run id from `netmatrix runs` (read from --data-dir when it is there, else asked of the coordinator), or a run directory")
    .addOption(new Option("--output <format>", "output format").choices([...REPORT_COMMAND_FORMATS]).default("table"))
    .option("--file <path>", "write the report to this file instead of standard output")
    .option("--wide", WIDE_HELP)
    .addOption(new Option("--data-dir <dir>", "where runs are kept locally").env("NETMATRIX_DATA_DIR").default(defaultDataDir()))
    .action(async (ref: string, opts: RunSourceOptions & { output: ReportCommandFormat; file?: string; wide?: boolean }) => {
      const run = await loadRun(ref, opts);
      // A file gets every column (it is not a terminal); so does --wide.
      const fit = opts.file ? { wide: true } : tableFit(opts.wide);
      const text = opts.output === "html" ? htmlReport(run) : `${renderReport(reportDocument(run), opts.output, fit)}\n`;
      if (!opts.file) return void process.stdout.write(text);
      writeFileSync(opts.file, text);
      process.stderr.write(`report of run ${run.info?.runId ?? ref} (${run.info?.status ?? "?"}, ${run.records.length} case repetitions) written to ${opts.file}\n`);
    });
}
