/**
 * A run's report: its cases with every repetition, statistics over the
 * repetitions (mean, median, p90, min, max, stddev, CV, 95 % CI), the ratio
 * to the matching host-host baseline and the flags. Schema:
 * docs/report.schema.json. Pure: built from what `GetRun` returns.
 */
import { fingerprintDocument } from "./fingerprint.js";
import { toJson } from "@bufbuild/protobuf";
import type { CaseRecord, GetRunResponse } from "../../gen/netmatrix/v1/control_pb.js";
import { MeasurementSchema } from "../../gen/netmatrix/v1/types_pb.js";
import { CASE_FLAGS, failureName, modes, repetitionFlagsOfCase } from "../../common/src/model.js";
import { beatsBaseline } from "../../common/src/busy.js";
import { driverNamed, isIcmpTool, toolName } from "../../tools/src/index.js";
import { describe, flags, ratio, type Summary } from "../../common/src/stats.js";
import { specDoc } from "../../tools/src/spec-doc.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { matrixSpecDocument } from "../../common/src/matrix-spec.js";
import { noBaselineReason } from "./labels.js";
import { sweepSeries } from "./sweeps.js";
import { agreement, framingOverhead, pathKey, TOOLS_DISAGREE, type AgreementGroup } from "./agreement.js";
import { ladderJson } from "./ladder.js";
import { headlinesRequests, REQUEST_FIGURES, requestFigures, type RequestFigure } from "./request-figures.js";

export const REPORT_KIND = "netmatrix.report/v1";

function summaryJson(s: Summary | undefined) {
  return s ? { ...s, stddev: s.stddev ?? null, cvPercent: s.cvPercent ?? null, ci95: s.ci95 ?? null } : null;
}

/** The request/response summaries a case has, each as the JSON has a summary; absent keys for figures it has none of. */
function requestSummaries(r: Partial<Record<RequestFigure, Summary>>): Partial<Record<RequestFigure, NonNullable<ReturnType<typeof summaryJson>>>> {
  const out: Partial<Record<RequestFigure, NonNullable<ReturnType<typeof summaryJson>>>> = {};
  for (const k of REQUEST_FIGURES) {
    const v = summaryJson(r[k]);
    if (v) out[k] = v;
  }
  return out;
}

/** The slower NIC speed of the two ends' carrying interfaces, bits/s, when both are known. */
function nicSpeedBps(resp: GetRunResponse, r: CaseRecord): number | undefined {
  const speeds = [r.result?.client, r.result?.server].map((a) => {
    const info = resp.agents.find((x) => x.agentId === a?.agentId)?.info ?? a?.info;
    const addr = a?.info?.addresses[0];
    const nic = info?.interfaces.find((i) => i.addresses.includes(addr ?? ""));
    return nic?.speedMbps ? nic.speedMbps * 1e6 : undefined;
  });
  return speeds.every((s) => s !== undefined) ? Math.min(...(speeds as number[])) : undefined;
}

/** The MTU of the client's carrying interface (its first repetition's), when the agent reported it. */
function carryingMtu(resp: GetRunResponse, r: CaseRecord): number | undefined {
  const rep = r.result?.repetitions[0];
  const name = rep?.clientUsage?.carryingInterface;
  const info = resp.agents.find((x) => x.agentId === r.result?.client?.agentId)?.info ?? r.result?.client?.info;
  return info?.interfaces.find((i) => i.name === name)?.mtu || undefined;
}

/**
 * Cross-tool agreement over the cases of the cross-checked rows (spec
 * `crosscheck`) whose tool cross-checks their protocol (drivers'
 * `crosscheck` capability); empty when the spec cross-checks none.
 */
