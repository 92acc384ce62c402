import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { RepetitionSchema, type Repetition } from "../../gen/netmatrix/v1/control_pb.js";
import type { NodeSampleSchema } from "../../gen/netmatrix/v1/types_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { clientStartMs, defaultRepetition, repetitionTimeline, round4, type TimelineTable } from "./timeline.js";

const T0 = 1_700_000_000_000;
type SampleInit = MessageInitShape<typeof NodeSampleSchema>;

/** Samples every 250 ms ending at T0 + 250·k (+ offset): eth0 carries `rate`, ctl0 a trickle, cni0 nothing. */
function samples(n: number, rate: number, offset = 0): SampleInit[] {
  return Array.from({ length: n }, (_, k) => ({
    wallMs: T0 + offset + 250 * (k + 1),
    intervalMs: 250,
    interfaces: [
      { name: "eth0", rxBps: rate / 50, txBps: rate },
      { name: "ctl0", rxBps: rate / 1000, txBps: rate / 1000 },
      { name: "cni0", rxBps: 0, txBps: 0 },
    ],
    cpu: { totalPercent: 40 + k + 0.04, softirqPercent: 10 },
  }));
}

type RepInit = Exclude<MessageInitShape<typeof RepetitionSchema>, Repetition>;

function rep(o: RepInit = {}): Repetition {
  return create(RepetitionSchema, {
    startedAtMs: T0,
    wallMs: 2100,
    client: { wallMs: 2000 },
    outcome: {
      case: "measurement",
      value: {
        throughputBps: 9.4e8,
        intervals: [
          { startS: 0, endS: 1, bitsPerSecond: 941_234_567 },
          { startS: 1, endS: 2, bitsPerSecond: 938_765_432 },
        ],
      },
    },
    clientSamples: samples(8, 9.5e8),
    serverSamples: samples(8, 1e6, 10),
    clientUsage: { carryingInterface: "eth0" },
    serverUsage: { carryingInterface: "eth0" },
    ...o,
  });
}

const labels = (tables: TimelineTable[]): string[] => tables.flatMap((t) => t.series.map((s) => s.label));
const ends = { clientNode: "node-1", serverNode: "node-2" };

describe("clientStartMs", () => {
  test("uses the recorded client start", () => {
    expect(clientStartMs(rep({ clientStartedAtMs: T0 + 77 }))).toEqual({ ms: T0 + 77, how: "recorded" });
  });
  test("estimates it as the end of the client's sampling minus the client's wall time", () => {
    expect(clientStartMs(rep())).toEqual({ ms: T0 + 2000 - 2000, how: "estimated" });
    expect(clientStartMs(rep({ client: { wallMs: 1900 } }))).toEqual({ ms: T0 + 100, how: "estimated" });
  });
  test("never before the repetition started", () => {
    expect(clientStartMs(rep({ client: { wallMs: 5000 } })).ms).toBe(T0);
  });
  test("assumes the repetition start without samples", () => {
    expect(clientStartMs(rep({ clientSamples: [] }))).toEqual({ ms: T0, how: "assumed" });
  });
});

