/**
 * Golden tests on real recorded runs (report/fixtures/runs/<cni>, made by
 * scripts/record-report-fixtures.sh on the 3-node lab): the report's and
 * the host-gw → vxlan comparison's JSON against their schemas, and their
 * Markdown, CSV and terminal-table renderings (80 and 120 columns, --wide)
 * byte for byte against report/fixtures/golden/. After an intended change, regenerate with
 * `UPDATE_GOLDEN=1 npx vitest run test/report-golden.test.ts` and review the diff.
 * Here in test/ rather than report/src/ because it reads the run directories
 * through the coordinator's results store, which the report may not import.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { describe, expect, test } from "vitest";
import { openRunDirectory } from "../coordinator/src/results-store.js";
import schema from "../docs/report.schema.json" with { type: "json" };
import compareSchema from "../docs/compare.schema.json" with { type: "json" };
import { compareRuns } from "../report/src/compare.js";
import { renderCompare } from "../report/src/compare-render.js";
import { reportDocument } from "../report/src/report-document.js";
import { renderReport } from "../report/src/report-render.js";

const FIXTURES = "report/fixtures/runs";
const GOLDEN = "report/fixtures/golden";
const update = process.env["UPDATE_GOLDEN"] === "1";

/** Compare `text` with the golden file `name`, or (re)write it with UPDATE_GOLDEN=1. */
function golden(name: string, text: string): void {
  const file = join(GOLDEN, name);
  if (update) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, text);
  }
  expect(existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1`).toBe(true);
  expect(text).toBe(readFileSync(file, "utf8"));
}

/** Assert that the JSON `text` matches `schema`, naming the first errors when it does not. */
function expectValid(schema: object, text: string): void {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const validate = ajv.compile(schema);
  const ok = validate(JSON.parse(text));
  expect(validate.errors ?? [], JSON.stringify(validate.errors?.slice(0, 5))).toEqual([]);
  expect(ok).toBe(true);
}

describe.each(["host-gw", "vxlan"])("report of the recorded %s lab run", (cni) => {
  const run = openRunDirectory(join(FIXTURES, cni)).snapshot();
  const doc = reportDocument(run);

  test("every case repetition of the 3-node matrix is there and measured", () => {
    expect(run.records).toHaveLength(90);
    expect(doc.cases).toHaveLength(30);
    expect(doc.cases.filter((c) => c.summary.failed > 0)).toEqual([]);
  });

  test("the JSON document matches docs/report.schema.json", () => {
    expectValid(schema, renderReport(doc, "json"));
  });

  test("latency-only cases are compared with the host-host latency, not flagged as lacking a baseline", () => {
    const pings = doc.cases.filter((c) => c.tool === "ping" && c.scenario === "pod-pod-cross");
    expect(pings).toHaveLength(6);
    for (const c of pings) {
      const base = doc.cases.find((b) => b.key === c.baselineKey)!;
      expect(c.summary.flags).not.toContain("no-baseline");
      expect(c.summary.ratioToBaseline).toBeCloseTo(c.summary.latencyUs!.mean / base.summary.latencyUs!.mean, 12);
    }
  });

  test.each(["markdown", "csv"] as const)("%s rendering matches the golden file", (format) => {
    golden(`${cni}.report.${format === "markdown" ? "md" : "csv"}`, `${renderReport(doc, format)}\n`);
  });

  // The terminal table as a person sees it in an 80- and a 120-column terminal, and with --wide.
  test.each([80, 120, "wide"] as const)("the table at %s columns matches the golden file, and fits", (width) => {
    const text = `${renderReport(doc, "table", width === "wide" ? { wide: true } : { width })}\n`;
    golden(`${cni}.report.table-${width}.txt`, text);
    if (width !== "wide") for (const line of text.split("\n")) expect(line.length, line).toBeLessThanOrEqual(width);
  });
});

describe("comparison of the recorded host-gw (A) and vxlan (B) runs", () => {
  const doc = compareRuns(openRunDirectory(join(FIXTURES, "host-gw")).snapshot(), openRunDirectory(join(FIXTURES, "vxlan")).snapshot());

  test("the JSON document matches docs/compare.schema.json", () => {
    expectValid(compareSchema, renderCompare(doc, "json"));
  });

  test("markdown rendering matches the golden file", () => {
    golden("host-gw-vs-vxlan.compare.md", `${renderCompare(doc, "markdown")}\n`);
  });

  test("the table at 120 columns matches the golden file", () => {
    golden("host-gw-vs-vxlan.compare.table-120.txt", `${renderCompare(doc, "table", { width: 120 })}\n`);
  });
});
