import { describe, expect, test } from "vitest";
import { agreement, framingOverhead, pathKey, referee, type AgreementCase } from "./agreement.js";
import { agreementHtml, agreementLines, agreementMarkdown } from "./agreement-render.js";
import { flagMeaning } from "./legend.js";

const TCP_1500 = 1514 / 1448;
const c = (tool: string, medianBps: number | undefined, wireToPayload?: number, path = "p", expected: number | undefined = TCP_1500): AgreementCase => ({
  key: `${path}/${tool}`,
  tool,
  path,
  medianBps,
  wireToPayload,
  expectedWireToPayload: expected,
});

describe("agreement: each path's tools side by side", () => {
  test.each<[string, AgreementCase[], { spread: number; disagree: boolean; tools: string[] }[]]>([
    ["three within 5 %", [c("iperf3", 950e6), c("iperf2", 945e6), c("qperf", 920e6)], [{ spread: (950 / 920 - 1) * 100, disagree: false, tools: ["iperf3", "iperf2", "qperf"] }]],
    ["exactly 5 % apart agrees", [c("iperf3", 1050e6), c("iperf2", 1000e6)], [{ spread: 5, disagree: false, tools: ["iperf3", "iperf2"] }]],
    ["more than 5 % apart disagrees", [c("iperf3", 950e6), c("iperf2", 300e6)], [{ spread: (950 / 300 - 1) * 100, disagree: true, tools: ["iperf3", "iperf2"] }]],
    ["one tool alone is no group", [c("iperf3", 950e6)], []],
    [
      "a tool with no median is left out, never 0",
      [c("iperf3", 950e6), c("iperf2", undefined), c("qperf", 940e6)],
      [{ spread: (950 / 940 - 1) * 100, disagree: false, tools: ["iperf3", "qperf"] }],
    ],
    ["a non-finite or zero median is left out", [c("iperf3", 950e6), c("iperf2", Number.NaN), c("qperf", 0)], []],
    [
      "two paths, two groups, in first-seen order",
      [c("iperf3", 950e6, undefined, "b"), c("iperf3", 900e6, undefined, "a"), c("iperf2", 950e6, undefined, "b"), c("iperf2", 100e6, undefined, "a")],
      [
        { spread: 0, disagree: false, tools: ["iperf3", "iperf2"] },
        { spread: 800, disagree: true, tools: ["iperf3", "iperf2"] },
      ],
    ],
  ])("%s", (_what, cases, want) => {
    const got = agreement(cases);
    expect(got.map((g) => g.tools.map((t) => t.tool))).toEqual(want.map((w) => w.tools));
    got.forEach((g, i) => {
      expect(g.spreadPercent).toBeCloseTo(want[i]!.spread, 6);
      expect(g.disagree).toBe(want[i]!.disagree);
    });
  });

  test("the tolerance is a parameter", () => {
    expect(agreement([c("iperf3", 1000e6), c("iperf2", 1020e6)], 1)[0]!.disagree).toBe(true);
  });
});

describe("the NIC counters referee", () => {
  test.each<[string, [string, number | null][], number | undefined, string[], string]>([
    [
      "all within 1…framing (GSO counters see fewer headers)",
      [
        ["iperf3", 1.002],
        ["iperf2", 1.001],
        ["qperf", 1.035],
      ],
      TCP_1500,
      ["iperf3", "iperf2", "qperf"],
      "the carrying interface's bytes back iperf3 1.002, iperf2 1.001, qperf 1.035",
    ],
    [
      "one reports less than crossed",
      [
        ["iperf3", 1.046],
        ["iperf2", 1.3],
      ],
      TCP_1500,
      ["iperf3"],
      "not iperf2 (1.300: reports less than crossed)",
    ],
    [
      "one claims more than crossed",
      [
        ["iperf3", 0.9],
        ["qperf", 1.05],
      ],
      TCP_1500,
      ["qperf"],
      "not iperf3 (0.900: claims more than crossed)",
    ],
    [
      "none within: the nearest named",
      [
        ["iperf3", 1.2],
        ["iperf2", 1.5],
      ],
      TCP_1500,
      [],
      "nearest iperf3",
    ],
    [
      "no counters at all",
      [
        ["iperf3", null],
        ["iperf2", null],
      ],
      TCP_1500,
      [],
      "no NIC counters",
    ],
    [
      "counters but no framing",
      [
        ["iperf3", 1.05],
        ["iperf2", 1.05],
      ],
      undefined,
      [],
      "framing overhead is unknown",
    ],
  ])("%s", (_what, figures, expected, tools, text) => {
    const r = referee(
      figures.map(([t, w]) => ({ tool: t, caseKey: t, medianBps: 1e9, wireToPayload: w })),
      expected,
    );
    expect(r.tools).toEqual(tools);
    expect(r.text).toContain(text);
  });

  test.each<[string, string, number | undefined, number, number | undefined]>([
    ["TCP at MTU 1500: 1514/1448", "tcp", 1500, 0, 1514 / 1448],
    ["TCP at MTU 9000", "tcp", 9000, 0, 9014 / 8948],
    ["UDP of 1000-byte datagrams", "udp", 1500, 1000, 1042 / 1000],
    ["UDP of the tool's default size: unknown", "udp", 1500, 0, undefined],
    ["UDP datagrams that fragment: unknown", "udp", 1500, 8000, undefined],
    ["no MTU: unknown", "tcp", undefined, 0, undefined],
  ])("framing: %s", (_what, protocol, mtu, length, want) => {
    const got = framingOverhead(protocol, mtu, length);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toBeCloseTo(want, 9);
  });
});

