import { describe, expect, test } from "vitest";
import type { ToolName } from "../../../tools/src/index.js";
import { plan, type PlannerAgent } from "./planner.js";
import { refusalLines, type Refusal } from "./refusals.js";
import { specFromObject } from "./spec.js";

const TOOLS: ToolName[] = ["iperf3", "qperf", "ping"];

/** A host agent and two pod agents per node, as the lab starts them. */
function lab(nodes: string[]): PlannerAgent[] {
  return nodes.flatMap((node, i) => [
    { id: `${node}/host`, node, mode: "host" as const, address: `198.18.0.${i + 11}`, tools: TOOLS },
    { id: `${node}/pod/a`, node, mode: "pod" as const, address: `10.244.${i + 1}.10`, tools: TOOLS },
    { id: `${node}/pod/b`, node, mode: "pod" as const, address: `10.244.${i + 1}.11`, tools: TOOLS },
  ]);
}

describe("refusalLines", () => {
  test("the lab's matrix: one line per cause, naming the scenarios and counting the cases (was 23 lines naming neither)", () => {
    const scenarios = ["host-host", "pod-pod-cross", "pod-pod-same", "pod-host", "host-pod", "pod-service-cross", "pod-service-same"];
    const spec = specFromObject({
      name: "lab",
      scenarios,
      tools: TOOLS,
      protocols: ["tcp", "udp"],
      directions: ["forward", "reverse"],
      udpBitrates: ["500M"],
      pairs: { sample: 1 },
    });
    const p = plan(spec, lab(["node-1", "node-2"]), { serviceProvider: { kinds: ["clusterip", "nodeport"] } });
    expect(p.refused.length).toBeGreaterThan(10);
    const lines = refusalLines(p.refused, scenarios);
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(l).toMatch(/^skipped \d+ cases? in (every scenario|[a-z-]+(, [a-z-]+)*): \S/);
    expect(lines).toContainEqual(expect.stringMatching(/^skipped \d+ cases in every scenario: qperf measures one direction only/));
    expect(lines).toContainEqual(expect.stringMatching(/^skipped \d+ cases in pod-service-cross, pod-service-same: ping: ICMP to a ClusterIP/));
    // Every case the planner left out is counted once.
    const total = (ls: string[]): number => ls.reduce((n, l) => n + Number(/^skipped (\d+)/.exec(l)![1]), 0);
    expect(total(lines)).toBe(p.refused.reduce((n, r) => n + r.count, 0));
  });

  const r = (kind: Refusal["kind"], scenario: Refusal["scenario"], count: number, reason: string): Refusal => ({ kind, ...(scenario ? { scenario } : {}), count, reason });

  test.each<[string, Refusal[], string[], string[]]>([
    ["nothing", [], ["host-host"], []],
    ["one scenario of several", [r("skipped", "pod-pod-same", 2, "ping is ICMP")], ["host-host", "pod-pod-same"], ["skipped 2 cases in pod-pod-same: ping is ICMP"]],
    [
      "the same cause in two scenarios, listed in catalogue order",
      [r("skipped", "pod-host", 1, "x"), r("skipped", "host-host", 2, "x")],
      ["host-host", "pod-host", "host-pod"],
      ["skipped 3 cases in host-host, pod-host: x"],
    ],
    ["every scenario of the spec", [r("skipped", "host-host", 1, "x"), r("skipped", "pod-host", 1, "x")], ["pod-host", "host-host"], ["skipped 2 cases in every scenario: x"]],
    [
      "a reason that names its scenario merges with the same cause elsewhere; refusals before skips",
      [
        r("skipped", "host-host", 1, "y"),
        r("refused", "pod-service-cross", 0, "pod-service-cross: no service provider"),
        r("refused", "pod-service-same", 0, "pod-service-same: no service provider"),
      ],
      ["host-host", "pod-service-cross", "pod-service-same"],
      ["refused in pod-service-cross, pod-service-same: no service provider", "skipped 1 case in host-host: y"],
    ],
    ["no scenario (a selection problem)", [r("refused", undefined, 0, 'pairs.nodes: no agent runs on node "n7"')], [], ['refused: pairs.nodes: no agent runs on node "n7"']],
  ])("%s", (_what, list, scenarios, expected) => {
    expect(refusalLines(list, scenarios)).toEqual(expected);
  });
});
