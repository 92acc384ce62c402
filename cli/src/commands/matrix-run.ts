/** `netmatrix run --spec FILE` / `--resume RUN_ID`: a whole matrix, with progress, then the report table. */
import { create } from "@bufbuild/protobuf";
import { SingleBar } from "cli-progress";
import { RunMatrixRequestSchema, type MatrixEvent, type PlanSummary } from "../../../gen/netmatrix/v1/control_pb.js";
import { failureName } from "../../../common/src/model.js";
import { connect, type ConnectionOptions } from "../options.js";
import { interruption } from "../interrupt.js";
import { tableFit } from "../terminal.js";
import { EXIT } from "../exit-codes.js";
import { NetmatrixError } from "../../../common/src/errors.js";
import { reportDocument } from "../../../report/src/report-document.js";
import { renderReport, type ReportFormat } from "../../../report/src/report-render.js";
import { specMessage } from "../../../coordinator/src/matrix/index.js";
import { loadSpec, type LoadedSpec } from "../spec-file.js";
import { formatBitrate } from "../../../common/src/format.js";
import { formatDurationS } from "../../../common/src/units.js";
import { latencyText } from "../render.js";
import { testLabelOf } from "../../../report/src/labels.js";
import { specDoc } from "../../../tools/src/spec-doc.js";

export interface MatrixRunOptions extends ConnectionOptions {
  spec?: string;
  /** A spec validated by the caller instead of a file, e.g. the lab's. */
  loaded?: LoadedSpec;
  resume?: string;
  allowPartial?: boolean;
  sampleInterval?: number;
  /** YAML keys the CLI flags override (duration, repetitions, concurrency). */
  overrides: Record<string, unknown>;
  output: ReportFormat;
  /** Lower caps than the coordinator's (`--max-cases`, `--max-run-duration`). */
  maxCases?: number;
  maxRunDuration?: number;
  /** Where a path the coordinator names is on this machine, when it differs (the lab's coordinator in a container). */
  localPath?: (coordinatorPath: string) => string;
  /** Table output: every column, whatever the terminal's width. */
  wide?: boolean;
  /** Plan only: print the plan's totals, measure nothing. */
  dryRun?: boolean;
  /** Run only the rounds that fit this many seconds (estimated). */
  budget?: number;
  /** Told the run's id as soon as the coordinator starts it. */
  onRunId?: (runId: string) => void;
}

function outcomeText(e: Extract<MatrixEvent["event"], { case: "record" }>["value"]): string {
  const rep = e.result?.repetitions[0];
  if (!rep) return "no result";
  if (rep.outcome.case === "failure") return `FAILED ${failureName(rep.outcome.value.code)}: ${rep.outcome.value.reason}`;
  if (rep.outcome.case !== "measurement") return "no outcome";
  const m = rep.outcome.value;
  return [m.throughputBps !== undefined ? formatBitrate(m.throughputBps) : "", m.latency?.meanUs !== undefined ? latencyText(m, m.latency.meanUs) : ""].filter(Boolean).join(", ");
}

/** "pod-pod-cross node-1 → node-2 iperf3 udp forward 500 Mbit/s": a case in the report table's words. */
function caseText(r: Extract<MatrixEvent["event"], { case: "record" }>["value"]): string {
  return `${r.scenario} ${r.clientNode} → ${r.serverNode} ${testLabelOf(specDoc(r.result?.spec))}`;
}

const count = (n: number | bigint): string => Number(n).toLocaleString("en-US");

/** What a dry run prints: the plan's totals, the budget's cut, what is refused. */
export function planText(p: PlanSummary): string {
  const lines = [
    `plan ${p.name} (dry run, nothing measured): ${count(p.cases)} cases × ${p.repetitions} repetitions = ${count(p.caseRuns)} case runs`,
    `  ${count(p.rounds)} rounds (${count(p.roundsPerRepetition)} per repetition, at most ${p.concurrency} cases at a time), about ${formatDurationS(p.estimatedMs / 1000)}`,
    `  on ${count(p.nodes)} nodes, ${count(p.agents)} agents`,
  ];
  if (p.budgetRounds || p.budgetMs) {
    lines.push(`  budget: the first ${count(p.budgetRounds)} of ${count(p.rounds)} rounds fit, about ${formatDurationS(p.budgetMs / 1000)}`);
  }
  for (const r of p.refused) lines.push(`  ${r}`);
  return `${lines.join("\n")}\n`;
}

