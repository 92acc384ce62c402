import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { CaseRecordSchema, GetRunResponseSchema, type CaseRecord } from "../../gen/netmatrix/v1/control_pb.js";
import { Protocol, Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { reportDocument } from "./report-document.js";
import { htmlReport } from "./html-report.js";
import { renderReport } from "./report-render.js";
import { variantRows } from "./run-summary.js";

const M = 1e6;

/** One iperf3 TCP case n1→n2 of `scenario`, a repetition per value (Mbit/s); `cpuBound` lists the repetitions flagged cpu-bound. */
function rec(scenario: string, mbps: number[], cpuBound: number[] = [], pair: [string, string] = ["n1", "n2"]): CaseRecord[] {
  const [cn, sn] = pair;
  return mbps.map((v, i) =>
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
            outcome: { case: "measurement", value: { throughputBps: v * M } },
            ...(cpuBound.includes(i)
              ? {
                  flags: ["cpu-bound"],
                  cpuBoundReason: `client ${cn}: node CPU 99 % busy (≥ 90 %); run queue 4.2 on 2 cores`,
                  cpu: [{ end: "client", node: cn, cpuCount: 2, samples: 20, nodeBusyPercent: 99, toolCpuPercent: 40, stealPercent: 0, procsRunning: 4.2, reasons: ["node-busy"] }],
                }
              : { cpu: [{ end: "client", node: cn, cpuCount: 2, samples: 20, nodeBusyPercent: 12, toolCpuPercent: 30, stealPercent: 0, reasons: [] }] }),
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
      spec: { name: "t", durationS: 2, scenarios: ["host-host", "pod-pod-cross", "pod-host"], thresholds: { cvPercent: 50, udpLossPercent: 1 } },
      records,
    }),
  );
}

const flagsOf = (d: ReturnType<typeof doc>) => Object.fromEntries(d.cases.map((c) => [c.scenario, c.summary.flags]));

describe("baseline-suspect", () => {
  test.each([
    {
      what: "the user's run: host-host 528.7 and 382.2, pods 946.8 → the pod path and the baseline; a path below the baseline is not",
      host: [528.7, 382.2],
      pod: [946.8, 946.8],
      want: { "host-host": ["baseline-suspect"], "pod-pod-cross": ["baseline-suspect"], "pod-host": [] },
    },
    { what: "pods slower than the host: nothing", host: [941, 940], pod: [905, 910], want: { "host-host": [], "pod-pod-cross": [], "pod-host": [] } },
    { what: "pods 2 % faster: noise, nothing", host: [930, 930], pod: [948, 949], want: { "host-host": [], "pod-pod-cross": [], "pod-host": [] } },
  ])("$what", ({ host, pod, want }) => {
    const d = doc([...rec("host-host", host), ...rec("pod-pod-cross", pod), ...rec("pod-host", [440, 440])]);
    expect(flagsOf(d)).toEqual(want);
  });

  test("only the same node pair's baseline counts", () => {
    const d = doc([...rec("host-host", [500, 500]), ...rec("host-host", [950, 950], [], ["n2", "n1"]), ...rec("pod-pod-cross", [940, 940], [], ["n2", "n1"])]);
    expect(d.cases.map((c) => [c.scenario, c.clientNode, c.summary.flags])).toEqual([
      ["host-host", "n1", []],
      ["host-host", "n2", []],
      ["pod-pod-cross", "n2", []],
    ]);
  });
});

describe("cpu-bound in the report", () => {
  const d = doc([...rec("host-host", [528.7, 382.2, 500], [0, 1]), ...rec("pod-pod-cross", [946.8, 946.8, 946.8])]);

  test("the case says how many repetitions were cpu-bound; each repetition carries its figures and reason", () => {
    const host = d.cases.find((c) => c.scenario === "host-host")!;
    expect(host.summary.flags).toEqual(["cpu-bound (2/3)", "baseline-suspect"]);
    expect(host.repetitions.map((r) => r.flags)).toEqual([["cpu-bound"], ["cpu-bound"], []]);
    expect(host.repetitions[0]!.cpuBound).toBe("client n1: node CPU 99 % busy (≥ 90 %); run queue 4.2 on 2 cores");
    expect(host.repetitions[2]!.cpuBound).toBeNull();
    expect(host.repetitions[0]!.cpu).toEqual([
      { end: "client", node: "n1", cpuCount: 2, samples: 20, nodeBusyPercent: 99, toolCpuPercent: 40, stealPercent: 0, procsRunning: 4.2, reasons: ["node-busy"] },
    ]);
    expect(host.repetitions[2]!.cpu[0]!.procsRunning).toBeNull();
  });

  test("JSON, Markdown and the table carry the flags; the conclusion rows count cases by flag word", () => {
    expect(JSON.parse(renderReport(d, "json")).cases[0].summary.flags).toEqual(["cpu-bound (2/3)", "baseline-suspect"]);
    for (const format of ["markdown", "table", "csv"] as const) {
      const text = renderReport(d, format);
      expect(text, format).toContain("cpu-bound (2/3)");
      expect(text, format).toContain("baseline-suspect");
    }
    const host = variantRows(d).find((r) => r.scenario === "host-host")!;
    expect(host.flags).toEqual(["cpu-bound (1/1)", "baseline-suspect (1/1)"]);
  });
});

describe("cpu-bound in the HTML report", () => {
  test("the case section names each cpu-bound repetition's end and reason", () => {
    const resp = create(GetRunResponseSchema, {
      info: { runId: "20250101-000000-abcd", status: "finished" },
      spec: { name: "t", durationS: 2, scenarios: ["host-host"], thresholds: { cvPercent: 50, udpLossPercent: 1 } },
      records: rec("host-host", [528.7, 382.2], [1]),
    });
    const html = htmlReport(resp);
    expect(html).toContain("cpu-bound (1/2)");
    expect(html).toContain("#2: client n1: node CPU 99 % busy (≥ 90 %); run queue 4.2 on 2 cores");
  });
});
