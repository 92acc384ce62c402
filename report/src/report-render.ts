/**
 * A report as a person or a script wants it: a table like field report 004's
 * conclusion (one row per case: throughput, latency, loss, CPU, ratio to the
 * host-host baseline, flags), Markdown, CSV, YAML or JSON.
 */
import Table from "cli-table3";
import { stringify } from "yaml";
import type { ReportDocument } from "./report-document.js";
import { formatBitrate, formatMicros, formatPercent } from "../../common/src/format.js";
import { testLabel } from "../../tools/src/index.js";

export const REPORT_FORMATS = ["table", "json", "yaml", "csv", "markdown"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

const HEAD = ["scenario", "path", "test", "throughput (mean ± 95% CI)", "p90", "latency", "loss", "CPU/Gbit/s c·s", "wire/payload", "vs host-host", "flags", "failed"];

type Case = ReportDocument["cases"][number];

function test(c: Case): string {
  return testLabel(c.tool, c.protocol, c.direction, c.parallel > 1 && `P${c.parallel}`, !!c.bitrateBps && formatBitrate(c.bitrateBps));
}

function cells(c: Case): string[] {
  const s = c.summary;
  const tp = s.throughputBps;
  const ci = tp?.ci95 ? ` ± ${formatBitrate((tp.ci95.high - tp.ci95.low) / 2)}` : "";
  const cpu = [s.clientCpuPercentPerGbps?.mean, s.serverCpuPercentPerGbps?.mean].map((v) => (v === undefined ? "-" : v.toFixed(1))).join(" · ");
  return [
    c.scenario,
    `${c.clientNode} → ${c.serverNode}${c.via !== "direct" ? ` (${c.via})` : ""}`,
    test(c),
    tp ? `${formatBitrate(tp.mean)}${ci}` : "-",
    tp ? formatBitrate(tp.p90) : "-",
    s.latencyUs ? formatMicros(s.latencyUs.mean) : "-",
    s.lossPercent ? formatPercent(s.lossPercent.mean) : "-",
    tp ? cpu : "-",
    s.wireToPayload ? s.wireToPayload.mean.toFixed(3) : "-",
    s.ratioToBaseline === null ? "-" : `${(s.ratioToBaseline * 100).toFixed(1)} %`,
    s.flags.join(", "),
    s.failed ? `${s.failed}/${s.repetitions}` : "",
  ];
}

function csvCell(v: string | number | null): string {
  const t = v === null ? "" : String(v);
  return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

/** Render `doc` in `format`. */
export function renderReport(doc: ReportDocument, format: ReportFormat): string {
  switch (format) {
    case "json":
      return JSON.stringify(doc, null, 2);
    case "yaml":
      return stringify(doc);
    case "csv": {
      const cols = [
        "caseId",
        "scenario",
        "clientNode",
        "serverNode",
        "via",
        "tool",
        "protocol",
        "direction",
        "parallel",
        "bitrateBps",
        "repetitions",
        "failed",
        "throughputMeanBps",
        "throughputMedianBps",
        "throughputP90Bps",
        "throughputMinBps",
        "throughputMaxBps",
        "throughputCvPercent",
        "latencyMeanUs",
        "lossMeanPercent",
        "clientCpuPercentPerGbps",
        "serverCpuPercentPerGbps",
        "wireToPayload",
        "ratioToBaseline",
        "flags",
      ];
      const rows = doc.cases.map((c) => {
        const s = c.summary;
        return [
          c.caseId,
          c.scenario,
          c.clientNode,
          c.serverNode,
          c.via,
          c.tool,
          c.protocol,
          c.direction,
          c.parallel,
          c.bitrateBps,
          s.repetitions,
          s.failed,
          s.throughputBps?.mean ?? null,
          s.throughputBps?.median ?? null,
          s.throughputBps?.p90 ?? null,
          s.throughputBps?.min ?? null,
          s.throughputBps?.max ?? null,
          s.throughputBps?.cvPercent ?? null,
          s.latencyUs?.mean ?? null,
          s.lossPercent?.mean ?? null,
          s.clientCpuPercentPerGbps?.mean ?? null,
          s.serverCpuPercentPerGbps?.mean ?? null,
          s.wireToPayload?.mean ?? null,
          s.ratioToBaseline,
          s.flags.join(" "),
        ];
      });
      return [cols, ...rows].map((r) => r.map(csvCell).join(",")).join("\n");
    }
    case "markdown": {
      const esc = (t: string): string => t.replace(/\|/g, "\\|");
      const lines = [`## netmatrix run ${doc.run.runId} (${doc.run.name}, ${doc.run.status})`, "", `| ${HEAD.join(" | ")} |`, `|${HEAD.map(() => "---").join("|")}|`];
      for (const c of doc.cases) lines.push(`| ${cells(c).map(esc).join(" | ")} |`);
      return lines.join("\n");
    }
    case "table": {
      const t = new Table({ head: HEAD.map((h) => h.toUpperCase()), style: { head: [], border: [] } });
      for (const c of doc.cases) t.push(cells(c));
      return `run ${doc.run.runId} (${doc.run.name}): ${doc.run.status}, ${doc.run.done}/${doc.run.total} done, ${doc.run.failed} failed\n${t.toString()}`;
    }
  }
}
