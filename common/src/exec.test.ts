import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { exec, startProcess } from "./exec.js";

/** Running (a zombie is not: an orphan's zombie stays until PID 1 reaps it, which some PID 1s never do). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

describe("exec (real processes)", () => {
  test("captures stdout, stderr and the exit code", async () => {
    const r = await exec({ argv: ["sh", "-c", "echo out; echo err >&2; exit 3"], deadlineMs: 5000 });
    expect(r).toMatchObject({ stdout: "out\n", stderr: "err\n", exitCode: 3, timedOut: false, truncated: false });
  });

  test.each([true, false])("kills at the deadline (guard %s)", async (guard) => {
    const t0 = performance.now();
    const r = await exec({ argv: ["sleep", "30"], deadlineMs: 300, killGraceMs: 500, guard });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode === 0).toBe(false);
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  test("bounds captured output and says so", async () => {
    const r = await exec({ argv: ["head", "-c", "100000", "/dev/zero"], deadlineMs: 5000, maxOutputBytes: 1000 });
    expect(r.stdout.length).toBe(1000);
    expect(r.truncated).toBe(true);
  });

  test("a missing program is a spawn error, not an exit code", async () => {
    for (const guard of [true, false]) {
      const r = await exec({ argv: ["netmatrix-no-such-tool"], deadlineMs: 5000, guard });
      expect(r.spawnError).toMatch(/not found/);
      expect(r.exitCode).toBeNull();
    }
  });

  test("abort cancels", async () => {
    const ac = new AbortController();
    const p = exec({ argv: ["sleep", "30"], deadlineMs: 30_000, signal: ac.signal, killGraceMs: 500 });
    setTimeout(() => ac.abort(), 100);
    const r = await p;
    expect(r.cancelled).toBe(true);
  });

  test("stop() ends the child and the guard leaves no orphan", async () => {
    const p = startProcess({ argv: ["sleep", "30"], deadlineMs: 30_000, killGraceMs: 500 });
    await new Promise((r) => setTimeout(r, 200));
    // The guard (`timeout`) is our child; `sleep` is its child.
    const children = readFileSync(`/proc/${p.pid}/task/${p.pid}/children`, "utf8").trim().split(/\s+/).map(Number);
    expect(children).toHaveLength(1);
    await p.stop();
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(children[0]!)).toBe(false);
  });

  test("stop() of a tool that ignores SIGTERM kills it with its guard after the grace period: no orphan", async () => {
    const kids = (pid: number) => readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    // sh ignores TERM and so does its sleep (an ignored signal stays ignored across exec).
    const p = startProcess({ argv: ["sh", "-c", "trap '' TERM; sleep 30; true"], deadlineMs: 30_000, killGraceMs: 300 });
    let sleepPid: number | undefined;
    for (let i = 0; i < 100 && !sleepPid; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const sh = kids(p.pid!)[0];
      sleepPid = sh === undefined ? undefined : kids(sh)[0];
    }
    expect(sleepPid).toBeDefined();
    const t0 = performance.now();
    const r = await p.stop();
    expect(r.cancelled).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(sleepPid!)).toBe(false);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  test("the guard kills the child at its deadline even when our process is SIGKILLed", async () => {
    // Needs the built helper (npm test builds first): a separate node process starts a guarded
    // `sleep 30` with a 1 s deadline and is then SIGKILLed, so no JS timer of ours can stop it.
    const built = new URL("../../dist/common/src/exec.js", import.meta.url).href;
    if (!existsSync(new URL(built))) throw new Error("dist/ is missing: run `npm run build` (npm test does it first)");
    const script = `import(${JSON.stringify(built)}).then((m) => { const p = m.startProcess({ argv: ["sleep", "30"], deadlineMs: 1000, killGraceMs: 1000 }); console.log(p.pid); setInterval(() => {}, 1000); });`;
    const parent = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const guardPid = await new Promise<number>((resolve) => parent.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
    await new Promise((r) => setTimeout(r, 200));
    const sleepPid = Number(readFileSync(`/proc/${guardPid}/task/${guardPid}/children`, "utf8").trim());
    expect(alive(sleepPid)).toBe(true);
    parent.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 3500));
    expect(alive(sleepPid)).toBe(false);
  });
});
