/**
 * The sweep series builder: cases that differ only in length (or only in
 * MSS) make one series per path and test, in size order, with medians; runs
 * without such cases make none. And their renderings: a table per series in
 * the terminal and Markdown, an SVG chart in HTML.
 */
import { describe, expect, test } from "vitest";
import { sweepSeries, type SweepCase } from "./sweeps.js";
import { sweepMarkdownLines, sweepSvg, sweepsHtml, sweepTextLines } from "./sweep-render.js";
import { PLAIN_CASE } from "./case-testing.js";

const med = (median: number | null) => (median === null ? null : { median });

function kase(o: Partial<SweepCase> & { tp?: number | null; cpu?: [number | null, number | null] }): SweepCase {
  const { tp = 1e9, cpu = [10, 12], ...rest } = o;
  return {
    caseId: `${o.scenario ?? "host-host"}-${o.clientNode ?? "n1"}-${o.lengthBytes ?? 0}-${o.mss ?? 0}-${o.protocol ?? "tcp"}`,
    ...PLAIN_CASE,
    scenario: "host-host",
    summary: { throughputBps: med(tp), clientCpuPercentPerGbps: med(cpu[0]), serverCpuPercentPerGbps: med(cpu[1]) },
    ...rest,
  };
}

describe("sweepSeries", () => {
  test.each<[string, SweepCase[], [string, string, number[]][]]>([
    ["no sweep: one length per path", [kase({}), kase({ clientNode: "n2", serverNode: "n1" })], []],
    ["a length of 0 (the tool's default) has no size to plot", [kase({ lengthBytes: 0 }), kase({ lengthBytes: 1400 })], []],
    [
      "a length sweep on one path, in size order whatever the case order",
      [kase({ lengthBytes: 65536 }), kase({ lengthBytes: 64 }), kase({ lengthBytes: 1024 })],
      [["lengthBytes", "iperf3 tcp forward", [64, 1024, 65536]]],
    ],
    [
      "two paths, two series; TCP and UDP apart",
      [
        kase({ lengthBytes: 64 }),
        kase({ lengthBytes: 128 }),
        kase({ lengthBytes: 64, clientNode: "n2", serverNode: "n1" }),
        kase({ lengthBytes: 128, clientNode: "n2", serverNode: "n1" }),
        kase({ lengthBytes: 64, protocol: "udp", bitrateBps: 1e9 }),
        kase({ lengthBytes: 128, protocol: "udp", bitrateBps: 1e9 }),
      ],
      [
        ["lengthBytes", "iperf3 tcp forward", [64, 128]],
        ["lengthBytes", "iperf3 tcp forward", [64, 128]],
        ["lengthBytes", "iperf3 udp forward 1 Gbit/s", [64, 128]],
      ],
    ],
    [
      "an MSS sweep at each length: series per length, and per MSS over lengths",
      [kase({ lengthBytes: 64, mss: 536 }), kase({ lengthBytes: 64, mss: 1460 }), kase({ lengthBytes: 1024, mss: 536 }), kase({ lengthBytes: 1024, mss: 1460 })],
      [
        ["lengthBytes", "iperf3 tcp forward mss 536", [64, 1024]],
        ["lengthBytes", "iperf3 tcp forward mss 1460", [64, 1024]],
        ["mss", "iperf3 tcp forward len 64 B", [536, 1460]],
        ["mss", "iperf3 tcp forward len 1 KiB", [536, 1460]],
      ],
    ],
  ])("%s", (_what, cases, want) => {
    expect(sweepSeries(cases).map((s) => [s.axis, s.test, s.points.map((p) => p.sizeBytes)])).toEqual(want);
  });

  test("points carry the medians, null where nothing was measured", () => {
    const [s] = sweepSeries([kase({ lengthBytes: 64, tp: 2e8, cpu: [40, 50] }), kase({ lengthBytes: 65536, tp: null, cpu: [null, null] })]);
    expect(s!.points).toEqual([
      { sizeBytes: 64, caseId: "host-host-n1-64-0-tcp", throughputBps: 2e8, clientCpuPercentPerGbps: 40, serverCpuPercentPerGbps: 50 },
      { sizeBytes: 65536, caseId: "host-host-n1-65536-0-tcp", throughputBps: null, clientCpuPercentPerGbps: null, serverCpuPercentPerGbps: null },
    ]);
  });
});

describe("sweep renderings", () => {
  const series = sweepSeries([kase({ lengthBytes: 64, tp: 2e8, cpu: [40, 50] }), kase({ lengthBytes: 65536, tp: 9e9, cpu: [5, 6.25] })]);

  test("no sweep, no lines and no section (reports of other runs are unchanged)", () => {
    expect(sweepTextLines([])).toEqual([]);
    expect(sweepMarkdownLines([])).toEqual([]);
    expect(sweepsHtml([])).toBe("");
  });

  test("the terminal table: size, throughput, CPU per Gbit/s each end", () => {
    expect(sweepTextLines(series).join("\n")).toMatchInlineSnapshot(`
      "
      Sweeps (medians over repetitions; %CPU of the node per Gbit/s, lower is better):

      host-host n1 → n2: iperf3 tcp forward, by message length
      LENGTH    THROUGHPUT  CLIENT %CPU/GBIT/S  SERVER %CPU/GBIT/S
      64 B    200.0 Mbit/s                40.0                50.0
      64 KiB   9.00 Gbit/s                 5.0                 6.3"
    `);
  });

  test("the Markdown table", () => {
    expect(sweepMarkdownLines(series).join("\n")).toMatchInlineSnapshot(`
      "
      ### Sweeps

      Medians over repetitions; %CPU of the node per Gbit/s, lower is better.

      **host-host n1 → n2: iperf3 tcp forward, by message length**

      | length | throughput | client %CPU/Gbit/s | server %CPU/Gbit/s |
      |---|---:|---:|---:|
      | 64 B | 200.0 Mbit/s | 40.0 | 50.0 |
      | 64 KiB | 9.00 Gbit/s | 5.0 | 6.3 |"
    `);
  });

  test("the SVG: one point per size and line, the throughput line rising left to right, labels escaped", () => {
    const svg = sweepSvg(series[0]!);
    expect(svg.match(/<circle /g)).toHaveLength(6);
    const tpLine = /<polyline points="([^"]+)" fill="none" stroke="#1f5fa8"/
      .exec(svg)![1]!
      .split(" ")
      .map((p) => p.split(",").map(Number));
    // x grows with size; y shrinks (SVG y points down) as throughput grows.
    expect(tpLine[1]![0]!).toBeGreaterThan(tpLine[0]![0]!);
    expect(tpLine[1]![1]!).toBeLessThan(tpLine[0]![1]!);
    expect(svg).toContain("<title>64 B: throughput 200");
    const html = sweepsHtml(sweepSeries([kase({ lengthBytes: 64, clientNode: "<n1>" }), kase({ lengthBytes: 128, clientNode: "<n1>" })]));
    expect(html).not.toContain("<n1>");
    expect(html).toContain("&lt;n1&gt;");
  });
});
