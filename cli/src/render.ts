/** Human-readable rendering of case results. */
import Table from "cli-table3";
import type { CaseResult, Repetition } from "../../gen/netmatrix/v1/control_pb.js";
import type { Measurement } from "../../gen/netmatrix/v1/types_pb.js";
import { failureName, REPETITION_FLAGS } from "../../common/src/model.js";
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

/** What each repetition flag means, for people. */
const FLAG_TEXT: Record<string, string> = {
  [REPETITION_FLAGS.serverGone]: "the server agent left mid-repetition: the client's numbers alone",
};

/** " [flag: meaning; …]" for a flagged repetition, "" otherwise. */
function flagNote(r: Repetition): string {
  return r.flags.length ? ` [${r.flags.map((f) => (FLAG_TEXT[f] ? `${f}: ${FLAG_TEXT[f]}` : f)).join("; ")}]` : "";
}

/** One line per finished repetition, for progress on stderr. */
export function repetitionLine(r: Repetition, total: number): string {
  const head = `  [${r.index + 1}/${total}]`;
  if (r.outcome.case === "failure") {
    const f = r.outcome.value;
    return `${head} FAILED ${failureName(f.code)}: ${f.reason}${f.hint ? ` (hint: ${f.hint})` : ""}${flagNote(r)}`;
  }
  if (r.outcome.case !== "measurement") return `${head} no outcome`;
  const m = r.outcome.value;
  const parts = [
    m.throughputBps !== undefined ? formatBitrate(m.throughputBps) : "",
    m.latency?.meanUs !== undefined ? `latency ${formatMicros(m.latency.meanUs)}` : "",
    m.lossPercent !== undefined ? `loss ${formatPercent(m.lossPercent)}` : "",
  ];
  return `${head} ${parts.filter(Boolean).join(", ")}${flagNote(r)}`;
}

/** A table of repetitions plus a summary row. */
export function renderCase(c: CaseResult): string {
  const table = new Table({
    head: ["REP", "THROUGHPUT", "SENDER", "RETR", "JITTER", "LOSS", "LAT MEAN", "LAT P99", "CPU L/R", "STATUS"],
    style: { head: [], border: [] },
  });
  for (const r of c.repetitions) {
    if (r.outcome.case === "measurement") table.push([String(r.index + 1), ...cells(r.outcome.value), r.flags.length ? `ok, ${r.flags.join(", ")}` : "ok"]);
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
  for (const f of new Set(c.repetitions.flatMap((r) => r.flags))) {
    const n = c.repetitions.filter((r) => r.flags.includes(f)).length;
    lines.push(`flag ${f} on ${n} of ${c.repetitions.length} repetition(s)${FLAG_TEXT[f] ? `: ${FLAG_TEXT[f]}` : ""}`);
  }
  return lines.join("\n");
}
