/**
 * The HTML report of the recorded lab runs (report/fixtures/runs/*): the
 * heatmaps hold the report document's numbers, and the file opened from
 * disk in headless Chromium (Debian's, driven by playwright-core) loads
 * nothing else, draws every case's charts and logs no error. Needs
 * /usr/bin/chromium for the browser part.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { clone } from "@bufbuild/protobuf";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { GetRunResponseSchema, type GetRunResponse } from "../gen/netmatrix/v1/control_pb.js";
import { openRunDirectory } from "../coordinator/src/results-store.js";
import { reportDocument, type ReportDocument } from "../report/src/report-document.js";
import { heatmaps } from "../report/src/heatmap.js";
import { htmlReport } from "../report/src/html-report.js";

const CHROMIUM = "/usr/bin/chromium";
const FIXTURES = ["host-gw", "vxlan"].filter((cni) => existsSync(join("report/fixtures/runs", cni, "meta.json")));
const load = (cni: string): GetRunResponse => openRunDirectory(join("report/fixtures/runs", cni)).snapshot();
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`SKIPPED browser part of test/report-html.test.ts: needs ${CHROMIUM} (apt-get install chromium; CI installs it)`);

/**
 * Expected heatmap cells, straight from the report document: for every
 * cross-node case, "scenario/variant|metric|client|server" → its mean
 * (the variant is the key without scenario and node pair).
 */
function expectedCells(doc: ReportDocument): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of doc.cases.filter((x) => x.clientNode !== x.serverNode)) {
    const id = c.key.slice(0, c.key.lastIndexOf("/"));
    if (c.summary.throughputBps) out.set(`${id}|throughput|${c.clientNode}|${c.serverNode}`, c.summary.throughputBps.mean);
    if (c.summary.latencyUs) out.set(`${id}|latency|${c.clientNode}|${c.serverNode}`, c.summary.latencyUs.mean);
  }
  return out;
}

test("the fixtures are there", () => {
  expect(FIXTURES).toContain("host-gw");
});

describe.each(FIXTURES)("heatmaps of %s (pure)", (cni) => {
  const doc = reportDocument(load(cni));

  test("host-host iperf3 TCP: one cell per ordered node pair, each the case's mean throughput", () => {
    const h = heatmaps(doc).find((m) => m.id === "host-host/iperf3/tcp/forward/P1/L0" && m.metric === "throughput");
    expect(h).toBeDefined();
    expect(h!.nodes).toEqual(["node-1", "node-2", "node-3"]);
    const filled = h!.nodes.flatMap((client, i) => h!.nodes.flatMap((server, j) => (h!.cells[i]![j] ? [{ client, server, cell: h!.cells[i]![j]! }] : [])));
    expect(filled).toHaveLength(6);
    expect(filled.every((f) => f.client !== f.server)).toBe(true);
    for (const f of filled) {
      const c = doc.cases.find((x) => x.scenario === "host-host" && x.tool === "iperf3" && x.clientNode === f.client && x.serverNode === f.server);
      expect(c, `${f.client}→${f.server}`).toBeDefined();
      expect(f.cell.value).toBe(c!.summary.throughputBps!.mean);
      expect(f.cell.value).toBeGreaterThan(1e8);
    }
  });

  test("ping gets a latency grid per cross-node scenario, in µs", () => {
    const lat = heatmaps(doc).filter((m) => m.metric === "latency");
    expect(lat.map((m) => m.id)).toEqual(["host-host/ping/icmp/forward/P1/L0", "pod-pod-cross/ping/icmp/forward/P1/L0"]);
    for (const h of lat) expect(h.cells.flat().filter(Boolean)).toHaveLength(6);
  });
});

