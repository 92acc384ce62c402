/**
 * The UDP rate ladder over real iperf3 on a 500 Mbit/s tbf-limited veth pair
 * (both directions limited): the rate found lands within 5 % of what the
 * path carries: 500 Mbit/s × payload/wire, payload being iperf3's own
 * datagram length (from its figures: bytes received over datagrams
 * received) and wire that plus UDP, IPv4 and Ethernet headers (what tbf
 * counts) — or, on a machine too busy for the sender to reach that, the
 * most the sender sent in any step of the same ladder (measured here, so a
 * busy CI machine moves the reference, not the verdict). Needs root.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import reportSchema from "../docs/report.schema.json" with { type: "json" };
import { canUseNamespaces, listNamespaces, rateLimit } from "../lab/src/netns.js";
import { createPair, type Pair } from "./harness/pair.js";
import { testSlot } from "./harness/slot.js";
import { datagramBytesOf, udpGoodputBps } from "./harness/udp-theory.js";

const slot = testSlot();
const PREFIX = slot.prefix("tladr");
const root = canUseNamespaces();
const ajv = new Ajv2020({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validateReport = ajv.compile(reportSchema);
if (!root) console.warn("SKIPPED test/ladder.test.ts: needs root to create network namespaces (run the suite as root, as CI does)");

describe.skipIf(!root)("a UDP rate ladder on a 500 Mbit/s tbf link (root)", () => {
  let pair: Pair;
  let dir: string;

  beforeAll(async () => {
    pair = await createPair({ prefix: PREFIX, block: slot.block, rate: "500mbit" });
    await rateLimit(pair.nsB, "eth0", "500mbit");
    dir = mkdtempSync(join(tmpdir(), "nm-ladder-"));
  }, 60_000);

  afterAll(async () => {
    await pair?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(await listNamespaces(PREFIX)).toEqual([]);
  });

  test("udp: ladder finds 500 Mbit/s × payload/wire (or the sender's most, when busy) within 5 %, in at most its steps, with its curve in JSON, table and HTML", async () => {
    const file = join(dir, "ladder.yaml");
    const spec = ["name: ladder", "scenarios: [host-host]", "tools: [iperf3]", "protocols: [udp]", "repetitions: 1", "udp: { ladder: { steps: 8, duration: 2 } }", ""];
    writeFileSync(file, spec.join("\n"));
    const res = await pair.cli(["run", "--spec", file, "--output", "json"]);
    expect(res.code, res.stderr).toBe(0);
    const doc = JSON.parse(res.stdout);
    expect(validateReport(doc), ajv.errorsText(validateReport.errors)).toBe(true);
    expect(doc.cases).toHaveLength(2); // node-a → node-b and back, both through a 500 Mbit/s tbf
    for (const c of doc.cases) {
      expect(c.key).toMatch(/iperf3\/udp\/forward\/P1\/L0\/ladder/);
      const l = c.ladders[0];
      // offered→sent→received:loss per step, so a miss says whether the path or the sender (its CPU) stopped the climb.
      const mb = (v: number | null) => (v === null ? "-" : (v / 1e6).toFixed(0));
      const curve = l.steps
        .map(
          (s: { offeredBps: number; sentBps: number | null; receivedBps: number | null; lossPercent: number | null; good: boolean; failure: string | null }) =>
            `${mb(s.offeredBps)}→${mb(s.sentBps)}→${mb(s.receivedBps)}:${s.lossPercent?.toFixed(3)}%${s.good ? "" : "(bad)"}${s.failure ? ` (${s.failure})` : ""}`,
        )
        .join(" ");
      console.log(`${c.clientNode} → ${c.serverNode}: curve ${curve}`);
      expect(l.steps.length).toBeLessThanOrEqual(8);
      expect(l.found, l.stopReason).toBe(true);
      const m = c.repetitions[0].measurement;
      // The case's repetition is the found step's: iperf3's own datagram length from its figures.
      const datagram = datagramBytesOf(m)!;
      const theory = udpGoodputBps(500e6, datagram);
      // The reference: the link's rate, unless the sender could not get there (its CPU) when a step asked it
      // for at least that much — then the most it sent in such a step, measured in this ladder. A ladder that
      // never asked for the link's rate has no such step: it is held to the theory.
      const askedForMore = l.steps.filter((s: { offeredBps: number; sentBps: number | null }) => s.offeredBps >= theory && s.sentBps !== null);
      const mostSent = Math.max(0, ...askedForMore.map((s: { sentBps: number }) => s.sentBps));
      const senderLimited = askedForMore.length > 0 && mostSent < theory;
      const want = senderLimited ? mostSent : theory;
      const ratio = l.foundOfferedBps / want;
      console.log(
        `${c.clientNode} → ${c.serverNode}: found ${(l.foundOfferedBps / 1e6).toFixed(1)} Mbit/s offered (received ${(l.foundReceivedBps / 1e6).toFixed(1)}, loss ${l.foundLossPercent.toFixed(3)} %) in ${l.steps.length} steps from ${(l.startBps / 1e6).toFixed(0)} Mbit/s (${l.startFrom}); datagram ${datagram} B, theory ${(theory / 1e6).toFixed(1)} Mbit/s${senderLimited ? `, sender-limited at ${(mostSent / 1e6).toFixed(1)} Mbit/s` : ""}, ratio ${ratio.toFixed(4)}; curve ${l.steps.map((s: { offeredBps: number; lossPercent: number }) => `${(s.offeredBps / 1e6).toFixed(0)}:${s.lossPercent?.toFixed(2)}%`).join(" ")}`,
      );
      expect(datagram).toBeGreaterThan(1000);
      expect(datagram).toBeLessThanOrEqual(1472);
      expect(Math.abs(ratio - 1), `found ${mb(l.foundOfferedBps)} Mbit/s vs ${mb(want)}${senderLimited ? " (sender-limited)" : ""}; curve ${curve}`).toBeLessThan(0.05);
      expect(l.foundLossPercent).toBeLessThan(0.1);
      expect(m.lossPercent).toBe(l.foundLossPercent);
    }
    const table = await pair.cli(["report", doc.run.runId, "--output", "table", "--wide"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain("UDP rate ladders: the highest offered rate with loss under 0.1 %");
    expect(table.stdout).toMatch(/host-host node-a → node-b iperf3 .* \d\/8/);
    const html = await pair.cli(["report", doc.run.runId, "--output", "html"]);
    expect(html.code, html.stderr).toBe(0);
    expect(html.stdout).toContain('<section id="ladders">');
    expect(html.stdout).toContain('<svg class="ladder-chart"');
  }, 240_000);
});
