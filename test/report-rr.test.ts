/**
 * The report and the comparison of a recorded request/response run
 * (report/fixtures/runs/loopback-rr: test/matrix-rr.test.ts with
 * RECORD_RR_FIXTURE, real nginx + wrk and sockperf on loopback, 2 repetitions
 * of http keepalive and new-connection and sockperf TCP/UDP over host-host and
 * pod-pod-cross): requests/s, connections/s and latency percentiles get the
 * same statistics as throughput, CPU per 10k requests and per 1k connections
 * come from the sampled CPU, the ratio and heatmap are requests/s, and
 * `compare` judges latency and errors lower-is-better. In test/ because it
 * reads the run directory through the coordinator's results store.
 */
import { join } from "node:path";
import { clone } from "@bufbuild/protobuf";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { describe, expect, test } from "vitest";
import { GetRunResponseSchema, type GetRunResponse } from "../gen/netmatrix/v1/control_pb.js";
import { FailureCode } from "../gen/netmatrix/v1/types_pb.js";
import { openRunDirectory } from "../coordinator/src/results-store.js";
import reportSchema from "../docs/report.schema.json" with { type: "json" };
import compareSchema from "../docs/compare.schema.json" with { type: "json" };
import { describe as stats } from "../common/src/stats.js";
import { formatMicros } from "../common/src/format.js";
import { reportDocument } from "../report/src/report-document.js";
import { CSV_COLUMNS, CSV_REQUEST_COLUMNS, renderReport } from "../report/src/report-render.js";
import { heatmaps } from "../report/src/heatmap.js";
import { compareMetric, compareRuns, METRICS } from "../report/src/compare.js";
import { renderCompare } from "../report/src/compare-render.js";
import { htmlReport } from "../report/src/html-report.js";

const run = (): GetRunResponse => openRunDirectory(join("report/fixtures/runs", "loopback-rr")).snapshot();
const doc = reportDocument(run());
type Case = (typeof doc.cases)[number];
const http = doc.cases.filter((c) => c.tool === "http");
const sockperf = doc.cases.filter((c) => c.tool === "sockperf");

