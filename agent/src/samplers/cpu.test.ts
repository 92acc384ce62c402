import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { cpuUsage, parseProcStat, readProcStat, type ProcStat } from "./cpu.js";

/** Fixtures: /proc/stat of a 2-vCPU machine captured twice ~1 s apart (fixtures/README.md). */
const fixture = (name: string): string => readFileSync(new URL(`./fixtures/stat/${name}`, import.meta.url), "utf8");
const T0 = fixture("host-t0.txt");
const T1 = fixture("host-t1.txt");
const parse = (text: string): ProcStat => {
  const s = parseProcStat(text);
  if (!s) throw new Error("no cpu line");
  return s;
};

describe("parseProcStat on captured files", () => {
  test.each([
    // cpu  65814 0 46551 1028859 1311 0 11894 0 0 0
    { file: "host-t0.txt", all: [65814, 0, 46551, 1028859, 1311, 0, 11894, 0, 0, 0], cpu1: [34926, 0, 24407, 510704, 1224, 0, 6160, 0, 0, 0] },
    // cpu  65938 0 46577 1028912 1312 0 11895 0 0 0
    { file: "host-t1.txt", all: [65938, 0, 46577, 1028912, 1312, 0, 11895, 0, 0, 0], cpu1: [35002, 0, 24425, 510713, 1224, 0, 6160, 0, 0, 0] },
  ])("$file", ({ file, all, cpu1 }) => {
    const text = fixture(file);
    const s = parse(text);
    const cols = (t: ProcStat["all"]) => [t.user, t.nice, t.system, t.idle, t.iowait, t.irq, t.softirq, t.steal, t.guest, t.guestNice];
    expect(cols(s.all)).toEqual(all);
    expect(s.all).not.toHaveProperty("id");
    expect(s.cores.map((c) => c.id)).toEqual([0, 1]);
    expect(cols(s.cores[1]!)).toEqual(cpu1);
    expect(parseProcStat(Buffer.from(text))).toEqual(s);
  });

  test("the run queue: procs_running after the long intr line, absent when the kernel does not print it", () => {
    expect(parse(T0).procsRunning).toBe(4);
    expect(parse("cpu  1 2 3 4\ncpu0 1 2 3 4\nintr 9 8 7\nctxt 5\nprocs_running 17\nprocs_blocked 2\n").procsRunning).toBe(17);
    expect(parse("cpu  1 2 3 4\nintr 1\n").procsRunning).toBeUndefined();
    expect(readProcStat("/proc")?.procsRunning).toBeGreaterThanOrEqual(1); // this reader is running
    // The usage carries the later read's run queue.
    expect(cpuUsage(parse(T0), parse(T1.replace("procs_running 4", "procs_running 9")))?.procsRunning).toBe(9);
  });

  test("an older kernel's 7-column lines read the missing columns as 0", () => {
    const old = "cpu  100 1 50 1000 5 2 3\ncpu0 100 1 50 1000 5 2 3\nintr 1 2 3\n";
    expect(parse(old).all).toEqual({ user: 100, nice: 1, system: 50, idle: 1000, iowait: 5, irq: 2, softirq: 3, steal: 0, guest: 0, guestNice: 0 });
  });

  test.each([
    ["empty", ""],
    ["no cpu line", "intr 1 2 3\nctxt 5\n"],
    ["cpu lines not first", `intr 1\n${T0}`],
  ])("%s → undefined", (_label, text) => {
    expect(parseProcStat(text)).toBeUndefined();
  });

  test("readProcStat reads the live file", () => {
    const s = readProcStat("/proc");
    expect(s?.cores.length).toBeGreaterThan(0);
    expect(s!.all.user + s!.all.system + s!.all.idle).toBeGreaterThan(0);
    expect(readProcStat("/no/such/proc")).toBeUndefined();
  });
});

describe("cpuUsage", () => {
  test("captured interval: 205 jiffies over 2 cores", () => {
    // Δ user 124, system 26, idle 53, iowait 1, softirq 1 → 205; busy = 205 − 53 − 1 = 151
    const u = cpuUsage(parse(T0), parse(T1))!;
    expect(u.totalPercent).toBeCloseTo((151 / 205) * 100, 10);
    expect(u.userPercent).toBeCloseTo((124 / 205) * 100, 10);
    expect(u.systemPercent).toBeCloseTo((26 / 205) * 100, 10);
    expect(u.idlePercent).toBeCloseTo((53 / 205) * 100, 10);
    expect(u.iowaitPercent).toBeCloseTo((1 / 205) * 100, 10);
    expect(u.softirqPercent).toBeCloseTo((1 / 205) * 100, 10);
    expect([u.irqPercent, u.stealPercent]).toEqual([0, 0]);
    const modes = u.userPercent + u.systemPercent + u.softirqPercent + u.irqPercent + u.iowaitPercent + u.stealPercent + u.idlePercent;
    expect(modes).toBeCloseTo(100, 10);
    // cpu0: Δ 49 + 8 + 44 idle + 1 softirq = 102, busy 58; cpu1: Δ 76 + 18 + 9 idle = 103, busy 94
    expect(u.cores.map((c) => c.id)).toEqual([0, 1]);
    expect(u.cores[0]!.busyPercent).toBeCloseTo((58 / 102) * 100, 10);
    expect(u.cores[1]!.busyPercent).toBeCloseTo((94 / 103) * 100, 10);
  });

  test("user includes nice (and the guest time inside them is not counted twice)", () => {
    const a = parse("cpu  100 10 0 100 0 0 0 0 0 0\n");
    const b = parse("cpu  150 20 0 120 0 0 0 0 40 5\n");
    const u = cpuUsage(a, b)!;
    expect(u.userPercent).toBeCloseTo((60 / 80) * 100, 10);
    expect(u.totalPercent).toBeCloseTo((60 / 80) * 100, 10);
    expect(u.idlePercent).toBeCloseTo((20 / 80) * 100, 10);
  });

  test.each([
    ["the captures in reverse order", T1, T0],
    ["the same read twice (nothing elapsed)", T0, T0],
    ["only iowait going backwards", T0, T1.replace("cpu  65938 0 46577 1028912 1312", "cpu  65938 0 46577 1028912 1300")],
  ])("%s → undefined", (_label, a, b) => {
    expect(cpuUsage(parse(a), parse(b))).toBeUndefined();
  });

  test("a core whose counters went backwards is left out; the node figure stays", () => {
    // cpu1 iowait 1224 → 1223 (a known kernel quirk on some versions); the cpu line is consistent
    const b = T1.replace("cpu1 35002 0 24425 510713 1224", "cpu1 35002 0 24425 510714 1223");
    const u = cpuUsage(parse(T0), parse(b))!;
    expect(u.cores.map((c) => c.id)).toEqual([0]);
    expect(u.totalPercent).toBeCloseTo((151 / 205) * 100, 10);
  });

  test("a core missing from either read (hot-unplugged) is left out", () => {
    const drop = (text: string): string =>
      text
        .split("\n")
        .filter((l) => !l.startsWith("cpu1 "))
        .join("\n");
    expect(cpuUsage(parse(drop(T0)), parse(T1))!.cores.map((c) => c.id)).toEqual([0]);
    expect(cpuUsage(parse(T0), parse(drop(T1)))!.cores.map((c) => c.id)).toEqual([0]);
  });
});
