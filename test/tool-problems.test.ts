/**
 * Tools an agent has but cannot run, for real (root):
 *
 * - a copy of ping with the file capability cap_net_raw=ep, on the PATH of an
 *   agent whose bounding set lacks NET_RAW (a container without it): the
 *   kernel refuses the exec with EPERM, which Node throws from spawn(). The
 *   agent must stay up (with a coordinator and without one), log the problem,
 *   report ping unavailable with it, `netmatrix agents` must show it, and a
 *   ping case from that agent must fail with it;
 * - ping's start-up self-test in a network namespace of our own, where
 *   net.ipv4.ping_group_range is "1 0" (no group): a ping without file
 *   capabilities, run as uid 10001 or as root without NET_RAW, may open no
 *   ICMP socket, and the problem names the sysctl, the gid and the range;
 *   with the range "0 2147483647" the same ping is available.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startAgentProc, startCoordinatorProc, type CoordinatorProc } from "./harness/local-cluster.js";
import { runNetmatrix, spawnNetmatrix, stopAll, type Proc } from "./harness/processes.js";
import { testSlot } from "./harness/slot.js";

const ROOT = process.getuid?.() === 0;
const SBIN_PATH = `${process.env.PATH}:/usr/sbin:/sbin`;
const has = (name: string): boolean => spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore", env: { ...process.env, PATH: SBIN_PATH } }).status === 0;
const READY = ROOT && has("setcap") && has("getcap") && has("setpriv") && has("ip") && existsSync("/usr/bin/ping");
const WHY = READY ? "" : " (skipped: needs root, setcap/getcap from libcap2-bin, setpriv, ip and /usr/bin/ping)";
/** Run without NET_RAW in the bounding set, as a container that may not have it. */
const NO_NET_RAW = ["setpriv", "--bounding-set", "-net_raw", "--inh-caps", "-net_raw"];
const AS_10001 = ["setpriv", "--reuid=10001", "--regid=10001", "--clear-groups"];
const BUILT = (p: string): URL => new URL(`../dist/${p}`, import.meta.url);

const slot = testSlot();

/** A directory the unprivileged uid can read, with a copy of ping in bin/ (`caps`: setcap them on it). */
function pingCopy(caps?: string): { dir: string; bin: string } {
  const dir = mkdtempSync(join(tmpdir(), "nm-toolprob-"));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  chmodSync(dir, 0o755);
  copyFileSync("/usr/bin/ping", join(bin, "ping")); // a copy carries no file capabilities
  chmodSync(join(bin, "ping"), 0o755);
  if (caps) execFileSync("setcap", [caps, join(bin, "ping")], { env: { ...process.env, PATH: SBIN_PATH } });
  const got = execFileSync("getcap", [join(bin, "ping")], { encoding: "utf8", env: { ...process.env, PATH: SBIN_PATH } });
  if (caps) expect(got).toContain(caps);
  else expect(got.trim()).toBe("");
  return { dir, bin };
}

