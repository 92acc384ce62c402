/**
 * The JSON document `netmatrix run --output json` prints. Its schema is
 * docs/run-document.schema.json; a test validates real output against it.
 */
import { toJson } from "@bufbuild/protobuf";
import { EndCpuSchema, type AgentStatus, type CaseResult, type Repetition } from "../../gen/netmatrix/v1/control_pb.js";
import { MeasurementSchema, NodeSampleSchema, UsageSummarySchema, type ToolRun, type UsageSummary } from "../../gen/netmatrix/v1/types_pb.js";
import { failureName, modes } from "../../common/src/model.js";
import { specDoc } from "../../tools/src/spec-doc.js";

export { specDoc };

export const RUN_DOCUMENT_KIND = "netmatrix.run/v1";

function agent(a: AgentStatus | undefined) {
  return {
    id: a?.agentId ?? "",
    node: a?.info?.node ?? "",
    mode: modes.toName(a?.info?.mode ?? 0) ?? "unknown",
    pod: a?.info?.pod ?? "",
    address: a?.info?.addresses[0] ?? "",
  };
}

function run(r: ToolRun | undefined) {
  if (!r) return null;
  return {
    toolVersion: r.toolVersion,
    argv: r.argv,
    exitCode: r.exitCode,
    wallMs: r.wallMs,
    stdout: r.stdout,
    stderr: r.stderr,
    outputTruncated: r.outputTruncated,
  };
}

function usage(u: UsageSummary | undefined) {
  return u ? toJson(UsageSummarySchema, u, { alwaysEmitImplicit: true }) : null;
}

function repetition(r: Repetition) {
  const ok = r.outcome.case === "measurement";
  return {
    index: r.index,
    ok,
    measurement: r.outcome.case === "measurement" ? toJson(MeasurementSchema, r.outcome.value) : null,
    failure: r.outcome.case === "failure" ? { code: failureName(r.outcome.value.code), reason: r.outcome.value.reason, hint: r.outcome.value.hint } : null,
    startedAt: new Date(r.startedAtMs).toISOString(),
    wallMs: r.wallMs,
    client: run(r.client),
    server: run(r.server),
    clientUsage: usage(r.clientUsage),
    serverUsage: usage(r.serverUsage),
    wireToPayload: r.wireToPayload ?? null,
    wireToPayloadNote: r.wireToPayloadNote || null,
    clientCpuPercentPerGbps: r.clientCpuPercentPerGbps ?? null,
    serverCpuPercentPerGbps: r.serverCpuPercentPerGbps ?? null,
    flags: r.flags,
    cpu: r.cpu.map((e) => toJson(EndCpuSchema, e, { alwaysEmitImplicit: true })),
    cpuBound: r.cpuBoundReason || null,
    samples: {
      client: r.clientSamples.map((s) => toJson(NodeSampleSchema, s)),
      server: r.serverSamples.map((s) => toJson(NodeSampleSchema, s)),
    },
  };
}

/** min/mean/max of the defined values, or null when there are none. */
export function summarize(values: (number | undefined)[]): { n: number; mean: number; min: number; max: number } | null {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x));
  if (!v.length) return null;
  return { n: v.length, mean: v.reduce((a, b) => a + b, 0) / v.length, min: Math.min(...v), max: Math.max(...v) };
}

function caseDoc(c: CaseResult) {
  const measured = c.repetitions.flatMap((r) => (r.outcome.case === "measurement" ? [r.outcome.value] : []));
  return {
    caseId: c.caseId,
    client: agent(c.client),
    server: agent(c.server),
    target: c.target,
    spec: specDoc(c.spec),
    repetitions: c.repetitions.map(repetition),
    summary: {
      repetitions: c.repetitions.length,
      failed: c.repetitions.length - measured.length,
      throughputBps: summarize(measured.map((m) => m.throughputBps)),
      latencyMeanUs: summarize(measured.map((m) => m.latency?.meanUs)),
      lossPercent: summarize(measured.map((m) => m.lossPercent)),
      retransmits: summarize(measured.map((m) => m.retransmits)),
      // Each repetition flag once (e.g. "server-gone").
      flags: [...new Set(c.repetitions.flatMap((r) => r.flags))],
    },
  };
}

/** The whole document for one or more cases. */
export function runDocument(cases: CaseResult[]) {
  const docs = cases.map(caseDoc);
  return {
    kind: RUN_DOCUMENT_KIND,
    createdAt: new Date().toISOString(),
    failed: docs.reduce((n, c) => n + c.summary.failed, 0),
    cases: docs,
  };
}
