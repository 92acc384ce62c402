/**
 * The heartbeat sweep drops agents that went silent, and not agents whose
 * heartbeats merely waited while the coordinator's own event loop was
 * stalled: on a fake clock, and on a real coordinator whose loop is blocked
 * for longer than the timeout while a real agent session (real gRPC) keeps
 * heartbeating.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, test } from "vitest";
import { startInProcessAgents, type InProcessAgents } from "../../test/harness/inproc-agents.js";
import { startCoordinator, type RunningCoordinator } from "./coordinator.js";
import { heartbeatTimeoutMs, SilenceSweep, type SweptLink } from "./heartbeat-sweep.js";

describe("SilenceSweep on a fake clock", () => {
  test("drops an agent silent past the timeout, keeps one that spoke", () => {
    let now = 0;
    const sweep = new SilenceSweep(10_000, 1000, () => now);
    const quiet: SweptLink = { id: "quiet", lastSeen: 0 };
    const talking: SweptLink = { id: "talking", lastSeen: 0 };
    const dropped: string[] = [];
    for (let t = 1; t <= 15; t++) {
      now = t * 1000;
      talking.lastSeen = now - 500;
      dropped.push(...sweep.sweep([quiet, talking]).silent.map((l) => `${l.id}@${t}`));
    }
    // Silent for more than 10 s at the 11th sweep, and every sweep after (the caller removes it).
    expect(dropped[0]).toBe("quiet@11");
    expect(dropped.every((d) => d.startsWith("quiet@"))).toBe(true);
    expect(sweep.stalledMs).toBe(0);
  });

  test.each([
    ["a 30 s stall", 30_000],
    ["a stall just past the timeout", 10_500],
  ])("%s is not held against agents heard from before it", (_, stallMs) => {
    let now = 0;
    const sweep = new SilenceSweep(10_000, 1000, () => now);
    const a: SweptLink = { id: "a", lastSeen: 0 };
    now = 1000;
    expect(sweep.sweep([a]).silent).toEqual([]);
    // The loop stops; the sweep's next tick comes `stallMs` late.
    now += 1000 + stallMs;
    const { stallMs: seen, silent } = sweep.sweep([a]);
    expect(seen).toBe(stallMs);
    expect(silent).toEqual([]);
    // Still silent afterwards: dropped once it has been silent for the timeout outside the stall.
    let droppedAt: number | undefined;
    while (droppedAt === undefined && now < 100_000) {
      now += 1000;
      if (sweep.sweep([a]).silent.length) droppedAt = now;
    }
    expect(droppedAt! - stallMs).toBeGreaterThan(10_000);
    expect(droppedAt! - stallMs).toBeLessThanOrEqual(12_000);
  });

  test("an agent heard from after a stall starts afresh: earlier stalls do not shield its later silence", () => {
    let now = 0;
    const sweep = new SilenceSweep(10_000, 1000, () => now);
    const a: SweptLink = { id: "a", lastSeen: 0 };
    now = 1000 + 20_000; // a 20 s stall
    sweep.sweep([a]);
    a.lastSeen = now; // its queued heartbeat is read
    let droppedAt: number | undefined;
    const heard = now;
    while (droppedAt === undefined && now < heard + 60_000) {
      now += 1000;
      if (sweep.sweep([a]).silent.length) droppedAt = now;
    }
    expect(droppedAt! - heard).toBe(11_000);
  });

  test("heartbeatTimeoutMs: three intervals plus 5 s", () => {
    expect(heartbeatTimeoutMs(2000)).toBe(11_000);
    expect(heartbeatTimeoutMs(100)).toBe(5_300);
  });
});

describe("on a real coordinator", () => {
  let dir: string | undefined;
  let coord: RunningCoordinator | undefined;
  let agents: InProcessAgents | undefined;
  afterEach(async () => {
    await agents?.stop();
    await coord?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    agents = coord = dir = undefined;
  });

  test("a coordinator whose event loop is blocked past the heartbeat timeout keeps its agents, and says so", async () => {
    dir = mkdtempSync(join(tmpdir(), "nm-sweep-"));
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: "info" }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const heartbeatIntervalMs = 100;
    coord = await startCoordinator({ listen: "127.0.0.1:0", token: "0123456789abcdef0123456789abcdef", dataDir: dir, heartbeatIntervalMs }, log);
    agents = await startInProcessAgents({ coordinator: `127.0.0.1:${coord.port}`, token: "0123456789abcdef0123456789abcdef", nodes: ["stall-a", "stall-b"] });
    while (coord.registry.size < 2) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 500)); // a few heartbeats
    const links = coord.registry.list();
    // Block the loop (the coordinator's and, in this process, the agents' too) for longer than the timeout.
    const blockMs = heartbeatTimeoutMs(heartbeatIntervalMs) + 1500;
    const until = performance.now() + blockMs;
    while (performance.now() < until);
    // The loop runs again: the sweep's late tick comes first, before the heartbeats waiting in the sockets are read.
    await new Promise((r) => setTimeout(r, 1500));
    expect(lines.filter((l) => l.msg === "agent missed its heartbeats; dropping it")).toEqual([]);
    expect(coord.registry.list()).toEqual(links);
    for (const l of links) expect(l.closed).toBe(false);
    const stall = lines.find((l) => /event loop stalled for/.test(String(l.msg)));
    expect(stall?.stallMs).toBeGreaterThan(blockMs - 1000);
  });

  test("an agent that stops heartbeating is still dropped", async () => {
    dir = mkdtempSync(join(tmpdir(), "nm-sweep-"));
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: "info" }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    coord = await startCoordinator({ listen: "127.0.0.1:0", token: "0123456789abcdef0123456789abcdef", dataDir: dir, heartbeatIntervalMs: 100 }, log);
    agents = await startInProcessAgents({ coordinator: `127.0.0.1:${coord.port}`, token: "0123456789abcdef0123456789abcdef", nodes: ["frozen"] });
    while (coord.registry.size < 1) await new Promise((r) => setTimeout(r, 20));
    // Its heartbeats stop (as from a frozen process) while the connection stays up: the sweep sees no message after now.
    const link = coord.registry.list()[0]!;
    link.onMessage = () => undefined;
    const t0 = performance.now();
    while (!link.closed && performance.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 100));
    expect(link.closed).toBe(true);
    expect(performance.now() - t0).toBeGreaterThan(heartbeatTimeoutMs(100) - 1000);
    expect(lines.some((l) => l.msg === "agent missed its heartbeats; dropping it" && l.agentId === "frozen/host")).toBe(true);
  });
});
