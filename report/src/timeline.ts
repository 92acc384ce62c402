/**
 * What happened during one case repetition, on one time axis (seconds since
 * the repetition started): the tool's throughput per interval, each end's
 * per-NIC rx/tx rates and each end's CPU. Every series is a step function:
 * a point at the END of each interval holds the interval's mean, and a
 * leading point marks where the first interval began (draw with uPlot's
 * stepped paths, align −1, spanGaps). Numbers are rounded so a report can
 * embed every repetition. Pure.
 */
import type { Repetition } from "../../gen/netmatrix/v1/control_pb.js";
import type { NodeSample } from "../../gen/netmatrix/v1/types_pb.js";
import { windowTraffic } from "../../common/src/nic-bytes.js";

/**
 * Series sampled together (one end's NICs, one end's CPU, the tool's
 * intervals), aligned on one x array. Different tables share the time axis
 * but not their x values: join them for a chart (uPlot.join).
 */
export interface TimelineTable {
  /** Seconds since the repetition's `startedAtMs`, ascending. */
  x: number[];
  series: { label: string; values: (number | null)[] }[];
}

export interface Timeline {
  /** The x range every chart shares, seconds since `startedAtMs`. */
  xMin: number;
  xMax: number;
  /** Where the tool's interval clock starts, seconds since `startedAtMs`, and how it was found. */
  clientStartS: number;
  clientStart: "recorded" | "estimated" | "assumed";
  /** The tool's throughput per interval, bits/s: "throughput" (and "reverse throughput" for bidir). Empty for ping. */
  tool: TimelineTable[];
  /** Per-NIC rx and tx, bits/s, one table per end: "node-1 eth0 rx". */
  nics: TimelineTable[];
  /** CPU, % of the node (all cores = 100), total and softirq, one table per end. */
  cpu: TimelineTable[];
}

export interface TimelineOptions {
  /** Show an interface when it carried at least this share of the busiest interface's bytes at its end (default 0.01). */
  minShare?: number;
  /** At most this many interfaces per end, busiest first; the carrying interface always counts among them (default 4). */
  maxInterfaces?: number;
}

type Point = [x: number, v: number | null];
type Line = { label: string; points: Point[] };

const sec = (ms: number): number => Math.round(ms) / 1000;
/** 4 significant digits: enough for a chart, a third of the characters. */
export const round4 = (v: number): number => (v === 0 || !Number.isFinite(v) ? 0 : Number(v.toPrecision(4)));
const round1 = (v: number): number => Math.round(v * 10) / 10;

/**
 * Lines that share their x values as one table; none without points. An x
 * that does not advance (rounded to the same millisecond) keeps the later
 * point, so x stays strictly ascending.
 */
function table(lines: Line[]): TimelineTable[] {
  const first = lines[0];
  if (!first || first.points.length === 0) return [];
  const keep = first.points.map((p, i) => i === first.points.length - 1 || first.points[i + 1]![0] > p[0]);
  const pick = <T>(a: T[]): T[] => a.filter((_, i) => keep[i]);
  return [{ x: pick(first.points.map((p) => p[0])), series: lines.map((l) => ({ label: l.label, values: pick(l.points.map((p) => p[1])) })) }];
}

/** A step series from samples: a leading point at the first interval's start, then one per interval end. */
function sampled(samples: NodeSample[], t0: number, value: (s: NodeSample) => number | null): Point[] {
  const first = samples[0];
  if (!first) return [];
  const points: Point[] = [[sec(first.wallMs - first.intervalMs - t0), value(first)]];
  for (const s of samples) points.push([sec(s.wallMs - t0), value(s)]);
  return points;
}

/**
 * Interfaces worth a line at one end: ≥ minShare of the busiest one's
 * bytes (from the counters, common/src/nic-bytes.ts), busiest first, at
 * most `max`, the carrying one always among them.
 */
function busyInterfaces(samples: NodeSample[], carrying: string | undefined, minShare: number, max: number): string[] {
  const bytes = windowTraffic(samples);
  const busiest = Math.max(0, ...bytes.values());
  return [...bytes.entries()]
    .filter(([name, b]) => name === carrying || (b > 0 && b >= minShare * busiest))
    .sort((a, b) => Number(b[0] === carrying) - Number(a[0] === carrying) || b[1] - a[1])
    .slice(0, Math.max(1, max))
    .sort((a, b) => b[1] - a[1])
    .map(([name]) => name);
}

/**
 * Where the tool's interval clock (start_s = 0) sits, ms since the epoch:
 * `clientStartedAtMs` when recorded; else the end of the client's sampling
 * minus the client tool's wall time (sampling stops right after the client
 * exits), never before the repetition started.
 */
