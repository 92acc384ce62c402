/**
 * Sweeps in a run: the cases of one path and tool that differ only in their
 * message length (`lengths: sweep` or a list) or only in their TCP MSS
 * (`mss`), each a series of points (size → median throughput and median CPU
 * per Gbit/s at each end) the reports plot and tabulate. A run without two
 * such cases has no series, so its reports are as they were. Pure.
 */
import { testLabelOf, type TestParams } from "./labels.js";

/** What a series is plotted against: the message length (`lengths`) or the TCP MSS (`mss`), both bytes. */
export type SweepAxis = "lengthBytes" | "mss";

/** A median as the report document's summaries carry it; null when nothing was measured. */
type Median = { median: number } | null;

/** The parts of a report case a series reads. */
export interface SweepCase extends TestParams {
  caseId: string;
  scenario: string;
  via: string;
  clientNode: string;
  serverNode: string;
  lengthBytes: number;
  mss: number;
  summary: { throughputBps: Median; clientCpuPercentPerGbps: Median; serverCpuPercentPerGbps: Median };
}

/** One size of a series: null figures where no repetition measured them. */
export interface SweepPoint {
  sizeBytes: number;
  caseId: string;
  throughputBps: number | null;
  clientCpuPercentPerGbps: number | null;
  serverCpuPercentPerGbps: number | null;
}

/** One path and test, swept over `axis`, points in increasing size. */
export interface SweepSeries {
  axis: SweepAxis;
  scenario: string;
  via: string;
  clientNode: string;
  serverNode: string;
  /** The test's label without the swept parameter, e.g. "iperf3 tcp forward" or "iperf3 tcp forward mss 1460". */
  test: string;
  points: SweepPoint[];
}

const AXES: readonly SweepAxis[] = ["lengthBytes", "mss"];

/** The fields that name a case's path and test (a report case has more: its key, repetitions, …, which differ per size). */
const NAMING = [
  "scenario",
  "via",
  "clientNode",
  "serverNode",
  "tool",
  "protocol",
  "direction",
  "parallel",
  "bitrateBps",
  "lengthBytes",
  "windowBytes",
  "mss",
  "httpMode",
  "connections",
  "bodyBytes",
  "messageRatePerS",
] as const satisfies readonly (keyof SweepCase)[];

/** Everything that names a case but the swept parameter. */
function groupKey(c: SweepCase, axis: SweepAxis): string {
  return JSON.stringify(NAMING.filter((k) => k !== axis).map((k) => c[k] ?? null));
}

/**
 * Every series of `cases`: per axis, the cases that differ only in it,
 * grouped, when at least two of them set a size (0 = the tool's default
 * length or the kernel's MSS, which has no size to plot). Series come in the
 * order their first case does, length sweeps before MSS sweeps.
 */
export function sweepSeries(cases: readonly SweepCase[]): SweepSeries[] {
  const out: SweepSeries[] = [];
  for (const axis of AXES) {
    const groups = new Map<string, SweepCase[]>();
    for (const c of cases) {
      if (c[axis] <= 0) continue;
      const k = groupKey(c, axis);
      groups.set(k, [...(groups.get(k) ?? []), c]);
    }
    for (const group of groups.values()) {
      if (group.length < 2) continue;
      const first = group[0]!;
      out.push({
        axis,
        scenario: first.scenario,
        via: first.via,
        clientNode: first.clientNode,
        serverNode: first.serverNode,
        test: testLabelOf({ ...first, [axis]: 0 }),
        points: [...group]
          .sort((a, b) => a[axis] - b[axis])
          .map((c) => ({
            sizeBytes: c[axis],
            caseId: c.caseId,
            throughputBps: c.summary.throughputBps?.median ?? null,
            clientCpuPercentPerGbps: c.summary.clientCpuPercentPerGbps?.median ?? null,
            serverCpuPercentPerGbps: c.summary.serverCpuPercentPerGbps?.median ?? null,
          })),
      });
    }
  }
  return out;
}

/** "message length" or "TCP MSS": what a series' sizes are, in words. */
export function axisName(axis: SweepAxis): string {
  return axis === "lengthBytes" ? "message length" : "TCP MSS";
}

/** "host-host n1 → n2: iperf3 tcp forward, by message length": a series' title. */
export function seriesTitle(s: SweepSeries): string {
  const via = s.via && s.via !== "direct" ? ` (${s.via})` : "";
  return `${s.scenario} ${s.clientNode} → ${s.serverNode}${via}: ${s.test}, by ${axisName(s.axis)}`;
}
