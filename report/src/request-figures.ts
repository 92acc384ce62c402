/**
 * The figures of request/response tests per repetition, for the report and
 * `compare`: requests/s and new connections/s (http), latency percentiles
 * (http, sockperf), and each end's sampled CPU per 10k requests and per 1k
 * new connections — beside CPU per Gbit/s, from the same sampled CPU (the
 * node's busy %, all cores = 100 %). Which figures a tool reports comes from
 * the tool's driver (`measures`), never from its name. Pure.
 */
import type { Measurement, UsageSummary } from "../../gen/netmatrix/v1/types_pb.js";
import { driverNamed } from "../../tools/src/index.js";

/** Per-repetition figures; each absent when the repetition has no value. Units in the names. */
export interface RequestFigures {
  requestsPerS?: number;
  connectionsPerS?: number;
  latencyP50Us?: number;
  latencyP90Us?: number;
  latencyP99Us?: number;
  latencyP999Us?: number;
  clientCpuPercentPer10kRequests?: number;
  serverCpuPercentPer10kRequests?: number;
  clientCpuPercentPer1kConnections?: number;
  serverCpuPercentPer1kConnections?: number;
}

/** The keys of {@link RequestFigures}, in the order the report lists them. */
export const REQUEST_FIGURES = [
  "requestsPerS",
  "connectionsPerS",
  "latencyP50Us",
  "latencyP90Us",
  "latencyP99Us",
  "latencyP999Us",
  "clientCpuPercentPer10kRequests",
  "serverCpuPercentPer10kRequests",
  "clientCpuPercentPer1kConnections",
  "serverCpuPercentPer1kConnections",
] as const satisfies readonly (keyof RequestFigures)[];

export type RequestFigure = (typeof REQUEST_FIGURES)[number];

/** An end's mean CPU, % of the node, per `unit` of `rate` (per second); undefined without samples or rate. */
export function cpuPer(usage: UsageSummary | undefined, rate: number | undefined, unit: number): number | undefined {
  const cpu = usage?.cpuTotalPercent?.mean;
  if (!usage || usage.samples === 0 || cpu === undefined || rate === undefined || !(rate > 0)) return undefined;
  return cpu / (rate / unit);
}

/** The request/response figures of one measured repetition of a test with `tool`. */
export function requestFigures(tool: string, m: Measurement, clientUsage: UsageSummary | undefined, serverUsage: UsageSummary | undefined): RequestFigures {
  const measures = driverNamed(tool)?.measures;
  const out: RequestFigures = {};
  const set = (k: RequestFigure, v: number | undefined): void => {
    if (v !== undefined && Number.isFinite(v)) out[k] = v;
  };
  if (measures?.headline === "requests") {
    set("requestsPerS", m.requestsPerS);
    set("connectionsPerS", m.connectionsPerS);
    set("clientCpuPercentPer10kRequests", cpuPer(clientUsage, m.requestsPerS, 1e4));
    set("serverCpuPercentPer10kRequests", cpuPer(serverUsage, m.requestsPerS, 1e4));
    set("clientCpuPercentPer1kConnections", cpuPer(clientUsage, m.connectionsPerS, 1e3));
    set("serverCpuPercentPer1kConnections", cpuPer(serverUsage, m.connectionsPerS, 1e3));
  }
  if (measures?.percentiles) {
    set("latencyP50Us", m.latency?.p50Us);
    set("latencyP90Us", m.latency?.p90Us);
    set("latencyP99Us", m.latency?.p99Us);
    if (measures.percentiles.p999) set("latencyP999Us", m.latency?.p999Us);
  }
  return out;
}

/** Whether a tool's headline is requests/s (http): its ratio to host-host, heatmap cell and compare headline are requests/s. */
export function headlinesRequests(tool: string): boolean {
  return driverNamed(tool)?.measures.headline === "requests";
}

/** Whether a tool reports latency percentiles (http, sockperf), as its driver says. */
export function hasPercentiles(tool: string): boolean {
  return driverNamed(tool)?.measures.percentiles !== undefined;
}
