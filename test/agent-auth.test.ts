/**
 * An agent whose credentials the coordinator refuses backs off (exponential,
 * capped) and, after --auth-give-up, exits 2 saying which token file it used
 * and where the right token is — so a DaemonSet restarts it visibly instead
 * of it retrying a wrong token for ever. An unreachable coordinator is not a
 * refusal: that is retried for ever, past the same bound.
 * Real coordinator and agent processes on 127.0.0.1.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startAgentProc, startCoordinatorProc, writeToken, type CoordinatorProc } from "./harness/local-cluster.js";
import { runNetmatrix, stopAll } from "./harness/processes.js";
import { testSlot } from "./harness/slot.js";

const slot = testSlot();
let dir: string;
let coord: CoordinatorProc;
let addr: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nm-agent-auth-"));
  coord = await startCoordinatorProc({ dataDir: join(dir, "coordinator") });
  addr = `127.0.0.1:${coord.port}`;
}, 60_000);

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** The JSON log records of `stderr` with message matching `re`. */
function records(stderr: string, re: RegExp): Record<string, unknown>[] {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => re.test(String(r.msg)));
}

describe("an agent with a wrong token", () => {
  test("backs off, then gives up after --auth-give-up and exits 2 naming its token file and where the right token is", async () => {
    const bad = join(dir, "wrong-token");
    writeFileSync(bad, "not-the-coordinators-token\n");
    const started = performance.now();
    const agent = await startAgentProc({
      coordinator: addr,
      tokenFile: bad,
      node: "wrong-token",
      address: "127.0.0.1",
      portRange: slot.portRange(600, 10),
      waitRegistered: false,
      args: ["--auth-give-up", "4"],
    });
    const code = await agent.exited;
    const elapsed = performance.now() - started;
    expect(code, agent.stderr).toBe(2);
    // Gave up after the bound (4 s), not long after it: the last retry comes right at the bound.
    expect(elapsed).toBeGreaterThan(4000);
    expect(elapsed).toBeLessThan(15_000);

    const refusals = records(agent.stderr, /^coordinator refused this agent: wrong token/);
    expect(refusals[0]!.msg).toBe(`coordinator refused this agent: wrong token (the token in ${bad})`);
    // Retries at about 0, 1, 3 and 4 s: a few, not a tight loop.
    expect(refusals.length).toBeGreaterThanOrEqual(3);
    expect(refusals.length).toBeLessThanOrEqual(6);
    // Exponential backoff: each wait doubles (1 s, 2 s, …) until capped by the time left.
    const waits = records(agent.stderr, /^credentials refused/).map((r) => r.retryInMs as number);
    expect(waits.slice(0, 2)).toEqual([1000, 2000]);
    expect(waits.every((w) => w <= 4000)).toBe(true);

    // The last record, and the CLI's own last line, say what happened and what to do.
    const fatal = records(agent.stderr, /giving up$/)[0]!;
    expect(fatal.level).toBe(60);
    const n = refusals.length;
    const lastLines = agent.stderr.trim().split("\n").slice(-2);
    expect(lastLines[0]).toMatch(
      new RegExp(
        `^netmatrix: the coordinator at ${addr.replace(/\./g, "\\.")} refused this agent's token ${n} times over [45] s: the token in ${bad} does not match the coordinator's; giving up$`,
      ),
    );
    expect(lastLines[1]).toMatch(/^ {2}hint: copy the coordinator's token into .*wrong-token \(or pass --token-file FILE\): it is in DATA_DIR\/token on the coordinator's machine/);
    expect(lastLines[1]).toContain("kubectl -n netmatrix get secret netmatrix-token");
    expect(lastLines[1]).toContain("then start the agent again (a DaemonSet restarts it by itself)");

    // The coordinator refused every one of those attempts, and never listed the agent.
    expect(records(coord.proc.stderr, /^call refused$/).filter((r) => r.reason === "wrong token").length).toBeGreaterThanOrEqual(n);
    const listed = await runNetmatrix(["agents", "--coordinator", addr, "--token-file", coord.tokenFile, "--output", "json"]);
    expect(JSON.parse(listed.stdout).agents.map((a: { node: string }) => a.node)).not.toContain("wrong-token");
  }, 30_000);

  test("the CLI with a wrong token names the token file it used and exits 2", async () => {
    const bad = join(dir, "cli-wrong-token");
    writeFileSync(bad, "also-wrong\n");
    const res = await runNetmatrix(["agents", "--coordinator", addr, "--token-file", bad]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`netmatrix: the coordinator at ${addr} refused the token in ${bad}: wrong token, it does not match the coordinator's`);
    expect(res.stderr).toContain(`hint: copy the coordinator's token into ${bad} (or pass --token-file FILE)`);
  });
});

describe("an unreachable coordinator", () => {
  test("is retried past --auth-give-up, for ever; the agent registers once a coordinator comes up", async () => {
    const port = await freePort();
    const listen = `127.0.0.1:${port}`;
    const tokenFile = writeToken(join(dir, "later"));
    const agent = await startAgentProc({
      coordinator: listen,
      tokenFile,
      node: "patient",
      address: "127.0.0.1",
      portRange: slot.portRange(610, 10),
      waitRegistered: false,
      args: ["--auth-give-up", "1"],
    });
    // Three times the give-up bound, and the agent is still trying.
    await new Promise((r) => setTimeout(r, 3000));
    expect(agent.child.exitCode).toBeNull();
    expect(records(agent.stderr, /^session ended; reconnecting$/).length).toBeGreaterThanOrEqual(2);
    expect(agent.stderr).toMatch(/no coordinator at 127\.0\.0\.1:\d+: connection refused/);
    expect(agent.stderr).not.toMatch(/giving up/);
    const later = await startCoordinatorProc({ dataDir: join(dir, "later"), listen, tokenFile });
    // Its reconnect backoff is capped at 15 s.
    await later.proc.waitFor(/"agentId":"patient\/host".*"msg":"agent registered"/, 25_000);
    expect(agent.child.exitCode).toBeNull();
  }, 45_000);
});
