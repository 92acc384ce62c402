/**
 * The live page and the reports under attack (issue 12, item 6, web part), in
 * headless Chromium (Debian's, driven by playwright-core) against a real
 * coordinator on loopback:
 *
 * - stored XSS: an agent whose node and interface names are
 *   `<img src=x onerror=…>` and a run whose name is one: the page shows them
 *   as text, creates no element from them and runs no script;
 * - the token: `/?token=` sets an HttpOnly, SameSite=Strict cookie and
 *   redirects to the page without it; no later request (feed, run list,
 *   report link) carries it in its URL, and the page's script cannot read it;
 * - every response carries the security headers; the page runs under a CSP
 *   with no inline script, the report under one allowing only its own
 *   inline scripts (by hash), and both work, with no CSP violation.
 *
 * The hostile agent is put straight into the coordinator's registry: the
 * registration now refuses such names (common/src/registration.ts), but the
 * page must be safe against whatever name reaches it.
 */
import { create } from "@bufbuild/protobuf";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { ServerDuplexStream } from "@grpc/grpc-js";
import { chromium, type Browser, type ConsoleMessage } from "playwright-core";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AgentMessageSchema, type AgentMessage, type CoordinatorMessage } from "../gen/netmatrix/v1/agent_pb.js";
import { AgentInfoSchema, NetworkMode, NodeSampleSchema } from "../gen/netmatrix/v1/types_pb.js";
import { AgentLink } from "../coordinator/src/agent-link.js";
import { startCoordinator, type RunningCoordinator } from "../coordinator/src/coordinator.js";
import { SECURITY_HEADERS, tokenCookieName } from "../coordinator/src/web/server.js";
import { htmlReport, reportScriptHashes } from "../report/src/html-report.js";

const CHROMIUM = "/usr/bin/chromium";
const FIXTURE = "report/fixtures/runs/host-gw";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`SKIPPED the browser part of test/web-security.test.ts: needs ${CHROMIUM} (apt-get install chromium; CI installs it)`);

/** Markup that runs script wherever it is parsed as HTML. */
const EVIL_NODE = `<img src=x onerror="window.__xss=(window.__xss||0)+1">`;
const EVIL_IFACE = `<svg onload="window.__xss=(window.__xss||0)+1">`;
const EVIL_RUN = `<img src=y onerror="window.__xss=(window.__xss||0)+1">`;

