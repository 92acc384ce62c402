import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { UdpLadderResultSchema } from "../../gen/netmatrix/v1/ladder_pb.js";
import { ladderJson, ladderLines, laddersHtml, ladderSvg } from "./ladder.js";

const found = create(UdpLadderResultSchema, {
  lossThresholdPercent: 0.1,
  maxSteps: 8,
  stepDurationS: 2,
  startBps: 1e9,
  startFrom: "default",
  steps: [
    { offeredBps: 1e9, receivedBps: 486e6, lossPercent: 51.4, jitterMs: 0.05, phase: "up" },
    { offeredBps: 500e6, receivedBps: 486e6, lossPercent: 2.8, jitterMs: 0.04, phase: "down" },
    { offeredBps: 250e6, receivedBps: 250e6, lossPercent: 0, jitterMs: 0.02, phase: "down", good: true },
    { offeredBps: 375e6, sentBps: 375e6, receivedBps: 375e6, lossPercent: 0.01, phase: "bisect", good: true },
  ],
  found: true,
  foundOfferedBps: 375e6,
  foundReceivedBps: 375e6,
  foundLossPercent: 0.01,
  stopReason: "the 8 steps are used up",
});
const none = create(UdpLadderResultSchema, {
  lossThresholdPercent: 0.1,
  maxSteps: 3,
  stepDurationS: 1,
  startBps: 4e6,
  startFrom: "tcp",
  steps: [
    { offeredBps: 4e6, receivedBps: 3.8e6, lossPercent: 5, phase: "up" },
    { offeredBps: 2e6, phase: "down", failure: { reason: "iperf3: <unreachable>" } },
  ],
  found: false,
  stopReason: "step 2 at 2.0 Mbit/s failed: iperf3: <unreachable>",
});
const kase = (key: string, ladders: ReturnType<typeof ladderJson>[] | undefined) => ({
  key,
  scenario: "host-host",
  clientNode: "node-a",
  serverNode: "node-<b>",
  tool: "iperf3",
  ...(ladders ? { ladders } : {}),
});

describe("ladders in the report", () => {
  test("JSON: the found rate, the threshold and every step; unmeasured figures are null, never numbers", () => {
    const j = ladderJson(none);
    expect(j).toMatchObject({ found: false, foundOfferedBps: null, foundReceivedBps: null, foundLossPercent: null, startFrom: "tcp" });
    expect(j.steps[1]).toEqual({
      offeredBps: 2e6,
      receivedBps: null,
      lossPercent: null,
      jitterMs: null,
      sentBps: null,
      good: false,
      phase: "down",
      failure: "iperf3: <unreachable>",
    });
    expect(ladderJson(found)).toMatchObject({ found: true, foundOfferedBps: 375e6, foundLossPercent: 0.01, steps: expect.any(Array) });
    expect(ladderJson(found).steps[3]!.jitterMs).toBeNull();
  });

  test.each([
    ["no case has a ladder: nothing", [kase("k1", undefined)], []],
    [
      "one row per path: found rate, received, loss at it, steps used",
      [kase("k1", [ladderJson(found)]), kase("k2", [ladderJson(none)])],
      [
        /UDP rate ladders: the highest offered rate with loss under 0\.1 %/,
        /node-a → node-<b> iperf3 +375\.0 Mbit\/s +375\.0 Mbit\/s +0\.010 % +4\/8/,
        /none +- +≥ 0\.1 % at every step +2\/3/,
      ],
    ],
  ])("text: %s", (_what, cases, want) => {
    const lines = ladderLines(cases, { wide: true });
    if (!want.length) expect(lines).toEqual([]);
    const text = lines.join("\n");
    for (const re of want) expect(text).toMatch(re);
  });

  test("HTML: nothing for a run without ladders (the page stays as it was)", () => {
    expect(laddersHtml([kase("k", undefined)])).toBe("");
  });

  test("HTML: per ladder, the curve as a table and an SVG chart; strings from the run escaped", () => {
    const html = laddersHtml([kase("k1", [ladderJson(found)]), kase("k2", [ladderJson(none)])]);
    expect(html.startsWith('\n<section id="ladders">')).toBe(true);
    expect(html).toContain("found 375.0 Mbit/s offered (received 375.0 Mbit/s, loss 0.010 %)");
    expect(html).toContain("no offered rate kept loss under 0.1 %");
    expect(html).toContain("node-&lt;b&gt;");
    expect(html).toContain("iperf3: &lt;unreachable&gt;");
    expect(html).not.toContain("<unreachable>");
    expect(html.match(/<tr><td class="num">/g)).toHaveLength(6);
    expect(html.match(/<svg class="ladder-chart"/g)).toHaveLength(2);
  });

  test("SVG: one point per measured step in offered order, green under the threshold, red above; a dashed line at the found rate", () => {
    const svg = ladderSvg(ladderJson(found));
    expect(svg.match(/<circle /g)).toHaveLength(4);
    expect(svg.match(/fill="#1a7f37"/g)).toHaveLength(2);
    expect(svg.match(/fill="#b00020"/g)).toHaveLength(2);
    expect(svg).toContain('stroke="#1a7f37" stroke-dasharray="4 3"');
    const xs = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    expect(ladderSvg({ ...ladderJson(none), steps: [] })).toContain("No step measured anything");
  });
});
