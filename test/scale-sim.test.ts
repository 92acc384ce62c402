/**
 * 2,000 simulated agents (test/harness/sim.ts: each its own gRPC session,
 * speaking the real protocol) against a real coordinator process: all
 * register, ListAgents (paged) lists each exactly once, and one watcher of
 * every node receives samples from every agent — with growing counters, its
 * own node filter honoured by a second watcher, and a lag that does not grow
 * (a watcher falling behind a backlog fails). No fixed timing figure is
 * asserted: the bounds are liveness bounds, and the lag is compared with
 * itself over the window. Everything started is stopped, and the
 * coordinator's port is closed afterwards.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { ControlService } from "../gen/netmatrix/v1/control_pb.js";
import { createClient, type Client } from "../common/src/grpc-adapter.js";
import { bearerInterceptor } from "../common/src/token.js";
import { startCoordinatorProc } from "./harness/local-cluster.js";
import { stopAll } from "./harness/processes.js";
import { startSimulator, type Simulator } from "./harness/sim.js";
import { listAgentPages, quantile, watchProbe, type WatchProbe } from "./harness/sim-probe.js";

const K = 2000;
const INTERVAL_MS = 1000;
const dir = mkdtempSync(join(tmpdir(), "nm-scale-sim-"));
let sim: Simulator | undefined;
let client: Client<typeof ControlService> | undefined;
const probes: WatchProbe[] = [];

async function closeAll(): Promise<void> {
  for (const p of probes.splice(0)) p.close();
  client?.close();
  client = undefined;
  await sim?.close();
  sim = undefined;
  await stopAll();
}

afterAll(async () => {
  await closeAll();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

test(`${K} simulated agents register, are listed once each, and stream to a watcher of every node`, async () => {
  const coord = await startCoordinatorProc({ dataDir: dir });
  const token = readFileSync(coord.tokenFile, "utf8").trim();
  const addr = `127.0.0.1:${coord.port}`;
  sim = startSimulator({ coordinator: addr, token, agents: K });
  expect(sim.nodes.length).toBe(Math.ceil(K / 3));
  // A liveness bound (the herd registers in seconds); a refused registration rejects at once, naming the reason.
  await sim.allRegistered(45_000);
  expect(sim.stats().registered).toBe(K);

  client = createClient(ControlService, addr, { interceptors: [bearerInterceptor(token)] });
  const listed = await listAgentPages(client, 500);
  const ids = listed.agents.map((a) => a.agentId);
  expect(ids.length).toBe(K);
  expect(new Set(ids)).toEqual(new Set(sim.agents.map((a) => a.id)));
  expect(listed.pages).toBeGreaterThan(1);
  // Loopback agents connect from the address they declare: checked as "peer", so every one may be a target.
  expect(new Set(listed.agents.map((a) => a.addressCheck))).toEqual(new Set(["peer"]));

  const firstNode = sim.nodes[0]!;
  const all = watchProbe(client, { node: "", intervalMs: INTERVAL_MS, batched: true, checkCounters: true });
  const one = watchProbe(client, { node: firstNode, intervalMs: INTERVAL_MS, batched: true });
  probes.push(all, one);
  await all.whenSeen(K, 45_000);
  await one.whenSeen(3, 10_000);

  // A window of samples: lag is measured against the samples' own wall_ms (taken in this process, so never ahead of their arrival).
  for (const p of probes) p.resetWindow();
  await sleep(6 * INTERVAL_MS);
  const lags = all.lags();
  expect(lags.length).toBeGreaterThan(0);
  expect(quantile(lags, 0)).toBeGreaterThanOrEqual(0);
  expect(all.counterRegressions).toBe(0);
  expect(all.endedWith).toBeUndefined();
  // Not falling behind: the lag at the end of the window is not a backlog longer than at its start (generous: three intervals).
  const third = Math.floor(lags.length / 3);
  const early = quantile(lags.slice(0, third), 0.5);
  const late = quantile(lags.slice(-third), 0.5);
  expect(late, `lag p50 ${early.toFixed(0)} ms early in the window, ${late.toFixed(0)} ms late`).toBeLessThanOrEqual(early + 3 * INTERVAL_MS);
  // The single-node watcher gets that node's agents only: its host and two pods.
  expect([...one.seen].sort()).toEqual(
    sim.agents
      .filter((a) => a.node === firstNode)
      .map((a) => a.id)
      .sort(),
  );
  expect(sim.stats().commandsFailed).toBe(0);

  await closeAll();
  expect(await listening(coord.port)).toBe(false);
  expect(coord.proc.child.exitCode !== null || coord.proc.child.signalCode !== null).toBe(true);
}, 120_000);
