/**
 * The words every rendering of a case uses — the terminal table, Markdown,
 * CSV, the HTML page and `compare`: its test label, what kind of latency its
 * tool reports (asked of the tool's driver), which figures the tool measures
 * at all, and why a ratio to host-host is missing. One place, so a 500 Mbit/s
 * UDP target reads "500 Mbit/s" everywhere. Pure.
 */
import { formatBitrate, formatMicros } from "../../common/src/format.js";
import { SCENARIO_SHAPES, type ScenarioName } from "../../common/src/scenarios.js";
import { formatBitrateBps, formatSizeBytes } from "../../common/src/units.js";
import { directions, protocols } from "../../common/src/model.js";
import { driverNamed, isIcmpTool, testLabel, tools } from "../../tools/src/index.js";

/** The parameters a test label shows; 0 or absent means the tool's default. */
export interface TestParams {
  tool: string;
  protocol: string;
  direction: string;
  parallel: number;
  bitrateBps?: number;
  lengthBytes?: number;
  windowBytes?: number;
  mss?: number;
  /** Shown only for tools crossed with them (the driver's `capabilities.specLists`): http's mode, connections and body, sockperf's message rate. */
  httpMode?: string;
  connections?: number;
  bodyBytes?: number;
  messageRatePerS?: number;
  /** The address family, when not IPv4 (shown as "IPv6"). */
  family?: string;
}

/** The tool's own parameters as label words ("16 conns", "body 1 KiB", "new-connection", "10000 msg/s"), for the lists its driver takes. */
function ownWords(p: TestParams): (string | false)[] {
  const lists = driverNamed(p.tool)?.capabilities.specLists ?? [];
  return [
    lists.includes("connections") && p.connections !== undefined && `${p.connections} conn${p.connections === 1 ? "" : "s"}`,
    lists.includes("bodies") && p.bodyBytes !== undefined && `body ${formatSize(p.bodyBytes)}`,
    lists.includes("httpModes") && p.httpMode !== undefined && p.httpMode,
    lists.includes("messageRates") && !!p.messageRatePerS && `${p.messageRatePerS} msg/s`,
  ];
}

/** A target rate exactly as given: 500e6 → "500 Mbit/s", 1.5e9 → "1500 Mbit/s", 64e3 → "64 kbit/s". */
export function formatTargetRate(bps: number): string {
  const m = /^(\d+)([kMG]?)$/.exec(formatBitrateBps(bps));
  return m ? `${m[1]} ${m[2]}bit/s` : formatBitrate(bps);
}

/** A size exactly as given: 1400 → "1400 B", 131072 → "128 KiB". */
export function formatSize(bytes: number): string {
  const m = /^(\d+)([KMG]?)$/.exec(formatSizeBytes(bytes));
  return m ? `${m[1]} ${m[2] ? `${m[2]}iB` : "B"}` : `${bytes} B`;
}

/**
 * "iperf3 udp forward 500 Mbit/s", "iperf3 tcp reverse 4 streams len 128 KiB",
 * "ping": the tool, protocol and direction, then only the parameters that
 * differ from the tool's defaults; the tool alone for an ICMP tool.
 */
export function testLabelOf(p: TestParams): string {
  return testLabel(
    p.tool,
    p.protocol,
    p.direction,
    p.parallel > 1 && `${p.parallel} streams`,
    !!p.bitrateBps && p.bitrateBps > 0 && formatTargetRate(p.bitrateBps),
    !!p.lengthBytes && p.lengthBytes > 0 && `len ${formatSize(p.lengthBytes)}`,
    !!p.windowBytes && p.windowBytes > 0 && `win ${formatSize(p.windowBytes)}`,
    !!p.mss && p.mss > 0 && `mss ${p.mss}`,
    ...ownWords(p),
    p.family === "ipv6" && "IPv6",
  );
}

/** Position of `v` in `order`, unknown values after the known ones. */
function rank(order: readonly string[], v: string): number {
  const i = order.indexOf(v);
  return i < 0 ? order.length : i;
}

const PROTOCOL_ORDER = [...protocols.names, "icmp"];

/**
 * Two tests in reading order, the same in every table: tool (the
 * catalogue's order), protocol, direction (the model's order), then parallel
 * streams, bitrate, length, window and MSS by value, then connections,
 * body, HTTP mode and message rate.
 */
export function testCompare(a: TestParams, b: TestParams): number {
  return (
    rank(tools.names, a.tool) - rank(tools.names, b.tool) ||
    rank(PROTOCOL_ORDER, a.protocol) - rank(PROTOCOL_ORDER, b.protocol) ||
    rank(directions.names, a.direction) - rank(directions.names, b.direction) ||
    a.parallel - b.parallel ||
    (a.bitrateBps ?? 0) - (b.bitrateBps ?? 0) ||
    (a.lengthBytes ?? 0) - (b.lengthBytes ?? 0) ||
    (a.windowBytes ?? 0) - (b.windowBytes ?? 0) ||
    (a.mss ?? 0) - (b.mss ?? 0) ||
    (a.connections ?? 0) - (b.connections ?? 0) ||
    (a.bodyBytes ?? 0) - (b.bodyBytes ?? 0) ||
    (a.httpMode ?? "").localeCompare(b.httpMode ?? "") ||
    (a.messageRatePerS ?? 0) - (b.messageRatePerS ?? 0) ||
    (a.family ?? "").localeCompare(b.family ?? "")
  );
}

