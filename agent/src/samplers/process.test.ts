import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { parseProcessStat, processUsage, readProcConstants, readProcessStat, type ProcessStat } from "./process.js";

/** Fixtures: real /proc/<pid>/stat lines (fixtures/README.md). */
const fixture = (name: string): string => readFileSync(new URL(`./fixtures/pidstat/${name}`, import.meta.url), "utf8");
const BUSY_DT_NS = BigInt((JSON.parse(fixture("busy.meta.json")) as { dtNs: number }).dtNs);
const K = { ticksPerSecond: 100, pageSize: 4096 };
const parse = (text: string): ProcessStat => {
  const s = parseProcessStat(text);
  if (!s) throw new Error("unparsable");
  return s;
};

describe("parseProcessStat", () => {
  test.each([
    // 24609 (cat) R … utime 0 stime 0 … starttime 579173 vsize 3133440 rss 415
    { file: "cat.txt", pid: 24609, comm: "cat", utime: 0, stime: 0, start: 579173, rss: 415 },
    // a copy of `yes` named "b) (x y", busy: utime 10 → 52, stime 15 → 75
    { file: "busy-t0.txt", pid: 24612, comm: "b) (x y", utime: 10, stime: 15, start: 579176, rss: 382 },
    { file: "busy-t1.txt", pid: 24612, comm: "b) (x y", utime: 52, stime: 75, start: 579176, rss: 382 },
  ])("$file", ({ file, pid, comm, utime, stime, start, rss }) => {
    const text = fixture(file);
    expect(parse(text)).toEqual({ pid, comm, utimeTicks: utime, stimeTicks: stime, startTicks: start, rssPages: rss });
    expect(parseProcessStat(Buffer.from(text))).toEqual(parse(text));
  });

  // Derived from cat.txt by replacing the comm: the comm ends at the LAST ')'.
  test.each(["a b", ") (", "x) R 1 2 (y", "((", "", "  "])("comm %j", (comm) => {
    const s = parse(fixture("cat.txt").replace("(cat)", `(${comm})`));
    expect(s.comm).toBe(comm);
    expect([s.utimeTicks, s.startTicks, s.rssPages]).toEqual([0, 579173, 415]);
  });

  test("a UTF-8 comm is decoded", () => {
    expect(parse(fixture("cat.txt").replace("(cat)", "(ünï)")).comm).toBe("ünï");
  });

  test.each([
    ["empty", ""],
    ["no parentheses", "123 cat R 1 2 3"],
    ["truncated before rss", fixture("cat.txt").split(" ").slice(0, 20).join(" ")],
    ["pid not a number", fixture("cat.txt").replace("24609", "x")],
  ])("%s → undefined", (_label, text) => {
    expect(parseProcessStat(text)).toBeUndefined();
  });
});

describe("processUsage", () => {
  test("captured busy process: 102 ticks in 1.048 s ≈ 97 % of one CPU", () => {
    const u = processUsage(parse(fixture("busy-t0.txt")), parse(fixture("busy-t1.txt")), BUSY_DT_NS, K)!;
    expect(u.pid).toBe(24612);
    expect(u.comm).toBe("b) (x y");
    expect(u.cpuPercent).toBeCloseTo(((102 / 100) * 1e9 * 100) / Number(BUSY_DT_NS), 10);
    expect(u.rssBytes).toBe(382 * 4096);
  });

  test.each([
    { label: "2 s of CPU in 1 s (two threads)", ticks: 200, dtNs: 1_000_000_000n, hz: 100, pct: 200 },
    { label: "25 ticks at 250 Hz in 500 ms", ticks: 25, dtNs: 500_000_000n, hz: 250, pct: 20 },
    { label: "idle", ticks: 0, dtNs: 100_000_000n, hz: 100, pct: 0 },
  ])("$label → $pct %", ({ ticks, dtNs, hz, pct }) => {
    const a = parse(fixture("cat.txt"));
    const b = { ...a, utimeTicks: a.utimeTicks + ticks };
    expect(processUsage(a, b, dtNs, { ticksPerSecond: hz, pageSize: 16384 })).toEqual({ pid: 24609, comm: "cat", cpuPercent: pct, rssBytes: 415 * 16384 });
  });

  test.each([
    ["a reused pid (other start time)", { startTicks: 1 }, 1_000_000n],
    ["CPU time going backwards", { utimeTicks: -5 }, 1_000_000n],
    ["no time elapsed", {}, 0n],
  ] as const)("%s → undefined", (_label, change, dtNs) => {
    const a = parse(fixture("busy-t1.txt"));
    const b = { ...a, ...change, utimeTicks: a.utimeTicks + ("utimeTicks" in change ? change.utimeTicks : 1) };
    expect(processUsage(a, b, dtNs, K)).toBeUndefined();
  });
});

describe("live reads", () => {
  test("readProcessStat reads this process; a process that exited is undefined", () => {
    expect(readProcessStat("/proc", process.pid)?.pid).toBe(process.pid);
    const gone = spawnSync("true").pid;
    expect(readProcessStat("/proc", gone)).toBeUndefined();
  });

  test("readProcConstants asks getconf", async () => {
    const want = (name: string): number => Number(spawnSync("getconf", [name], { encoding: "utf8" }).stdout.trim());
    expect(await readProcConstants()).toEqual({ ticksPerSecond: want("CLK_TCK"), pageSize: want("PAGESIZE") });
  });
});
