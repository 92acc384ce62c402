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

describe("AgentLocks with a caller that goes away", () => {
  test("a waiter whose signal aborts gives up, holds nothing, and does not jump the queue", async () => {
    const locks = new AgentLocks();
    const holder = await locks.acquire(["a"]);
    const gone = new AbortController();
    const waiting = locks.acquire(["a", "b"], gone.signal);
    const third = locks.acquire(["a"]);
    let thirdGot = false;
    void third.then(() => (thirdGot = true));
    gone.abort();
    await expect(waiting).rejects.toMatchObject({ code: "cancelled" });
    // It held nothing: b is free, and a is still the holder's.
    expect(locks.busy("b")).toBe(false);
    expect(locks.busy("a")).toBe(true);
    await new Promise((r) => setTimeout(r, 10));
    expect(thirdGot).toBe(false);
    holder();
    (await third)();
    expect(locks.busy("a")).toBe(false);
  });

  test("an aborted waiter with nobody behind it leaves the agent busy until the holder releases, then free", async () => {
    const locks = new AgentLocks();
    const holder = await locks.acquire(["a"]);
    const gone = new AbortController();
    const waiting = locks.acquire(["a"], gone.signal);
    gone.abort();
    await expect(waiting).rejects.toMatchObject({ code: "cancelled" });
    expect(locks.busy("a")).toBe(true);
    holder();
    await new Promise((r) => setTimeout(r, 0));
    expect(locks.busy("a")).toBe(false);
    (await locks.acquire(["a"]))();
  });

  test("an already aborted signal never takes the lock", async () => {
    const locks = new AgentLocks();
    const gone = new AbortController();
    gone.abort();
    await expect(locks.acquire(["a"], gone.signal)).rejects.toMatchObject({ code: "cancelled" });
    expect(locks.busy("a")).toBe(false);
  });
});
