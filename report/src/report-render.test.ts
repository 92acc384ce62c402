import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { CaseRecordSchema, GetRunResponseSchema, type CaseRecord } from "../../gen/netmatrix/v1/control_pb.js";
import { Direction, Protocol, Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { reportDocument } from "./report-document.js";
import { CSV_COLUMNS, renderReport } from "./report-render.js";
import { htmlReport } from "./html-report.js";
import { flagMeaning } from "./legend.js";

const M = 1e6;

interface Test {
  tool: Tool;
  param: string;
  protocol?: Protocol;
  direction?: Direction;
  bitrateBps?: number;
  /** Per repetition: throughput in Mbit/s and/or latency in µs; NaN throughput = a failed repetition. */
  values: { mbps?: number; us?: number; kind?: string; loss?: number }[];
}

const IPERF_TCP: Test = { tool: Tool.IPERF3, param: "iperf3/tcp/forward/P1/L0", values: [{ mbps: 940 }, { mbps: 945 }, { mbps: 950 }] };
const IPERF_TCP_REV: Test = { tool: Tool.IPERF3, param: "iperf3/tcp/reverse/P1/L0", direction: Direction.REVERSE, values: [{ mbps: 930 }, { mbps: 935 }, { mbps: 940 }] };
const IPERF_UDP: Test = {
  tool: Tool.IPERF3,
  param: "iperf3/udp/forward/P1/L0/B500M",
  protocol: Protocol.UDP,
  bitrateBps: 500 * M,
  values: [
    { mbps: 499, loss: 0.1 },
    { mbps: 498, loss: 0.2 },
    { mbps: 499, loss: 0.1 },
  ],
};
const QPERF: Test = {
  tool: Tool.QPERF,
  param: "qperf/tcp/forward/P1/L0",
  values: [
    { mbps: 900, us: 30, kind: "one-way" },
    { mbps: 905, us: 31, kind: "one-way" },
    { mbps: 910, us: 32, kind: "one-way" },
  ],
};
const PING: Test = {
  tool: Tool.PING,
  param: "ping/icmp/forward/P1/L0",
  values: [
    { us: 60, kind: "rtt", loss: 0 },
    { us: 62, kind: "rtt", loss: 0 },
    { us: 64, kind: "rtt", loss: 0 },
  ],
};
const FAILING: Test = { tool: Tool.IPERF3, param: "iperf3/tcp/forward/P1/L0", values: [{ mbps: NaN }, { mbps: NaN }, { mbps: NaN }] };

function records(scenario: string, t: Test, cn: string, sn: string, baseline = scenario !== "host-host" && cn !== sn): CaseRecord[] {
  const key = `${scenario}/${t.param}/${cn}→${sn}`;
  return t.values.map((v, i) =>
    create(CaseRecordSchema, {
      caseId: `${scenario}-${t.param}-${cn}-${sn}`.replace(/\//g, "_"),
      key,
      scenario,
      via: "direct",
      clientNode: cn,
      serverNode: sn,
      baselineKey: baseline ? `host-host/${t.param}/${cn}→${sn}` : "",
      repetition: i,
      result: {
        spec: { tool: t.tool, protocol: t.protocol ?? Protocol.TCP, direction: t.direction ?? Direction.FORWARD, bitrateBps: t.bitrateBps ?? 0, durationS: 2 },
        repetitions: [
          {
            outcome:
              v.mbps !== undefined && Number.isNaN(v.mbps)
                ? { case: "failure", value: { reason: "connection refused" } }
                : {
                    case: "measurement",
                    value: {
                      ...(v.mbps !== undefined ? { throughputBps: v.mbps * M } : {}),
                      ...(v.us !== undefined ? { latency: { kind: v.kind ?? "rtt", meanUs: v.us } } : {}),
                      ...(v.loss !== undefined ? { lossPercent: v.loss } : {}),
                    },
                  },
            ...(v.mbps !== undefined && !Number.isNaN(v.mbps) ? { clientCpuPercentPerGbps: 7.5, serverCpuPercentPerGbps: 7.1, wireToPayload: 1.046 } : {}),
          },
        ],
      },
    }),
  );
}

const TESTS = [IPERF_TCP, IPERF_TCP_REV, IPERF_UDP, QPERF, PING];

/** A 2-node run like the lab's, its records deliberately out of the reading order (as execution interleaves them). */
function labRun() {
  const recs = [
    ...TESTS.flatMap((t) => records("pod-pod-same", t, "node-2", "node-2")),
    ...TESTS.flatMap((t) => records("pod-pod-same", t, "node-1", "node-1")),
    ...[...TESTS].reverse().flatMap((t) => records("pod-pod-cross", t, "node-1", "node-2")),
    ...TESTS.flatMap((t) => records("host-host", t, "node-1", "node-2")),
    ...records("pod-host", FAILING, "node-1", "node-2"),
    ...records("host-pod", IPERF_TCP, "node-1", "node-2").map((r) => ({ ...r, baselineKey: "host-host/iperf3/tcp/forward/P1/L0/node-1→node-9" })),
  ];
  return create(GetRunResponseSchema, {
    info: { runId: "20261202-053221-6ee2", name: "lab", status: "finished", total: recs.length, done: recs.length },
    spec: {
      name: "lab",
      durationS: 2,
      repetitions: 3,
      scenarios: ["host-host", "pod-pod-cross", "pod-pod-same", "pod-host", "host-pod"],
      thresholds: { cvPercent: 10, udpLossPercent: 1 },
    },
    records: recs,
  });
}

const doc = reportDocument(labRun());
const table = (opts = {}) => renderReport(doc, "table", opts);
/** The table's lines, from its header to the blank line before the legend. */
const tableLines = (t: string) => {
  const lines = t.split("\n");
  return lines.slice(
    lines.findIndex((l) => l.startsWith("PATH ")),
    lines.indexOf("legend:") - 1,
  );
};
const header = (t: string) => tableLines(t)[0]!;

describe("table: fits the width", () => {
  test.each([
    { width: 80, shown: ["PATH", "TEST", "THROUGHPUT", "VS HOST-HOST", "FLAGS"], hidden: "n, ± 95% CI, p90, latency, loss, %CPU/Gbit/s, wire/payload" },
    { width: 120, shown: ["PATH", "TEST", "THROUGHPUT", "LATENCY", "%CPU/GBIT/S", "VS HOST-HOST", "FLAGS"], hidden: "n, ± 95% CI, p90, loss, wire/payload" },
    { width: 140, shown: ["PATH", "TEST", "N", "THROUGHPUT", "LATENCY", "LOSS", "%CPU/GBIT/S", "VS HOST-HOST", "FLAGS"], hidden: "± 95% CI, p90, wire/payload" },
    { width: 200, shown: ["PATH", "TEST", "N", "THROUGHPUT", "± 95% CI", "P90", "LATENCY", "LOSS", "%CPU/GBIT/S", "WIRE/PAYLOAD", "VS HOST-HOST", "FLAGS"], hidden: undefined },
  ])("$width characters: every line fits, lower priorities hide first, the note says which and that --wide shows them", ({ width, shown, hidden }) => {
    const t = table({ width });
    for (const line of t.split("\n")) expect(line.length, line).toBeLessThanOrEqual(width);
    expect(header(t).split(/ {2,}/)).toEqual(shown);
    const note = t.slice(t.indexOf("columns hidden")).replace(/\n/g, " ");
    if (hidden === undefined) expect(t).not.toContain("columns hidden");
    else expect(note).toBe(`columns hidden to fit ${width} characters: ${hidden} (--wide shows all)`);
  });

  test.each([undefined, 40])("--wide (width %s): every column, no note", (width) => {
    const t = table({ width, wide: true });
    expect(header(t).split(/ {2,}/)).toHaveLength(12);
    expect(t).not.toContain("columns hidden");
  });

  test("no width (output that is not a terminal): every column at full width", () => {
    expect(header(table()).split(/ {2,}/)).toHaveLength(12);
  });

  test("the flags column is never hidden: it wraps", () => {
    const t = table({ width: 70 });
    expect(header(t)).toContain("FLAGS");
    for (const line of t.split("\n")) expect(line.length, line).toBeLessThanOrEqual(70);
  });

  test("no borders and no line between rows: one line per case, a title line per scenario", () => {
    const t = table({ width: 200 });
    expect(t).not.toMatch(/[│─┼┌└├]/);
    const rows = tableLines(t).filter((l) => /^node-\d → node-\d /.test(l));
    expect(rows).toHaveLength(doc.cases.length);
    expect(tableLines(t).length).toBe(1 + doc.cases.length + 5 * 2 - 1); // header, cases, a title per scenario with a blank line before all but the first
  });
});

describe("table: order", () => {
  test("scenarios in the catalogue's order, then tool (catalogue), protocol, direction, bitrate; then node pair", () => {
    const t = table({ wide: true });
    const scenarios = tableLines(t).filter((l) => / — /.test(l) && !l.startsWith("node-"));
    expect(scenarios.map((l) => l.split(" — ")[0])).toEqual(["host-host", "pod-pod-cross", "pod-pod-same", "pod-host", "host-pod"]);
    const same = t.slice(t.indexOf("pod-pod-same —"), t.indexOf("pod-host —"));
    const rows = same.split("\n").filter((l) => l.startsWith("node-"));
    expect(rows.map((l) => l.split(/ {2,}/).slice(0, 2).join(" | "))).toEqual([
      "node-1 → node-1 | iperf3 tcp forward",
      "node-2 → node-2 | iperf3 tcp forward",
      "node-1 → node-1 | iperf3 tcp reverse",
      "node-2 → node-2 | iperf3 tcp reverse",
      "node-1 → node-1 | iperf3 udp forward 500 Mbit/s",
      "node-2 → node-2 | iperf3 udp forward 500 Mbit/s",
      "node-1 → node-1 | qperf tcp forward",
      "node-2 → node-2 | qperf tcp forward",
      "node-1 → node-1 | ping",
      "node-2 → node-2 | ping",
    ]);
  });

  test("CSV and Markdown rows come in the same order as the table's", () => {
    const csv = renderReport(doc, "csv").split("\n").slice(1);
    const md = renderReport(doc, "markdown")
      .split("\n")
      .filter((l) => l.startsWith("| node-"));
    const t = tableLines(table({ wide: true })).filter((l) => l.startsWith("node-"));
    const fromCsv = csv.map((l) => l.split(",")[10]);
    expect(fromCsv).toEqual(t.map((l) => l.split(/ {2,}/)[1]));
    expect(md.map((l) => l.split(" | ")[1])).toEqual(fromCsv);
  });
});

describe("table: what each cell means", () => {
  const t = table({ wide: true });
  const row = (scenario: string, test: string, path = "node-1 → node-2"): string[] => {
    const block = t.slice(t.indexOf(`\n${scenario} — `) + 1);
    const line = block.split("\n").find((l) => l.startsWith(`${path}  `) && l.split(/ {2,}/)[1] === test);
    expect(line, `${scenario} ${test}`).toBeDefined();
    return line!.split(/ {2,}/);
  };
  // Columns: path, test, n, throughput, ± CI, p90, latency, loss, CPU, wire/payload, vs host-host, flags.

  test("latency says RTT or one-way, as the tool's driver reports it", () => {
    expect(row("host-host", "ping")[6]).toBe("62.0 µs RTT");
    expect(row("host-host", "qperf tcp forward")[6]).toBe("31.0 µs one-way");
  });

  test("a latency-only test's ratio says it is a latency ratio; a throughput ratio is plain", () => {
    expect(row("pod-pod-cross", "ping")[10]).toBe("100.0 % RTT");
    expect(row("pod-pod-cross", "iperf3 tcp forward")[10]).toBe("100.0 %");
  });

  test.each([
    ["host-host", "iperf3 tcp forward", "node-1 → node-2", "baseline"],
    ["pod-pod-same", "iperf3 tcp forward", "node-1 → node-1", "n/a: same node"],
    ["host-pod", "iperf3 tcp forward", "node-1 → node-2", "no baseline"],
    ["pod-host", "iperf3 tcp forward", "node-1 → node-2", "not measured"],
  ])("%s %s: vs host-host says why there is no ratio: %s", (scenario, test, path, text) => {
    expect(row(scenario, test, path)[10]).toBe(text);
  });

  test("not applicable (-) and failed are told apart; n is measured / asked", () => {
    const ping = row("host-host", "ping");
    expect([ping[2], ping[3], ping[8]]).toEqual(["3/3", "-", "-"]);
    const failed = row("pod-host", "iperf3 tcp forward");
    expect([failed[2], failed[3], failed[6], failed[8]]).toEqual(["0/3", "failed", "-", "failed"]);
    expect(failed[11]).toBe("3 failed");
  });

  test("the UDP target rate reads the same in the table, Markdown, CSV and HTML", () => {
    const label = "iperf3 udp forward 500 Mbit/s";
    expect(row("host-host", label)[1]).toBe(label);
    expect(renderReport(doc, "markdown")).toContain(`| ${label} |`);
    expect(renderReport(doc, "csv")).toContain(`,${label},`);
    const html = htmlReport(labRun());
    expect(html).toContain(label);
    expect(html).not.toMatch(/B500M<|500\.0 Mbit\/s/);
  });
});

describe("legend", () => {
  const legendOf = (t: string): string => t.slice(t.indexOf("legend:")).replace(/\n {4,}/g, " ");

  test("explains the shown columns' units and which way is better, and the cell words that appear", () => {
    const l = legendOf(table({ wide: true }));
    expect(l).toMatch(/ {2}N +repetitions measured \/ asked for/);
    expect(l).toMatch(/ {2}%CPU\/GBIT\/S +client · server: % of the node's CPU \(all cores = 100 %\) per Gbit\/s of throughput; lower is better/);
    expect(l).toMatch(/ {2}LATENCY +mean over the repetitions: RTT = round trip \(ping\), one-way = half the round trip \(qperf\); lower is better/);
    expect(l).toMatch(/ {2}VS HOST-HOST +.*Throughput: higher is better.*Marked RTT or one-way \(latency-only tests\): latency over the host-host latency, lower is better/);
    for (const word of ["baseline", "n/a: same node", "no baseline", "not measured", "-", "failed"])
      expect(l).toMatch(new RegExp(`\\n {2}${word.replace(/[/-]/g, "\\$&")} {2,}\\S`));
    expect(l).not.toMatch(/\n {2}\? /); // no "?" cell in this run, so no entry for it
  });

  test("hidden columns are not explained", () => {
    const l = legendOf(table({ width: 80 }));
    expect(l).not.toContain("WIRE/PAYLOAD");
    expect(l).toContain("THROUGHPUT");
  });

  test.each([
    ["cpu-bound (2/3)", "cpu-bound", "an end's CPU was saturated: the number measures CPU, not the network"],
    ["baseline-suspect", "baseline-suspect", "host-host baseline slower than a pod path on the same pair: the baseline is not trustworthy"],
    ["cv>10%", "cv>10%", "the repetitions vary by more than 10 % (coefficient of variation)"],
    ["udp-loss>2.5%", "udp-loss>2.5%", "UDP lost more than 2.5 % of the datagrams"],
    ["server-gone", "server-gone", "the server agent left mid-repetition"],
    ["some-new-flag", "some-new-flag", "a flag this version of netmatrix has no explanation for"],
  ])("flag %s is rendered as is and explained under %s", (flag, term, meaning) => {
    const d = reportDocument(labRun());
    d.cases.find((c) => c.scenario === "pod-pod-cross")!.summary.flags.push(flag);
    const t = renderReport(d, "table", { wide: true });
    expect(t).toContain(flag);
    expect(legendOf(t)).toMatch(new RegExp(`\\n {2}${term.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")} +${meaning.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")}`));
    expect(renderReport(d, "markdown")).toContain(`- **${term}**: `);
  });

  test("every flag the project raises has a meaning", () => {
    for (const f of ["cv>10%", "udp-loss>1%", "retransmits", "above-nic-speed", "no-baseline", "server-gone", "cpu-bound", "baseline-suspect", "2 failed"])
      expect(flagMeaning(f), f).toBeDefined();
  });
});

describe("CSV", () => {
  test("carries the 95 % CI of every figure the JSON has one for, and the latency kind", () => {
    for (const c of [
      "throughputCi95LowBps",
      "throughputCi95HighBps",
      "latencyKind",
      "latencyCi95LowUs",
      "latencyCi95HighUs",
      "lossCi95LowPercent",
      "clientCpuPercentPerGbpsCi95High",
      "wireToPayloadCi95Low",
      "baseline",
    ])
      expect(CSV_COLUMNS).toContain(c);
    const [head, ...rows] = renderReport(doc, "csv").split("\n");
    const cols = head!.split(",");
    const at = (row: string, name: string) => row.split(",")[cols.indexOf(name)];
    const qperf = doc.cases.find((c) => c.scenario === "host-host" && c.tool === "qperf")!;
    const line = rows.find((r) => r.startsWith(`${qperf.caseId},`))!;
    expect(Number(at(line, "throughputCi95LowBps"))).toBe(qperf.summary.throughputBps!.ci95!.low);
    expect(Number(at(line, "latencyCi95HighUs"))).toBe(qperf.summary.latencyUs!.ci95!.high);
    expect(at(line, "latencyKind")).toBe("one-way");
    expect(at(line, "baseline")).toBe("is-baseline");
  });
});
