/**
 * Storage faults under a real coordinator with real agents on loopback (real
 * iperf3 and ping): its data dir is a small tmpfs that the test fills up
 * mid-run, or remounts read-only. The run stops as "failed" with an error
 * naming the file and the fix, leaves no .tmp file and no counted torn line,
 * and resumes on the same coordinator once the disk is fixed, measuring every
 * case repetition exactly once. Needs root (mount); skipped otherwise.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startAgentProc, startCoordinatorProc, writeToken, type CoordinatorProc } from "./harness/local-cluster.js";
import { runNetmatrix, spawnNetmatrix, stopAll } from "./harness/processes.js";
import { testSlot } from "./harness/slot.js";
import { fillFileSystem } from "./harness/fill.js";

const root = process.getuid?.() === 0;
const slot = testSlot();

let work: string;
let data: string;
let mounted = false;
let coord: CoordinatorProc;
let addr: string;

const cli = (args: string[]) => runNetmatrix([...args, "--coordinator", addr, "--token-file", coord.tokenFile]);
const runDir = (runId: string): string => join(data, "runs", runId);
const filler = (): string => join(data, "filler");

/** Fill the tmpfs until it refuses another byte. */
function fill(): void {
  fillFileSystem(filler());
}

/** `mount -o remount,MODE`, retried while a write holds the file system busy. */
async function remount(mode: "ro" | "rw"): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      execFileSync("mount", ["-o", `remount,${mode}`, data], { stdio: "pipe" });
      return;
    } catch (err) {
      if (i >= 50) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function spec(name: string): string {
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\nscenarios: [host-host]\ntools: [iperf3, ping]\nprotocols: [tcp]\nduration: 1\nomit: 0\nrepetitions: 2\npairs: { nodes: [n1, n2] }\n`);
  return file;
}

/** cases.jsonl as written: every line whole and parsed (a torn or damaged line fails here), as `caseId#repetition`. */
function keysOnDisk(runId: string): string[] {
  const text = readFileSync(join(runDir(runId), "cases.jsonl"), "utf8");
  if (!text) return [];
  expect(text.endsWith("\n"), "cases.jsonl ends with a whole line").toBe(true);
  return text
    .slice(0, -1)
    .split("\n")
    .map((l) => JSON.parse(l) as { caseId: string; repetition?: number })
    .map((r) => `${r.caseId}#${r.repetition ?? 0}`);
}

const tmpFiles = (runId: string): string[] => readdirSync(runDir(runId)).filter((f) => f.endsWith(".tmp"));
const meta = (runId: string): { status: string; error?: string; done?: number } => JSON.parse(readFileSync(join(runDir(runId), "meta.json"), "utf8"));
const listed = async (runId: string): Promise<{ status: string; error?: string; done: number }> => {
  const res = await cli(["runs", "--output", "json"]);
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout).runs.find((r: { runId: string }) => r.runId === runId);
};

/** Resume on the same coordinator and check every case repetition is on disk exactly once. */
async function resumeCompletes(runId: string, before: number): Promise<void> {
  const res = await cli(["run", "--resume", runId, "--output", "json"]);
  expect(res.code, res.stderr).toBe(0);
  expect(res.stderr).toContain(`(${before} already done)`);
  const keys = keysOnDisk(runId);
  expect(keys).toHaveLength(8);
  expect(new Set(keys).size).toBe(8);
  expect(JSON.parse(res.stdout).run).toMatchObject({ status: "finished", total: 8, done: 8 });
  expect(meta(runId)).toMatchObject({ status: "finished", done: 8 });
  expect(meta(runId).error ?? "").toBe("");
}

describe.skipIf(!root)("storage faults (coordinator data dir on a small tmpfs; real agents, iperf3 and ping; needs root for mount, skipped otherwise)", () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "nm-storage-"));
    data = mkdtempSync(join(tmpdir(), "nm-storage-data-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "nm-storage-test", data]);
    mounted = true;
    coord = await startCoordinatorProc({ dataDir: data, listen: "127.0.0.1:0", tokenFile: writeToken(work) });
    addr = `127.0.0.1:${coord.port}`;
    for (const [i, node] of ["n1", "n2"].entries()) {
      await startAgentProc({ coordinator: addr, tokenFile: coord.tokenFile, node, address: "127.0.0.1", portRange: slot.portRange(920 + 40 * i, 40) });
    }
  }, 90_000);

  afterAll(async () => {
    await stopAll();
    try {
      if (mounted) execFileSync("umount", [data]);
    } finally {
      rmSync(data, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    }
  });

  test("disk full mid-run: failed with the file and the fix, no .tmp, no torn line; resumes after space is freed, each case once", async () => {
    const run = spawnNetmatrix(["run", "--spec", spec("full"), "--coordinator", addr, "--token-file", coord.tokenFile]);
    const runId = (await run.waitFor(/run (\d{8}-\d{6}-[0-9a-f]{4})/, 60_000))[1]!;
    await run.waitFor(/\[2\/8\]/, 60_000);
    fill();
    expect(await run.exited).toBe(2);
    const file = new RegExp(`run ${runId} stopped: cannot write ${runDir(runId)}/(cases\\.jsonl|meta\\.json): no space left on the disk \\(ENOSPC\\)`);
    expect(run.stderr).toMatch(file);
    expect(run.stderr).toContain(`hint: free space on the disk holding ${data} (see \`df -h ${data}\`), or start the coordinator with --data-dir`);
    expect(run.stderr).toContain(`continue it with \`netmatrix run --resume ${runId}\``);
    expect(tmpFiles(runId)).toEqual([]);
    const before = keysOnDisk(runId).length;
    expect(before).toBeGreaterThanOrEqual(2);
    expect(before).toBeLessThan(8);
    const failed = await listed(runId);
    expect(failed).toMatchObject({ status: "failed", done: before });
    expect(failed.error).toMatch(file);

    // Still full: the resume is refused with the same clear error (not "running now"), and changes nothing.
    const early = await cli(["run", "--resume", runId]);
    expect(early.code).toBe(2);
    expect(early.stderr).toContain(`cannot write ${runDir(runId)}/meta.json: no space left on the disk (ENOSPC)`);
    expect(keysOnDisk(runId)).toHaveLength(before);
    expect(tmpFiles(runId)).toEqual([]);

    rmSync(filler());
    // The first store access with room writes the failed state the coordinator kept in memory.
    expect((await listed(runId)).status).toBe("failed");
    expect(meta(runId)).toMatchObject({ status: "failed" });
    expect(meta(runId).error).toMatch(file);
    await resumeCompletes(runId, before);
  }, 240_000);

  test("read-only disk: a new run is refused naming the directory; mid-run the run fails (kept in memory), then resumes after remounting", async () => {
    const run = spawnNetmatrix(["run", "--spec", spec("readonly"), "--coordinator", addr, "--token-file", coord.tokenFile]);
    const runId = (await run.waitFor(/run (\d{8}-\d{6}-[0-9a-f]{4})/, 60_000))[1]!;
    await run.waitFor(/\[1\/8\]/, 60_000);
    await remount("ro");
    try {
      expect(await run.exited).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`run ${runId} stopped: cannot write ${runDir(runId)}/(cases\\.jsonl|meta\\.json): the file system is read-only \\(EROFS\\)`));
      expect(run.stderr).toContain(`hint: remount the disk holding ${data} read-write, or start the coordinator with --data-dir`);
      const before = keysOnDisk(runId).length;
      expect(before).toBeGreaterThanOrEqual(1);
      // meta.json could not be written: on disk the run still says running, the coordinator says failed, and why.
      expect(meta(runId).status).toBe("running");
      const failed = await listed(runId);
      expect(failed.status).toBe("failed");
      expect(failed.error).toContain("read-only (EROFS)");

      const refused = await cli(["run", "--spec", spec("refused")]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(
        new RegExp(`netmatrix: cannot create ${join(data, "runs")}/\\d{8}-\\d{6}-[0-9a-f]{4}: the file system is read-only \\(EROFS\\)\\n  hint: remount`),
      );

      await remount("rw");
      expect((await listed(runId)).status).toBe("failed");
      expect(meta(runId)).toMatchObject({ status: "failed" });
      expect(tmpFiles(runId)).toEqual([]);
      await resumeCompletes(runId, before);
    } finally {
      await remount("rw");
    }
  }, 240_000);
});