export function clientStartMs(rep: Repetition): { ms: number; how: Timeline["clientStart"] } {
  if (rep.clientStartedAtMs !== undefined) return { ms: rep.clientStartedAtMs, how: "recorded" };
  const last = rep.clientSamples.at(-1);
  if (last && rep.client?.wallMs) return { ms: Math.max(rep.startedAtMs, last.wallMs - rep.client.wallMs), how: "estimated" };
  return { ms: rep.startedAtMs, how: "assumed" };
}

/**
 * The timeline of `rep`. `clientNode`/`serverNode` name the ends in the
 * labels; when both ends are one node the labels say which end sampled.
 */
export function repetitionTimeline(rep: Repetition, ends: { clientNode: string; serverNode: string }, opts: TimelineOptions = {}): Timeline {
  const t0 = rep.startedAtMs;
  const start = clientStartMs(rep);
  const minShare = opts.minShare ?? 0.01;
  const same = ends.clientNode === ends.serverNode;
  const sides = [
    { name: same ? `${ends.clientNode}/client` : ends.clientNode, samples: rep.clientSamples, carrying: rep.clientUsage?.carryingInterface },
    { name: same ? `${ends.serverNode}/server` : ends.serverNode, samples: rep.serverSamples, carrying: rep.serverUsage?.carryingInterface },
  ];

  const intervals = rep.outcome.case === "measurement" ? rep.outcome.value.intervals : [];
  const at = (s: number): number => sec(start.ms - t0 + s * 1000);
  const forward = intervals.filter((i) => !i.reverse);
  const reverse = intervals.filter((i) => i.reverse);
  const toolLines: Line[] = [];
  // Both directions of a bidir test report the same intervals; each direction keeps its own x when they do not.
  const sameX = reverse.length === forward.length && reverse.every((r, k) => r.endS === forward[k]!.endS && r.startS === forward[k]!.startS);
  for (const [label, own] of [
    ["throughput", forward],
    ["reverse throughput", reverse],
  ] as const) {
    const first = own[0];
    if (!first) continue;
    toolLines.push({ label, points: [[at(first.startS), round4(first.bitsPerSecond)], ...own.map((i): Point => [at(i.endS), round4(i.bitsPerSecond)])] });
  }
  const tool = sameX || toolLines.length < 2 ? table(toolLines) : toolLines.flatMap((l) => table([l]));

  const nics: TimelineTable[] = [];
  const cpu: TimelineTable[] = [];
  for (const side of sides) {
    const lines: Line[] = [];
    for (const name of busyInterfaces(side.samples, side.carrying || undefined, minShare, opts.maxInterfaces ?? 4)) {
      for (const dir of ["rx", "tx"] as const) {
        const points = sampled(side.samples, t0, (s) => {
          const i = s.interfaces.find((x) => x.name === name);
          return i ? round4(dir === "rx" ? i.rxBps : i.txBps) : null;
        });
        if (points.some(([, v]) => v)) lines.push({ label: `${side.name} ${name} ${dir}`, points });
      }
    }
    nics.push(...table(lines));
    if (side.samples.some((s) => s.cpu)) {
      cpu.push(
        ...table([
          { label: `${side.name} CPU`, points: sampled(side.samples, t0, (s) => (s.cpu ? round1(s.cpu.totalPercent) : null)) },
          { label: `${side.name} softirq`, points: sampled(side.samples, t0, (s) => (s.cpu ? round1(s.cpu.softirqPercent) : null)) },
        ]),
      );
    }
  }

  const xs = [...tool, ...nics, ...cpu].flatMap((t) => t.x);
  const xMin = Math.min(0, ...xs);
  const xMax = Math.max(sec(rep.wallMs), ...xs, xMin + 0.001);
  return { xMin, xMax, clientStartS: sec(start.ms - t0), clientStart: start.how, tool, nics, cpu };
}

/**
 * The repetition to show first: among the measured ones (`value` defined),
 * the one whose value is the median (the lower middle one for an even
 * count); else the first measured one; else 0. Returns an index into `reps`.
 */
export function defaultRepetition(reps: readonly { ok: boolean; value?: number | undefined }[]): number {
  const valued = reps.flatMap((r, i) => (r.ok && r.value !== undefined ? [{ i, v: r.value }] : [])).sort((a, b) => a.v - b.v || a.i - b.i);
  const mid = valued[Math.floor((valued.length - 1) / 2)];
  if (mid) return mid.i;
  const firstOk = reps.findIndex((r) => r.ok);
  return firstOk >= 0 ? firstOk : 0;
}