function valid(schema: object, value: unknown): void {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const validate = ajv.compile(schema);
  expect(validate(value), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
}

/** The per-repetition values of a measurement field, from the JSON's repetitions. */
const perRep = (c: Case, get: (m: any) => number | undefined): number[] =>
  c.repetitions.flatMap((r) => (r.measurement ? [get(r.measurement)].filter((v) => v !== undefined) : [])) as number[];

describe("the report of a recorded http + sockperf run", () => {
  test("every case of the matrix is there and measured, and the JSON matches its schema", () => {
    expect(http).toHaveLength(4);
    expect(sockperf).toHaveLength(4);
    expect(doc.cases.filter((c) => c.summary.failed > 0)).toEqual([]);
    valid(reportSchema, JSON.parse(renderReport(doc, "json")));
  });

  test.each<[string, (c: Case) => boolean, keyof Case["summary"], (m: any) => number | undefined]>([
    ["requests/s", (c) => c.tool === "http", "requestsPerS", (m) => m.requestsPerS],
    ["connections/s", (c) => c.tool === "http" && c.httpMode === "new-connection", "connectionsPerS", (m) => m.connectionsPerS],
    ["http p50", (c) => c.tool === "http", "latencyP50Us", (m) => m.latency?.p50Us],
    ["http p99", (c) => c.tool === "http", "latencyP99Us", (m) => m.latency?.p99Us],
    ["sockperf p90", (c) => c.tool === "sockperf", "latencyP90Us", (m) => m.latency?.p90Us],
    ["sockperf p99.9", (c) => c.tool === "sockperf", "latencyP999Us", (m) => m.latency?.p999Us],
  ])("%s: the same statistics as throughput (mean, median, p90, CV, CI) over the repetitions", (_what, which, key, get) => {
    const cases = doc.cases.filter(which);
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) {
      const want = stats(perRep(c, get))!;
      expect(want.n).toBe(2);
      expect(c.summary[key]).toEqual({ ...want, stddev: want.stddev ?? null, cvPercent: want.cvPercent ?? null, ci95: want.ci95 ?? null });
    }
  });

  test("figures a tool does not report are absent: no connections/s for keepalive, no p99.9 from wrk, no requests from sockperf", () => {
    for (const c of http.filter((x) => x.httpMode === "keepalive")) expect(c.summary).not.toHaveProperty("connectionsPerS");
    for (const c of http) expect(c.summary).not.toHaveProperty("latencyP999Us");
    for (const c of sockperf) expect(c.summary).not.toHaveProperty("requestsPerS");
  });

  test("CPU per 10k requests and per 1k new connections on each side: the sampled node CPU over the rate", () => {
    const resp = run();
    const crr = http.find((c) => c.httpMode === "new-connection")!;
    const records = resp.records.filter((r) => r.caseId === crr.caseId).sort((a, b) => a.repetition - b.repetition);
    const per = (end: "clientUsage" | "serverUsage", field: "requestsPerS" | "connectionsPerS", unit: number): number[] =>
      records.map((r) => {
        const rep = r.result!.repetitions[0]!;
        const m = rep.outcome.case === "measurement" ? rep.outcome.value : undefined;
        return rep[end]!.cpuTotalPercent!.mean / (m![field]! / unit);
      });
    expect(crr.summary.clientCpuPercentPer10kRequests!.mean).toBeCloseTo(stats(per("clientUsage", "requestsPerS", 1e4))!.mean, 9);
    expect(crr.summary.serverCpuPercentPer10kRequests!.mean).toBeCloseTo(stats(per("serverUsage", "requestsPerS", 1e4))!.mean, 9);
    expect(crr.summary.clientCpuPercentPer1kConnections!.mean).toBeCloseTo(stats(per("clientUsage", "connectionsPerS", 1e3))!.mean, 9);
    expect(crr.summary.serverCpuPercentPer1kConnections!.mean).toBeCloseTo(stats(per("serverUsage", "connectionsPerS", 1e3))!.mean, 9);
  });

  test("the ratio to host-host is requests/s for http, latency for sockperf", () => {
    const byKey = new Map(doc.cases.map((c) => [c.key, c]));
    for (const c of doc.cases.filter((x) => x.scenario === "pod-pod-cross")) {
      const base = byKey.get(c.baselineKey!)!;
      const want = c.tool === "http" ? c.summary.requestsPerS!.mean / base.summary.requestsPerS!.mean : c.summary.latencyUs!.mean / base.summary.latencyUs!.mean;
      expect(c.summary.ratioToBaseline).toBeCloseTo(want, 12);
    }
  });

  test("heatmaps: requests/s and latency grids for http, latency for sockperf", () => {
    const maps = heatmaps(doc);
    const of = (tool: string) => maps.filter((m) => m.variant.startsWith(`${tool}/`)).map((m) => `${m.id}:${m.metric}:${m.unit}`);
    expect(of("http").sort()).toEqual(
      ["host-host", "pod-pod-cross"]
        .flatMap((s) => ["keepalive", "new-connection"].flatMap((mode) => [`${s}/http/tcp/forward/C4/B1K/${mode}:latency:us`, `${s}/http/tcp/forward/C4/B1K/${mode}:requests:rps`]))
        .sort(),
    );
    expect(of("sockperf").sort()).toEqual(["host-host", "pod-pod-cross"].flatMap((s) => ["tcp", "udp"].map((p) => `${s}/sockperf/${p}/forward/L0/R0:latency:us`)).sort());
    const req = maps.find((m) => m.metric === "requests")!;
    expect(req.label).toBe("http tcp forward 4 conns body 1 KiB keepalive");
    expect(req.pairs[0]!.cell.value).toBe(doc.cases.find((c) => c.caseId === req.pairs[0]!.cell.caseId)!.summary.requestsPerS!.mean);
  });

  test.each([
    ["table", ["REQ/S", "CONN/S", "P50 · P90 · P99", "P99.9", "%CPU/10K REQ", "%CPU/1K CONN", "per 10,000 requests/s"]],
    ["markdown", ["| req/s |", "| conn/s |", "p50 · p90 · p99", "| p99.9 |", "%CPU/10k req", "%CPU/1k conn"]],
  ] as const)("the %s has the request/response columns and their legend", (format, heads) => {
    const text = renderReport(doc, format, { wide: true });
    for (const h of heads) expect(text).toContain(h);
    expect(text).toContain("http tcp forward 4 conns body 1 KiB new-connection");
  });

  test("the CSV appends the request/response columns (mean and CI) after the usual ones", () => {
    const [head] = renderReport(doc, "csv").split("\n");
    expect(head).toBe([...CSV_COLUMNS, ...CSV_REQUEST_COLUMNS].join(","));
    expect(CSV_REQUEST_COLUMNS.slice(0, 3)).toEqual(["requestsPerS", "requestsPerSCi95Low", "requestsPerSCi95High"]);
  });

  test("the HTML summary and case tables carry requests/s and the latency percentiles of each http and sockperf row", () => {
    const html = htmlReport(run());
    const section = (id: string) => html.slice(html.indexOf(`<section id="${id}">`), html.indexOf("</section>", html.indexOf(`<section id="${id}">`)));
    const summary = section("summary");
    expect(summary).toContain("<th>requests/s (min – max)</th>");
    expect(summary).toContain("<th>p99 (min – max)</th>");
    const cell = (table: string, attr: string, figure: string): string => {
      const row = table.slice(table.indexOf(attr), table.indexOf("</tr>", table.indexOf(attr)));
      return /data-figure="[a-z0-9]+">([^<]*)/.exec(row.slice(row.indexOf(`data-figure="${figure}"`)))![1]!;
    };
    // Each http row: the pairs' mean requests/s from the report document, as the table writes it.
    for (const c of http) {
      const text = cell(summary, `data-scenario="${c.scenario}" data-variant="${c.key.split("/").slice(1, -1).join("/")}"`, "requests");
      expect(text.replace(/[^0-9]/g, "")).toBe(String(Math.round(c.summary.requestsPerS!.mean)));
    }
    // sockperf answers no requests: its rows say so, and have their p99.
    for (const c of sockperf) {
      const attr = `data-scenario="${c.scenario}" data-variant="${c.key.split("/").slice(1, -1).join("/")}"`;
      expect(cell(summary, attr, "requests")).toBe("-");
      expect(cell(summary, attr, "p99")).toMatch(/µs$/);
    }
    const cases = section("cases-table");
    expect(cases).toContain("<th>p50 · p90 · p99</th>");
    for (const c of [...http, ...sockperf]) {
      const s = c.summary;
      const expected = [s.latencyP50Us!, s.latencyP90Us!, s.latencyP99Us!].map((f) => formatMicros(f.mean)).join(" · ");
      expect(cell(cases, `data-case="${c.caseId}"`, "percentiles")).toBe(expected);
    }
  });

  test("the HTML report shows the figures and a requests/s heatmap", () => {
    const html = htmlReport(run());
    expect(html).toContain("mean requests/s");
    expect(html).toContain("CPU % of node per 10k requests/s");
    expect(html).toContain("latency percentiles");
  });
});

