import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { CaseRecordSchema, GetRunResponseSchema, type CaseRecord } from "../../gen/netmatrix/v1/control_pb.js";
import type { PairSelectionSchema } from "../../gen/netmatrix/v1/matrix_pb.js";
import { NetworkMode, Protocol, Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { reportDocument } from "./report-document.js";
import { GRID_MAX_NODES, heatmaps, naturalCompare, scenarioCompare, variantLabel, variantOf, type Heatmap } from "./heatmap.js";
import { heatmapsHtml, LIST_SHOWN } from "./html-sections.js";

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
    ["iperf3/tcp/forward/P1/L64/M1460", "iperf3 tcp forward len 64 B mss 1460"],
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

describe("sampled and covering runs of large clusters", () => {
  const G = 1e9;
  /** n nodes "n1"… in zones z-a, z-b, z-c (round robin), each with a host agent labelled with its zone (or none when `label` is false). */
  const agents = (n: number, label = true) =>
    Array.from({ length: n }, (_, i) => ({
      agentId: `n${i + 1}/host`,
      info: { node: `n${i + 1}`, mode: NetworkMode.HOST, addresses: ["10.0.0.1"], ...(label ? { labels: { [ZONE]: `z-${"abc"[i % 3]}` } } : {}) },
    }));
  const ZONE = "topology.kubernetes.io/zone";
  const zoneOf = (node: string): string => `z-${"abc"[(Number(node.slice(1)) - 1) % 3]}`;
  /** A run of `pairs` (client, server node numbers) with throughput `tp(client, server)`, and the spec's `pairs`. */
  const run = (pairs: [number, number][], selection: MessageInitShape<typeof PairSelectionSchema>["selection"], tp: (a: number, b: number) => number, n: number, label = true) =>
    reportDocument(
      create(GetRunResponseSchema, {
        info: { runId: "r" },
        spec: { name: "t", durationS: 2, scenarios: ["host-host"], thresholds: { cvPercent: 10, udpLossPercent: 1 }, pairs: { selection } },
        agents: agents(n, label),
        records: pairs.flatMap(([a, b]) => rec("host-host", `n${a}`, `n${b}`, [tp(a, b)])),
      }),
    );
  /** k·n pairs: node i → i+1, i+2, …, i+k (mod n), numbered from 1. */
  const ringPairs = (n: number, k: number): [number, number][] => Array.from({ length: n * k }, (_, x) => [(x % n) + 1, (((x % n) + 1 + Math.floor(x / n)) % n) + 1]);

  test("over 64 nodes there is no grid: the measured pairs are listed (a 5,000-node cover is not a 5,000 × 5,000 grid)", () => {
    const n = 5000;
    const pairs = ringPairs(n, 3);
    const t0 = performance.now();
    const doc = run(pairs, { case: "cover", value: { k: 3 } }, () => G, n);
    const docMs = performance.now() - t0;
    const t1 = performance.now();
    const [h] = heatmaps(doc);
    const mapMs = performance.now() - t1;
    expect(h!.layout).toBe("list");
    expect(h!.cells).toEqual([]);
    expect(h!.nodes).toHaveLength(n);
    expect(h!.pairs).toHaveLength(3 * n);
    // Linear in the cases: no slower than building the report document of them (a grid would be 25 million cells).
    expect(mapMs).toBeLessThan(docMs);
    const html = heatmapsHtml(heatmaps(doc));
    expect(html).toContain('data-layout="list"');
    // The listed pairs, and the 3 rows of the zone × zone aggregate (the spec has no `by`: none here).
    expect(html.match(/<tr><th scope="row">/g)).toHaveLength(LIST_SHOWN);
  });

  test("64 nodes or fewer: still a grid, as before", () => {
    const doc = run(ringPairs(GRID_MAX_NODES, 1), { case: "sample", value: { count: 64 } }, () => G, GRID_MAX_NODES);
    const [h] = heatmaps(doc);
    expect(h!.layout).toBe("grid");
    expect(h!.cells).toHaveLength(GRID_MAX_NODES);
    expect(h!.groups).toBeUndefined();
  });

  test("the list shows failed pairs and the worst first, at most LIST_SHOWN", () => {
    const n = 100;
    const doc = run(ringPairs(n, 2), { case: "sample", value: { count: 200 } }, (a, b) => (a === 7 && b === 8 ? NaN : (a * 31 + b) % 97 === 0 ? 0.1 * G : G), n, false);
    const html = heatmapsHtml(heatmaps(doc));
    const rows = [...html.matchAll(/<tr><th scope="row">(n\d+)<\/th><th scope="row">(n\d+)<\/th>/g)].map((m) => `${m[1]}→${m[2]}`);
    expect(rows).toHaveLength(LIST_SHOWN);
    expect(rows[0]).toBe("n7→n8");
    const slow = ringPairs(n, 2).filter(([a, b]) => (a * 31 + b) % 97 === 0 && !(a === 7 && b === 8));
    expect(rows.slice(1, 1 + slow.length).sort()).toEqual(slow.map(([a, b]) => `n${a}→n${b}`).sort());
    expect(html).toContain("200 measured node pairs of 100 nodes");
  });

  test("with pairs.by and labelled nodes: a zone × zone aggregate, the median over each combination's pairs, with its count", () => {
    const n = 90;
    const pairs = ringPairs(n, 3);
    // Within a zone 10 Gbit/s, across 1 Gbit/s, but z-a → z-c 0.5; one z-b → z-b pair failed.
    const tp = (a: number, b: number): number => {
      const za = zoneOf(`n${a}`);
      const zb = zoneOf(`n${b}`);
      if (za === "z-b" && zb === "z-b" && a === 2) return NaN;
      return za === zb ? 10 * G : za === "z-a" && zb === "z-c" ? 0.5 * G : G;
    };
    const doc = run(pairs, { case: "cover", value: { k: 3, by: ZONE } }, tp, n);
    const [h] = heatmaps(doc);
    expect(h!.groups!.by).toBe(ZONE);
    expect(h!.groups!.values).toEqual(["z-a", "z-b", "z-c"]);
    const count = (za: string, zb: string) => pairs.filter(([a, b]) => zoneOf(`n${a}`) === za && zoneOf(`n${b}`) === zb).length;
    const cell = (i: number, j: number) => h!.groups!.cells[i]![j];
    expect(cell(0, 2)).toEqual({ median: 0.5 * G, cases: count("z-a", "z-c"), failed: 0, score: 0.05 });
    expect(cell(0, 1)).toMatchObject({ median: G, cases: count("z-a", "z-b"), score: 0.1 });
    expect(cell(1, 1)).toMatchObject({ median: 10 * G, cases: count("z-b", "z-b"), failed: 1, score: 1 });
    // Every pair in exactly one combination.
    expect(h!.groups!.cells.flat().reduce((s, c) => s + (c?.cases ?? 0), 0)).toBe(pairs.length);
    const html = heatmapsHtml(heatmaps(doc));
    expect(html).toContain(`data-heatmap-groups="host-host/iperf3/tcp/forward/P1/L0" data-metric="throughput" data-by="${ZONE}"`);
    expect(html).toContain("mean throughput by topology.kubernetes.io/zone: the median over node pairs");
    expect(html).toContain(`data-client-group="z-a" data-server-group="z-c" data-value="${0.5 * G}"`);
  });

  test("nodes without the label are a group of their own, last; without any labelled node, or without pairs.by, no aggregate", () => {
    const n = 6;
    const base = agents(n);
    const doc = reportDocument(
      create(GetRunResponseSchema, {
        info: { runId: "r" },
        spec: {
          name: "t",
          durationS: 2,
          scenarios: ["host-host"],
          thresholds: { cvPercent: 10, udpLossPercent: 1 },
          pairs: { selection: { case: "sample", value: { count: 6, by: ZONE } } },
        },
        agents: [...base.slice(0, 4), { agentId: "n5/host", info: { node: "n5", mode: NetworkMode.HOST } }, { agentId: "n6/host", info: { node: "n6", mode: NetworkMode.HOST } }],
        records: ringPairs(n, 1).flatMap(([a, b]) => rec("host-host", `n${a}`, `n${b}`, [G])),
      }),
    );
    expect(heatmaps(doc)[0]!.groups!.values).toEqual(["z-a", "z-b", "z-c", ""]);
    expect(heatmapsHtml(heatmaps(doc))).toContain("(no topology.kubernetes.io/zone)");
    expect(heatmaps(run(ringPairs(n, 1), { case: "cover", value: { k: 1, by: ZONE } }, () => G, n, false))[0]!.groups).toBeUndefined();
    expect(heatmaps(run(ringPairs(n, 1), { case: "cover", value: { k: 1 } }, () => G, n))[0]!.groups).toBeUndefined();
  });

  test("the report document carries each agent's labels, and none for agents without", () => {
    const doc = run(ringPairs(3, 1), { case: "cover", value: { k: 1 } }, () => G, 3);
    expect(doc.agents[0]!.labels).toEqual({ [ZONE]: "z-a" });
    expect("labels" in run(ringPairs(3, 1), { case: "all", value: {} }, () => G, 3, false).agents[0]!).toBe(false);
  });
});
