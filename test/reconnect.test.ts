/**
 * Agents dial out and keep dialing: when the coordinator goes away and comes
 * back on the same address, agents register again by themselves.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { startAgentProc, startCoordinatorProc } from "./harness/local-cluster.js";
import { runNetmatrix, stopAll } from "./harness/processes.js";
import { testSlot } from "./harness/slot.js";

const dir = mkdtempSync(join(tmpdir(), "nm-reconnect-"));
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

test("an agent re-registers after the coordinator restarts", async () => {
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  const first = await startCoordinatorProc({ dataDir: dir, listen });
  const agent = await startAgentProc({ coordinator: listen, tokenFile: first.tokenFile, node: "node-r", address: "127.0.0.1", portRange: testSlot().portRange(400, 100) });
  await first.proc.stop();
  await agent.waitFor(/session ended; reconnecting/);
  const second = await startCoordinatorProc({ dataDir: dir, listen, tokenFile: first.tokenFile });
  // The agent's backoff is capped at 15 s; it registers again on its own.
  await second.proc.waitFor(/"agentId":"node-r\/host".*"msg":"agent registered"/, 20_000);
  const res = await runNetmatrix(["agents", "--coordinator", listen, "--token-file", first.tokenFile, "--output", "json"]);
  expect(JSON.parse(res.stdout).agents.map((a: { id: string }) => a.id)).toEqual(["node-r/host"]);
}, 60_000);
