/** `netmatrix runs` and `netmatrix report RUN_ID`. */
import { Command, Option } from "commander";
import Table from "cli-table3";
import { connect, withConnection, type ConnectionOptions } from "../options.js";
import { reportDocument } from "../report-document.js";
import { REPORT_FORMATS, renderReport, type ReportFormat } from "../report-render.js";

export function runsCommand(): Command {
  return withConnection(new Command("runs"))
    .description("list matrix runs kept by the coordinator")
    .addOption(new Option("--output <format>", "output format").choices(["table", "json"]).default("table"))
    .action(async (opts: ConnectionOptions & { output: "table" | "json" }) => {
      const client = connect(opts);
      try {
        const { runs } = await client.listRuns();
        if (opts.output === "json") {
          process.stdout.write(`${JSON.stringify({ kind: "netmatrix.runs/v1", runs: runs.map((r) => ({ runId: r.runId, name: r.name, status: r.status, createdAt: new Date(r.createdAtMs).toISOString(), total: r.total, done: r.done, failed: r.failed })) }, null, 2)}\n`);
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

export function reportCommand(): Command {
  return withConnection(new Command("report"))
    .description("render a run: per case throughput, latency, loss, CPU, ratio to the host-host baseline")
    .argument("<run-id>", "a run id from `netmatrix runs`")
    .addOption(new Option("--output <format>", "output format").choices([...REPORT_FORMATS]).default("table"))
    .action(async (runId: string, opts: ConnectionOptions & { output: ReportFormat }) => {
      const client = connect(opts);
      try {
        process.stdout.write(`${renderReport(reportDocument(await client.getRun(runId)), opts.output)}\n`);
      } finally {
        client.close();
      }
    });
}
