/**
 * The report document's cross-tool agreement: the cases of a cross-checked
 * row that measure one path with different tools are grouped, each tool's
 * median side by side, `tools-disagree` on every case of a group more than
 * 5 % apart, and nothing of it when the spec cross-checks no row.
 */
import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { CaseRecordSchema, GetRunResponseSchema, type CaseRecord } from "../../gen/netmatrix/v1/control_pb.js";
import { Protocol } from "../../gen/netmatrix/v1/types_pb.js";
import { drivers, tools } from "../../tools/src/index.js";
import { reportDocument } from "./report-document.js";
import { renderReport } from "./report-render.js";

const TCP_TOOLS = tools.names.filter((t) => drivers[t].capabilities.crosscheck?.tcp);

/** One TCP case of `tool` on host-host n1→n2, a repetition per Mbit/s value, each with `wire` wire bytes per payload byte. */
function rec(tool: string, mbps: number[], wire?: number): CaseRecord[] {
  return mbps.map((v, i) =>
    create(CaseRecordSchema, {
      caseId: `c-${tool}`,
      key: `host-host/${tool}/tcp/forward/P1/L0/n1→n2`,
      scenario: "host-host",
      via: "direct",
      clientNode: "n1",
      serverNode: "n2",
      repetition: i,
      result: {
        spec: { tool: tools.toEnum(tool as (typeof TCP_TOOLS)[number]), protocol: Protocol.TCP, durationS: 2 },
        repetitions: [{ outcome: { case: "measurement", value: { throughputBps: v * 1e6 } }, ...(wire ? { wireToPayload: wire } : {}) }],
      },
    }),
  );
}

function doc(records: CaseRecord[], crosscheck: { all?: boolean; scenarios?: string[] } | undefined) {
  return reportDocument(
    create(GetRunResponseSchema, {
      info: { runId: "r" },
      spec: { name: "t", durationS: 2, scenarios: ["host-host"], thresholds: { cvPercent: 50, udpLossPercent: 1 }, ...(crosscheck ? { crosscheck } : {}) },
      records,
    }),
  );
}

describe("agreement in the report document", () => {
  test.each<[string, number[], boolean]>([
    ["within 5 %: no flag", [950, 940, 930], false],
    ["one tool 30 % low: every case of the path flagged", [950, 660, 940], true],
  ])("%s", (_what, medians, disagree) => {
    const records = TCP_TOOLS.flatMap((t, i) => rec(t, [medians[i]!, medians[i]!], 1.002));
    const d = doc(records, { all: true });
    expect(d.agreement).toHaveLength(1);
    const g = d.agreement![0]!;
    expect(g.tools.map((t) => [t.tool, t.medianBps])).toEqual(TCP_TOOLS.map((t, i) => [t, medians[i]! * 1e6]));
    expect(g.disagree).toBe(disagree);
    for (const c of d.cases) expect(c.summary.flags.includes("tools-disagree")).toBe(disagree);
    // No MTU reported by the agents: the framing, so the referee's verdict, is unknown — and said so.
    expect(g.referee.tools).toEqual([]);
    expect(g.referee.text).toContain("framing overhead is unknown");
    const table = renderReport(d, "table", { wide: true });
    expect(table).toContain("cross-tool agreement");
    if (disagree) expect(table).toContain("tools-disagree");
  });

  test("a spec that cross-checks no row: no agreement section, no flag, even with several tools on one path", () => {
    const records = TCP_TOOLS.flatMap((t, i) => rec(t, [950 - 300 * i]));
    for (const cc of [undefined, { all: false, scenarios: [] }, { scenarios: ["pod-pod-cross"] }]) {
      const d = doc(records, cc);
      expect(d.agreement).toBeUndefined();
      for (const c of d.cases) expect(c.summary.flags).not.toContain("tools-disagree");
    }
  });

  test("without NIC counters the referee says so", () => {
    const d = doc(
      TCP_TOOLS.flatMap((t) => rec(t, [950])),
      { all: true },
    );
    expect(d.agreement![0]!.referee.text).toContain("no NIC counters");
  });
});
