/**
 * The live page in headless Chromium (Debian's, driven by playwright-core):
 * real iperf3 traffic across two namespaces shows up in the page as a rate
 * within 5 % of what the tool measured. Needs root and /usr/bin/chromium.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { canUseNamespaces } from "../lab/src/netns.js";
import { createPair, type Pair } from "./harness/pair.js";
import { testSlot } from "./harness/slot.js";

const CHROMIUM = "/usr/bin/chromium";
const ready = canUseNamespaces() && existsSync(CHROMIUM);
if (!ready) console.warn(`SKIPPED test/web.test.ts: needs root and ${CHROMIUM} (apt-get install chromium; CI installs it)`);

describe.skipIf(!ready)("live page (root, chromium)", () => {
  let pair: Pair;
  let browser: Browser;
  let profile: string;

  beforeAll(async () => {
    const slot = testSlot();
    pair = await createPair({ prefix: slot.prefix("tweb"), block: slot.block, rate: "1gbit" });
    profile = mkdtempSync(join(tmpdir(), "nm-chromium-"));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await pair?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  test("a 1 Gbit iperf3 flow shows on node-a's eth0 within 5 % of the tool's rate", async () => {
    const token = readFileSync(pair.coordinator!.tokenFile, "utf8").trim();
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("request", (r) => requests.push(r.url()));
    const base = `http://127.0.0.1:${pair.coordinator!.httpPort}`;
    await page.goto(`${base}/?token=${token}&interval=500`);
    await page.waitForSelector("#status.live");
    // Run a long enough flow that the page's 500 ms samples settle at the limited rate.
    const running = pair.cli(["run", "--client", "node-a", "--server", "node-b", "--tool", "iperf3", "--duration", "6", "--output", "json"]);
    const row = page.locator('tr[data-agent="node-a/host"][data-iface="eth0"]');
    await row.waitFor();
    const seen: number[] = [];
    for (let i = 0; i < 12; i++) {
      await page.waitForTimeout(500);
      const v = Number(await row.getAttribute("data-tx-bps"));
      if (v > 0) seen.push(v);
    }
    const res = await running;
    const rep = JSON.parse(res.stdout).cases[0].repetitions[0];
    const tool = rep.measurement.receiverBps as number;
    // The steady-state samples: the middle of the flow, away from its start and end.
    const steady = seen.slice(2, -1).sort((a, b) => a - b);
    const median = steady[Math.floor(steady.length / 2)]!;
    console.log(`page showed eth0 tx ${(median / 1e6).toFixed(1)} Mbit/s (median of ${steady.length}); iperf3 measured ${(tool / 1e6).toFixed(1)} Mbit/s`);
    expect(Math.abs(median / tool - 1)).toBeLessThan(0.05);
    expect(await page.locator('.card[data-agent="node-b/host"][data-iface="eth0"] canvas').count()).toBeGreaterThan(0);
    expect(errors, errors.join("\n")).toEqual([]);
    expect(requests.every((u) => u.startsWith(base) || u.startsWith("ws://127.0.0.1"))).toBe(true);
    await page.screenshot({ path: join(profile, "live.png") });
  }, 90_000);

  test("a wrong token signs nobody in: a 401 saying how, no page, no cookie", async () => {
    const page = await browser.newPage();
    const res = await page.goto(`http://127.0.0.1:${pair.coordinator!.httpPort}/?token=wrong`);
    expect(res?.status()).toBe(401);
    expect(await page.textContent("body")).toMatch(/wrong token: open the page once as \/\?token=TOKEN/);
    expect(await page.locator("#rows").count()).toBe(0);
    expect(await page.context().cookies()).toEqual([]);
  }, 30_000);
});
