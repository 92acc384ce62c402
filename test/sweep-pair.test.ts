/**
 * A message-length sweep and an MSS sweep over real iperf3 on a veth pair in
 * two namespaces (no rate limit, so the size decides): the report's series
 * show throughput rising with the size — compared size against size, never
 * against fixed figures — and CPU per Gbit/s at each size. Needs root.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { canUseNamespaces, ip, listNamespaces } from "../lab/src/netns.js";
import type { SweepSeries } from "../report/src/sweeps.js";
import { createPair, type Pair } from "./harness/pair.js";
import { testSlot } from "./harness/slot.js";

const slot = testSlot();
const PREFIX = slot.prefix("swp");
const root = canUseNamespaces();
if (!root) console.warn("SKIPPED test/sweep-pair.test.ts: needs root to create network namespaces (run the suite as root, as CI does)");

describe.skipIf(!root)("sweeps over a veth pair (root)", () => {
  let pair: Pair;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), PREFIX));
    pair = await createPair({ prefix: PREFIX, block: slot.block });
  }, 60_000);

  afterAll(async () => {
    await pair?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(await listNamespaces(PREFIX)).toEqual([]);
  });

  /** Run `extra` spec lines on node-a → node-b; the report document. */
  async function sweep(name: string, extra: string[]) {
    const spec = join(dir, `${name}.yaml`);
    const lines = [`name: ${name}`, "scenarios: [host-host]", "tools: [iperf3]", "protocols: [tcp]", "duration: 2", "omit: 0", "repetitions: 1", "pairs: ring", ...extra];
    writeFileSync(spec, `${lines.join("\n")}\n`);
    const res = await pair.cli(["run", "--spec", spec, "--output", "json"]);
    const doc = JSON.parse(res.stdout || "null");
    if (!doc) throw new Error(`no JSON (exit ${res.code}): ${res.stderr}`);
    expect(doc.cases.filter((c: { summary: { failed: number } }) => c.summary.failed > 0)).toEqual([]);
    return doc as {
      run: { runId: string };
      cases: { clientNode: string; mss: number; repetitions: { measurement: { extra: Record<string, number> } }[] }[];
      sweeps?: SweepSeries[];
    };
  }

  const figures = (s: SweepSeries): string =>
    s.points.map((p) => `${p.sizeBytes} B: ${((p.throughputBps ?? 0) / 1e6).toFixed(0)} Mbit/s, ${p.clientCpuPercentPerGbps?.toFixed(1)} %CPU/Gbit/s`).join("; ");

  test("lengths 64 B, 1 KiB, 64 KiB: one series per direction, throughput rising with the length", async () => {
    const doc = await sweep("lengths", ['lengths: [64, 1024, "64K"]']);
    expect(doc.cases).toHaveLength(6);
    const series = doc.sweeps ?? [];
    expect(series.map((s) => [s.axis, s.clientNode, s.test, s.points.map((p) => p.sizeBytes)])).toEqual([
      ["lengthBytes", "node-a", "iperf3 tcp forward", [64, 1024, 65536]],
      ["lengthBytes", "node-b", "iperf3 tcp forward", [64, 1024, 65536]],
    ]);
    for (const s of series) {
      console.log(`length sweep ${s.clientNode} → ${s.serverNode}: ${figures(s)}`);
      const [small, mid, big] = s.points.map((p) => p.throughputBps!);
      // 64-byte writes are a syscall each: far slower than 64 KiB ones; 1 KiB in between.
      expect(small!).toBeLessThan(big! / 2);
      expect(small!).toBeLessThan(mid!);
      expect(s.points.every((p) => p.clientCpuPercentPerGbps !== null && p.clientCpuPercentPerGbps > 0)).toBe(true);
    }
    // The same series in the other reports: a chart each in the HTML page, a table each in the terminal's.
    const html = await pair.cli(["report", doc.run.runId, "--output", "html"]);
    expect(html.stdout.match(/<svg class="sweep-chart"/g)).toHaveLength(2);
    const table = await pair.cli(["report", doc.run.runId, "--output", "table", "--wide"]);
    expect(table.stdout).toContain("host-host node-a → node-b: iperf3 tcp forward, by message length");
  }, 120_000);

  test("mss 536 and 1460: iperf3 -M took effect, 2.7 × the segments at 536 make it slower than at 1460", async () => {
    // Segment in the stack, as a NIC without TSO does, so eth0 counts every segment with its headers (veth would carry 64 KiB GSO packets).
    for (const ns of [pair.nsA, pair.nsB]) await ip(["link", "set", "eth0", "gso_max_segs", "1"], ns);
    const doc = await sweep("mss", ['lengths: ["64K"]', "mss: [536, 1460]"]);
    expect(doc.cases.map((c) => c.mss).sort()).toEqual([1460, 1460, 536, 536]);
    for (const c of doc.cases) expect(c.repetitions[0]!.measurement.extra["tcp_mss_bytes"]).toBe(c.mss);
    const series = (doc.sweeps ?? []).filter((s) => s.axis === "mss");
    expect(series.map((s) => [s.clientNode, s.points.map((p) => p.sizeBytes)])).toEqual([
      ["node-a", [536, 1460]],
      ["node-b", [536, 1460]],
    ]);
    for (const s of series) {
      console.log(`mss sweep ${s.clientNode} → ${s.serverNode}: ${figures(s)}`);
      // Every segment costs the stack the same: 524-byte ones (timestamps on) move less per second than 1448-byte ones.
      const [small, big] = s.points.map((p) => p.throughputBps!);
      expect(small!).toBeLessThan(big!);
    }
  }, 120_000);
});
