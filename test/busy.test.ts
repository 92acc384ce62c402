/**
 * The busy-machine guard end to end on 127.0.0.1: a real coordinator, two
 * real agents and the real CLI drive real iperf3 (paced, so the measurement
 * itself needs little CPU), once on this machine as it is and once with a
 * busy loop on every core. The loaded repetition is flagged cpu-bound with
 * its figures, the run warns that the nodes were busy before it, and the
 * report carries the flag; the same case without the loops is not flagged
 * (unless something else on this machine saturated it: then its own figures
 * must say so). The loops are child processes of this test, killed by PID.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import runSchema from "../docs/run-document.schema.json" with { type: "json" };
import reportSchema from "../docs/report.schema.json" with { type: "json" };
import { CPU_BOUND } from "../common/src/busy.js";
import { startAgentProc, startCoordinatorProc, type CoordinatorProc } from "./harness/local-cluster.js";
import { runNetmatrix, stopAll } from "./harness/processes.js";
import { testSlot } from "./harness/slot.js";

const ajv = new Ajv2020({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validateRun = ajv.compile<any>(runSchema);
const validateReport = ajv.compile<any>(reportSchema);

const slot = testSlot();
let dir: string;
let coord: CoordinatorProc;
let addr: string;

/** Heartbeats come every 2 s (the coordinator's default): after this long every agent has reported a full interval under the new load. */
const TWO_HEARTBEATS_MS = 4_500;

