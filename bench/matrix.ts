/**
 * bench:matrix — what does running a matrix cost beyond the measurements?
 *
 * 1. A 20-case matrix of 5-second cases over real agents (two nodes, each
 *    with a host agent and two pod agents, on loopback): wall time divided by
 *    the sum of the cases' measurement durations (bar ≤ 1.05), measured from
 *    the coordinator's first to last event and from the CLI's start to exit.
 * 2. The streaming planner at 1,000 nodes (time to the first round, peak
 *    RSS, and the listed plan side by side), via bench/scale-plan.
 *
 *   npm run bench:matrix -- [--duration 5]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { exec } from "../common/src/exec.js";
import { startAgentProc, startCoordinatorProc } from "../test/harness/local-cluster.js";
import { spawnNetmatrix, stopAll } from "../test/harness/processes.js";
import { testSlot } from "../test/harness/slot.js";

const { values } = parseArgs({ options: { duration: { type: "string", default: "5" } } });
const duration = Number(values.duration);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "nm-bmatrix-"));
  try {
    const coord = await startCoordinatorProc({ dataDir: dir });
    const addr = `127.0.0.1:${coord.port}`;
    const slot = testSlot();
    let port = 0;
    for (const node of ["n1", "n2"]) {
      for (const pod of [undefined, "a", "b"]) {
        await startAgentProc({
          coordinator: addr,
          tokenFile: coord.tokenFile,
          node,
          mode: pod ? "pod" : "host",
          ...(pod ? { pod: `${node}-${pod}` } : {}),
          address: "127.0.0.1",
          portRange: slot.portRange(port, 100),
        });
        port += 100;
      }
    }
    const spec = join(dir, "bench.yaml");
    writeFileSync(
      spec,
      `name: bench\nscenarios: [host-host, pod-pod-cross, pod-pod-same, pod-host, host-pod]\ntools: [iperf3]\nprotocols: [tcp, udp]\nudpBitrates: [500M]\nduration: ${duration}\nomit: 0\nrepetitions: 1\npairs: all\n`,
    );
    const t0 = performance.now();
    const run = spawnNetmatrix(["run", "--spec", spec, "--output", "json", "--coordinator", addr, "--token-file", coord.tokenFile]);
    let first = 0;
    await run.waitFor(/run \d{8}-/, 60_000).then(() => (first = performance.now()));
    const code = await run.exited;
    const cliMs = performance.now() - t0;
    const doc = JSON.parse(run.stdout);
    const cases = doc.cases.length as number;
    const measured = cases * duration * 1000;
    const reps = doc.cases.flatMap((c: { repetitions: { wallMs?: number }[] }) => c.repetitions);
    const runMs = performance.now() - first;
    console.log(`matrix: ${cases} cases × ${duration} s (${doc.run.failed} failed, exit ${code})`);
    console.log(`  sum of measurement durations: ${(measured / 1000).toFixed(1)} s`);
    console.log(
      `  coordinator run (plan → last case, as the CLI saw it): ${(runMs / 1000).toFixed(1)} s → ratio ${(runMs / measured).toFixed(3)} (bar ≤ 1.05: ${runMs / measured <= 1.05 ? "met" : "NOT met"})`,
    );
    console.log(`  CLI end to end (process start → exit, incl. report): ${(cliMs / 1000).toFixed(1)} s → ratio ${(cliMs / measured).toFixed(3)}`);
    console.log(`  reported repetitions: ${reps.length}`);
    await stopAll();
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
  const plan = await exec({ argv: [process.execPath, new URL("./scale-plan.js", import.meta.url).pathname, "--sizes", "1000"], deadlineMs: 120_000, guard: false });
  process.stdout.write(plan.stdout);
  if (plan.exitCode !== 0) process.stderr.write(plan.stderr);
}

await main();
