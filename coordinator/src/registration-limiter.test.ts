/**
 * The registration limiter: its arithmetic on a fake clock, and a herd on a
 * real coordinator — more agents dialling in at once than the burst, over
 * real gRPC, with the agent's own session loop: some are told to come back,
 * none takes that for a fatal refusal, all register, at about the rate.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { pino } from "pino";
import { afterEach, describe, expect, test } from "vitest";
import { AgentMessageSchema, AgentService, type CoordinatorMessage } from "../../gen/netmatrix/v1/agent_pb.js";
import { createClient } from "../../common/src/grpc-adapter.js";
import { fromServiceError } from "../../common/src/rpc-status.js";
import { retryAfterMs } from "../../common/src/retry-after.js";
import { bearerInterceptor } from "../../common/src/token.js";
import { startInProcessAgents, type InProcessAgents } from "../../test/harness/inproc-agents.js";
import { startCoordinator, type RunningCoordinator } from "./coordinator.js";
import { MAX_TURN_MS, RegistrationLimiter } from "./registration-limiter.js";

const TOKEN = "0123456789abcdef0123456789abcdef";

describe("RegistrationLimiter on a fake clock", () => {
  test("admits the burst at once, then the rate; the refused get turns one 1/rate apart, in order", () => {
    let now = 1000;
    const l = new RegistrationLimiter({ ratePerS: 10, burst: 3 }, () => now);
    expect([l.admit(), l.admit(), l.admit()]).toEqual([{ admitted: true }, { admitted: true }, { admitted: true }]);
    // Beyond the burst: turns at 100, 200, 300 ms.
    expect([l.admit(), l.admit(), l.admit()]).toEqual([
      { admitted: false, retryAfterMs: 100 },
      { admitted: false, retryAfterMs: 200 },
      { admitted: false, retryAfterMs: 300 },
    ]);
    // At the first turn a token has come back.
    now += 100;
    expect(l.admit()).toEqual({ admitted: true });
    // The next one refused now goes after the turns already given (at +200 ms from the start, i.e. after 300 from the start → 300 − 100 + 100).
    expect(l.admit()).toEqual({ admitted: false, retryAfterMs: 300 });
    expect({ admitted: l.admitted, refused: l.refused }).toEqual({ admitted: 4, refused: 4 });
    // Quiet for a while: the bucket refills to its burst, never beyond.
    now += 60_000;
    expect([l.admit(), l.admit(), l.admit(), l.admit()].map((a) => a.admitted)).toEqual([true, true, true, false]);
  });

  test("turns are never further than MAX_TURN_MS, however many keep coming back early", () => {
    const now = 0;
    const l = new RegistrationLimiter({ ratePerS: 1, burst: 1 }, () => now);
    l.admit();
    let last = 0;
    for (let i = 0; i < 1000; i++) {
      const a = l.admit();
      expect(a.admitted).toBe(false);
      if (!a.admitted) last = a.retryAfterMs;
    }
    expect(last).toBe(MAX_TURN_MS);
  });
});

describe("a herd on a real coordinator (real gRPC)", () => {
  let dir: string | undefined;
  let coord: RunningCoordinator | undefined;
  let agents: InProcessAgents | undefined;
  afterEach(async () => {
    await agents?.stop();
    await coord?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    agents = coord = dir = undefined;
  });

  test("a session beyond the burst is refused at once with RESOURCE_EXHAUSTED and its turn in the trailers", async () => {
    dir = mkdtempSync(join(tmpdir(), "nm-reglimit-"));
    coord = await startCoordinator({ listen: "127.0.0.1:0", token: TOKEN, dataDir: dir, registrationLimits: { ratePerS: 1, burst: 1 } }, pino({ level: "silent" }));
    const client = createClient(AgentService, `127.0.0.1:${coord.port}`, { interceptors: [bearerInterceptor(TOKEN)] });
    try {
      // The first takes the burst (and is never asked to register: the coordinator times it out later; we cancel it).
      const first = client.session();
      first.on("error", () => undefined);
      const second = client.session();
      const err = await new Promise<grpc.ServiceError>((resolve) => {
        second.on("data", (m: CoordinatorMessage) => resolve(new Error(`unexpected message ${m.msg.case}`) as grpc.ServiceError));
        second.on("error", resolve);
        second.write(create(AgentMessageSchema, {}));
      });
      expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      const e = fromServiceError(err);
      expect(e.message).toMatch(/^the coordinator is admitting agents at 1 a second \(1 at once\) and has more dialling in now: come back in 1\.0 s$/);
      expect(e.hint).toMatch(/comes back by itself/);
      expect(retryAfterMs(err)).toBe(1000);
      first.cancel();
    } finally {
      client.close();
    }
  });

  test("40 agents at once against a burst of 5 and 40 a second: some are told to come back, all register, none gives up", async () => {
    dir = mkdtempSync(join(tmpdir(), "nm-reglimit-"));
    coord = await startCoordinator(
      { listen: "127.0.0.1:0", token: TOKEN, dataDir: dir, heartbeatIntervalMs: 60_000, registrationLimits: { ratePerS: 40, burst: 5 } },
      pino({ level: "silent" }),
    );
    const nodes = Array.from({ length: 40 }, (_, i) => `herd-${i}`);
    const t0 = performance.now();
    agents = await startInProcessAgents({ coordinator: `127.0.0.1:${coord.port}`, token: TOKEN, nodes });
    const deadline = t0 + 30_000;
    while (coord.registry.size < nodes.length && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const tookMs = performance.now() - t0;
    expect(coord.registry.list().map((l) => l.id)).toEqual(nodes.map((n) => `${n}/host`).sort((a, b) => a.localeCompare(b, "en", { numeric: true })));
    // More than the burst dialled at once: the rest were refused for now, and came back at their turns.
    expect(coord.registrations.refused).toBeGreaterThanOrEqual(nodes.length - 5 - 5);
    const told = agents.logged(/^coordinator asked this agent to wait/);
    expect(told.length).toBe(coord.registrations.refused);
    expect(agents.logged(/^the coordinator asked this agent to come back later/).length).toBe(told.length);
    // Retryable, not a refusal: no agent took the 60 s "registration refused" path or the credentials path.
    expect(agents.logged(/registration refused|credentials refused|refused this agent/)).toEqual([]);
    // At about the rate: 35 beyond the burst at 40 a second is ~0.9 s, plus their jitter; far below the 60 s of a refusal.
    expect(tookMs).toBeLessThan(15_000);
    // Turns, not a tight loop: each agent was told to come back at most a few times.
    const perAgent = new Map<string, number>();
    for (const r of told) perAgent.set(String(r.node), (perAgent.get(String(r.node)) ?? 0) + 1);
    expect(Math.max(0, ...perAgent.values())).toBeLessThanOrEqual(4);
  });
});