describe.skipIf(!READY)(`an agent whose ping the kernel refuses to execute (EPERM: file capabilities outside the bounding set)${WHY}`, () => {
  let dir: string;
  let bin: string;
  let coord: CoordinatorProc;
  let addr: string;
  let eperm: Proc;

  beforeAll(async () => {
    ({ dir, bin } = pingCopy("cap_net_raw=ep"));
    coord = await startCoordinatorProc({ dataDir: join(dir, "data") });
    addr = `127.0.0.1:${coord.port}`;
    const common = { coordinator: addr, tokenFile: coord.tokenFile, address: "127.0.0.1" };
    await startAgentProc({ ...common, node: "tp-ok", portRange: slot.portRange(0, 100) });
    eperm = await startAgentProc({ ...common, node: "tp-eperm", portRange: slot.portRange(100, 100), wrap: NO_NET_RAW, env: { PATH: `${bin}:${process.env.PATH}` } });
  }, 60_000);

  afterAll(async () => {
    await stopAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("it registers, logs ping as unusable with the errno and the fix, and stays up", async () => {
    const [line] = await eperm.waitFor(/"msg":"tool unusable: ping: [^"]*"/);
    expect(line).toContain(`${bin}/ping: cannot execute (EPERM: operation not permitted)`);
    expect(line).toContain("file capabilities (cap_net_raw=ep) the container may not gain");
    expect(line).toContain(`setcap -r ${bin}/ping`);
    await new Promise((r) => setTimeout(r, 3000));
    expect(eperm.child.exitCode).toBeNull();
    expect(eperm.stderr).not.toMatch(/spawn EPERM/);
  });

  test("netmatrix agents shows ping unusable with the problem, the other tools usable", async () => {
    const table = await runNetmatrix(["agents", "--coordinator", addr, "--token-file", coord.tokenFile]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/ping \(cannot run, see below\)/);
    expect(table.stdout).toMatch(/^tp-eperm\/host: ping cannot run: ping: .*EPERM.*setcap -r/m);
    const json = await runNetmatrix(["agents", "--coordinator", addr, "--token-file", coord.tokenFile, "--output", "json"]);
    const agents = (JSON.parse(json.stdout) as { agents: any[] }).agents;
    const a = agents.find((x) => x.id === "tp-eperm/host");
    expect(a.unusableTools).toEqual([{ tool: "ping", problem: expect.stringMatching(/EPERM/) }]);
    expect(a.missingTools).toEqual([]);
    expect(a.tools.map((t: any) => t.tool)).toContain("iperf3");
    expect(agents.find((x) => x.id === "tp-ok/host").unusableTools).toEqual([]);
  });

  test("a ping case from it fails as tool-missing with the agent's problem; the same case from a good agent measures", async () => {
    const run = async (client: string) => {
      const res = await runNetmatrix([
        "run",
        "--coordinator",
        addr,
        "--token-file",
        coord.tokenFile,
        "--output",
        "json",
        "--client",
        client,
        "--server",
        client === "tp-ok" ? "tp-eperm" : "tp-ok",
        "--tool",
        "ping",
        "--duration",
        "1",
      ]);
      return { ...res, rep: JSON.parse(res.stdout).cases[0].repetitions[0] };
    };
    const bad = await run("tp-eperm");
    expect(bad.rep.failure?.code, bad.stderr).toBe("tool-missing");
    expect(bad.rep.failure.reason).toMatch(/^ping cannot run on agent tp-eperm\/host: ping: .*cannot execute \(EPERM: operation not permitted\).*setcap -r/);
    const good = await run("tp-ok");
    expect(good.rep.failure, good.stderr).toBeNull();
  });

  test("with no coordinator to talk to, it still does not exit", async () => {
    const lone = spawnNetmatrix(["agent", "--coordinator", "127.0.0.1:1", "--token-file", coord.tokenFile, "--node", "tp-lone", "--address", "127.0.0.1", "--metrics", "off"], {
      wrap: NO_NET_RAW,
      env: { PATH: `${bin}:${process.env.PATH}` },
    });
    try {
      await lone.waitFor(/tool unusable: ping: [^"]*EPERM/);
      await new Promise((r) => setTimeout(r, 3000));
      expect(lone.child.exitCode, lone.stderr.slice(-2000)).toBeNull();
    } finally {
      await lone.stop();
    }
  });
});

/** discoverTools([ping]) (and a client run past its problem) from the built agent, as `prefix` says, with ping from `bin`. */
function discoverPing(ns: string, prefix: string[], bin: string): { path?: string; available: boolean; problem?: string; run: { code: string; reason: string; hint: string } } {
  for (const p of ["agent/src/tools.js", "agent/src/client-runner.js"]) {
    if (!existsSync(BUILT(p))) throw new Error(`dist/${p} is missing: run \`npm run build\` (npm test does it first)`);
  }
  const script = `
    const { discoverTools, usable } = await import(${JSON.stringify(BUILT("agent/src/tools.js").href)});
    const { runClient } = await import(${JSON.stringify(BUILT("agent/src/client-runner.js").href)});
    const { drivers } = await import(${JSON.stringify(BUILT("tools/src/index.js").href)});
    const { create } = await import("@bufbuild/protobuf");
    const { Direction, TestSpecSchema, Tool } = await import(${JSON.stringify(BUILT("gen/netmatrix/v1/types_pb.js").href)});
    const [found] = await discoverTools([drivers.ping]);
    // The run-time parser on the same refusal: a client run as if the self-test had passed.
    const spec = create(TestSpecSchema, { tool: Tool.PING, direction: Direction.FORWARD, durationS: 1, parallel: 1, pingCount: 2 });
    const run = await runClient("ping", { ...found, problem: undefined }, { spec, target: "127.0.0.1", port: 0, dataPort: 0, deadlineMs: 10000 });
    const f = run.outcome.case === "failure" ? run.outcome.value : undefined;
    console.log(JSON.stringify({ path: found.path, available: usable(found), problem: found.problem, run: { code: f ? String(f.code) : "ok", reason: f?.reason ?? "", hint: f?.hint ?? "" } }));
  `;
  const out = execFileSync("ip", ["netns", "exec", ns, ...prefix, "env", `PATH=${bin}:${process.env.PATH}`, process.execPath, "--input-type=module", "-e", script], {
    encoding: "utf8",
    cwd: new URL("..", import.meta.url).pathname,
  });
  return JSON.parse(out) as ReturnType<typeof discoverPing>;
}

describe.skipIf(!READY)(`ping's self-test where no group may open an ICMP socket (net.ipv4.ping_group_range "1 0")${WHY}`, () => {
  const ns = `${slot.prefix("tprob")}icmp`;
  let dir: string;
  let bin: string;

  beforeAll(() => {
    ({ dir, bin } = pingCopy());
    spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" }); // a leftover of a killed run of this slot
    execFileSync("ip", ["netns", "add", ns]);
    execFileSync("ip", ["netns", "exec", ns, "ip", "link", "set", "lo", "up"]);
  });

  afterAll(() => {
    spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("a new namespace lets no group open ICMP sockets", () => {
    expect(execFileSync("ip", ["netns", "exec", ns, "cat", "/proc/sys/net/ipv4/ping_group_range"], { encoding: "utf8" }).trim().split(/\s+/)).toEqual(["1", "0"]);
  });

  test.each([
    { who: "uid/gid 10001", prefix: AS_10001, gid: 10001 },
    { who: "root without NET_RAW", prefix: NO_NET_RAW, gid: 0 },
  ])("$who: ping is unavailable; the problem names the sysctl, the gid and the range, and the fix", ({ prefix, gid }) => {
    const r = discoverPing(ns, prefix, bin);
    expect(r.path).toBe(join(bin, "ping"));
    expect(r.available).toBe(false);
    expect(r.problem).toMatch(
      new RegExp(
        `^ping cannot open an ICMP socket \\(ping: socket: Operation not permitted\\): .*net\\.ipv4\\.ping_group_range, and gid ${gid} is outside "1 0" \\(no group\\)\\. Fix: `,
      ),
    );
    expect(r.problem).toContain("agents.pod.unprivilegedPing=true");
    expect(r.problem).toContain('sysctl -w net.ipv4.ping_group_range="0 2147483647"');
    expect(r.problem).toContain("agents.host.rawPing=true");
    // A run gets the same words: a typed failure (tool-missing = 1 on the wire), the fix as its hint.
    expect(r.run.code, JSON.stringify(r.run)).toBe("1");
    expect(`${r.run.reason}. Fix: ${r.run.hint}`).toBe(r.problem);
  });

  test("with the range opened to every group, the same ping as uid 10001 is available and measures", () => {
    execFileSync("ip", ["netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647"], { env: { ...process.env, PATH: SBIN_PATH } });
    const r = discoverPing(ns, AS_10001, bin);
    expect(r, JSON.stringify(r)).toMatchObject({ available: true, run: { code: "ok" } });
    expect(r.problem).toBeUndefined();
  });
});