/** One busy loop per core, as child processes; stop() kills them by PID. */
function busyLoops(): { stop(): void } {
  const loops: ChildProcess[] = [];
  for (let i = 0; i < availableParallelism(); i++) loops.push(spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" }));
  return {
    stop() {
      for (const p of loops) if (p.pid && p.exitCode === null && p.signalCode === null) process.kill(p.pid, "SIGKILL");
    },
  };
}

/** One paced iperf3 TCP repetition bz-a → bz-b through the real CLI, schema-checked. */
async function runCase() {
  const res = await runNetmatrix([
    "run",
    "--coordinator",
    addr,
    "--token-file",
    coord.tokenFile,
    "--client",
    "bz-a/host",
    "--server",
    "bz-b/host",
    "--tool",
    "iperf3",
    "--bitrate",
    "100M",
    "--duration",
    "2",
    "--output",
    "json",
  ]);
  let doc: any;
  try {
    doc = JSON.parse(res.stdout);
  } catch {
    throw new Error(`run printed no JSON (exit ${res.code}):\n${res.stderr}`);
  }
  if (!validateRun(doc)) throw new Error(`schema: ${ajv.errorsText(validateRun.errors)}`);
  const rep = doc.cases[0].repetitions[0];
  expect(rep.ok, res.stderr).toBe(true);
  return { ...res, rep };
}

/** Whether an end's figures break a CPU_BOUND rule (one stream). */
const breaks = (e: any): boolean => e.nodeBusyPercent >= CPU_BOUND.nodeBusyPercent || e.toolCpuPercent >= CPU_BOUND.toolCorePercent || e.stealPercent >= CPU_BOUND.stealPercent;

const figures = (rep: any) =>
  rep.cpu
    .map(
      (e: any) => `${e.end} busy ${e.nodeBusyPercent.toFixed(1)} % tool ${e.toolCpuPercent.toFixed(1)} % steal ${e.stealPercent.toFixed(1)} % queue ${e.procsRunning?.toFixed(1)}`,
    )
    .join("; ");

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nm-busy-"));
  coord = await startCoordinatorProc({ dataDir: dir });
  addr = `127.0.0.1:${coord.port}`;
  const common = { coordinator: addr, tokenFile: coord.tokenFile, address: "127.0.0.1" };
  await startAgentProc({ ...common, node: "bz-a", portRange: slot.portRange(0, 20) });
  await startAgentProc({ ...common, node: "bz-b", portRange: slot.portRange(20, 20) });
}, 60_000);

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("a busy machine (real iperf3 over loopback, busy loops on every core)", () => {
  test("loaded: the repetition is flagged cpu-bound with both ends' figures and the run warns before it; idle: not flagged", async () => {
    // As the machine is: up to three tries for one on which nothing else saturated the CPU.
    const idle: Awaited<ReturnType<typeof runCase>>[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await runCase();
      idle.push(r);
      // The flag always matches the figures: flagged exactly when an end broke a rule.
      expect(r.rep.flags.includes("cpu-bound"), figures(r.rep)).toBe(r.rep.cpu.some(breaks));
      if (!r.rep.cpu.some(breaks)) break;
    }
    const quiet = idle.find((r) => !r.rep.cpu.some(breaks));
    if (quiet) {
      expect(quiet.rep.flags).toEqual([]);
      expect(quiet.rep.cpuBound).toBeNull();
      expect(quiet.stderr).not.toMatch(/\[cpu-bound/);
    } else {
      console.warn(
        `busy.test: every idle try found this machine saturated by other work (${idle.map((r) => figures(r.rep)).join(" | ")}); only the flag's agreement with the figures was checked`,
      );
    }
    const before = idle.at(-1)!;
    expect(before.rep.cpu.map((e: any) => e.end)).toEqual(["client", "server"]);

    const loops = busyLoops();
    let loaded: Awaited<ReturnType<typeof runCase>>;
    try {
      await new Promise((r) => setTimeout(r, TWO_HEARTBEATS_MS));
      loaded = await runCase();
    } finally {
      loops.stop();
    }
    const { rep, stderr } = loaded;
    console.log(
      `busy.test: idle ${before.rep.measurement.throughputBps / 1e6} Mbit/s (${figures(before.rep)}); loaded ${rep.measurement.throughputBps / 1e6} Mbit/s (${figures(rep)})`,
    );
    expect(rep.flags, figures(rep)).toEqual(["cpu-bound"]);
    // Both ends sit on this one machine: both saturated, each with its figures.
    for (const e of rep.cpu) {
      expect(e.nodeBusyPercent, figures(rep)).toBeGreaterThanOrEqual(CPU_BOUND.nodeBusyPercent);
      expect(e.reasons).toContain("node-busy");
      expect(e.cpuCount).toBe(availableParallelism());
      expect(e.samples).toBeGreaterThan(5);
      expect(e.procsRunning).toBeGreaterThan(availableParallelism() - 1);
    }
    expect(rep.cpuBound).toMatch(/^client bz-a: node CPU \d+ % busy \(≥ 90 %\).*; run queue \d+\.\d on \d+ cores?; server bz-b: node CPU \d+ % busy/);
    if (quiet) expect(Math.min(...rep.cpu.map((e: any) => e.nodeBusyPercent))).toBeGreaterThan(Math.max(...quiet.rep.cpu.map((e: any) => e.nodeBusyPercent)));
    // People see it: the repetition line names the flag and the reason; the run warned before the case.
    expect(stderr).toMatch(/\[cpu-bound: client bz-a: node CPU \d+ % busy/);
    expect(stderr).toMatch(
      /warning: bz-a: CPU \d+ % busy before the run \(load \d+\.\d on \d+ cores?\): results may measure CPU, not the network; cases where it matters are flagged cpu-bound/,
    );
    expect(stderr).toMatch(/warning: bz-b: CPU \d+ % busy before the run/);
  }, 120_000);

  test("a matrix run on the loaded machine warns before its first case, and its report flags the case cpu-bound (1/1)", async () => {
    const spec = join(dir, "busy.yaml");
    writeFileSync(spec, "name: busy\nscenarios: [host-host]\ntools: [iperf3]\nprotocols: [tcp]\nduration: 1\nomit: 0\nrepetitions: 1\npairs: all\n");
    const loops = busyLoops();
    let res: Awaited<ReturnType<typeof runNetmatrix>>;
    try {
      await new Promise((r) => setTimeout(r, TWO_HEARTBEATS_MS));
      res = await runNetmatrix(["run", "--spec", spec, "--coordinator", addr, "--token-file", coord.tokenFile, "--output", "json"]);
    } finally {
      loops.stop();
    }
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/warning: bz-a: CPU \d+ % busy before the run/);
    const doc = JSON.parse(res.stdout);
    if (!validateReport(doc)) throw new Error(`schema: ${ajv.errorsText(validateReport.errors)}`);
    // Both directions of the pair (bz-a → bz-b and back): each case's one repetition ran on a saturated CPU.
    expect(doc.cases.length).toBeGreaterThan(0);
    for (const c of doc.cases) {
      expect(c.summary.flags, JSON.stringify(c.repetitions[0].cpu)).toContain("cpu-bound (1/1)");
      expect(c.repetitions[0].cpuBound).toMatch(/node CPU \d+ % busy/);
    }
    // The agents' load when the run started is kept with the run.
    expect(doc.agents.find((a: any) => a.id === "bz-a/host").load.cpuBusyPercent).toBeGreaterThanOrEqual(50);
  }, 120_000);
});
