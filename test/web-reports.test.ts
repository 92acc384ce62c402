/**
 * The coordinator's web page links to each kept run's HTML report: a real
 * coordinator process on loopback over a data dir holding a real recorded
 * run (report/fixtures/runs/host-gw), the run list and report routes with
 * and without the token, and the live page in headless Chromium showing the
 * run with a working link. Chromium parts skip clearly without
 * /usr/bin/chromium; no root needed.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startCoordinatorProc, type CoordinatorProc } from "./harness/local-cluster.js";
import { stopAll } from "./harness/processes.js";

const CHROMIUM = "/usr/bin/chromium";
const FIXTURE = "report/fixtures/runs/host-gw";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`SKIPPED the browser part of test/web-reports.test.ts: needs ${CHROMIUM} (apt-get install chromium; CI installs it)`);

describe("run reports on the coordinator's web server", () => {
  let dataDir: string;
  let coord: CoordinatorProc;
  let token: string;
  let base: string;
  const runId = (JSON.parse(readFileSync(join(FIXTURE, "meta.json"), "utf8")) as { runId: string }).runId;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "nm-webreports-"));
    mkdirSync(join(dataDir, "runs"));
    cpSync(FIXTURE, join(dataDir, "runs", runId), { recursive: true });
    coord = await startCoordinatorProc({ dataDir });
    token = readFileSync(coord.tokenFile, "utf8").trim();
    base = `http://127.0.0.1:${coord.httpPort}`;
  }, 60_000);

  afterAll(async () => {
    await stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("the run list and the report need the token; the report is the run's self-contained HTML", async () => {
    expect((await fetch(`${base}/api/runs`)).status).toBe(401);
    expect((await fetch(`${base}/runs/${runId}/report.html?token=wrong`)).status).toBe(401);
    const list = (await (await fetch(`${base}/api/runs?token=${token}`)).json()) as { runs: { runId: string; status: string; done: number }[] };
    expect(list.runs.map((r) => r.runId)).toEqual([runId]);
    expect(list.runs[0]!.done).toBe(90);
    const res = await fetch(`${base}/runs/${runId}/report.html?token=${token}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain(runId);
    expect(html).toContain('data-heatmap="');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="http/);
    const missing = await fetch(`${base}/runs/20000101-000000-0000/report.html?token=${token}`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toMatch(/no run "20000101-000000-0000"/);
  });

  test.skipIf(!hasChromium)(
    "the live page lists the run and its link opens the report",
    async () => {
      const profile = mkdtempSync(join(tmpdir(), "nm-chromium-"));
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      });
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push(e.message));
        page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
        await page.goto(`${base}/?token=${token}`);
        const link = page.locator(`tr[data-run="${runId}"] a`);
        await link.waitFor();
        expect(await page.locator(`tr[data-run="${runId}"] td`).nth(2).textContent()).toBe("finished");
        const [report] = await Promise.all([page.context().waitForEvent("page"), link.click()]);
        await report.waitForLoadState();
        report.on("pageerror", (e) => errors.push(e.message));
        expect(await report.title()).toContain(runId);
        expect(await report.locator("td.cell").count()).toBeGreaterThan(0);
        expect(errors, errors.join("\n")).toEqual([]);
      } finally {
        await browser.close();
        rmSync(profile, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
