/** `netmatrix run`: run one case between two agents and print the result. */
import { create } from "@bufbuild/protobuf";
import { Command, InvalidArgumentError, Option } from "commander";
import { RunCaseRequestSchema, type AgentStatus, type CaseResult, type RunCaseEvent } from "../../../gen/netmatrix/v1/control_pb.js";
import { TestSpecSchema } from "../../../gen/netmatrix/v1/types_pb.js";
import { LIMITS, specProblems } from "../../../tools/src/limits.js";
import { CAP_BOUNDS } from "../../../coordinator/src/matrix/index.js";
import { directions, httpModes, protocols, type DirectionName, type HttpModeName, type ProtocolName } from "../../../common/src/model.js";
import { isIcmpTool, tools, type ToolName } from "../../../tools/src/index.js";
import { connect, durationOption, intOption, withConnection, type ConnectionOptions } from "../options.js";
import { runDocument } from "../run-document.js";
import { renderCase, repetitionLine } from "../render.js";
import { REPORT_FORMATS, type ReportFormat } from "../../../report/src/report-render.js";
import { runMatrixCommand } from "./matrix-run.js";
import { interruption } from "../interrupt.js";
import { tableFit, WIDE_HELP } from "../terminal.js";
import { EXIT } from "../exit-codes.js";
import { NetmatrixError } from "../../../common/src/errors.js";
import { parseBitrate, parseSize } from "../../../common/src/units.js";
import { busyBeforeRun } from "../../../common/src/busy.js";

/** One warning per node of `agents` whose agent last reported it busy (common/src/busy.ts BUSY_BEFORE_RUN). */
export function busyEnds(agents: (AgentStatus | undefined)[]): string[] {
  const byNode = new Map<string, AgentStatus>();
  for (const a of agents) if (a?.load && a.info) byNode.set(a.info.node, a);
  return [...byNode.values()].flatMap((a) => busyBeforeRun(a.info!.node, { ...a.load!, cpuCount: a.load!.cpuCount || a.info!.cpuCount }) ?? []);
}

interface RunOptions extends ConnectionOptions {
  dryRun?: boolean;
  budget?: number;
  client?: string;
  server?: string;
  spec?: string;
  resume?: string;
  concurrency?: number;
  allowPartial?: boolean;
  sampleInterval: number;
  tool: ToolName;
  protocol: ProtocolName;
  duration: number;
  parallel: number;
  reverse?: boolean;
  bidir?: boolean;
  bitrate?: number;
  length?: number;
  window?: number;
  mss?: number;
  omit: number;
  count?: number;
  interval?: number;
  httpMode?: HttpModeName;
  connections?: number;
  body?: number;
  rate?: number;
  repetitions: number;
  output: ReportFormat;
  wide?: boolean;
  maxCases?: number;
  maxRunDuration?: number;
}

