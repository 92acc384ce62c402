/** Tool servers start on a free port, and on another when the one picked turns out taken at their bind. */
import { createServer, type Server } from "node:net";
import { isListening } from "../../common/src/listen-probe.js";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { drivers } from "../../tools/src/index.js";
import { findFreePorts, type PortRange } from "./ports.js";
import { ServerManager } from "./servers.js";
import { timeWaitPort } from "../../test/harness/time-wait.js";
import { discoverTools, usable } from "./tools.js";

const found = new Map((await discoverTools(Object.values(drivers))).map((f) => [f.driver.tool, f]));
const RANGE: PortRange = { min: 27000, max: 27999 };
const log = pino({ level: "silent" });

// Tools whose server needs nothing but a port (http's needs a spec to serve).
const plain = (["iperf3", "iperf2", "sockperf"] as const).filter((t) => usable(found.get(t)));

describe.skipIf(plain.length === 0)("a server whose port is taken at its bind (real tools)", () => {
  let holder: Server;
  let taken: number;
  beforeAll(async () => {
    holder = createServer();
    await new Promise<void>((r) => holder.listen(0, "0.0.0.0", r));
    taken = (holder.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => holder.close(() => r())));

  test.each(plain)("%s: started on another port", async (tool) => {
    const picks: number[] = [];
    // The search handed out the taken port first, as a race with another process would.
    const pick: typeof findFreePorts = async (range, count, avoid) => {
      const p = picks.length === 0 ? taken : await findFreePorts(range, count, avoid);
      if (p !== undefined) picks.push(p);
      return p;
    };
    const servers = new ServerManager(new Map([[tool, found.get(tool)!]]), RANGE, log, undefined, pick);
    try {
      const { port } = await servers.start("a", tool, "tcp", 20_000);
      expect(picks[0]).toBe(taken);
      expect(port).not.toBe(taken);
      expect(picks).toHaveLength(2);
      expect(servers.count).toBe(1);
    } finally {
      await servers.stopAll();
    }
  });

  test.each(plain)("%s: a port that stays taken fails after a bounded number of tries, naming it", async (tool) => {
    let tries = 0;
    const servers = new ServerManager(new Map([[tool, found.get(tool)!]]), RANGE, log, undefined, async () => (tries++, taken));
    await expect(servers.start("a", tool, "tcp", 20_000)).rejects.toThrow(`port ${taken} was taken`);
    expect(tries).toBe(3);
    expect(servers.count).toBe(0);
  });

  test.each(plain)("%s: handed a port in TIME_WAIT, it listens (on it, or on the next when its bind refuses it)", async (tool) => {
    const stale = await timeWaitPort();
    const picks: number[] = [];
    const pick: typeof findFreePorts = async (range, count, avoid) => {
      const p = picks.length === 0 ? stale : await findFreePorts(range, count, avoid);
      if (p !== undefined) picks.push(p);
      return p;
    };
    const servers = new ServerManager(new Map([[tool, found.get(tool)!]]), RANGE, log, undefined, pick);
    try {
      const { port } = await servers.start("a", tool, "tcp", 20_000);
      expect(isListening(port, "tcp")).toBe(true);
      expect(picks.at(-1)).toBe(port);
    } finally {
      await servers.stopAll();
    }
  });
});

describe("the port search", () => {
  test("skips a port a socket holds in TIME_WAIT, which Node's own bind would accept", async () => {
    const port = await timeWaitPort();
    expect(await findFreePorts({ min: port, max: port }, 1)).toBeUndefined();
    // The neighbour range without it is searched as usual.
    const other = await findFreePorts({ min: 27000, max: 27999 }, 1, new Set([port]));
    expect(other).toBeGreaterThanOrEqual(27000);
  });
});
