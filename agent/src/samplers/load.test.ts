import { spawn } from "node:child_process";
import { describe, expect, test } from "vitest";
import { cpuUsage, readProcStat } from "./cpu.js";
import { LoadMeter, parseLoadavg, selfTicks } from "./load.js";

describe("parseLoadavg", () => {
  test.each([
    ["0.31 1.78 2.26 7/223 9224\n", { load1: 0.31, load5: 1.78, load15: 2.26, running: 7, total: 223 }],
    ["12.00 8.50 4.25 1/90 1\n", { load1: 12, load5: 8.5, load15: 4.25, running: 1, total: 90 }],
  ])("%j", (text, want) => {
    expect(parseLoadavg(text)).toEqual(want);
  });

  test.each(["", "garbage", "0.1 0.2"])("%j → undefined", (text) => {
    expect(parseLoadavg(text)).toBeUndefined();
  });
});

describe("selfTicks", () => {
  test("utime + stime + cutime + cstime, past a comm with spaces and parentheses", () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
    expect(selfTicks("42 (a (b) c) S 1 42 42 0 -1 4194560 10 0 0 0 100 20 3 4 20 0 1 0 5 0")).toBe(127);
    expect(selfTicks("no parenthesis")).toBeUndefined();
  });
});

describe("LoadMeter on this machine", () => {
  test("each reading covers the time since the previous one; the first covers the time since construction", async () => {
    const m = new LoadMeter();
    await new Promise((r) => setTimeout(r, 200));
    const a = m.read()!;
    expect(a.intervalMs).toBeGreaterThanOrEqual(190);
    expect(a.cpuCount).toBeGreaterThan(0);
    expect(a.cpuBusyPercent).toBeGreaterThanOrEqual(0);
    expect(a.cpuBusyPercent).toBeLessThanOrEqual(100);
    expect(a.procsRunning).toBeGreaterThanOrEqual(1);
    expect(a.loadAverage1m).toBeGreaterThanOrEqual(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(m.read()!.intervalMs).toBeLessThan(190);
  });

  test("a busy loop on every core shows as busy; the agent's own CPU does not", async () => {
    const m = new LoadMeter();
    const before = readProcStat("/proc")!;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    // This process spins for 300 ms: its own CPU, left out (whatever share of a core it got on a busy machine).
    while (performance.now() < t0 + 300);
    const own = m.read()!;
    const raw = cpuUsage(before, readProcStat("/proc")!)!.totalPercent;
    const spun = process.cpuUsage(cpu0);
    const spunPercent = ((spun.user + spun.system) / 1000 / (performance.now() - t0) / own.cpuCount) * 100;
    expect(spunPercent).toBeGreaterThan(5);
    // Left out to within a few clock ticks (10 ms each over a 300 ms interval on every core).
    expect(Math.abs(raw - own.cpuBusyPercent - spunPercent), JSON.stringify({ raw, own, spunPercent })).toBeLessThan(12);
    const loops: ReturnType<typeof spawn>[] = [];
    try {
      for (let i = 0; i < own.cpuCount; i++) loops.push(spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" }));
      await new Promise((r) => setTimeout(r, 300)); // the loops start up
      m.read();
      await new Promise((r) => setTimeout(r, 700));
      const loaded = m.read()!;
      expect(loaded.cpuBusyPercent, JSON.stringify({ own, loaded })).toBeGreaterThan(80);
      expect(loaded.cpuBusyPercent).toBeGreaterThan(own.cpuBusyPercent);
    } finally {
      for (const p of loops) if (p.pid) process.kill(p.pid, "SIGKILL");
    }
  });
});