describe("paths and rendering", () => {
  test("the path key leaves the tool out and keeps everything that makes a path", () => {
    const base = { scenario: "host-host", clientNode: "a", serverNode: "b", protocol: "tcp", direction: "forward", parallel: 1, lengthBytes: 0, bitrateBps: 0 };
    expect(pathKey(base)).toBe("host-host/tcp/forward/P1/L0/a→b");
    expect(pathKey({ ...base, protocol: "udp", bitrateBps: 1e9 })).toBe("host-host/udp/forward/P1/L0/B1000000000/a→b");
    expect(pathKey({ ...base, direction: "reverse" })).not.toBe(pathKey(base));
    // TCP pacing is the tool's setting, not the path's.
    expect(pathKey({ ...base, bitrateBps: 3e8 })).toBe(pathKey(base));
  });

  test("text, Markdown and HTML show each tool's figure side by side with the verdict and the referee", () => {
    const groups = agreement([c("iperf3", 950e6, 1.046), c("iperf2", 300e6, 1.3), c("qperf", 940e6, 1.05)]);
    const text = agreementLines(groups).join("\n");
    expect(text).toMatch(/PATH\s+IPERF3\s+IPERF2\s+QPERF\s+SPREAD\s+VERDICT/);
    expect(text).toContain("950.0 Mbit/s");
    expect(text).toContain("300.0 Mbit/s");
    expect(text).toContain("tools-disagree");
    expect(text).toContain("NIC: the carrying interface's bytes back iperf3 1.046, qperf 1.050 (wire/payload within 1.000–1.046");
    expect(text).toContain("not iperf2 (1.300: reports less than crossed)");
    expect(agreementMarkdown(groups).join("\n")).toContain("| p | 950.0 Mbit/s | 300.0 Mbit/s | 940.0 Mbit/s |");
    const html = agreementHtml(groups);
    expect(html).toContain('<tr class="disagree">');
    expect(html).toContain("<th>qperf</th>");
    expect(agreementLines([])).toEqual([]);
    expect(agreementHtml([])).toBe("");
  });

  test.each([60, 80, 100])("fitted to %i characters: no line longer, every cell and the whole NIC verdict still there", (width) => {
    const path = "pod-pod-cross/tcp/forward/P1/L0/node-with-a-long-name-1→node-with-a-long-name-2";
    const groups = agreement([c("iperf3", 950e6, 1.046, path), c("iperf2", 300e6, 1.3, path), c("qperf", 940e6, 1.05, path)]);
    const lines = agreementLines(groups, { width });
    expect(lines.filter((l) => [...l].length > width)).toEqual([]);
    const text = lines.join(" ").replace(/\s+/g, " ");
    for (const cell of ["950.0 Mbit/s", "300.0 Mbit/s", "940.0 Mbit/s", "tools-disagree", groups[0]!.referee.text]) expect(text).toContain(cell);
    // The path wraps in its column; joined back it is whole.
    expect(lines.map((l) => l.split(/\s{2,}/)[0]!).join("")).toContain(path);
    // --wide: one line per row, as wide as it takes.
    expect(agreementLines(groups, { width, wide: true }).some((l) => l.includes(path))).toBe(true);
  });

  test("the legend explains the flag", () => {
    expect(flagMeaning("tools-disagree")).toContain("5 %");
  });
});
