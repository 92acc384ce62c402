/**
 * bench:fidelity — does measuring through netmatrix change the number?
 *
 * On one veth path between two namespaces, alternate a raw `iperf3 -c` with
 * the same test through netmatrix (CLI → coordinator → agents), N pairs, and
 * print each pair, the median ratio netmatrix/raw, and the time netmatrix
 * adds per case (wall time minus measurement duration).
 *
 *   npm run bench:fidelity -- [--pairs 5] [--duration 5] [--rate 1gbit|none]
 */
import { parseArgs } from "node:util";
import { exec, startProcess } from "../common/src/exec.js";
import { canUseNamespaces } from "../lab/src/netns.js";
import { createPair, PAIR_ADDR } from "../test/harness/pair.js";
import { testSlot } from "../test/harness/slot.js";

const { values } = parseArgs({
  options: {
    pairs: { type: "string", default: "5" },
    duration: { type: "string", default: "5" },
    rate: { type: "string", default: "1gbit" },
  },
});
const pairs = Number(values.pairs);
const duration = Number(values.duration);
const rate = values.rate === "none" ? undefined : values.rate;
const RAW_PORT = "5299";

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  if (!canUseNamespaces()) {
    console.error("bench:fidelity needs root (it builds two network namespaces joined by a veth pair).");
    process.exit(2);
  }
  const slot = testSlot();
  const pair = await createPair({ prefix: slot.prefix("bfid"), block: slot.block, ...(rate ? { rate } : {}) });
  const server = startProcess({ argv: ["ip", "netns", "exec", pair.nsB, "iperf3", "-s", "-p", RAW_PORT], deadlineMs: (pairs * (duration + 15) + 60) * 1000 });
  try {
    await new Promise((r) => setTimeout(r, 500));
    const rows: { raw: number; nm: number; added: number; cliAdded: number }[] = [];
    for (let i = 0; i < pairs; i++) {
      const raw = await exec({
        argv: ["ip", "netns", "exec", pair.nsA, "iperf3", "-c", PAIR_ADDR.b, "-p", RAW_PORT, "-J", "-t", String(duration)],
        deadlineMs: (duration + 20) * 1000,
        guard: false,
      });
      const rawDoc = JSON.parse(raw.stdout) as { error?: string; end: { sum_received: { bits_per_second: number } } };
      if (rawDoc.error) throw new Error(`raw iperf3 failed: ${rawDoc.error}`);
      const t0 = performance.now();
      const nm = await pair.cli(["run", "--client", "node-a", "--server", "node-b", "--tool", "iperf3", "--duration", String(duration), "--output", "json"]);
      const cliMs = performance.now() - t0;
      const rep = JSON.parse(nm.stdout).cases[0].repetitions[0];
      if (!rep.ok) throw new Error(`netmatrix run failed: ${rep.failure.reason}`);
      const row = {
        raw: rawDoc.end.sum_received.bits_per_second,
        nm: rep.measurement.receiverBps as number,
        added: (rep.wallMs as number) - duration * 1000,
        cliAdded: cliMs - duration * 1000,
      };
      rows.push(row);
      console.log(
        `pair ${i + 1}/${pairs}: raw ${(row.raw / 1e6).toFixed(1)} Mbit/s  netmatrix ${(row.nm / 1e6).toFixed(1)} Mbit/s  ratio ${(row.nm / row.raw).toFixed(4)}  coordinator +${row.added.toFixed(0)} ms  CLI end-to-end +${row.cliAdded.toFixed(0)} ms`,
      );
    }
    const ratio = median(rows.map((r) => r.nm / r.raw));
    console.log(`\npath: veth between two namespaces, ${rate ? `tbf ${rate}` : "no rate limit"}; ${pairs} pairs × ${duration} s iperf3 TCP`);
    console.log(`median ratio netmatrix/raw: ${ratio.toFixed(4)} (bar ≥ 0.99: ${ratio >= 0.99 ? "met" : "NOT met"})`);
    console.log(`coordinator added time per case (repetition wall − duration): median ${median(rows.map((r) => r.added)).toFixed(0)} ms`);
    console.log(`CLI end-to-end added time (process start to exit − duration): median ${median(rows.map((r) => r.cliAdded)).toFixed(0)} ms`);
  } finally {
    await server.stop();
    await pair.close();
  }
}

await main();