const wrap =
  <T>(f: (v: string) => T) =>
  (v: string): T => {
    try {
      return f(v);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };

export function runCommand(): Command {
  return withConnection(new Command("run"))
    .description("measure one case between two agents (--client/--server), or a whole matrix (--spec FILE | default)")
    .option("--client <agent>", "agent that runs the tool client (id or node/mode, see `netmatrix agents`)")
    .option("--server <agent>", "agent that runs the tool server (its address is the target)")
    .option("--spec <file>", "run a matrix spec (YAML); `default` is field report 001's table plus the host-host baseline")
    .option("--resume <run-id>", "continue an interrupted matrix run without measuring finished cases again")
    .option("--concurrency <n>", "matrix: node-disjoint cases at once", intOption("--concurrency", 1, 1000))
    .option("--allow-partial", "matrix: run what can run when some scenarios cannot")
    .option("--sample-interval <ms>", "CPU/NIC sampling interval during each case", intOption("--sample-interval", 10, 10_000), 100)
    .addOption(new Option("--tool <tool>", "tool").choices(tools.names).default("iperf3"))
    .addOption(new Option("--protocol <proto>", "transport").choices(protocols.names).default("tcp"))
    .option("--duration <s>", "seconds per measurement", intOption("--duration", LIMITS.durationS.min, LIMITS.durationS.max), 10)
    .option("--parallel <n>", "parallel streams (-P)", intOption("--parallel", LIMITS.parallel.min, LIMITS.parallel.max), 1)
    .addOption(new Option("--reverse", "server sends (-R)").conflicts("bidir"))
    .option("--bidir", "both directions at once (iperf3 --bidir)")
    .option("--bitrate <rate>", "target bitrate, e.g. 100M or 1G (UDP; TCP pacing)", wrap(parseBitrate))
    .option("--length <bytes>", "buffer/datagram/message length, e.g. 1400 or 128K", wrap(parseSize))
    .option("--window <bytes>", "socket buffer / TCP window, e.g. 4M", wrap(parseSize))
    .option("--mss <bytes>", "TCP maximum segment size", intOption("--mss", 88, 65535))
    .option("--omit <s>", "iperf3: seconds to omit at the start", intOption("--omit", LIMITS.omitS.min, LIMITS.omitS.max), 0)
    .option("--count <n>", "ping: echo requests (default: duration / interval)", intOption("--count", 1, LIMITS.pingCount.max))
    .option("--interval <ms>", "ping: milliseconds between requests (>= 200)", intOption("--interval", 200, LIMITS.pingIntervalMs.max))
    .addOption(new Option("--http-mode <mode>", "http: keepalive (requests/s) or new-connection (a TCP connection per request: connections/s)").choices(httpModes.names))
    .option("--connections <n>", "http: concurrent connections (wrk -c)", intOption("--connections", 1, LIMITS.connections.max))
    .option("--body <bytes>", "http: size of the body the server answers with, e.g. 0, 1K, 100K", wrap(parseSize))
    .option("--rate <msgs/s>", "sockperf: messages/s of its under-load mode (default: ping-pong)", intOption("--rate", 1, LIMITS.messageRatePerS.max))
    .option("--repetitions <n>", "repetitions", intOption("--repetitions", LIMITS.repetitions.min, LIMITS.repetitions.max), 1)
    .addOption(new Option("--output <format>", "output format (yaml, csv, markdown: matrix runs)").choices([...REPORT_FORMATS]).default("table"))
    .option("--wide", WIDE_HELP)
    .option(
      "--max-cases <n>",
      "matrix: refuse it when it asks for more case runs (cases × repetitions); lowers, never raises, the coordinator's cap",
      intOption("--max-cases", CAP_BOUNDS.maxCaseRuns.min, CAP_BOUNDS.maxCaseRuns.max),
    )
    .option(
      "--max-run-duration <duration>",
      "refuse the run when it is estimated to take longer (seconds, or e.g. 90m, 36h, 7d); lowers, never raises, the coordinator's cap",
      durationOption("--max-run-duration", CAP_BOUNDS.maxRunDurationS.min, CAP_BOUNDS.maxRunDurationS.max),
    )
    .option("--dry-run", "matrix: print what the spec plans on the connected agents (cases, rounds, estimated time, what is refused) and measure nothing")
    .option(
      "--budget <duration>",
      "matrix: run only the rounds (in run order) whose estimated time fits, e.g. 2h; the rest is left for a later run",
      durationOption("--budget", 1, CAP_BOUNDS.maxRunDurationS.max),
    )
    .action(async (opts: RunOptions, cmd: Command) => {
      if ((opts.dryRun || opts.budget !== undefined) && !opts.spec && !opts.resume)
        throw new InvalidArgumentError("--dry-run and --budget go with --spec FILE (or --resume RUN_ID)");
      if (opts.spec || opts.resume) {
        const given = (name: string): boolean => cmd.getOptionValueSource(name) === "cli" || cmd.getOptionValueSource(name) === "env";
        const overrides: Record<string, unknown> = {};
        if (given("duration")) overrides.duration = opts.duration;
        if (given("repetitions")) overrides.repetitions = opts.repetitions;
        if (opts.concurrency !== undefined) overrides.concurrency = opts.concurrency;
        return runMatrixCommand({ ...opts, overrides, output: opts.output, sampleInterval: opts.sampleInterval, wide: Boolean(opts.wide) });
      }
      if (!opts.client || !opts.server) throw new InvalidArgumentError("give --client and --server (one case), or --spec FILE (a matrix), or --resume RUN_ID");
      if (opts.output !== "table" && opts.output !== "json") throw new InvalidArgumentError("a single case prints --output table or json");
      const direction: DirectionName = opts.bidir ? "bidir" : opts.reverse ? "reverse" : "forward";
      const spec = create(TestSpecSchema, {
        tool: tools.toEnum(opts.tool, "tool"),
        protocol: protocols.toEnum(opts.protocol, "protocol"),
        direction: directions.toEnum(direction, "direction"),
        durationS: opts.duration,
        parallel: opts.parallel,
        bitrateBps: opts.bitrate ?? 0,
        lengthBytes: opts.length ?? 0,
        windowBytes: opts.window ?? 0,
        mss: opts.mss ?? 0,
        omitS: opts.omit,
        pingCount: opts.count ?? 0,
        pingIntervalMs: opts.interval ?? 0,
        httpMode: opts.httpMode ? httpModes.toEnum(opts.httpMode, "http mode") : 0,
        connections: opts.connections ?? 0,
        bodyBytes: opts.body ?? 0,
        messageRatePerS: opts.rate ?? 0,
      });
      // Refused here, before connecting, as the coordinator and the agents would refuse it (e.g. ping count × interval past the cap).
      const problems = specProblems(spec);
      if (problems.length) throw new NetmatrixError("invalid-argument", `spec refused: ${problems.join("; ")}`, { hint: "see `netmatrix run --help` for the allowed ranges" });
      const client = connect(opts);
      // Ctrl-C or SIGTERM cancels the call; the coordinator stops the tools on both agents (as it does if this process just dies).
      const interrupt = interruption("interrupted: cancelling the case; the coordinator stops the tools on both agents");
      let result: CaseResult | undefined;
      try {
        result = await client.runCase(
          create(RunCaseRequestSchema, {
            client: opts.client,
            server: opts.server,
            spec,
            repetitions: opts.repetitions,
            sampleIntervalMs: opts.sampleInterval,
            maxRunDurationS: opts.maxRunDuration ?? 0,
          }),
          (e: RunCaseEvent) => {
            if (e.event.case === "started") {
              const what = isIcmpTool(opts.tool) ? `${opts.tool} (ICMP)` : `${opts.tool} ${opts.protocol} ${direction}`;
              process.stderr.write(`${e.event.value.client?.agentId} → ${e.event.value.server?.agentId} (${e.event.value.target}), ${what}, ${opts.repetitions} repetition(s)\n`);
              for (const w of busyEnds([e.event.value.client, e.event.value.server])) process.stderr.write(`warning: ${w}\n`);
            } else if (e.event.case === "repetition") {
              process.stderr.write(`${repetitionLine(e.event.value, opts.repetitions)}\n`);
            }
          },
          interrupt.signal,
        );
      } finally {
        interrupt.dispose();
        client.close();
      }
      // What finished is printed, cancelled or not.
      if (opts.output === "json") process.stdout.write(`${JSON.stringify(runDocument(result ? [result] : []), null, 2)}\n`);
      else if (result) process.stdout.write(`${renderCase(result, tableFit(opts.wide))}\n`);
      const done = result?.repetitions.length ?? 0;
      const measured = result?.repetitions.filter((r) => r.outcome.case === "measurement").length ?? 0;
      if (interrupt.exitCode !== undefined) {
        process.stderr.write(
          `cancelled (${interrupt.cause}): ${result ? `${done} of ${opts.repetitions} repetition(s) finished` : "before the case started"}; a single case does not resume: run the same command again\n`,
        );
        process.exitCode = interrupt.exitCode;
      } else if (!result) {
        throw new NetmatrixError("internal", "the coordinator ended the case without a result");
      } else if (measured === 0) {
        process.stderr.write(`nothing was measured: all ${done} repetition(s) failed\n`);
        process.exitCode = EXIT.repetitionFailed;
      } else if (measured < done) process.exitCode = EXIT.repetitionFailed;
    });
}
