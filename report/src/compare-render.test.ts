import { describe, expect, test } from "vitest";
import { COMPARE_KIND, compareMetric, METRICS, type CaseComparison, type CompareDocument } from "./compare.js";
import { formatChange, rollup } from "./compare-rollup.js";
import { compareCells, compareRows, formatP, regressions, renderCompare } from "./compare-render.js";
import { escapeHtml } from "./compare-html.js";
import { PLAIN_CASE } from "./case-testing.js";

const def = (name: string) => METRICS.find((m) => m.metric === name)!;

function kase(o: {
  scenario?: string;
  path?: string;
  test?: string;
  comparable?: boolean;
  reasons?: string[];
  notes?: string[];
  metrics: [string, number[], number[]][];
}): CaseComparison {
  const headline = o.metrics[0]![0];
  return {
    matchKey: `${o.scenario}/${o.path}/${o.test}`,
    ...PLAIN_CASE,
    scenario: o.scenario ?? "pod-pod-cross",
    path: o.path ?? "n1 → n2",
    test: o.test ?? "iperf3 tcp forward",
    keyA: "ka",
    keyB: "kb",
    comparable: o.comparable ?? true,
    reasons: o.reasons ?? [],
    notes: o.notes ?? [],
    metrics: o.metrics.map(([name, a, b]) => compareMetric(def(name), a, b, name === headline)),
  };
}

function doc(cases: CaseComparison[]): CompareDocument {
  const ref = (id: string) => ({ runId: id, name: id, status: "finished", createdAt: "2026-12-01T00:00:00.000Z", cases: cases.length });
  return {
    kind: COMPARE_KIND,
    a: ref("run-a"),
    b: ref("run-b"),
    run: { specDifferences: [], nodesOnlyInA: [], nodesOnlyInB: [], notes: [] },
    cases,
    unmatched: { onlyInA: [], onlyInB: [] },
    rollup: rollup(
      cases,
      METRICS.map((m) => m.metric),
    ),
  };
}

const G = 1e9;
const tpDown10 = kase({
  path: "n1 → n2",
  metrics: [
    ["throughputBps", [10 * G, 10.1 * G, 9.9 * G], [9 * G, 9.1 * G, 8.9 * G]],
    ["wireToPayload", [1.045, 1.046, 1.044], [1.083, 1.084, 1.082]],
  ],
  notes: ["pod MTU 1500 → 1450"],
});
const latUp50 = kase({
  path: "n2 → n1",
  test: "ping",
  metrics: [
    ["latencyUs", [100, 101, 99], [150, 151, 149]],
    ["lossPercent", [0, 0, 0], [0, 0, 0]],
  ],
});
const tpUp = kase({ path: "n3 → n1", metrics: [["throughputBps", [10 * G, 10.1 * G, 9.9 * G], [11 * G, 11.1 * G, 10.9 * G]]] });
const noisy = kase({ path: "n1 → n3", metrics: [["throughputBps", [10 * G, 5 * G, 15 * G], [5 * G, 3 * G, 7 * G]]] });
const mtu = kase({
  path: "n3 → n2",
  comparable: false,
  reasons: ["n3's underlay MTU differs: 1500 (eth0) in A, 9000 (eth0) in B."],
  metrics: [["throughputBps", [10 * G, 10.1 * G, 9.9 * G], [5 * G, 5.1 * G, 4.9 * G]]],
});
const all = doc([tpDown10, latUp50, tpUp, noisy, mtu]);

describe("rows and regressions", () => {
  test("headline metrics come first, then the secondary ones", () => {
    const rows = compareRows(all);
    const firstSecondary = rows.findIndex((r) => !r.metric.headline);
    expect(rows.slice(0, firstSecondary).every((r) => r.metric.headline)).toBe(true);
    expect(rows.slice(firstSecondary).every((r) => !r.metric.headline)).toBe(true);
    expect(
      rows
        .slice(firstSecondary)
        .map((r) => r.metric.metric)
        .sort(),
    ).toEqual(["lossPercent", "wireToPayload"]);
  });

  test.each([
    { pct: 5, expected: ["n1 → n2 throughputBps", "n2 → n1 latencyUs"] },
    { pct: 20, expected: ["n2 → n1 latencyUs"] },
    { pct: 60, expected: [] },
  ])("regressions over $pct %: significant, comparable, headline, worse by more than pct", ({ pct, expected }) => {
    // Not listed: the better case, the noisy (not significant) drop, the not comparable −50 %, the wire/payload rise.
    expect(
      regressions(all, pct)
        .map((r) => `${r.case.path} ${r.metric.metric}`)
        .sort(),
    ).toEqual(expected);
  });
});