function crosscheckGroups(
  resp: GetRunResponse,
  spec: NonNullable<GetRunResponse["spec"]>,
  cases: readonly { first: CaseRecord; tp: Summary | undefined; wire: Summary | undefined }[],
): AgreementGroup[] {
  const cc = spec.crosscheck;
  if (!cc || (!cc.all && !cc.scenarios.length)) return [];
  return agreement(
    cases.flatMap(({ first, tp, wire }) => {
      const s = specDoc(first.result?.spec);
      const takes = driverNamed(s.tool)?.capabilities.crosscheck?.[s.protocol] === true;
      if (!takes || !(cc.all || cc.scenarios.includes(first.scenario))) return [];
      return [
        {
          key: first.key,
          tool: s.tool,
          path: pathKey({ ...s, scenario: first.scenario, clientNode: first.clientNode, serverNode: first.serverNode }),
          medianBps: tp?.median,
          wireToPayload: wire?.median,
          expectedWireToPayload: framingOverhead(s.protocol, carryingMtu(resp, first), s.lengthBytes),
        },
      ];
    }),
  );
}

/** The run's spec as the coordinator validated it; a run without one was served by a coordinator older than this report. */
function runSpec(resp: GetRunResponse) {
  const spec = resp.spec;
  if (!spec?.thresholds) {
    throw new NetmatrixError("failed-precondition", `run ${resp.info?.runId ?? ""} came without its typed spec (a coordinator older than this CLI)`, {
      hint: "upgrade the coordinator, or report from the run's directory: netmatrix report DATA_DIR/runs/RUN_ID",
    });
  }
  return { spec, thresholds: spec.thresholds };
}