describe("the live page and the reports under attack", () => {
  let dataDir: string;
  let coord: RunningCoordinator;
  let base: string;
  const token = "s3cret-token-0123456789abcdef";
  const runId = (JSON.parse(readFileSync(join(FIXTURE, "meta.json"), "utf8")) as { runId: string }).runId;
  let stopStreaming = (): void => undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "nm-websec-"));
    mkdirSync(join(dataDir, "runs"));
    cpSync(FIXTURE, join(dataDir, "runs", runId), { recursive: true });
    const meta = join(dataDir, "runs", runId, "meta.json");
    writeFileSync(meta, JSON.stringify({ ...JSON.parse(readFileSync(meta, "utf8")), name: EVIL_RUN }));
    coord = await startCoordinator(
      { listen: "127.0.0.1:0", http: "127.0.0.1:0", token, dataDir, reportHtml: (run) => htmlReport(run), reportScriptHashes: reportScriptHashes() },
      pino({ level: "silent" }),
    );
    base = `http://127.0.0.1:${coord.httpPort}`;
    // An agent named with markup, whose live samples name an interface with markup too.
    const session = new PassThrough({ objectMode: true });
    const link = new AgentLink(
      `${EVIL_NODE}/host`,
      "evil-1",
      create(AgentInfoSchema, { node: EVIL_NODE, mode: NetworkMode.HOST }),
      "127.0.0.1:1",
      session as unknown as ServerDuplexStream<AgentMessage, CoordinatorMessage>,
    );
    const streams = new Set<string>();
    session.on("data", (m: CoordinatorMessage) => {
      if (m.msg.case === "startStream") streams.add(m.msg.value.streamId);
      if (m.msg.case === "stopStream") streams.delete(m.msg.value.streamId);
    });
    const ticker = setInterval(() => {
      for (const streamId of streams) {
        const sample = create(NodeSampleSchema, { wallMs: Date.now(), intervalMs: 500, interfaces: [{ name: EVIL_IFACE, rxBps: 1e6, txBps: 2e6 }] });
        link.onMessage(create(AgentMessageSchema, { msg: { case: "sampleBatch", value: { streamId, samples: [sample] } } }));
      }
    }, 200);
    stopStreaming = () => clearInterval(ticker);
    coord.registry.add(link);
  }, 60_000);

  afterAll(async () => {
    stopStreaming();
    await coord?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("every route answers with the security headers; the token signs in once, as an HttpOnly SameSite=Strict cookie", async () => {
    const signIn = await fetch(`${base}/?token=${token}&interval=500`, { redirect: "manual" });
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get("location")).toBe("/?interval=500");
    const cookie = signIn.headers.get("set-cookie")!;
    expect(cookie).toBe(`${tokenCookieName(coord.httpPort!)}=${token}; HttpOnly; SameSite=Strict; Path=/`);
    const jar = cookie.split(";")[0]!;
    const reportCsp = `script-src ${reportScriptHashes().join(" ")}; style-src 'unsafe-inline'`;
    const routes: [string, RequestInit, number, string][] = [
      [`/?token=${token}`, { redirect: "manual" }, 303, "default-src 'none'; frame-ancestors"],
      ["/", { headers: { cookie: jar } }, 200, "script-src 'self'; style-src 'self'"],
      ["/", {}, 401, "default-src 'none'; frame-ancestors"],
      ["/assets/live.js", {}, 200, "default-src 'none'; frame-ancestors"],
      ["/assets/uPlot.iife.min.js", {}, 200, "default-src 'none'; frame-ancestors"],
      ["/api/runs", { headers: { cookie: jar } }, 200, "default-src 'none'; frame-ancestors"],
      [`/api/runs?token=${token}`, {}, 200, "default-src 'none'; frame-ancestors"],
      ["/api/runs", {}, 401, "default-src 'none'; frame-ancestors"],
      [`/runs/${runId}/report.html`, { headers: { cookie: jar } }, 200, reportCsp],
      ["/runs/20000101-000000-0000/report.html", { headers: { cookie: jar } }, 404, "default-src 'none'; frame-ancestors"],
      ["/nowhere", {}, 404, "default-src 'none'; frame-ancestors"],
      ["/favicon.ico", {}, 204, "default-src 'none'; frame-ancestors"],
    ];
    for (const [path, init, status, csp] of routes) {
      const res = await fetch(`${base}${path}`, init);
      expect.soft(res.status, path).toBe(status);
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect.soft(res.headers.get(k), `${path}: ${k}`).toBe(v);
      expect.soft(res.headers.get("content-security-policy"), path).toContain(csp);
      expect.soft(res.headers.get("content-security-policy"), path).toMatch(/frame-ancestors 'none'/);
    }
    // The run list as a script gets it: the run's name is data, as it was stored.
    const runs = (await (await fetch(`${base}/api/runs?token=${token}`)).json()) as { runs: { name: string }[] };
    expect(runs.runs[0]!.name).toBe(EVIL_RUN);
  });

  test.skipIf(!hasChromium)(
    "names with markup show as text and run nothing; the token never appears in a URL after sign-in; page and report run under their CSP",
    async () => {
      const profile = mkdtempSync(join(tmpdir(), "nm-chromium-"));
      let browser: Browser | undefined;
      try {
        browser = await chromium.launch({
          executablePath: CHROMIUM,
          args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        const context = await browser.newContext();
        const problems: string[] = [];
        const urls: string[] = [];
        const onConsole = (m: ConsoleMessage) => m.type() === "error" && problems.push(`console: ${m.text()}`);
        context.on("page", (p) => {
          p.on("websocket", (ws) => urls.push(ws.url()));
          p.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
          p.on("console", onConsole);
          p.on("dialog", (d) => (problems.push(`dialog: ${d.message()}`), void d.dismiss()));
        });
        context.on("request", (r) => urls.push(r.url()));
        const page = await context.newPage();
        await page.goto(`${base}/?token=${token}&interval=500`);
        // Redirected to the page without the token.
        expect(page.url()).toBe(`${base}/?interval=500`);
        await page.waitForSelector("#status.live");
        const row = page.locator("#rows tr").first();
        await row.waitFor();
        await page.locator(`#runs tr[data-run="${runId}"]`).waitFor();
        await page.waitForTimeout(1500);

        // The names, as text, exactly; no element made from them; no script run.
        expect(await row.locator("td").nth(0).textContent()).toBe(`${EVIL_NODE}/host`);
        expect(await row.locator("td").nth(1).textContent()).toBe(EVIL_IFACE);
        expect(await page.locator(".card h3").first().textContent()).toBe(`${EVIL_NODE}/host · ${EVIL_IFACE}`);
        expect(await page.locator(`#runs tr[data-run="${runId}"] td`).nth(1).textContent()).toBe(EVIL_RUN);
        expect(await page.locator("#rows img, #rows svg, #charts img, #charts h3 svg, #runs img").count()).toBe(0);
        expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();

        // The cookie: HttpOnly (the page's script cannot read it), SameSite=Strict, for this server only.
        const [cookie] = await context.cookies(base);
        expect(cookie).toMatchObject({ name: tokenCookieName(coord.httpPort!), value: token, httpOnly: true, sameSite: "Strict", path: "/" });
        expect(await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie)).not.toContain(token);

        // The report link carries no token; the report opens (cookie) and its scripts run under its CSP.
        const link = page.locator(`#runs tr[data-run="${runId}"] a`);
        expect(await link.getAttribute("href")).toBe(`/runs/${runId}/report.html`);
        const [report] = await Promise.all([context.waitForEvent("page"), link.click()]);
        await report.waitForLoadState();
        expect(await report.title()).toContain(runId);
        await report.locator("#open-all").click();
        await report.locator("section.case[data-rendered]").first().waitFor();
        expect(await report.locator("section.case canvas").count()).toBeGreaterThan(0);
        expect(await report.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();

        // After the sign-in, no request carried the token in its URL (the feed, the run list, the assets, the report).
        const after = urls.slice(urls.findIndex((u) => u === `${base}/?interval=500`));
        expect(after.length).toBeGreaterThan(4);
        expect(after.filter((u) => u.includes(token))).toEqual([]);
        expect(after.some((u) => u.startsWith(`ws://127.0.0.1:${coord.httpPort}/ws?`))).toBe(true);
        expect(problems, problems.join("\n")).toEqual([]);
      } finally {
        await browser?.close();
        rmSync(profile, { recursive: true, force: true });
      }
    },
    90_000,
  );
});