/** What a tool's latency figure is, as its driver says: a round trip or one way; undefined when it reports none. */
export function latencyKindOf(tool: string): "rtt" | "one-way" | undefined {
  return driverNamed(tool)?.measures.latency;
}

/**
 * "RTT = round trip (ping), one-way = half the round trip (qperf)": what each
 * kind of latency is, naming the tools (of `toolNames`, default the whole
 * catalogue) whose drivers report it.
 */
export function latencyKindsText(toolNames: readonly string[] = tools.names): string {
  const what = { rtt: "round trip", "one-way": "half the round trip" } as const;
  return (["rtt", "one-way"] as const)
    .flatMap((k) => {
      const named = [...new Set(toolNames)].filter((t) => latencyKindOf(t) === k);
      return named.length ? [`${latencyKindLabel(k)} = ${what[k]} (${named.join(", ")})`] : [];
    })
    .join(", ");
}

/** "RTT" or "one-way", as the tables print the kind after a latency. */
export function latencyKindLabel(kind: "rtt" | "one-way"): string {
  return kind === "rtt" ? "RTT" : "one-way";
}

/** "64.7 µs RTT", "32.9 µs one-way": a latency with what it measures. */
export function formatLatency(us: number, tool: string): string {
  const kind = latencyKindOf(tool);
  return kind ? `${formatMicros(us)} ${latencyKindLabel(kind)}` : formatMicros(us);
}

/** Which figures a case's tool reports at all: a figure it does not report is not applicable ("-"), one it reports but that is missing was not measured. */
export function measuresOf(c: { tool: string; protocol: string }): { throughput: boolean; latency: boolean; loss: boolean } {
  const d = driverNamed(c.tool);
  return {
    throughput: d?.measures.throughput ?? false,
    latency: d?.measures.latency !== undefined,
    // Datagram loss: UDP tests and ICMP echo.
    loss: c.protocol === "udp" || isIcmpTool(c.tool),
  };
}

/**
 * Why a case has no ratio to a host-host baseline by design: it is the
 * baseline, it stays within one node (it never crosses a NIC), or its client
 * is outside the cluster. Undefined when it should have one.
 */
export function noBaselineReason(c: { scenario: string; clientNode: string; serverNode: string }): "is-baseline" | "same-node" | "external" | undefined {
  if (c.scenario === "host-host") return "is-baseline";
  const placement = (SCENARIO_SHAPES as Partial<Record<string, { placement: string }>>)[c.scenario]?.placement;
  if (placement === "external") return "external";
  if (placement === "same" || c.clientNode === c.serverNode) return "same-node";
  return undefined;
}

/** What the "vs host-host" cell of a case says. */
export type BaselineState = "ratio" | "is-baseline" | "same-node" | "external" | "no-baseline" | "unmeasured";

/** The texts of the states without a ratio, as every table prints them (and the legend explains them). */
export const BASELINE_TEXT: Record<Exclude<BaselineState, "ratio">, string> = {
  "is-baseline": "baseline",
  "same-node": "n/a: same node",
  external: "n/a: external",
  "no-baseline": "no baseline",
  unmeasured: "not measured",
};

/** The case's "vs host-host" state. */
export function baselineState(c: { scenario: string; clientNode: string; serverNode: string; summary: { ratioToBaseline: number | null; flags: string[] } }): BaselineState {
  if (c.summary.ratioToBaseline !== null) return "ratio";
  const by = noBaselineReason(c);
  if (by) return by;
  return c.summary.flags.includes("no-baseline") ? "no-baseline" : "unmeasured";
}

/** "99.4 %" for a throughput ratio; "105.2 % RTT" for a latency-only test's (lower is better); else the reason there is none. */
export function baselineCell(c: {
  tool: string;
  scenario: string;
  clientNode: string;
  serverNode: string;
  summary: { ratioToBaseline: number | null; flags: string[]; throughputBps: unknown };
}): string {
  const state = baselineState(c);
  if (state !== "ratio") return BASELINE_TEXT[state];
  const pct = `${(c.summary.ratioToBaseline! * 100).toFixed(1)} %`;
  const kind = c.summary.throughputBps ? undefined : latencyKindOf(c.tool);
  return kind ? `${pct} ${latencyKindLabel(kind)}` : pct;
}

/** "host-host: the baseline: NIC + underlay, no CNI": a scenario and what it isolates, for group headings. */
export function scenarioTitle(scenario: string): string {
  const shape = (SCENARIO_SHAPES as Partial<Record<string, { isolates: string }>>)[scenario as ScenarioName];
  return shape ? `${scenario} — ${shape.isolates}` : scenario;
}
