/**
 * bench:image — the lab's matrix measured by plain processes and by the
 * image's containers (`lab run --image`: coordinator and every agent in a
 * container with the chart's security settings), alternated round by round on
 * one machine, and per scenario the median ratio containerized / plain of the
 * throughput of every row that has one (TCP and UDP, both directions). Containers share the
 * kernel and join the same network namespaces: the ratio should be 1.
 *
 *   sudo npm run bench:image -- [--image localhost/netmatrix/netmatrix:dev] [--rounds 2] [--duration 3] [--nic-rate 1gbit|off]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { runNetmatrix } from "../test/harness/processes.js";
import { testSlot } from "../test/harness/slot.js";
import { TEST_IMAGE } from "../test/harness/image.js";

const { values } = parseArgs({
  options: {
    image: { type: "string", default: TEST_IMAGE },
    rounds: { type: "string", default: "2" },
    duration: { type: "string", default: "3" },
    "nic-rate": { type: "string", default: "1gbit" },
  },
});

type Case = { scenario: string; tool: string; protocol: string; direction: string; summary: { throughputBps?: { mean: number }; failed: number } };

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function labRun(env: NodeJS.ProcessEnv, image: string | undefined): Promise<Case[]> {
  const args = ["lab", "run", "--nic-rate", values["nic-rate"]!, "--duration", values.duration!, "--output", "json", ...(image ? ["--image", image] : [])];
  const res = await runNetmatrix(args, { env });
  try {
    return (JSON.parse(res.stdout) as { cases: Case[] }).cases;
  } catch {
    throw new Error(`lab run ${image ? "--image " : ""}failed (exit ${res.code}):\n${res.stderr.slice(-3000)}`);
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error("bench:image needs root (the lab builds network namespaces and runs containers).");
    process.exit(2);
  }
  const dataDir = mkdtempSync(join(tmpdir(), "nm-bimage-"));
  const env = testSlot().labEnv(dataDir);
  // key → { plain: [...], image: [...] } throughput means, one per round.
  const samples = new Map<string, { plain: number[]; image: number[] }>();
  const failures: string[] = [];
  try {
    for (let r = 0; r < Number(values.rounds); r++) {
      // Alternate which goes first, so a machine that slows down over time favours neither.
      const order = r % 2 === 0 ? ([undefined, values.image] as const) : ([values.image, undefined] as const);
      for (const image of order) {
        const cases = await labRun(env, image);
        for (const c of cases) {
          if (c.summary.failed > 0) failures.push(`${image ? "image" : "plain"} round ${r + 1}: ${c.scenario} ${c.tool} ${c.protocol} ${c.direction}`);
          if (!c.summary.throughputBps) continue;
          const key = `${c.scenario} ${c.tool} ${c.protocol} ${c.direction}`;
          const s = samples.get(key) ?? { plain: [], image: [] };
          (image ? s.image : s.plain).push(c.summary.throughputBps.mean);
          samples.set(key, s);
        }
      }
    }
  } finally {
    await runNetmatrix(["lab", "down"], { env });
    rmSync(dataDir, { recursive: true, force: true });
  }
  const table = new Table({ head: ["scenario", "tool", "proto", "direction", "plain Mbit/s", "image Mbit/s", "image / plain"], style: { head: [], border: [] } });
  const ratios: number[] = [];
  for (const [key, s] of [...samples].sort(([a], [b]) => a.localeCompare(b))) {
    if (!s.plain.length || !s.image.length) continue;
    const ratio = median(s.image) / median(s.plain);
    ratios.push(ratio);
    const [scenario, tool, protocol, direction] = key.split(" ");
    table.push([scenario!, tool!, protocol!, direction!, (median(s.plain) / 1e6).toFixed(1), (median(s.image) / 1e6).toFixed(1), ratio.toFixed(3)]);
  }
  console.log(
    `lab matrix, plain processes vs the image's containers (${values.image}), ${values.rounds} rounds each, NICs ${values["nic-rate"]}, ${values.duration} s per measurement:`,
  );
  console.log(table.toString());
  console.log(
    `median ratio image/plain over ${ratios.length} throughput rows: ${median(ratios).toFixed(3)} (min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)})`,
  );
  if (failures.length) console.log(`failed cases:\n  ${failures.join("\n  ")}`);
}

await main();