/** `resp` with every measured repetition of B's matching cases changed by `edit`. */
function edited(edit: (m: any, tool: string) => void): GetRunResponse {
  const b = clone(GetRunResponseSchema, run());
  for (const r of b.records) {
    const rep = r.result!.repetitions[0]!;
    if (rep.outcome.case === "measurement") edit(rep.outcome.value, r.key.split("/")[1]!);
  }
  return b;
}

describe("compare on request/response runs", () => {
  const metric = (d: ReturnType<typeof compareRuns>, tool: string, name: string) => d.cases.filter((c) => c.tool === tool).map((c) => c.metrics.find((m) => m.metric === name));

  test("the run against itself: requests/s is the http headline, every case matched with its mode, connections and body, no change", () => {
    const self = compareRuns(run(), run());
    valid(compareSchema, JSON.parse(renderCompare(self, "json")));
    expect(self.cases).toHaveLength(8);
    expect(self.unmatched).toEqual({ onlyInA: [], onlyInB: [] });
    for (const c of self.cases.filter((x) => x.tool === "http")) {
      expect(c.matchKey).toMatch(/\/C4\/Body1024\/(keepalive|new-connection)\//);
      expect(c.metrics.find((m) => m.headline)!.metric).toBe("requestsPerS");
    }
    for (const c of self.cases.filter((x) => x.tool === "sockperf")) expect(c.metrics.find((m) => m.headline)!.metric).toBe("latencyUs");
    expect(metric(self, "http", "errorRate")).toEqual([undefined, undefined, undefined, undefined]);
  });

  // Two repetitions of loopback figures vary too much for Welch to call a doubling significant every time: the direction is what these check.
  test.each<[string, (m: any, tool: string) => void, string, string, "lower" | "higher", number]>([
    ["latency p99 doubled", (m) => m.latency && (m.latency.p99Us *= 2), "sockperf", "latencyP99Us", "lower", 100],
    ["latency p50 halved", (m) => m.latency && (m.latency.p50Us /= 2), "http", "latencyP50Us", "lower", -50],
    ["requests/s halved", (m, tool) => tool === "http" && (m.requestsPerS /= 2), "http", "requestsPerS", "higher", -50],
    ["p99.9 up by half", (m) => m.latency?.p999Us !== undefined && (m.latency.p999Us *= 1.5), "sockperf", "latencyP999Us", "lower", 50],
  ])("%s: B's change in A's terms, and which way is better", (_what, edit, tool, name, better, change) => {
    const d = compareRuns(run(), edited(edit));
    const ms = metric(d, tool, name);
    expect(ms.length).toBeGreaterThan(0);
    for (const m of ms) {
      expect(m!.better).toBe(better);
      expect(m!.changePercent).toBeCloseTo(change, 6);
      expect(["worse", "better", "no significant change"]).toContain(m!.verdict);
      expect(m!.verdict).not.toBe(change > 0 === (better === "lower") ? "better" : "worse");
    }
  });

  test.each<[string, number[], number[], string]>([
    ["latencyP99Us", [100, 102, 101], [150, 151, 149], "worse"],
    ["latencyP50Us", [100, 102, 101], [50, 51, 49], "better"],
    ["latencyP999Us", [900, 910, 905], [1800, 1810, 1790], "worse"],
    ["requestsPerS", [20_000, 20_100, 19_900], [10_000, 10_050, 9_950], "worse"],
    ["connectionsPerS", [5_000, 5_050, 4_950], [6_000, 6_050, 5_950], "better"],
    ["clientCpuPercentPer10kRequests", [10, 10.2, 9.8], [12, 12.2, 11.8], "worse"],
    ["serverCpuPercentPer1kConnections", [3, 3.1, 2.9], [2, 2.1, 1.9], "better"],
    ["errorRate", [0, 0, 0, 0], [1, 1, 1, 1], "worse"],
  ])("a significant change of %s gets the verdict of its direction", (name, a, b, verdict) => {
    const def = METRICS.find((m) => m.metric === name)!;
    expect(compareMetric(def, a, b, false).verdict).toBe(verdict);
  });

  test("failed repetitions (errors) are a metric of their own, lower is better", () => {
    const b = clone(GetRunResponseSchema, run());
    const crr = b.records.filter((r) => r.key.includes("/http/") && r.key.includes("new-connection"));
    for (const r of crr) {
      const rep = r.result!.repetitions[0]!;
      rep.outcome = { case: "failure", value: { code: FailureCode.TOOL_ERROR, reason: "wrk: 12 connect errors, 0 read, 0 write, 3 timeouts", hint: "" } as any };
    }
    const d = compareRuns(run(), b);
    const errors = d.cases.filter((c) => c.httpMode === "new-connection").map((c) => c.metrics.find((m) => m.metric === "errorRate")!);
    for (const m of errors) {
      expect(m).toMatchObject({ better: "lower", a: { mean: 0, n: 2 }, b: { mean: 1, n: 2 } });
    }
    expect(renderCompare(d, "markdown")).toContain("failed repetitions (errors)");
  });
});