describe.skipIf(!hasChromium || FIXTURES.length === 0)("the report in Chromium, from file://", () => {
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nm-report-html-"));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Open `resp`'s report from disk, recording errors and every request. */
  async function open(name: string, resp: GetRunResponse): Promise<{ page: Page; url: string; errors: string[]; requests: string[] }> {
    const file = join(dir, `${name}.html`);
    writeFileSync(file, htmlReport(resp));
    const url = pathToFileURL(file).href;
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => m.type() === "error" && errors.push(`console: ${m.text()}`));
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(url);
    return { page, url, errors, requests };
  }

  /** Scroll to every case, open its timelines; per case the number of chart canvases. */
  async function openEveryCase(page: Page): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const id of await page.locator("section.case").evaluateAll((ss) => ss.map((s) => s.getAttribute("data-case")!))) {
      const section = page.locator(`section.case[data-case="${id}"]`);
      await section.scrollIntoViewIfNeeded();
      await section.locator("details.charts-box > summary").click();
      await page.locator(`section.case[data-case="${id}"][data-rendered]`).waitFor({ state: "attached" });
      out.set(id, await section.locator(".uplot canvas").count());
    }
    return out;
  }

  test.each(FIXTURES)(
    "%s: loads nothing but itself, heatmaps hold the document's means, every case draws",
    async (cni) => {
      const resp = load(cni);
      const doc = reportDocument(resp);
      const { page, url, errors, requests } = await open(cni, resp);

      const cells = await page.locator("[data-heatmap] td.cell").evaluateAll((tds) =>
        tds.map((td) => {
          const fig = td.closest("[data-heatmap]")!;
          return {
            key: `${fig.getAttribute("data-heatmap")}|${fig.getAttribute("data-metric")}|${td.getAttribute("data-client")}|${td.getAttribute("data-server")}`,
            value: Number(td.getAttribute("data-value")),
            unit: td.getAttribute("data-unit"),
          };
        }),
      );
      const expected = expectedCells(doc);
      expect(cells.length).toBe(expected.size);
      expect(cells.length).toBe(24); // 2 cross-node scenarios × (iperf3 + ping) × 6 ordered pairs
      for (const c of cells) {
        expect(expected.get(c.key), c.key).toBe(c.value);
        expect(c.unit).toBe(c.key.includes("|throughput|") ? "bps" : "us");
      }
      expect(await page.locator("[data-heatmap] td.empty").count()).toBe(4 * 3); // the diagonals

      const canvases = await openEveryCase(page);
      expect(canvases.size).toBe(doc.cases.length);
      for (const c of doc.cases) expect(canvases.get(c.caseId), `${c.key}`).toBe(c.tool === "ping" ? 2 : 3);

      const tcp = doc.cases.find((c) => c.scenario === "pod-pod-cross" && c.tool === "iperf3")!;
      const boxes = await page.locator(`#case-${tcp.caseId} .uplot canvas`).evaluateAll((cs) => cs.map((c) => c.getBoundingClientRect()).map((r) => [r.width, r.height]));
      expect(boxes).toHaveLength(3);
      for (const [w, h] of boxes) expect(w! * h!).toBeGreaterThan(100 * 100);
      // Another repetition redraws the same three charts.
      await page.locator(`#case-${tcp.caseId} select.rep`).selectOption("0");
      expect(await page.locator(`#case-${tcp.caseId} .uplot canvas`).count()).toBe(3);
      const legend = await page.locator(`#case-${tcp.caseId} .u-legend`).allTextContents();
      expect(legend.join(" ")).toMatch(new RegExp(`${tcp.clientNode} eth0 tx`));

      expect(errors, errors.join("\n")).toEqual([]);
      expect(requests).toEqual([url]);
      await page.close();
    },
    120_000,
  );

  test("failed repetitions, missing samples and missing intervals draw what there is, without an error", async () => {
    const resp = clone(GetRunResponseSchema, load(FIXTURES[0]!));
    const byCase = (pred: (key: string) => boolean) => resp.records.filter((r) => pred(r.key));
    const tcp = byCase((k) => k.startsWith("pod-pod-cross/iperf3/"));
    // Every repetition of one case failed, with no samples at all.
    const dead = tcp.filter((r) => r.caseId === tcp[0]!.caseId);
    for (const r of dead) {
      const rep = r.result!.repetitions[0]!;
      rep.outcome = { case: "failure", value: { $typeName: "netmatrix.v1.Failure", code: 4, reason: "timed out <after 30 s>", hint: "" } };
      rep.clientSamples = [];
      rep.serverSamples = [];
      rep.clientUsage = undefined;
      rep.serverUsage = undefined;
    }
    // Another case: the server sent no samples and the tool no intervals.
    const other = tcp.find((r) => r.caseId !== tcp[0]!.caseId)!;
    other.result!.repetitions[0]!.serverSamples = [];
    const m = other.result!.repetitions[0]!.outcome;
    if (m.case === "measurement") m.value.intervals = [];

    const { page, errors, requests, url } = await open("broken", resp);
    const canvases = await openEveryCase(page);
    expect(canvases.get(tcp[0]!.caseId)).toBe(0);
    expect(await page.locator(`#case-${tcp[0]!.caseId} .charts`).textContent()).toMatch(/This repetition failed: timed out <after 30 s>/);
    expect(await page.locator(`#case-${tcp[0]!.caseId} .failures`).textContent()).toMatch(/timeout: timed out <after 30 s>/);
    await page.locator(`#case-${other.caseId} select.rep`).selectOption(String(other.repetition));
    expect(await page.locator(`#case-${other.caseId} .uplot canvas`).count()).toBe(2);
    expect(errors, errors.join("\n")).toEqual([]);
    expect(requests).toEqual([url]);
    await page.close();
  }, 120_000);
});