describe("cells", () => {
  test("a row reads A, B (with n), change with CI, p and verdict", () => {
    const [scenario, path, testName, metric, a, b, change, p, verdict, notes] = compareCells(compareRows(doc([tpDown10]))[0]!);
    expect([scenario, path, testName, metric]).toEqual(["pod-pod-cross", "n1 → n2", "iperf3 tcp forward", "throughput"]);
    expect(a).toBe("10.00 Gbit/s (n=3)");
    expect(b).toBe("9.00 Gbit/s (n=3)");
    expect(change).toMatch(/^−10\.00 % \[−\d+\.\d\d, −\d+\.\d\d\]$/);
    expect(p).toBe("<0.001");
    expect(verdict).toBe("worse");
    expect(notes).toBe("pod MTU 1500 → 1450");
  });

  test("a not comparable case shows so as its verdict, with the reason and the statistics in the notes", () => {
    const cells = compareCells(compareRows(doc([mtu]))[0]!);
    expect(cells[8]).toBe("not comparable");
    expect(cells[9]).toBe("n3's underlay MTU differs: 1500 (eth0) in A, 9000 (eth0) in B.; statistically: worse");
  });

  test.each([
    [3.456, "+3.5 %"],
    [-3.44, "−3.4 %"],
    [0.01, "0.0 %"],
    [-0.04, "0.0 %"],
    [null, "-"],
  ])("formatChange(%s) = %s", (v, s) => expect(formatChange(v)).toBe(s));

  test.each([
    [null, "-"],
    [0.0004, "<0.001"],
    [0.0423, "0.042"],
    [1, "1.000"],
  ])("formatP(%s) = %s", (v, s) => expect(formatP(v)).toBe(s));
});

describe("renderCompare", () => {
  test("json is the document", () => {
    expect(JSON.parse(renderCompare(all, "json"))).toEqual(JSON.parse(JSON.stringify(all)));
  });

  test("table: title, roll-up, both sections with the columns, rows under their scenario, a legend", () => {
    const t = renderCompare(all, "table");
    expect(t.split("\n")[0]).toBe("compare A: run-a (run-a, finished, 5 cases) → B: run-b (run-b, finished, 5 cases)");
    expect(t).toContain("pod-pod-cross: throughput");
    expect(t).toContain("headline metrics:");
    expect(t).toContain("secondary metrics (CPU, wire/payload, loss):");
    expect(t).toMatch(/^PATH +TEST +METRIC +A +B +N A\/B +CHANGE % +95 % CI +P +VERDICT +NOTES$/m);
    expect(t).toContain("\npod-pod-cross — CNI datapath across nodes");
    expect(t.indexOf("headline metrics:")).toBeLessThan(t.indexOf("secondary metrics"));
    // No borders, no line between rows.
    expect(t).not.toMatch(/[│─┼┌└]/);
    expect(t).toMatch(/^legend:$/m);
    expect(t).toMatch(/^ {2}VERDICT +better or worse: .*throughput: higher is better; latency, loss, CPU per Gbit\/s, wire\/payload: lower is better/m);
  });

  test.each([
    [80, ["A", "B", "n A/B", "95 % CI", "p", "notes"]],
    // Levels are put back when they fit again: n A/B does, notes does not.
    [120, ["95 % CI", "p", "notes"]],
    [200, []],
  ])("table at %i characters: every line fits, the lowest priorities hide first (%j) and the note names them", (width, hidden) => {
    const t = renderCompare(all, "table", { width });
    const table = t.slice(t.indexOf("headline metrics:"), t.indexOf("legend:"));
    for (const line of table.split("\n")) expect(line.length, line).toBeLessThanOrEqual(width);
    const note = t.split("\n").find((l) => l.startsWith("columns hidden"));
    if (hidden.length === 0) expect(note).toBeUndefined();
    else expect(t.slice(t.indexOf("columns hidden")).replace(/\n/g, " ")).toContain(`${hidden.join(", ")} (--wide shows all)`);
  });

  test("table --wide: every column whatever the width", () => {
    const t = renderCompare(all, "table", { width: 60, wide: true });
    expect(t).toMatch(/^PATH +TEST +METRIC +A +B +N A\/B +CHANGE % +95 % CI +P +VERDICT +NOTES$/m);
    expect(t).not.toContain("columns hidden");
  });

  test("markdown: a table per section, pipes escaped", () => {
    const weird = doc([kase({ test: "a|b", metrics: [["throughputBps", [1, 2, 3], [1, 2, 3]]] })]);
    const md = renderCompare(weird, "markdown");
    expect(md).toContain("### headline metrics");
    expect(md).toContain("| scenario | path | test | metric | A | B | change % [95 % CI] | p | verdict | notes |");
    expect(md).toContain("a\\|b");
  });

  test("html: self-contained, escaped, rows coloured by verdict", () => {
    const evil = kase({ scenario: '<script>alert("x")</script>', metrics: [["throughputBps", [1, 2, 3], [1, 2, 3]]] });
    const html = renderCompare(doc([tpDown10, tpUp, noisy, mtu, latUp50, evil]), "html");
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).not.toContain("<script");
    expect(html).toContain("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;");
    expect(html).not.toMatch(/https?:\/\/|\bsrc=|\bhref=/);
    for (const cls of ["worse", "better", "same", "incomparable"]) expect(html).toContain(`<tr class="${cls}">`);
    expect(html).toContain("<style>");
  });

  test("escapeHtml escapes the five special characters", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;");
  });
});
