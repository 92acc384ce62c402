import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { AgentStatusSchema, CaseRecordSchema, GetRunResponseSchema, type AgentStatus, type CaseRecord, type GetRunResponse } from "../../gen/netmatrix/v1/control_pb.js";
import type { MatrixSpecSchema } from "../../gen/netmatrix/v1/matrix_pb.js";
import { NetworkMode, Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { FingerprintSchema } from "../../gen/netmatrix/v1/fingerprint_pb.js";
import { compareMetric, compareRuns, METRICS, type CaseComparison } from "./compare.js";
import { welch } from "./welch.js";

interface NodeOpts {
  mtu?: number;
  speedMbps?: number;
  podMtu?: number;
  iperf3?: string;
}

function agents(nodes: string[], o: NodeOpts = {}): AgentStatus[] {
  return nodes.flatMap((node, i) => [
    create(AgentStatusSchema, {
      agentId: `${node}/host`,
      info: {
        node,
        mode: NetworkMode.HOST,
        addresses: [`10.0.0.${i + 1}`, `10.244.${i}.1`],
        interfaces: [
          { name: "cni0", mtu: 1500, addresses: [`10.244.${i}.1`] },
          { name: "eth0", mtu: o.mtu ?? 1500, speedMbps: o.speedMbps ?? 10000, addresses: [`10.0.0.${i + 1}`] },
        ],
        tools: [{ tool: Tool.IPERF3, available: true, version: o.iperf3 ?? "3.12" }],
      },
    }),
    create(AgentStatusSchema, {
      agentId: `${node}/pod`,
      info: {
        node,
        mode: NetworkMode.POD,
        addresses: [`10.244.${i}.10`],
        interfaces: [{ name: "eth0", mtu: o.podMtu ?? 1500, addresses: [`10.244.${i}.10`] }],
        tools: [{ tool: Tool.IPERF3, available: true, version: o.iperf3 ?? "3.12" }],
      },
    }),
  ]);
}

interface CaseOpts {
  scenario?: string;
  client?: string;
  server?: string;
  tool?: Tool;
  parallel?: number;
  durationS?: number;
  toolVersion?: string;
  failed?: number;
}

/** One case's records: one per value (throughput in bits/s, or RTT in µs for ping). */
function records(values: number[], o: CaseOpts = {}, extra: { wire?: number[]; cpu?: number[] } = {}): CaseRecord[] {
  const scenario = o.scenario ?? "pod-pod-cross";
  const [cn, sn] = [o.client ?? "n1", o.server ?? "n2"];
  const mode = scenario.startsWith("pod") ? "pod" : "host";
  const tool = o.tool ?? Tool.IPERF3;
  const all = [...values.map((v) => ({ v, ok: true })), ...Array.from({ length: o.failed ?? 0 }, () => ({ v: 0, ok: false }))];
  return all.map(({ v, ok }, i) =>
    create(CaseRecordSchema, {
      caseId: `${scenario}-${cn}-${sn}-${tool}`,
      key: `${scenario}/${tool}/${cn}→${sn}`,
      scenario,
      via: "direct",
      clientNode: cn,
      serverNode: sn,
      repetition: i,
      result: {
        client: { agentId: `${cn}/${mode}` },
        server: { agentId: `${sn}/${mode}` },
        spec: { tool, durationS: o.durationS ?? 10, parallel: o.parallel ?? 1 },
        repetitions: [
          {
            client: { tool, toolVersion: o.toolVersion ?? "3.12" },
            outcome: ok
              ? { case: "measurement", value: tool === Tool.PING ? { latency: { meanUs: v }, lossPercent: 0 } : { throughputBps: v } }
              : { case: "failure", value: { reason: "timeout" } },
            ...(ok && extra.wire?.[i] !== undefined ? { wireToPayload: extra.wire[i] } : {}),
            ...(ok && extra.cpu?.[i] !== undefined ? { clientCpuPercentPerGbps: extra.cpu[i] } : {}),
          },
        ],
      },
    }),
  );
}

function run(id: string, recs: CaseRecord[], o: NodeOpts & { nodes?: string[]; spec?: MessageInitShape<typeof MatrixSpecSchema> } = {}): GetRunResponse {
  return create(GetRunResponseSchema, {
    info: { runId: id, name: id, status: "finished" },
    spec: o.spec ?? { name: id, durationS: 10, scenarios: ["host-host", "pod-pod-cross"] },
    agents: agents(o.nodes ?? ["n1", "n2"], o),
    records: recs,
  });
}

const G = 1e9;
const only = (doc: ReturnType<typeof compareRuns>): CaseComparison => {
  expect(doc.cases).toHaveLength(1);
  return doc.cases[0]!;
};
const metric = (c: CaseComparison, name: string) => c.metrics.find((m) => m.metric === name);

describe("compareRuns: matching", () => {
  test("cases match on scenario, test parameters and node pair; the rest are unmatched", () => {
    const a = run("a", [...records([9.4 * G, 9.5 * G]), ...records([9.4 * G, 9.5 * G], { client: "n2", server: "n1" }), ...records([1 * G, 1 * G], { parallel: 4 })]);
    const b = run("b", [...records([9.4 * G, 9.5 * G]), ...records([9.4 * G, 9.5 * G], { scenario: "host-host" }), ...records([1 * G, 1 * G], { parallel: 8 })]);
    const doc = compareRuns(a, b);
    expect(doc.kind).toBe("netmatrix.compare/v1");
    expect(doc.cases.map((c) => `${c.scenario} ${c.path} ${c.test}`)).toEqual(["pod-pod-cross n1 → n2 iperf3 tcp forward"]);
    expect(doc.unmatched.onlyInA.map((c) => `${c.path} ${c.test}`).sort()).toEqual(["n1 → n2 iperf3 tcp forward 4 streams", "n2 → n1 iperf3 tcp forward"]);
    expect(doc.unmatched.onlyInB.map((c) => `${c.scenario} ${c.test}`).sort()).toEqual(["host-host iperf3 tcp forward", "pod-pod-cross iperf3 tcp forward 8 streams"]);
  });
});

describe("compareRuns: metrics and verdicts", () => {
  test.each([
    { what: "throughput down", tool: Tool.IPERF3, a: [100, 101, 99], b: [90, 91, 89], metric: "throughputBps", verdict: "worse", change: -10 },
    { what: "throughput up", tool: Tool.IPERF3, a: [100, 101, 99], b: [110, 111, 109], metric: "throughputBps", verdict: "better", change: 10 },
    { what: "latency down", tool: Tool.PING, a: [100, 101, 99], b: [80, 81, 79], metric: "latencyUs", verdict: "better", change: -20 },
    { what: "latency up", tool: Tool.PING, a: [100, 101, 99], b: [150, 151, 149], metric: "latencyUs", verdict: "worse", change: 50 },
    { what: "noise", tool: Tool.IPERF3, a: [100, 120, 80], b: [101, 81, 118], metric: "throughputBps", verdict: "no significant change", change: 0 },
  ])("$what: $verdict", ({ tool, a, b, metric: name, verdict, change }) => {
    const c = only(compareRuns(run("a", records(a, { tool })), run("b", records(b, { tool }))));
    const m = metric(c, name)!;
    expect(m.headline).toBe(true);
    expect(m.verdict).toBe(verdict);
    expect(m.changePercent).toBeCloseTo(change, 9);
    expect(m.significant).toBe(verdict !== "no significant change");
    expect(m.a).toEqual({ mean: 100, n: 3 });
  });

  test("the change CI is Welch's CI of the difference over A's mean, in %", () => {
    const a = [9.1 * G, 9.3 * G, 9.2 * G];
    const b = [8.8 * G, 8.95 * G, 8.9 * G];
    const m = compareMetric(METRICS[0], a, b, true);
    const w = welch(a, b);
    if (!w.tested) throw new Error("expected a test");
    expect(m.p).toBe(w.p);
    expect(m.changePercentCi95!.low).toBeCloseTo((w.ci95.low / 9.2e9) * 100, 9);
    expect(m.changePercentCi95!.high).toBeCloseTo((w.ci95.high / 9.2e9) * 100, 9);
    expect(m.changePercentCi95!.low).toBeLessThan(m.changePercent!);
    expect(m.changePercentCi95!.high).toBeGreaterThan(m.changePercent!);
  });

  test("one repetition on a side: not tested, with the reason, but the change is still shown", () => {
    const c = only(compareRuns(run("a", records([100, 102])), run("b", records([90]))));
    const m = metric(c, "throughputBps")!;
    expect(m).toMatchObject({ verdict: "not tested (n<2)", p: null, changePercentCi95: null, significant: false, b: { mean: 90, n: 1 } });
    expect(m.changePercent).toBeCloseTo(((90 - 101) / 101) * 100, 9);
    expect(m.reason).toMatch(/B has 1 measured repetition; a t-test needs at least 2/);
  });

  test("zero loss on both sides: 0 % change, p = 1; only metrics present on both sides appear", () => {
    const c = only(compareRuns(run("a", records([70, 72, 71], { tool: Tool.PING })), run("b", records([70, 73, 71], { tool: Tool.PING }))));
    expect(c.metrics.map((m) => m.metric)).toEqual(["latencyUs", "lossPercent"]);
    expect(metric(c, "lossPercent")).toMatchObject({ changePercent: 0, p: 1, verdict: "no significant change", headline: false });
  });

  test("secondary metrics: wire/payload and CPU are lower-is-better", () => {
    const a = run("a", records([9e8, 9e8, 9e8], {}, { wire: [1.045, 1.046, 1.045], cpu: [12, 13, 12] }));
    const b = run("b", records([9e8, 9e8, 9e8], {}, { wire: [1.083, 1.084, 1.083], cpu: [11, 10, 11] }));
    const c = only(compareRuns(a, b));
    expect(metric(c, "wireToPayload")).toMatchObject({ verdict: "worse", headline: false });
    expect(metric(c, "clientCpuPercentPerGbps")).toMatchObject({ verdict: "better", headline: false });
    expect(metric(c, "throughputBps")).toMatchObject({ verdict: "no significant change", p: 1 });
  });

  test("every repetition failed on one side: the headline stays, untested, so the case is not lost", () => {
    const c = only(compareRuns(run("a", records([100, 101, 99])), run("b", records([], { failed: 3 }))));
    expect(c.metrics.map((m) => m.metric)).toEqual(["throughputBps"]);
    expect(c.metrics[0]).toMatchObject({ verdict: "not tested (n<2)", b: { mean: null, n: 0 }, changePercent: null });
    expect(c.notes).toContain("B: 3 of 3 repetitions failed");
  });

  test("failed repetitions are left out of the numbers and noted", () => {
    const c = only(compareRuns(run("a", records([100, 101, 99])), run("b", records([100, 99], { failed: 1 }))));
    expect(metric(c, "throughputBps")!.b.n).toBe(2);
    expect(c.notes).toContain("B: 1 of 3 repetitions failed");
  });
});

describe("compareRuns: comparability", () => {
  const same = records([100, 101, 99]);
  test.each([
    { what: "underlay MTU", b: () => run("b", same, { mtu: 9000 }), reason: "n1's underlay MTU differs: 1500 (eth0) in A, 9000 (eth0) in B." },
    { what: "NIC speed", b: () => run("b", same, { speedMbps: 25000 }), reason: "n2's NIC speed differs: 10000 Mbit/s (eth0) in A, 25000 Mbit/s (eth0) in B." },
    { what: "tool version", b: () => run("b", records([100, 101, 99], { toolVersion: "3.16" })), reason: "iperf3 version differs: 3.12 in A, 3.16 in B." },
    { what: "duration", b: () => run("b", records([100, 101, 99], { durationS: 30 })), reason: "test duration differs: 10 s in A, 30 s in B." },
  ])("$what differs: not comparable, saying why", ({ b, reason }) => {
    const c = only(compareRuns(run("a", same), b()));
    expect(c.comparable).toBe(false);
    expect(c.reasons).toContain(reason);
  });

  test("a smaller pod MTU is the CNI's own cost: comparable, with a note", () => {
    const c = only(compareRuns(run("a", same), run("b", same, { podMtu: 1450 })));
    expect(c.comparable).toBe(true);
    expect(c.reasons).toEqual([]);
    expect(c.notes).toEqual(["pod MTU 1500 → 1450"]);
  });

  test("host-host cases carry no pod MTU note", () => {
    const hh = records([100, 101, 99], { scenario: "host-host" });
    expect(only(compareRuns(run("a", hh), run("b", hh, { podMtu: 1450 }))).notes).toEqual([]);
  });

  test("tool versions fall back to the agents' inventory when the tool runs do not say", () => {
    const bare = (r: CaseRecord[]) => r.map((x) => ((x.result!.repetitions[0]!.client!.toolVersion = ""), x));
    const c = only(compareRuns(run("a", bare(records([1, 2, 3]))), run("b", bare(records([1, 2, 3])), { iperf3: "3.17" })));
    expect(c.reasons).toEqual(["iperf3 version differs: 3.12 in A, 3.17 in B."]);
  });
});

describe("compareRuns: run level and roll-up", () => {
  test("spec differences ignore the name; different node sets are noted", () => {
    const a = run("a", records([1, 2, 3]), { spec: { name: "x", durationS: 10, thresholds: { cvPercent: 10 } } });
    const b = run("b", records([1, 2, 3]), { spec: { name: "y", durationS: 30, thresholds: { cvPercent: 5 } }, nodes: ["n1", "n2", "n3"] });
    const doc = compareRuns(a, b);
    expect(doc.run.specDifferences).toEqual(["duration: 10 → 30.", "thresholds.cvPercent: 10 → 5."]);
    expect(doc.run.nodesOnlyInB).toEqual(["n3"]);
    expect(doc.run.notes).toEqual(["The node sets differ: n3 only in B."]);
  });

  test("the roll-up averages each metric's change over the comparable cases of a scenario", () => {
    const a = run("a", [...records([100, 101, 99]), ...records([200, 202, 198], { client: "n2", server: "n1" }), ...records([100, 100, 100], { scenario: "host-host" })]);
    const b = run("b", [...records([90, 91, 89]), ...records([190, 192, 188], { client: "n2", server: "n1" }), ...records([100, 100, 100], { scenario: "host-host" })]);
    const doc = compareRuns(a, b);
    expect(doc.rollup.map((r) => r.scenario)).toEqual(["host-host", "pod-pod-cross"]);
    const cross = doc.rollup[1]!;
    expect(cross.metrics[0]).toMatchObject({ metric: "throughputBps", cases: 2, worse: 2, better: 0 });
    expect(cross.metrics[0]!.meanChangePercent).toBeCloseTo((-10 + -5) / 2, 9);
    expect(cross.summary).toBe("pod-pod-cross: throughput −7.5 % (2 cases: 2 worse)");
  });

  test("not comparable cases are left out of the roll-up", () => {
    const doc = compareRuns(run("a", records([100, 101, 99])), run("b", records([90, 91, 89]), { mtu: 9000 }));
    expect(doc.rollup[0]).toMatchObject({ comparableCases: 0, notComparableCases: 1, metrics: [] });
    expect(doc.rollup[0]!.summary).toBe("pod-pod-cross: nothing comparable; 1 not comparable case left out");
  });
});

describe("compareRuns: environment fingerprints", () => {
  test("runs whose fingerprints differ in what moves the numbers get a note per difference, in the JSON, text and HTML", async () => {
    const { renderCompare } = await import("./compare-render.js");
    const fp = (mtu: number, gro: boolean) => ({ kernel: "6.8.0", encapsulation: 2, interfaces: [{ name: "eth0", mtu, offloads: { "generic-receive-offload": gro } }] });
    const a = run("a", records([9.4 * G, 9.5 * G]));
    const b = run("b", records([9.4 * G, 9.5 * G]));
    a.agents[0]!.info!.fingerprint = create(FingerprintSchema, fp(1500, true));
    b.agents[0]!.info!.fingerprint = create(FingerprintSchema, fp(9001, false));
    const doc = compareRuns(a, b);
    const want = ["n1's environment differs (A → B): eth0 MTU: 1500 → 9001.", "n1's environment differs (A → B): eth0 generic-receive-offload: on → off."];
    expect(doc.run.notes).toEqual(expect.arrayContaining(want));
    for (const format of ["table", "html", "markdown"] as const) {
      const out = renderCompare(doc, format);
      expect(out).toContain(format === "html" ? "eth0 MTU: 1500 → 9001." : want[0]);
    }
    // Without fingerprints (runs from before them), no such note.
    expect(compareRuns(run("a", records([9.4 * G, 9.5 * G])), run("b", records([9.4 * G, 9.5 * G]))).run.notes.join(" ")).not.toMatch(/environment differs/);
  });
});
