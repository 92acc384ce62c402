import { describe, expect, test } from "vitest";
import { AgentLocks } from "./locks.js";

describe("AgentLocks", () => {
  test("a second case on a shared agent waits for the first", async () => {
    const locks = new AgentLocks();
    const order: string[] = [];
    const r1 = await locks.acquire(["a", "b"]);
    expect(locks.busy("a")).toBe(true);
    const second = locks.acquire(["b", "c"]).then((r) => (order.push("second"), r));
    await new Promise((r) => setTimeout(r, 20));
    order.push("first done");
    r1();
    (await second)();
    expect(order).toEqual(["first done", "second"]);
    expect(locks.busy("b")).toBe(false);
  });
  test("disjoint cases do not wait", async () => {
    const locks = new AgentLocks();
    const r1 = await locks.acquire(["a", "b"]);
    const r2 = await locks.acquire(["c", "d"]);
    r1();
    r2();
    expect(locks.busy("a") || locks.busy("c")).toBe(false);
  });
  test("opposite orders do not deadlock", async () => {
    const locks = new AgentLocks();
    const first = locks.acquire(["a", "b"]).then((release) => setTimeout(release, 20));
    const second = locks.acquire(["b", "a"]);
    await first;
    (await second)();
    expect(locks.busy("a") || locks.busy("b")).toBe(false);
  });
});
