import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { exec, startProcess, type ExecResult } from "./exec.js";

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

/** The program of the built helper (`npm run build`), for tests that run it in a process of their own. */
const BUILT_EXEC = new URL("../../dist/common/src/exec.js", import.meta.url);
const ROOT = process.getuid?.() === 0;
const hasTool = (name: string): boolean =>
  spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore", env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } }).status === 0;
const CAN_EPERM = ROOT && hasTool("setcap") && hasTool("setpriv") && existsSync("/usr/bin/ping");

describe("a program that cannot be started is a result with spawnError, never a throw", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "nm-exec-"));
    // A script without any execute bit: execve says EACCES, even to root.
    writeFileSync(join(dir, "not-executable"), "#!/bin/sh\necho never\n", { mode: 0o644 });
    chmodSync(dir, 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const expectNotStarted = (r: ExecResult, code: string, says: RegExp): void => {
    expect(r.spawnError).toMatch(says);
    expect(r.spawnErrorCode).toBe(code);
    expect(r.exitCode).toBeNull();
    expect(r.timedOut).toBe(false);
  };

  test.each(
    [
      { errno: "ENOENT", what: "a name not on PATH", program: () => "netmatrix-no-such-tool", says: /^netmatrix-no-such-tool: not found on PATH$/ },
      { errno: "ENOENT", what: "a path that does not exist", program: () => join(dir, "gone"), says: /gone: not found \(ENOENT: no such file or directory\)$/ },
      {
        errno: "EACCES",
        what: "a file without execute permission",
        program: () => join(dir, "not-executable"),
        says: /not-executable: cannot execute \(EACCES: permission denied\)$/,
      },
    ].flatMap((c) => [true, false].map((guard) => ({ ...c, guard }))),
  )("$errno: $what, guard $guard", async ({ errno, program, says, guard }) => {
    let p: ReturnType<typeof startProcess> | undefined;
    expect(() => (p = startProcess({ argv: [program()], deadlineMs: 5000, guard }))).not.toThrow();
    expectNotStarted(await p!.exited, errno, says);
  });

  // EPERM for real: a copy of ping with the file capability cap_net_raw=ep, started by a
  // process whose bounding set lacks NET_RAW (as in a container without it): the kernel
  // refuses the exec, and Node throws from spawn() instead of emitting "error".
  test.skipIf(!CAN_EPERM).each([true, false])(
    `EPERM: a binary with file capabilities outside the bounding set, guard %s${CAN_EPERM ? "" : " (skipped: needs root, setcap from libcap2-bin, setpriv and /usr/bin/ping)"}`,
    async (guard) => {
      if (!existsSync(BUILT_EXEC)) throw new Error("dist/ is missing: run `npm run build` (npm test does it first)");
      const capped = join(dir, "ping-capped");
      copyFileSync("/usr/bin/ping", capped);
      chmodSync(capped, 0o755);
      execFileSync("setcap", ["cap_net_raw=ep", capped], { env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
      const script = `import(${JSON.stringify(BUILT_EXEC.href)}).then(async (m) => {
        let p;
        try { p = m.startProcess({ argv: [${JSON.stringify(capped)}, "-V"], deadlineMs: 5000, guard: ${guard} }); }
        catch (e) { console.log(JSON.stringify({ threw: String(e) })); return; }
        console.log(JSON.stringify({ result: await p.exited }));
      });`;
      const out = execFileSync("setpriv", ["--bounding-set", "-net_raw", "--inh-caps", "-net_raw", process.execPath, "--input-type=module", "-e", script], { encoding: "utf8" });
      const got = JSON.parse(out) as { threw?: string; result?: ExecResult };
      expect(got.threw).toBeUndefined();
      expectNotStarted(got.result!, "EPERM", /ping-capped: cannot execute \(EPERM: operation not permitted\)/);
      // The same binary without the restriction runs: the EPERM comes from the bounding set, not the copy.
      expect((await exec({ argv: [capped, "-V"], deadlineMs: 5000, guard })).exitCode).toBe(0);
    },
  );
});
