/**
 * Between the wire (protobuf messages) and the drivers' plain types: test specs
 * in, measurements and tool runs out.
 */
import { create } from "@bufbuild/protobuf";
import { FailureSchema, MeasurementSchema, ToolRunSchema, type Failure, type Measurement as PbMeasurement, type TestSpec, type ToolRun } from "../../gen/netmatrix/v1/types_pb.js";
import { directions, failures, httpModes, protocols, type ProtocolName } from "../../common/src/model.js";
import { tools } from "../../tools/src/index.js";
import type { ExecResult } from "../../common/src/exec.js";
import type { ClientParams, DriverFailure, FailureCode, Measurement, ServerParams, ServerReport } from "../../tools/src/types.js";

/** Raw output kept in a result record, per stream. The parser sees up to the exec bound. */
export const RECORD_OUTPUT_BYTES = 256 * 1024;

/** The drivers' client params for a wire spec aimed at target:port. */
export function clientParams(spec: TestSpec, target: string, port: number, dataPort: number): ClientParams {
  const p: ClientParams = {
    target,
    port,
    protocol: protocols.toName(spec.protocol) ?? "tcp",
    durationS: spec.durationS,
    parallel: Math.max(1, spec.parallel),
    direction: directions.toName(spec.direction) ?? "forward",
  };
  if (dataPort) p.dataPort = dataPort;
  if (spec.bitrateBps > 0) p.bitrateBps = spec.bitrateBps;
  if (spec.lengthBytes > 0) p.lengthBytes = spec.lengthBytes;
  if (spec.windowBytes > 0) p.windowBytes = spec.windowBytes;
  if (spec.mss > 0) p.mss = spec.mss;
  if (spec.omitS > 0) p.omitS = spec.omitS;
  if (spec.pingCount > 0) p.pingCount = spec.pingCount;
  if (spec.pingIntervalMs > 0) p.pingIntervalS = spec.pingIntervalMs / 1000;
  const httpMode = httpModes.toName(spec.httpMode);
  if (httpMode) p.httpMode = httpMode;
  if (spec.connections > 0) p.connections = spec.connections;
  if (spec.bodyBytes > 0) p.bodyBytes = spec.bodyBytes;
  if (spec.messageRatePerS > 0) p.messageRatePerS = spec.messageRatePerS;
  return p;
}

/** The drivers' server params: where it listens, and what of `spec` (when the coordinator sent it) its setup needs. */
export function serverParams(port: number, protocol: ProtocolName, opts: { dataPort?: number; bind?: string; spec?: TestSpec | undefined }): ServerParams {
  const p: ServerParams = { port, protocol };
  if (opts.dataPort) p.dataPort = opts.dataPort;
  if (opts.bind) p.bind = opts.bind;
  if (opts.spec && opts.spec.bodyBytes > 0) p.bodyBytes = opts.spec.bodyBytes;
  return p;
}

export function pbFailure(code: FailureCode, reason: string, hint = ""): Failure {
  return create(FailureSchema, { code: failures.toEnum(code, "failure code"), reason, hint });
}

export function pbMeasurement(m: Measurement): PbMeasurement {
  return create(MeasurementSchema, m);
}

/** The server's report (iperf2 UDP) as a partial measurement. */
export function pbServerReport(r: ServerReport): PbMeasurement {
  return create(MeasurementSchema, { ...r, durationS: 0 });
}

function clip(text: string): { text: string; clipped: boolean } {
  const buf = Buffer.from(text, "utf8");
  if (buf.length <= RECORD_OUTPUT_BYTES) return { text, clipped: false };
  return { text: buf.subarray(buf.length - RECORD_OUTPUT_BYTES).toString("utf8"), clipped: true };
}

/** A ToolRun record for a finished process and its outcome. */
export function toolRun(toolName: string, version: string, res: ExecResult, outcome: { measurement: PbMeasurement } | { failure: Failure } | undefined): ToolRun {
  const out = clip(res.stdout);
  const err = clip(res.stderr);
  return create(ToolRunSchema, {
    tool: tools.toEnum(toolName, "tool"),
    toolVersion: version,
    argv: res.argv,
    exitCode: res.exitCode ?? -1,
    stdout: out.text,
    stderr: err.text,
    outputTruncated: res.truncated || out.clipped || err.clipped,
    wallMs: res.wallMs,
    outcome:
      outcome === undefined ? { case: undefined } : "measurement" in outcome ? { case: "measurement", value: outcome.measurement } : { case: "failure", value: outcome.failure },
  });
}

/** The failure for a process that did not finish normally, if any (timeout, cancel, spawn error, truncation). */
export function execFailure(res: ExecResult, tool: string, deadlineMs: number): DriverFailure | undefined {
  if (res.spawnError) return { code: "tool-missing", reason: res.spawnError };
  if (res.cancelled) return { code: "cancelled", reason: `${tool} was stopped before it finished` };
  if (res.timedOut) return { code: "timeout", reason: `${tool} did not finish within its deadline of ${Math.round(deadlineMs)} ms` };
  if (res.truncated) return { code: "parse-error", reason: `${tool} printed more than the output bound; not parsed` };
  return undefined;
}

/** The failure to report for an error thrown while handling a command. */
export function failureFor(err: unknown): Failure {
  const e = err as { code?: string; message?: string; hint?: string };
  const code: FailureCode =
    e.code === "failed-precondition"
      ? "tool-missing"
      : e.code === "unavailable"
        ? "tool-error"
        : e.code === "invalid-argument"
          ? "invalid-spec"
          : e.code === "deadline-exceeded"
            ? "timeout"
            : e.code === "resource-exhausted"
              ? "server-busy"
              : e.code === "cancelled"
                ? "cancelled"
                : "internal";
  return pbFailure(code, e.message ?? String(err), e.hint ?? "");
}