describe("repetitionTimeline", () => {
  test("tool intervals sit on the repetition's clock, offset by the client start, as steps", () => {
    const t = repetitionTimeline(rep({ clientStartedAtMs: T0 + 40 }), ends);
    expect(t.clientStartS).toBe(0.04);
    expect(t.clientStart).toBe("recorded");
    expect(t.tool).toEqual([{ x: [0.04, 1.04, 2.04], series: [{ label: "throughput", values: [941_200_000, 941_200_000, 938_800_000] }] }]);
  });

  test("bidir: the reverse direction is its own series", () => {
    const intervals = [
      { startS: 0, endS: 1, bitsPerSecond: 5e8 },
      { startS: 0, endS: 1, bitsPerSecond: 4e8, reverse: true },
    ];
    const t = repetitionTimeline(rep({ clientStartedAtMs: T0, outcome: { case: "measurement", value: { intervals } } }), ends);
    expect(t.tool).toEqual([
      {
        x: [0, 1],
        series: [
          { label: "throughput", values: [5e8, 5e8] },
          { label: "reverse throughput", values: [4e8, 4e8] },
        ],
      },
    ]);
  });

  test("samples end at wallMs: a leading point at the first interval's start, then one per end", () => {
    const t = repetitionTimeline(rep(), ends);
    const client = t.nics[0]!;
    expect(client.x).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2]);
    expect(t.nics[1]!.x[0]).toBe(0.01);
    expect(client.series.find((s) => s.label === "node-1 eth0 tx")!.values).toEqual(Array(9).fill(9.5e8));
  });

  test("only interfaces with ≥ 1 % of the busiest one's bytes, rx and tx, both ends; never all-zero ones", () => {
    const t = repetitionTimeline(rep(), ends);
    expect(labels(t.nics)).toEqual(["node-1 eth0 rx", "node-1 eth0 tx", "node-2 eth0 rx", "node-2 eth0 tx"]);
    const wide = repetitionTimeline(rep(), ends, { minShare: 0.0001 });
    expect(labels(wide.nics)).toContain("node-1 ctl0 tx");
    expect(labels(wide.nics)).not.toContain("node-1 cni0 rx");
  });

  test("the carrying interface is always shown, even when quiet, and counts within maxInterfaces", () => {
    const t = repetitionTimeline(rep({ clientUsage: { carryingInterface: "ctl0" } }), ends);
    expect(labels([t.nics[0]!])).toEqual(["node-1 eth0 rx", "node-1 eth0 tx", "node-1 ctl0 rx", "node-1 ctl0 tx"]);
    const one = repetitionTimeline(rep({ clientUsage: { carryingInterface: "ctl0" } }), ends, { minShare: 0, maxInterfaces: 1 });
    expect(labels([one.nics[0]!])).toEqual(["node-1 ctl0 rx", "node-1 ctl0 tx"]);
  });

  test("CPU: total and softirq per end, % of the node rounded to 0.1", () => {
    const t = repetitionTimeline(rep(), ends);
    expect(labels(t.cpu)).toEqual(["node-1 CPU", "node-1 softirq", "node-2 CPU", "node-2 softirq"]);
    expect(t.cpu[0]!.series[0]!.values.slice(0, 3)).toEqual([40, 40, 41]);
  });

  test("same-node cases say which end sampled", () => {
    const t = repetitionTimeline(rep(), { clientNode: "node-1", serverNode: "node-1" });
    expect(labels(t.cpu)).toEqual(["node-1/client CPU", "node-1/client softirq", "node-1/server CPU", "node-1/server softirq"]);
  });

  test("ping (no intervals), a failure, no samples: empty tables, never a throw", () => {
    const ping = repetitionTimeline(rep({ outcome: { case: "measurement", value: { latency: { meanUs: 80 } } } }), ends);
    expect(ping.tool).toEqual([]);
    const failed = repetitionTimeline(rep({ outcome: { case: "failure", value: { reason: "timeout" } }, clientSamples: [], serverSamples: [] }), ends);
    expect(failed).toMatchObject({ tool: [], nics: [], cpu: [], xMin: 0, xMax: 2.1, clientStart: "assumed" });
  });

  test("the shared x range covers every point and the repetition's wall time", () => {
    const t = repetitionTimeline(rep({ clientStartedAtMs: T0 + 500 }), ends);
    expect(t.xMin).toBe(0);
    expect(t.xMax).toBe(2.5);
  });
});

describe("numbers", () => {
  test.each([
    [941_234_567, 941_200_000],
    [0, 0],
    [0.000123456, 0.0001235],
    [Infinity, 0],
  ])("round4(%d) = %d", (v, r) => {
    expect(round4(v)).toBe(r);
  });
});

describe("defaultRepetition", () => {
  test.each([
    [
      "the median of three",
      [
        { ok: true, value: 3 },
        { ok: true, value: 1 },
        { ok: true, value: 2 },
      ],
      2,
    ],
    [
      "the lower middle of four",
      [
        { ok: true, value: 4 },
        { ok: true, value: 1 },
        { ok: true, value: 3 },
        { ok: true, value: 2 },
      ],
      3,
    ],
    ["failures do not count", [{ ok: false }, { ok: true, value: 5 }, { ok: false }], 1],
    ["first measured one without values", [{ ok: false }, { ok: true }, { ok: true }], 1],
    ["0 when all failed", [{ ok: false }, { ok: false }], 0],
    ["0 for none", [], 0],
  ])("%s", (_, reps, index) => {
    expect(defaultRepetition(reps)).toBe(index);
  });
});
