import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { CaseRecordSchema, GetRunResponseSchema, type CaseRecord } from "../../gen/netmatrix/v1/control_pb.js";
import { Protocol, Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { reportDocument } from "./report-document.js";
import { heatmaps, naturalCompare, scenarioCompare, variantLabel, variantOf, type Heatmap } from "./heatmap.js";

const NAME = { [Tool.IPERF3]: "iperf3", [Tool.PING]: "ping", [Tool.QPERF]: "qperf" } as Record<number, string>;

/** One case (one record per value; NaN = a failed repetition): throughput bits/s, or latency µs for ping and qperf. */
function rec(scenario: string, cn: string, sn: string, values: number[], tool = Tool.IPERF3): CaseRecord[] {
  const proto = tool === Tool.PING ? "icmp" : "tcp";
  return values.map((v, i) =>
    create(CaseRecordSchema, {
      caseId: `${scenario}-${NAME[tool]}-${cn}-${sn}`,
      key: `${scenario}/${NAME[tool]}/${proto}/forward/P1/L0/${cn}→${sn}`,
      scenario,
      via: "direct",
      clientNode: cn,
      serverNode: sn,
      repetition: i,
      result: {
        spec: { tool, protocol: tool === Tool.PING ? Protocol.UNSPECIFIED : Protocol.TCP, durationS: 2 },
        repetitions: [
          {
            outcome: Number.isNaN(v)
              ? { case: "failure", value: { reason: "timeout" } }
              : {
                  case: "measurement",
                  value: tool === Tool.PING ? { latency: { meanUs: v } } : tool === Tool.QPERF ? { throughputBps: v * 1e6, latency: { meanUs: v } } : { throughputBps: v },
                },
          },
        ],
      },
    }),
  );
}

function doc(records: CaseRecord[]) {
  return reportDocument(
    create(GetRunResponseSchema, {
      info: { runId: "r" },
      spec: { name: "t", durationS: 2, scenarios: ["host-host", "pod-pod-cross", "pod-pod-same"], thresholds: { cvPercent: 10, udpLossPercent: 1 } },
      records,
    }),
  );
}

const byId = (maps: Heatmap[], id: string, metric: string): Heatmap => {
  const m = maps.find((h) => h.id === id && h.metric === metric);
  expect(m, `${id} ${metric}`).toBeDefined();
  return m!;
};

describe("heatmaps", () => {
  const G = 1e9;
  const records = [
    ...rec("pod-pod-cross", "node-1", "node-2", [9 * G, 9.2 * G, 9.4 * G]),
    ...rec("pod-pod-cross", "node-2", "node-1", [4.6 * G]),
    ...rec("pod-pod-cross", "node-10", "node-1", [NaN, NaN]),
    ...rec("pod-pod-same", "node-1", "node-1", [20 * G]),
    ...rec("pod-pod-cross", "node-1", "node-2", [100, 200], Tool.PING),
    ...rec("pod-pod-cross", "node-2", "node-1", [50], Tool.PING),
    ...rec("host-host", "node-1", "node-2", [9.5 * G]),
  ];
  const maps = heatmaps(doc(records));

  test("one grid per cross-node scenario, variant and metric, host-host first; same-node scenarios have none", () => {
    expect(maps.map((m) => `${m.id} ${m.metric}`)).toEqual([
      "host-host/iperf3/tcp/forward/P1/L0 throughput",
      "pod-pod-cross/iperf3/tcp/forward/P1/L0 throughput",
      "pod-pod-cross/ping/icmp/forward/P1/L0 latency",
    ]);
  });

  test("rows are clients, columns servers, nodes in natural order; the diagonal and unmeasured pairs are empty", () => {
    const h = byId(maps, "pod-pod-cross/iperf3/tcp/forward/P1/L0", "throughput");
    expect(h.nodes).toEqual(["node-1", "node-2", "node-10"]);
    expect(h.unit).toBe("bps");
    const [n1, n2, n10] = h.cells;
    expect(n1![1]!.value).toBeCloseTo(9.2 * G, 0);
    expect(n1![1]!.ci95Half).toBeGreaterThan(0);
    expect(n2![0]!.value).toBe(4.6 * G);
    expect(n2![0]!.ci95Half).toBeNull();
    expect([n1![0], n2![1], n10![2], n1![2], n2![2], n10![1]]).toEqual([null, null, null, null, null, null]);
  });

  test("a pair whose repetitions all failed is a cell without a value, with its failures counted", () => {
    const h = byId(maps, "pod-pod-cross/iperf3/tcp/forward/P1/L0", "throughput");
    expect(h.cells[2]![0]).toMatchObject({ value: null, score: null, n: 0, repetitions: 2, failed: 2, caseId: "pod-pod-cross-iperf3-node-10-node-1" });
  });

  test("score: throughput over the best cell (higher is better), best latency over latency (lower is better)", () => {
    const tp = byId(maps, "pod-pod-cross/iperf3/tcp/forward/P1/L0", "throughput");
    expect(tp.cells[0]![1]!.score).toBeCloseTo(1, 9);
    expect(tp.cells[1]![0]!.score).toBeCloseTo(4.6 / 9.2, 6);
    const lat = byId(maps, "pod-pod-cross/ping/icmp/forward/P1/L0", "latency");
    expect(lat.unit).toBe("us");
    expect(lat.cells[0]![1]!.value).toBe(150);
    expect(lat.cells[1]![0]!.score).toBe(1);
    expect(lat.cells[0]![1]!.score).toBeCloseTo(50 / 150, 9);
  });

  test("qperf measures both: a throughput and a latency grid", () => {
    const q = heatmaps(doc(rec("host-host", "a", "b", [10, 30], Tool.QPERF)));
    expect(q.map((m) => m.metric)).toEqual(["throughput", "latency"]);
    expect(q[0]!.cells[0]![1]!.value).toBe(20e6);
    expect(q[1]!.cells[0]![1]!.value).toBe(20);
  });

  test("a variant where everything failed still gets its grid, by tool", () => {
    expect(heatmaps(doc(rec("host-host", "a", "b", [NaN], Tool.PING))).map((m) => m.metric)).toEqual(["latency"]);
    expect(heatmaps(doc(rec("host-host", "a", "b", [NaN]))).map((m) => m.metric)).toEqual(["throughput"]);
  });
});

describe("names and order", () => {
  test.each([
    ["node-2", "node-10", -1],
    ["node-10", "node-2", 1],
    ["a", "a", 0],
    ["worker-1", "Worker-1", 1],
  ])("naturalCompare(%s, %s) has sign %i", (a, b, sign) => {
    expect(Math.sign(naturalCompare(a, b))).toBe(sign);
  });

  test("scenarios in catalog order, unknown ones last", () => {
    expect(["zz-new", "pod-pod-same", "host-host", "pod-pod-cross"].sort(scenarioCompare)).toEqual(["host-host", "pod-pod-cross", "pod-pod-same", "zz-new"]);
  });

  test.each([
    ["iperf3/tcp/forward/P1/L0", "iperf3 tcp forward"],
    // The words every table uses (report/src/labels.ts), not the key's shorthand.
    ["iperf3/udp/reverse/P4/L1400/B100M", "iperf3 udp reverse 4 streams 100 Mbit/s len 1400 B"],
    ["iperf3/tcp/forward/P1/L128K", "iperf3 tcp forward len 128 KiB"],
    ["ping/icmp/forward/P1/L0", "ping"],
  ])("variantLabel(%s) = %s", (variant, label) => {
    expect(variantLabel(variant)).toBe(label);
  });

  test("variantOf cuts the scenario and node pair off the key, or rebuilds it from the parameters", () => {
    const base = {
      scenario: "host-host",
      clientNode: "a",
      serverNode: "b",
      tool: "iperf3",
      protocol: "udp" as const,
      direction: "reverse" as const,
      parallel: 2,
      lengthBytes: 1400,
      bitrateBps: 1e8,
    };
    expect(variantOf({ ...base, key: "host-host/iperf3/udp/reverse/P2/L1400/B100M/a→b" })).toBe("iperf3/udp/reverse/P2/L1400/B100M");
    expect(variantOf({ ...base, key: "something else" })).toBe("iperf3/udp/reverse/P2/L1400/B100000000");
  });
});