export async function runMatrixCommand(opts: MatrixRunOptions): Promise<void> {
  const loaded = opts.spec ? loadSpec(opts.spec, opts.overrides) : opts.loaded;
  const client = connect(opts);
  const tty = Boolean(process.stderr.isTTY);
  const bar = tty ? new SingleBar({ format: " {bar} {value}/{total} cases | ETA {eta_formatted} | {case}", hideCursor: true, etaBuffer: 20, stream: process.stderr }) : undefined;
  // Ctrl-C or SIGTERM: the run stops (the coordinator stops every running case's tools), its results stay; the caller (e.g. lab run) cleans up after.
  const interrupt = interruption("interrupted: the coordinator stops every running case's tools; finished cases stay on disk");
  let runId = opts.resume ?? "";
  let planned: PlanSummary | undefined;
  let total = 0;
  let done = 0;
  try {
    const finished = await client.runMatrix(
      create(RunMatrixRequestSchema, {
        ...(loaded ? { spec: specMessage(loaded.spec) } : {}),
        specYaml: loaded?.yaml ?? "",
        specSource: loaded?.source ?? "",
        resumeRunId: opts.resume ?? "",
        sampleIntervalMs: opts.sampleInterval ?? 0,
        allowPartial: Boolean(opts.allowPartial),
        maxCaseRuns: opts.maxCases ?? 0,
        maxRunDurationS: opts.maxRunDuration ?? 0,
        dryRun: Boolean(opts.dryRun),
        budgetS: opts.budget ?? 0,
      }),
      (e) => {
        const ev = e.event;
        if (ev.case === "planned") planned = ev.value;
        else if (ev.case === "started") {
          runId = ev.value.runId;
          opts.onRunId?.(runId);
          total = ev.value.total;
          const eta = Math.round(ev.value.estimatedMs / 1000);
          process.stderr.write(
            `run ${runId} (${ev.value.name}): ${ev.value.cases} cases, ${total} to measure${ev.value.alreadyDone ? ` (${ev.value.alreadyDone} already done)` : ""}, ${ev.value.rounds} rounds, ~${eta} s; results in ${opts.localPath ? opts.localPath(ev.value.dataDir) : ev.value.dataDir}\n`,
          );
          for (const r of ev.value.refused) process.stderr.write(`  ${r}\n`);
          // Nodes busy before the first case: the results may measure CPU, not the network.
          for (const w of ev.value.busyWarnings) process.stderr.write(`warning: ${w}\n`);
          bar?.start(total, 0, { case: "" });
        } else if (ev.case === "caseStarted") {
          bar?.update(done, { case: `${ev.value.key} #${ev.value.repetition + 1}` });
        } else if (ev.case === "record") {
          done++;
          if (bar) bar.update(done);
          else process.stderr.write(`[${done}/${total}] ${caseText(ev.value)} #${ev.value.repetition + 1}: ${outcomeText(ev.value)}\n`);
        }
      },
      interrupt.signal,
    );
    bar?.stop();
    if (opts.dryRun) {
      if (!planned) throw new NetmatrixError("internal", "the coordinator answered the dry run without a plan", { hint: "upgrade the coordinator to this CLI's version" });
      process.stdout.write(planText(planned));
      return;
    }
    if (!runId && interrupt.exitCode !== undefined) {
      process.stderr.write(`cancelled (${interrupt.cause}) before the run started: nothing to resume\n`);
      process.exitCode = interrupt.exitCode;
      return;
    }
    const report = reportDocument(await client.getRun(runId));
    process.stdout.write(`${renderReport(report, opts.output, tableFit(opts.wide))}\n`);
    if (interrupt.signal.aborted || finished?.cancelled) {
      process.stderr.write(
        `cancelled${interrupt.cause ? ` (${interrupt.cause})` : ""}: ${done} of ${total} case repetitions done; resume with \`netmatrix run --resume ${runId}\`\n`,
      );
      process.exitCode = interrupt.exitCode ?? EXIT.sigint;
    } else if (!finished) {
      throw new NetmatrixError("internal", `the coordinator ended run ${runId} without saying it finished`, {
        hint: `see \`netmatrix runs\`; continue it with  netmatrix run --resume ${runId}`,
      });
    } else if (finished.measured === 0) {
      // A run that measured nothing did not finish: the coordinator marked it failed.
      process.stderr.write(`run ${runId} ${report.run.status}: nothing was measured: all ${finished.failed} case repetitions failed\n`);
      process.exitCode = EXIT.repetitionFailed;
    } else if (finished.failed > 0 || report.run.failed > 0) process.exitCode = EXIT.repetitionFailed;
  } finally {
    bar?.stop();
    interrupt.dispose();
    client.close();
  }
}
