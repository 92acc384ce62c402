/**
 * bench:agent-cost — what one real agent process costs its node: CPU (% of
 * one core, from the kernel's per-thread run time, /proc/PID/task/TID/schedstat)
 * and RSS, while idle (heartbeats only), while a watcher samples it at 10 Hz
 * (`netmatrix watch --interval 0.1`), and during a case's sampling window at
 * 10 Hz (a ping case, 200 ms apart, from it to a second agent). Issue 15's
 * bars: idle ≤ 0.1 %, sampling at 10 Hz ≤ 1 %.
 *
 *   npm run -s build:dev && node dist-dev/bench/agent-cost.js [--idle-s 60] [--sample-s 60] [--settle-s 10]
 *
 * Real processes on 127.0.0.1 (coordinator, two agents, the CLI), logging at
 * info as in production; every one is stopped at the end, also on failure.
 * Prints a table and, last, one JSON line. `measureAgentCost` is exported
 * for other benchmarks (bench:scale).
 */
import { isMain } from "./is-main.js";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startAgentProc, startCoordinatorProc } from "../test/harness/local-cluster.js";
import { spawnNetmatrix, stopAll } from "../test/harness/processes.js";
import { testSlot } from "../test/harness/slot.js";

export interface AgentCost {
  /** % of one core over the idle window (heartbeats only), after `settleS` of start-up. */
  idleCpuPercent: number;
  /** % of one core while a watcher samples the agent at 10 Hz (batches sent once a second). */
  watch10HzCpuPercent: number;
  /** % of one core during a case's 10 Hz sampling window (ping, 200 ms apart). */
  case10HzCpuPercent: number;
  /** Resident set size, MB: idle, at the end of the watch, at the end of the case window. */
  rssMB: { idle: number; watching: number; case: number };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The process's run time on a CPU, ns: every thread's (GC and libuv threads too). */
function runNs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread just ended
    }
  }
  return ns;
}

function rssMB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** % of one core `pid` used over the next `seconds`. */
async function cpuOver(pid: number, seconds: number): Promise<number> {
  const a = runNs(pid);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const used = runNs(pid) - a;
  return Math.round((used / 1e6 / (performance.now() - t0)) * 100 * 1000) / 1000;
}

export async function measureAgentCost(o: { idleS?: number; sampleS?: number; settleS?: number } = {}): Promise<AgentCost> {
  const idleS = o.idleS ?? 60;
  const sampleS = o.sampleS ?? 60;
  const settleS = o.settleS ?? 10;
  const slot = testSlot();
  const dir = mkdtempSync(join(tmpdir(), "nm-agent-cost-"));
  try {
    const coord = await startCoordinatorProc({ dataDir: join(dir, "coordinator") });
    const listen = `127.0.0.1:${coord.port}`;
    const info = { NETMATRIX_LOG_LEVEL: "info" };
    const agent = await startAgentProc({ coordinator: listen, tokenFile: coord.tokenFile, node: "cost-a", address: "127.0.0.1", portRange: slot.portRange(700, 20), env: info });
    const pid = agent.child.pid!;
    await sleep(settleS * 1000);
    const idleCpuPercent = await cpuOver(pid, idleS);
    const idleRss = rssMB(pid);

    const watch = spawnNetmatrix(["watch", "--coordinator", listen, "--token-file", coord.tokenFile, "--node", "cost-a", "--interval", "0.1", "--output", "json"]);
    await sleep(3000);
    const watch10HzCpuPercent = await cpuOver(pid, sampleS);
    const watchingRss = rssMB(pid);
    await watch.stop();

    await startAgentProc({ coordinator: listen, tokenFile: coord.tokenFile, node: "cost-b", address: "127.0.0.1", portRange: slot.portRange(720, 20), metrics: "off", env: info });
    const count = Math.ceil((sampleS + 10) / 0.2);
    const run = spawnNetmatrix([
      "run",
      "--coordinator",
      listen,
      "--token-file",
      coord.tokenFile,
      "--client",
      "cost-a",
      "--server",
      "cost-b",
      "--tool",
      "ping",
      "--count",
      String(count),
      "--interval",
      "200",
      "--output",
      "json",
    ]);
    await sleep(4000);
    const case10HzCpuPercent = await cpuOver(pid, sampleS);
    const caseRss = rssMB(pid);
    await run.exited;
    return { idleCpuPercent, watch10HzCpuPercent, case10HzCpuPercent, rssMB: { idle: idleRss, watching: watchingRss, case: caseRss } };
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: { "idle-s": { type: "string", default: "60" }, "sample-s": { type: "string", default: "60" }, "settle-s": { type: "string", default: "10" } },
  });
  const cost = await measureAgentCost({ idleS: Number(values["idle-s"]), sampleS: Number(values["sample-s"]), settleS: Number(values["settle-s"]) });
  const rows: [string, string, string][] = [
    ["idle (heartbeats only)", `${cost.idleCpuPercent.toFixed(3)} %`, "≤ 0.1 %"],
    ["watched at 10 Hz", `${cost.watch10HzCpuPercent.toFixed(3)} %`, "≤ 1 %"],
    ["case window at 10 Hz", `${cost.case10HzCpuPercent.toFixed(3)} %`, "≤ 1 %"],
    ["RSS idle / watched / case", `${cost.rssMB.idle} / ${cost.rssMB.watching} / ${cost.rssMB.case} MB`, ""],
  ];
  for (const [what, value, bar] of rows) process.stdout.write(`${what.padEnd(28)}${value.padEnd(26)}${bar}\n`);
  process.stdout.write(`${JSON.stringify({ kind: "netmatrix.bench.agent-cost/v1", ...cost })}\n`);
}
