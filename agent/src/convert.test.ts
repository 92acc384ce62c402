/**
 * What the agent sends for a parsed run encodes: every captured fixture of
 * every tool, and outputs with figures that used to pass the parsers and then
 * fail protobuf encoding (which cancelled the agent's only session stream),
 * go through the agent's own conversion (pbMeasurement, pbServerReport,
 * pbFailure, toolRun) and toBinary. The mutated-output fuzzing of the parsers
 * is tools/src/parsers.fuzz.test.ts.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { ToolRunSchema } from "../../gen/netmatrix/v1/types_pb.js";
import type { ExecResult } from "../../common/src/exec.js";
import { drivers, tools, type ClientParams, type ParseOutcome, type ToolName } from "../../tools/src/index.js";
import { pbFailure, pbMeasurement, pbServerReport, toolRun } from "./convert.js";

const fixtures = new URL("../../tools/src/fixtures/", import.meta.url);

function exec(argv: string[], stdout: string, stderr: string, exitCode: number): ExecResult {
  return { argv, pid: 1, exitCode, signal: null, stdout, stderr, truncated: false, timedOut: false, cancelled: false, spawnError: undefined, wallMs: 1 };
}

function paramsOf(argv: string[]): ClientParams {
  const flag = (f: string): string | undefined => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : undefined);
  return {
    target: "127.0.0.1",
    port: Number(flag("-p") ?? flag("-lp") ?? 5001),
    protocol: argv.includes("-u") || argv.includes("udp_bw") ? "udp" : "tcp",
    durationS: Number(flag("-t") ?? 2),
    parallel: Number(flag("-P") ?? 1),
    direction: argv.includes("-R") ? "reverse" : argv.includes("--bidir") || argv.includes("--full-duplex") ? "bidir" : "forward",
  };
}

/** The ToolRun the agent would send for `outcome`, encoded and decoded again. */
function sent(tool: ToolName, res: ExecResult, outcome: ParseOutcome) {
  const run = toolRun(tool, "x", res, outcome.ok ? { measurement: pbMeasurement(outcome.measurement) } : { failure: pbFailure(outcome.failure.code, outcome.failure.reason) });
  return fromBinary(ToolRunSchema, toBinary(ToolRunSchema, run));
}

describe.each(tools.names)("%s: every captured output encodes as the agent sends it", (tool) => {
  const dir = new URL(`${tool}/`, fixtures);
  const files = readdirSync(dir);
  const cases = files.filter((f) => f.endsWith(".meta.json") && !f.endsWith(".server.meta.json")).map((f) => f.slice(0, -".meta.json".length));

  test.each(cases)("%s", (name) => {
    const read = (f: string): string => readFileSync(new URL(f, dir), "utf8");
    const meta = JSON.parse(read(`${name}.meta.json`)) as { argv: string[]; exitCode: number };
    const stdout = read(files.find((f) => f === `${name}.stdout.json` || f === `${name}.stdout.txt`)!);
    const stderr = read(`${name}.stderr.txt`);
    const p = paramsOf(meta.argv);
    const outcome = drivers[tool].parseClient({ stdout, stderr, exitCode: meta.exitCode }, p);
    const back = sent(tool, exec(meta.argv, stdout, stderr, meta.exitCode), outcome);
    expect(back.outcome.case).toBe(outcome.ok ? "measurement" : "failure");
    if (outcome.ok && back.outcome.case === "measurement") {
      expect(back.outcome.value.retransmits).toBe(outcome.measurement.retransmits);
      expect(back.outcome.value.streams.map((s) => s.id)).toEqual(outcome.measurement.streams.map((s) => s.id));
    }
    if (files.includes(`${name}.server.stdout.txt`)) {
      const server = drivers[tool].parseServer!(read(`${name}.server.stdout.txt`), p);
      if (server.status === "report") expect(() => toBinary(ToolRunSchema, toolRun(tool, "x", exec([], "", "", 0), { measurement: pbServerReport(server.report) }))).not.toThrow();
    }
  });
});

describe("figures beyond their protobuf fields are parse errors the agent can send", () => {
  const read = (f: string): string => readFileSync(new URL(f, fixtures), "utf8");
  test.each<[string, ToolName, () => string, Partial<ClientParams>]>([
    [
      "iperf3 retransmits above uint32",
      "iperf3",
      () => {
        const doc = JSON.parse(read("iperf3/tcp-single.stdout.json")) as { end: { sum_sent: { retransmits: number } } };
        doc.end.sum_sent.retransmits = 2 ** 32;
        return JSON.stringify(doc);
      },
      {},
    ],
    ["iperf2 stream ids above uint32", "iperf2", () => read("iperf2/tcp-single.stdout.txt").replaceAll("[  1]", "[99999999999]"), {}],
    ["iperf2 retries above uint32", "iperf2", () => read("iperf2/tcp-single.stdout.txt").replace("21661/0         11 ", "21661/0         99999999999 "), {}],
  ])("%s", (_label, tool, stdout, params) => {
    const p: ClientParams = { target: "127.0.0.1", port: 1, protocol: "tcp", durationS: 2, parallel: 1, direction: "forward", ...params };
    const outcome = drivers[tool].parseClient({ stdout: stdout(), stderr: "", exitCode: 0 }, p);
    expect(outcome).toMatchObject({ ok: false, failure: { code: "parse-error", reason: /outside the whole numbers 0\.\.4294967295/ } });
    expect(sent(tool, exec([], stdout(), "", 0), outcome).outcome.case).toBe("failure");
  });
});
