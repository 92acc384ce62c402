import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { AgentStatusSchema, CaseRecordSchema, GetRunResponseSchema, type CaseRecord } from "../../gen/netmatrix/v1/control_pb.js";
import { NetworkMode, Protocol, Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { createHash } from "node:crypto";
import { htmlReport, pageData, reportScriptHashes } from "./html-report.js";
import { reportDocument } from "./report-document.js";
import { esc, scoreColour, scriptJson } from "./html-util.js";

const EVIL = `<img src=x onerror="alert('n')">`;
const T0 = 1_700_000_000_000;

function rec(cn: string, sn: string, rep: number, outcome: unknown): CaseRecord {
  return create(CaseRecordSchema, {
    caseId: "c1",
    key: `host-host/iperf3/tcp/forward/P1/L0/${cn}→${sn}`,
    scenario: "host-host",
    via: "direct",
    clientNode: cn,
    serverNode: sn,
    repetition: rep,
    result: {
      spec: { tool: Tool.IPERF3, protocol: Protocol.TCP, durationS: 2 },
      repetitions: [
        {
          startedAtMs: T0,
          wallMs: 2000,
          outcome: outcome as never,
          clientSamples: [{ wallMs: T0 + 1000, intervalMs: 1000, interfaces: [{ name: "eth0", txBps: 9e8 }], cpu: { totalPercent: 50 } }],
        },
      ],
    },
  });
}

const resp = create(GetRunResponseSchema, {
  info: { runId: "20260101-000000-abcd", name: `run ${EVIL}`, status: "finished", total: 3, done: 3, failed: 1 },
  specYaml: `name: x # </script><script>alert(1)</script>\n`,
  spec: { name: "x", durationS: 2, scenarios: ["host-host"], thresholds: { cvPercent: 10, udpLossPercent: 1 } },
  agents: [create(AgentStatusSchema, { agentId: `${EVIL}/host`, info: { node: EVIL, mode: NetworkMode.HOST, interfaces: [{ name: "eth0", mtu: 1500 }] } })],
  records: [
    rec(EVIL, "node-2", 0, { case: "measurement", value: { throughputBps: 9e8, intervals: [{ startS: 0, endS: 1, bitsPerSecond: 9e8 }] } }),
    rec(EVIL, "node-2", 1, { case: "failure", value: { reason: "<b>boom</b> & </script>", hint: "try <again>" } }),
    rec(EVIL, "node-2", 2, { case: "measurement", value: { throughputBps: 8e8 } }),
  ],
});
const html = htmlReport(resp, { generatedAt: new Date(0) });

describe("htmlReport", () => {
  test("every string from the run is escaped: no injected element, no early end of a script", () => {
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<b>boom");
    expect(html).not.toContain("<again>");
    expect(html).not.toMatch(/<\/script><script>alert/);
    expect(html).toContain(esc(EVIL));
    expect(html).toContain("&lt;b&gt;boom&lt;/b&gt; &amp; &lt;/script&gt;");
    expect(html).toContain(`<pre class="spec">name: x # &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;`);
  });

  test("self-contained: uPlot and its CSS inlined, no URL, nothing loaded from anywhere", () => {
    expect(html).toContain("var uPlot=function");
    expect(html).toContain(".uplot");
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/\s(src|href)="(?!#)/);
    expect(html).not.toMatch(/@import|url\(/);
    expect(html.match(/<script/g)).toHaveLength(3);
  });

  test("the embedded data is JSON with every < escaped, and reads back", () => {
    const m = /<script type="application\/json" id="netmatrix-data">([^]*?)<\/script>/.exec(html);
    expect(m).not.toBeNull();
    expect(m![1]).not.toContain("<");
    const data = JSON.parse(m![1]!) as ReturnType<typeof pageData>["data"];
    expect(data.cases.c1!.reps.map((r) => r.failure ?? null)).toEqual([null, "<b>boom</b> & </script>", null]);
    expect(data.cases.c1!.reps[0]!.t.nics[0]!.series[0]!.label).toBe(`${EVIL} eth0 tx`);
  });

  test("header, heatmap cell with the raw mean, case section with the median repetition selected", () => {
    expect(html).toContain(`<div data-fact="done"><dt>done</dt><dd>3/3</dd></div>`);
    expect(html).toContain(`<div data-fact="report generated"><dt>report generated</dt><dd>1970-01-01T00:00:00.000Z</dd></div>`);
    expect(html).toContain(`data-heatmap="host-host/iperf3/tcp/forward/P1/L0" data-metric="throughput"`);
    expect(html).toMatch(new RegExp(`<td class="cell" data-client="${esc(EVIL).replace(/[()]/g, "\\$&")}" data-server="node-2" data-value="850000000" data-unit="bps"`));
    expect(html).toContain(`<section class="case" id="case-c1" data-case="c1">`);
    // Two measured repetitions (9e8, 8e8): the lower middle one is #3 (array index 2).
    expect(html).toContain(`<option value="2" selected>#3 · 800.0 Mbit/s</option>`);
    expect(html).toContain(`<option value="1">#2 · failed: internal</option>`);
  });

  test("a run without request/response tests has no requests/s or percentile column", () => {
    for (const head of ["requests/s", "p99 (min – max)", "p50 · p90 · p99"]) expect(html).not.toContain(`<th>${head}`);
    expect(html).not.toContain("data-figure=");
  });

  test("pageData: one entry per case, the default repetition, a timeline per repetition", () => {
    const { data, defaults } = pageData(resp, reportDocument(resp));
    expect(defaults.get("c1")).toBe(2);
    expect(data.cases.c1).toMatchObject({ tool: "iperf3", def: 2 });
    expect(data.cases.c1!.reps[0]!.t.tool[0]!.series[0]!.values).toEqual([9e8, 9e8]);
  });
});

describe("reportScriptHashes", () => {
  test("name exactly the report's executable inline scripts (a CSP allowing only them runs the page, and nothing injected)", () => {
    const html = htmlReport(resp);
    const run = [...html.matchAll(/<script(?![^>]*type="application\/json")[^>]*>([\s\S]*?)<\/script>/g)].map(
      (m) => `'sha256-${createHash("sha256").update(m[1]!, "utf8").digest("base64")}'`,
    );
    expect(run.length).toBe(2);
    expect(reportScriptHashes()).toEqual(run);
  });
});

describe("html-util", () => {
  test.each([
    [`a<b>&"c'`, "a&lt;b&gt;&amp;&quot;c&#39;"],
    [null, ""],
    [42, "42"],
  ])("esc(%j)", (input, out) => {
    expect(esc(input)).toBe(out);
  });

  test("scriptJson escapes < and line separators and still parses to the same value", () => {
    const v = { s: "</script><!-- \u2028 \u2029" };
    const j = scriptJson(v);
    expect(j).not.toMatch(/[<\u2028\u2029]/);
    expect(JSON.parse(j)).toEqual(v);
  });

  test.each([
    [1, "hsl(120 65% 82%)"],
    [0.75, "hsl(60 65% 82%)"],
    [0.5, "hsl(0 65% 82%)"],
    [0.1, "hsl(0 65% 82%)"],
    [null, "transparent"],
  ])("scoreColour(%s)", (score, colour) => {
    expect(scoreColour(score)).toBe(colour);
  });
});
