/** Human-readable rendering of case results. */
import type { CaseResult, Repetition } from "../../gen/netmatrix/v1/control_pb.js";
import type { Measurement } from "../../gen/netmatrix/v1/types_pb.js";
import { failureName, REPETITION_FLAGS } from "../../common/src/model.js";
import { summarize } from "./run-document.js";
import { formatBitrate, formatMicros, formatPercent } from "../../common/src/format.js";
import { latencyKindLabel } from "../../report/src/labels.js";
import { hiddenNote, renderTextTable, type FitOptions, type TextColumn } from "../../report/src/text-table.js";

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
  [REPETITION_FLAGS.cpuBound]: "CPU saturated while measuring: the figure may measure CPU, not the network",
};

/** What a flag says about `r`: its own reason when it has one (cpu-bound: which end and why), else the flag's meaning. */
function flagText(r: Repetition, f: string): string | undefined {
  if (f === REPETITION_FLAGS.cpuBound && r.cpuBoundReason) return r.cpuBoundReason;
  return FLAG_TEXT[f];
}

/** " [flag: meaning; …]" for a flagged repetition, "" otherwise. */
function flagNote(r: Repetition): string {
  return r.flags.length ? ` [${r.flags.map((f) => (flagText(r, f) ? `${f}: ${flagText(r, f)}` : f)).join("; ")}]` : "";
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
    m.requestsPerS !== undefined ? `${Math.round(m.requestsPerS).toLocaleString("en-US")} req/s` : "",
    m.connectionsPerS !== undefined ? `${Math.round(m.connectionsPerS).toLocaleString("en-US")} conn/s` : "",
    m.throughputBps !== undefined ? formatBitrate(m.throughputBps) : "",
    m.latency?.meanUs !== undefined ? `latency ${latencyText(m, m.latency.meanUs)}` : "",
    m.lossPercent !== undefined ? `loss ${formatPercent(m.lossPercent)}` : "",
  ];
  return `${head} ${parts.filter(Boolean).join(", ")}${flagNote(r)}`;
}

/** The repetition table's columns: which hide first when the table does not fit. */
const CASE_COLUMNS: TextColumn[] = [
  { head: "rep", priority: 0, align: "right" },
  { head: "throughput", priority: 0, align: "right" },
  { head: "sender", priority: 4, align: "right" },
  { head: "retr", priority: 3, align: "right" },
  { head: "jitter", priority: 5, align: "right" },
  { head: "loss", priority: 2, align: "right" },
  { head: "latency", priority: 0, align: "right" },
  { head: "lat p99", priority: 6, align: "right" },
  { head: "CPU local/remote", priority: 7, align: "right" },
  { head: "status", priority: 0, maxWidth: 60, wrapMin: 20 },
];

/** "123 µs RTT": a latency with what it measures (the measurement says, as its tool's driver put it). */
export function latencyText(m: Measurement, us: number | undefined): string {
  const kind = m.latency?.kind === "rtt" || m.latency?.kind === "one-way" ? latencyKindLabel(m.latency.kind) : "";
  return us === undefined ? "-" : `${formatMicros(us)}${kind ? ` ${kind}` : ""}`;
}

/** A table of repetitions plus a summary, fitted to `fit` (no limit without a width). */
export function renderCase(c: CaseResult, fit: FitOptions = {}): string {
  const rows: string[][] = [];
  for (const r of c.repetitions) {
    if (r.outcome.case === "measurement") {
      const m = r.outcome.value;
      const row = cells(m);
      row[5] = latencyText(m, m.latency?.meanUs);
      row[6] = latencyText(m, m.latency?.p99Us);
      rows.push([String(r.index + 1), ...row, r.flags.length ? `ok, ${r.flags.join(", ")}` : "ok"]);
    } else {
      const f = r.outcome.case === "failure" ? r.outcome.value : undefined;
      rows.push([String(r.index + 1), ...Array<string>(8).fill("-"), `FAILED ${f ? failureName(f.code) : ""}: ${f?.reason ?? "no outcome"}${f?.hint ? ` (hint: ${f.hint})` : ""}`]);
    }
  }
  const table = renderTextTable(CASE_COLUMNS, rows, fit);
  const measured = c.repetitions.flatMap((r) => (r.outcome.case === "measurement" ? [r.outcome.value] : []));
  const tp = summarize(measured.map((m) => m.throughputBps));
  const lat = summarize(measured.map((m) => m.latency?.meanUs));
  const lines = [`${c.client?.agentId} → ${c.server?.agentId} (${c.target})`, ...table.lines];
  if (tp) lines.push(`throughput mean ${formatBitrate(tp.mean)}  min ${formatBitrate(tp.min)}  max ${formatBitrate(tp.max)}  (${tp.n} of ${c.repetitions.length} measured)`);
  if (lat) lines.push(`latency mean ${formatMicros(lat.mean)}  min ${formatMicros(lat.min)}  max ${formatMicros(lat.max)}`);
  // Request/response tools (http): their rates, which the throughput column does not show.
  for (const [label, rate] of [
    ["requests/s", summarize(measured.map((m) => m.requestsPerS))],
    ["connections/s", summarize(measured.map((m) => m.connectionsPerS))],
  ] as const) {
    if (rate) lines.push(`${label} mean ${rate.mean.toFixed(0)}  min ${rate.min.toFixed(0)}  max ${rate.max.toFixed(0)}`);
  }
  for (const f of new Set(c.repetitions.flatMap((r) => r.flags))) {
    const n = c.repetitions.filter((r) => r.flags.includes(f)).length;
    lines.push(`flag ${f} on ${n} of ${c.repetitions.length} repetition(s)${FLAG_TEXT[f] ? `: ${FLAG_TEXT[f]}` : ""}`);
  }
  lines.push(...hiddenNote(table.hidden, fit.wide ? undefined : fit.width));
  return lines.join("\n");
}
