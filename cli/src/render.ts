/** Human-readable rendering of case results. */
import Table from "cli-table3";
import type { CaseResult, Repetition } from "../../gen/netmatrix/v1/control_pb.js";
import type { Measurement } from "../../gen/netmatrix/v1/types_pb.js";
import { failureName } from "../../common/src/model.js";
import { summarize } from "./run-document.js";
import { formatBitrate, formatMicros, formatPercent } from "../../common/src/format.js";

function cells(m: Measurement): string[] {
  const bidir = m.reverseReceiverBps !== undefined ? ` / rev ${formatBitrate(m.reverseReceiverBps)}` : "";
  return [
    `${formatBitrate(m.throughputBps)}${bidir}`,
    formatBitrate(m.senderBps),
    m.retransmits === undefined ? "-" : String(m.retransmits),
    m.jitterMs === undefined ? "-" : `${m.jitterMs.toFixed(3)} ms`,
    formatPercent(m.lossPercent),
    formatMicros(m.latency?.meanUs),
    formatMicros(m.latency?.p99Us),
    m.localCpuPercent === undefined ? "-" : `${m.localCpuPercent.toFixed(1)} / ${m.remoteCpuPercent?.toFixed(1) ?? "-"} %`,
  ];
}

/** One line per finished repetition, for progress on stderr. */
export function repetitionLine(r: Repetition, total: number): string {
  const head = `  [${r.index + 1}/${total}]`;
  if (r.outcome.case === "failure") {
    const f = r.outcome.value;
    return `${head} FAILED ${failureName(f.code)}: ${f.reason}${f.hint ? ` (hint: ${f.hint})` : ""}`;
  }
  if (r.outcome.case !== "measurement") return `${head} no outcome`;
  const m = r.outcome.value;
  const parts = [
    m.throughputBps !== undefined ? formatBitrate(m.throughputBps) : "",
    m.latency?.meanUs !== undefined ? `latency ${formatMicros(m.latency.meanUs)}` : "",
    m.lossPercent !== undefined ? `loss ${formatPercent(m.lossPercent)}` : "",
  ];
  return `${head} ${parts.filter(Boolean).join(", ")}`;
}

/** A table of repetitions plus a summary row. */
export function renderCase(c: CaseResult): string {
  const table = new Table({
    head: ["REP", "THROUGHPUT", "SENDER", "RETR", "JITTER", "LOSS", "LAT MEAN", "LAT P99", "CPU L/R", "STATUS"],
    style: { head: [], border: [] },
  });
  for (const r of c.repetitions) {
    if (r.outcome.case === "measurement") table.push([String(r.index + 1), ...cells(r.outcome.value), "ok"]);
    else {
      const f = r.outcome.case === "failure" ? r.outcome.value : undefined;
      table.push([String(r.index + 1), { colSpan: 8, content: `${f?.reason ?? "no outcome"}${f?.hint ? `\nhint: ${f.hint}` : ""}` }, `FAILED ${f ? failureName(f.code) : ""}`]);
    }
  }
  const measured = c.repetitions.flatMap((r) => (r.outcome.case === "measurement" ? [r.outcome.value] : []));
  const tp = summarize(measured.map((m) => m.throughputBps));
  const lat = summarize(measured.map((m) => m.latency?.meanUs));
  const lines = [`${c.client?.agentId} → ${c.server?.agentId} (${c.target})`, table.toString()];
  if (tp) lines.push(`throughput mean ${formatBitrate(tp.mean)}  min ${formatBitrate(tp.min)}  max ${formatBitrate(tp.max)}  (${tp.n} of ${c.repetitions.length} measured)`);
  if (lat) lines.push(`latency mean ${formatMicros(lat.mean)}  min ${formatMicros(lat.min)}  max ${formatMicros(lat.max)}`);
  return lines.join("\n");
}
