import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { CaseRecordSchema, GetRunResponseSchema, type CaseRecord } from "../../gen/netmatrix/v1/control_pb.js";
import { Protocol, Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { reportDocument } from "./report-document.js";
import { acrossPairs, orderedCases, variantRows } from "./run-summary.js";

/** One iperf3 TCP case; NaN values are failed repetitions; `retransmits` on every measured one. */
function rec(scenario: string, cn: string, sn: string, values: number[], retransmits = 0, cpu?: number): CaseRecord[] {
  return values.map((v, i) =>
    create(CaseRecordSchema, {
      caseId: `${scenario}-${cn}-${sn}`,
      key: `${scenario}/iperf3/tcp/forward/P1/L0/${cn}→${sn}`,
      scenario,
      via: "direct",
      clientNode: cn,
      serverNode: sn,
      baselineKey: scenario === "host-host" ? "" : `host-host/iperf3/tcp/forward/P1/L0/${cn}→${sn}`,
      repetition: i,
      result: {
        spec: { tool: Tool.IPERF3, protocol: Protocol.TCP, durationS: 2 },
        repetitions: [
          {
            outcome: Number.isNaN(v) ? { case: "failure", value: { reason: "refused" } } : { case: "measurement", value: { throughputBps: v, retransmits } },
            ...(cpu !== undefined && !Number.isNaN(v) ? { clientCpuPercentPerGbps: cpu, serverCpuPercentPerGbps: cpu / 2 } : {}),
          },
        ],
      },
    }),
  );
}

const G = 1e9;
const doc = reportDocument(
  create(GetRunResponseSchema, {
    info: { runId: "r" },
    spec: { name: "t", durationS: 2, scenarios: ["host-host", "pod-pod-cross"], thresholds: { cvPercent: 10, udpLossPercent: 1 } },
    records: [
      ...rec("pod-pod-cross", "n2", "n1", [4 * G, 4 * G], 3, 20),
      ...rec("pod-pod-cross", "n1", "n2", [8 * G, 8 * G, NaN], 0, 10),
      ...rec("host-host", "n1", "n2", [10 * G]),
      ...rec("host-host", "n2", "n1", [5 * G]),
    ],
  }),
);

describe("variantRows", () => {
  const rows = variantRows(doc);

  test("one row per scenario and variant, host-host first", () => {
    expect(rows.map((r) => [r.scenario, r.label, r.caseIds.length])).toEqual([
      ["host-host", "iperf3 tcp forward", 2],
      ["pod-pod-cross", "iperf3 tcp forward", 2],
    ]);
  });

  test("throughput: mean over pairs of the pair means, with the range across pairs", () => {
    expect(rows[1]!.throughputBps).toEqual({ mean: 6 * G, min: 4 * G, max: 8 * G, n: 2 });
    expect(rows[0]!.throughputBps).toEqual({ mean: 7.5 * G, min: 5 * G, max: 10 * G, n: 2 });
  });

  test("CPU per Gbit/s, ratio to host-host, repetitions and failures", () => {
    expect(rows[1]!.clientCpuPercentPerGbps?.mean).toBe(15);
    expect(rows[1]!.serverCpuPercentPerGbps?.mean).toBe(7.5);
    expect(rows[1]!.ratioToBaseline).toEqual({ mean: 0.8, min: 0.8, max: 0.8, n: 2 });
    expect(rows[0]!.ratioToBaseline).toBeNull();
    expect([rows[1]!.repetitions, rows[1]!.failed]).toEqual([5, 1]);
    expect(rows[1]!.latencyUs).toBeNull();
  });

  test("flags once each, with how many cases raised them", () => {
    expect(rows[1]!.flags).toEqual(["retransmits (1/2)"]);
  });
});

test("orderedCases: scenario in catalog order, then client and server in natural order", () => {
  expect(orderedCases(doc).map((c) => `${c.scenario} ${c.clientNode}→${c.serverNode}`)).toEqual([
    "host-host n1→n2",
    "host-host n2→n1",
    "pod-pod-cross n1→n2",
    "pod-pod-cross n2→n1",
  ]);
});

test.each([
  [[1, 2, 3], { mean: 2, min: 1, max: 3, n: 3 }],
  [[null, 4, undefined, NaN], { mean: 4, min: 4, max: 4, n: 1 }],
  [[], null],
  [[null], null],
])("acrossPairs(%j)", (values, expected) => {
  expect(acrossPairs(values)).toEqual(expected);
});