/** The report document of one run. */
export function reportDocument(resp: GetRunResponse) {
  const { spec, thresholds } = runSpec(resp);
  const byCase = new Map<string, CaseRecord[]>();
  for (const r of resp.records) byCase.set(r.caseId, [...(byCase.get(r.caseId) ?? []), r]);
  // Each case's headline mean by key: throughput where measured, else latency (ping, qperf latency).
  const headline = new Map<string, number>();
  // Each case's mean throughput by key, for baseline-suspect.
  const throughput = new Map<string, number>();
  const cases = [...byCase.values()].map((records) => {
    records.sort((a, b) => a.repetition - b.repetition);
    const first = records[0]!;
    const reps = records.map((r) => r.result!.repetitions[0]!);
    const measured = reps.flatMap((r) => (r.outcome.case === "measurement" ? [r.outcome.value] : []));
    const tp = describe(measured.flatMap((m) => (m.throughputBps !== undefined ? [m.throughputBps] : [])));
    const latency = describe(measured.flatMap((m) => (m.latency?.meanUs !== undefined ? [m.latency.meanUs] : [])));
    if (tp) throughput.set(first.key, tp.mean);
    const loss = describe(measured.flatMap((m) => (m.lossPercent !== undefined ? [m.lossPercent] : [])));
    const cpu = describe(reps.flatMap((r) => (r.clientCpuPercentPerGbps !== undefined ? [r.clientCpuPercentPerGbps] : [])));
    const serverCpu = describe(reps.flatMap((r) => (r.serverCpuPercentPerGbps !== undefined ? [r.serverCpuPercentPerGbps] : [])));
    const wire = describe(reps.flatMap((r) => (r.wireToPayload !== undefined ? [r.wireToPayload] : [])));
    const retransmits = measured.reduce((n, m) => n + (m.retransmits ?? 0), 0);
    // Requests/s, connections/s, latency percentiles and CPU per request or connection (tools whose driver reports them).
    const tool = toolName(first.result?.spec?.tool ?? 0);
    const figures = reps.flatMap((r) => (r.outcome.case === "measurement" ? [requestFigures(tool, r.outcome.value, r.clientUsage, r.serverUsage)] : []));
    const requests: Partial<Record<RequestFigure, Summary>> = {};
    for (const k of REQUEST_FIGURES) {
      const d = describe(figures.flatMap((f) => (f[k] !== undefined ? [f[k]] : [])));
      if (d) requests[k] = d;
    }
    // The headline of a tool that headlines requests/s (http) is its requests/s; else throughput where measured, else latency.
    const head = headlinesRequests(tool) ? requests.requestsPerS?.mean : (tp?.mean ?? latency?.mean);
    if (head !== undefined) headline.set(first.key, head);
    return { first, records, reps, measured, tp, latency, loss, cpu, serverCpu, wire, retransmits, requests, head };
  });
  // baseline-suspect: a path faster than its host-host baseline on the same node pair; both the path and the baseline are flagged.
  const suspect = new Set<string>();
  for (const { first, tp } of cases) {
    if (first.baselineKey && beatsBaseline(tp?.mean, throughput.get(first.baselineKey))) suspect.add(first.key).add(first.baselineKey);
  }
  const groups = crosscheckGroups(resp, spec, cases);
  const disagreeing = new Set(groups.filter((g) => g.disagree).flatMap((g) => g.tools.map((t) => t.caseKey)));
  const doc = {
    kind: REPORT_KIND,
    run: {
      runId: resp.info?.runId ?? "",
      name: resp.info?.name ?? "",
      status: resp.info?.status ?? "",
      createdAt: new Date(resp.info?.createdAtMs ?? 0).toISOString(),
      total: resp.info?.total ?? 0,
      done: resp.info?.done ?? 0,
      failed: resp.info?.failed ?? 0,
      // Why a failed run stopped (e.g. its disk filled up); absent otherwise.
      ...(resp.info?.error ? { error: resp.info.error } : {}),
    },
    spec: matrixSpecDocument(spec),
    agents: resp.agents.map((a) => ({
      id: a.agentId,
      node: a.info?.node ?? "",
      mode: modes.toName(a.info?.mode ?? 0) ?? "unknown",
      address: a.info?.addresses[0] ?? "",
      kernel: a.info?.kernel ?? "",
      cpuModel: a.info?.cpuModel ?? "",
      tools: (a.info?.tools ?? []).filter((t) => t.available).map((t) => ({ tool: toolName(t.tool), version: t.version })),
      interfaces: (a.info?.interfaces ?? []).map((i) => ({ name: i.name, mtu: i.mtu, speedMbps: i.speedMbps })),
      // The node's labels as the agent gave them (--label), e.g. its zone; absent when it gave none.
      ...(a.info && Object.keys(a.info.labels).length > 0 ? { labels: { ...a.info.labels } } : {}),
      // The environment fingerprint the agent took at registration; absent from agents (and runs) before it.
      ...(a.info?.fingerprint ? { fingerprint: fingerprintDocument(a.info.fingerprint) } : {}),
      // The node's load as the agent last reported it when the run started (busy before the run?); null when unknown.
      load: a.load
        ? {
            cpuBusyPercent: a.load.cpuBusyPercent,
            stealPercent: a.load.stealPercent,
            loadAverage1m: a.load.loadAverage1m,
            procsRunning: a.load.procsRunning,
            cpuCount: a.load.cpuCount || a.info?.cpuCount || 0,
          }
        : null,
    })),
    cases: cases.map((c) => {
      const { first } = c;
      const baseline = first.baselineKey ? headline.get(first.baselineKey) : undefined;
      const spec1 = specDoc(first.result?.spec);
      // host-host is the baseline; same-node and external cases have none by design.
      const noBaselineExpected = noBaselineReason(first) !== undefined;
      const nic = nicSpeedBps(resp, first);
      return {
        caseId: first.caseId,
        key: first.key,
        scenario: first.scenario,
        via: first.via,
        clientNode: first.clientNode,
        serverNode: first.serverNode,
        client: first.result?.client?.agentId ?? "",
        server: first.result?.server?.agentId ?? "",
        ...spec1,
        baselineKey: first.baselineKey || null,
        // `udp: ladder` cases only: each repetition's ladder (null for one without).
        ...(c.records.some((r) => r.result?.ladder) ? { ladders: c.records.map((r) => (r.result?.ladder ? ladderJson(r.result.ladder) : null)) } : {}),
        repetitions: c.records.map((r, i) => {
          const rep = c.reps[i]!;
          return {
            index: r.repetition,
            attempts: r.attempts,
            ok: rep.outcome.case === "measurement",
            measurement: rep.outcome.case === "measurement" ? toJson(MeasurementSchema, rep.outcome.value) : null,
            failure: rep.outcome.case === "failure" ? { code: failureName(rep.outcome.value.code), reason: rep.outcome.value.reason, hint: rep.outcome.value.hint } : null,
            wireToPayload: rep.wireToPayload ?? null,
            clientCpuPercentPerGbps: rep.clientCpuPercentPerGbps ?? null,
            serverCpuPercentPerGbps: rep.serverCpuPercentPerGbps ?? null,
            clientCarryingInterface: rep.clientUsage?.carryingInterface ?? null,
            serverCarryingInterface: rep.serverUsage?.carryingInterface ?? null,
            // Why it is not an ordinary repetition, e.g. "server-gone" (the server agent left mid-repetition), "cpu-bound".
            flags: rep.flags,
            // Each end's CPU while its tool ran, and why the repetition is cpu-bound (null when it is not).
            cpu: rep.cpu.map((e) => ({
              end: e.end,
              node: e.node,
              cpuCount: e.cpuCount,
              samples: e.samples,
              nodeBusyPercent: e.nodeBusyPercent,
              toolCpuPercent: e.toolCpuPercent,
              stealPercent: e.stealPercent,
              procsRunning: e.procsRunning ?? null,
              reasons: e.reasons,
            })),
            cpuBound: rep.cpuBoundReason || null,
          };
        }),
        summary: {
          repetitions: c.records.length,
          failed: c.records.length - c.measured.length,
          throughputBps: summaryJson(c.tp),
          latencyUs: summaryJson(c.latency),
          lossPercent: summaryJson(c.loss),
          clientCpuPercentPerGbps: summaryJson(c.cpu),
          serverCpuPercentPerGbps: summaryJson(c.serverCpu),
          wireToPayload: summaryJson(c.wire),
          retransmits: c.retransmits,
          // Only where the tool reports them (absent otherwise): requests/s, connections/s, latency percentiles, CPU per 10k requests and per 1k new connections.
          ...requestSummaries(c.requests),
          // Throughput over the baseline's throughput (requests/s for tools that headline them); for latency-only tests, latency over the baseline's latency.
          ratioToBaseline: ratio(c.head, baseline) ?? null,
          flags: flags(c.tp, {
            protocol: isIcmpTool(spec1.tool) ? "icmp" : spec1.protocol,
            thresholds,
            ...(c.loss ? { lossPercent: c.loss.mean } : {}),
            retransmits: c.retransmits,
            ...(nic && first.clientNode !== first.serverNode ? { nicSpeedBps: nic } : {}),
            baseline: noBaselineExpected ? "is-baseline" : baseline !== undefined ? "present" : "missing",
          })
            .concat(repetitionFlagsOfCase(c.reps))
            .concat(suspect.has(first.key) ? [CASE_FLAGS.baselineSuspect] : [])
            .concat(disagreeing.has(first.key) ? [TOOLS_DISAGREE] : []),
        },
      };
    }),
    // Cross-tool agreement (spec `crosscheck`): each path's tools side by side; absent when the spec cross-checks no row.
    ...(groups.length ? { agreement: groups } : {}),
  };
  // Length and MSS sweeps (report/src/sweeps.ts); the key only when the run has one.
  const sweeps = sweepSeries(doc.cases);
  return { ...doc, ...(sweeps.length ? { sweeps } : {}) };
}

export type ReportDocument = ReturnType<typeof reportDocument>;
