/**
 * bench:scale, planner section — how long until the first round, and how much
 * memory, for a big cluster? Each measurement runs in a child process of its
 * own (this file with --one), so its peak RSS is its own.
 *
 * Clusters: N nodes × (host agent + 2 pod agents), all tools. Specs:
 *   mesh:  specs/default.yaml's rows (host-host, pod-pod-cross, pod-pod-same,
 *          pod-service-cross, pod-service-same) × tcp + udp, pairs: all,
 *          concurrency N/2, a Service provider: 5 × N(N−1)-ish cases.
 *   cover: the same rows with `pairs: { cover: 3, by: topology.kubernetes.io/zone }`
 *          over 8 zones.
 * Reference, side by side: the listed plan (every case made, then packed into
 * rounds — what the runner did before it streamed) for host-host alone at
 * 1,000 nodes, against the stream for the same spec.
 *
 *   npm run bench:scale -- --no-sim     (or node dist-dev/bench/scale-plan.js [--sizes 1000,5000])
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { formatDurationS } from "../common/src/units.js";
import { plan, PlanStream, schedule, specFromObject, type PlannerAgent } from "../coordinator/src/matrix/index.js";

const TOOLS: PlannerAgent["tools"] = ["iperf3", "iperf2", "qperf", "ping"];
const ZONE = "topology.kubernetes.io/zone";

function cluster(nodes: number, podsToo: boolean): PlannerAgent[] {
  const out: PlannerAgent[] = [];
  for (let i = 0; i < nodes; i++) {
    const node = `node-${String(i).padStart(5, "0")}`;
    const labels = { [ZONE]: `zone-${i % 8}` };
    out.push({ id: `${node}/host`, node, mode: "host", address: `198.18.${i >> 8}.${i & 255}`, tools: TOOLS, labels });
    if (!podsToo) continue;
    for (const p of ["a", "b"]) out.push({ id: `${node}/pod/${node}-${p}`, node, mode: "pod", address: `10.244.${i >> 8}.${i & 255}`, tools: TOOLS, labels });
  }
  return out;
}

type Kind = "mesh" | "cover" | "host-mesh-stream" | "host-mesh-listed";

/** One measurement (in this process): the JSON line the parent reads. */
function one(kind: Kind, nodes: number): Record<string, number | string> {
  const hostOnly = kind.startsWith("host-");
  const agents = cluster(nodes, !hostOnly);
  const spec = specFromObject(
    {
      name: "scale",
      scenarios: hostOnly ? ["host-host"] : ["host-host", "pod-pod-cross", "pod-pod-same", "pod-service-cross", "pod-service-same"],
      tools: ["iperf3"],
      protocols: hostOnly ? ["tcp"] : ["tcp", "udp"],
      pairs: kind === "cover" ? { cover: 3, by: ZONE } : "all",
      concurrency: Math.min(1000, Math.floor(nodes / 2)),
      repetitions: 3,
    },
    "<bench>",
  );
  const opts = { serviceProvider: { kinds: ["clusterip", "nodeport"] as ("clusterip" | "nodeport")[] } };
  const t0 = performance.now();
  if (kind === "host-mesh-listed") {
    const p = plan(spec, agents, opts);
    const rounds = schedule(p.cases, { concurrency: spec.concurrency, repetitions: spec.repetitions });
    const ms = performance.now() - t0;
    return { kind, nodes, firstRoundMs: ms, cases: p.cases.length, rounds: rounds.length, firstRound: rounds[0]!.length, maxRssMB: process.resourceUsage().maxRSS / 1024 };
  }
  const s = new PlanStream(spec, agents, opts);
  const first = s.round(0);
  const ms = performance.now() - t0;
  return {
    kind,
    nodes,
    firstRoundMs: ms,
    cases: s.totals.cases,
    rounds: s.totals.rounds,
    firstRound: first.cases.length,
    estimatedS: s.totals.estimatedMs / 1000,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  };
}

/** Run one measurement in a child process and return its line. */
function child(kind: Kind, nodes: number): Record<string, number | string> {
  const out = execFileSync(process.execPath, ["--max-old-space-size=4096", fileURLToPath(import.meta.url), "--one", kind, "--nodes", String(nodes)], { encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").pop()!) as Record<string, number | string>;
}

const fmt = (n: number | string | undefined, digits = 0): string => (typeof n === "number" ? n.toLocaleString("en-US", { maximumFractionDigits: digits }) : String(n));
const bar = (ok: boolean): string => (ok ? "OK" : "OVER");

/** The planner section of bench:scale: prints its lines, returns whether every bar held. */
export function planSection(sizes: number[] = [1000, 5000]): boolean {
  let held = true;
  console.log("\nplanner: time to the first round and peak RSS (each in its own process)");
  for (const kind of ["mesh", "cover"] as const) {
    for (const nodes of sizes) {
      let r: Record<string, number | string>;
      try {
        r = child(kind, nodes);
      } catch (err) {
        console.log(`  ${kind.padEnd(5)} ${fmt(nodes).padStart(5)} nodes: FAILED ${(err as Error).message.split("\n")[0]}`);
        held = false;
        continue;
      }
      const ms = r.firstRoundMs as number;
      const rss = r.maxRssMB as number;
      const bars = nodes >= 5000 && kind === "mesh" ? ` [bars < 1 s: ${bar(ms < 1000)}, < 300 MB: ${bar(rss < 300)}]` : "";
      if (bars.includes("OVER")) held = false;
      console.log(
        `  ${kind.padEnd(5)} ${fmt(nodes).padStart(5)} nodes × 3 agents: first round in ${fmt(ms)} ms, peak RSS ${fmt(rss)} MB; ${fmt(r.cases)} cases, ${fmt(r.rounds)} rounds (${fmt(r.firstRound)} cases in the first), ~${formatDurationS(r.estimatedS as number)}${bars}`,
      );
    }
  }
  const listed = child("host-mesh-listed", 1000);
  const streamed = child("host-mesh-stream", 1000);
  console.log(
    `  side by side, host-host full mesh of 1,000 nodes (${fmt(listed.cases)} cases × 3 repetitions): listed + packed ${fmt(listed.firstRoundMs)} ms, ${fmt(listed.maxRssMB)} MB; ` +
      `streamed ${fmt(streamed.firstRoundMs)} ms, ${fmt(streamed.maxRssMB)} MB → ${fmt((listed.firstRoundMs as number) / (streamed.firstRoundMs as number), 0)}× faster, ` +
      `${fmt((listed.maxRssMB as number) / (streamed.maxRssMB as number), 1)}× less memory; rounds ${fmt(listed.rounds)} listed vs ${fmt(streamed.rounds)} streamed`,
  );
  return held;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { one: { type: "string" }, nodes: { type: "string", default: "1000" }, sizes: { type: "string", default: "1000,5000" } } });
  if (values.one) console.log(JSON.stringify(one(values.one as Kind, Number(values.nodes))));
  else process.exitCode = planSection(values.sizes.split(",").map(Number)) ? 0 : 1;
}
