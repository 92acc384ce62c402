import { describe, expect, test } from "vitest";
import { beatsBaseline, busyBeforeRun, CPU_BOUND, cpuBoundReasons, cpuBoundText, toolCoreLimit, type EndCpuFigures } from "./busy.js";
import { flagWord, repetitionFlagsOfCase } from "./model.js";

const idle: EndCpuFigures = { end: "client", node: "node-1", cpuCount: 2, samples: 50, nodeBusyPercent: 12, toolCpuPercent: 20, stealPercent: 0, procsRunning: 1.2 };

describe("cpuBoundReasons: the flag rule", () => {
  test.each([
    { what: "an idle node", e: {}, parallel: 1, want: [] },
    { what: "node busy just under the threshold", e: { nodeBusyPercent: 89.9 }, parallel: 1, want: [] },
    { what: "node busy at the threshold", e: { nodeBusyPercent: 90 }, parallel: 1, want: ["node-busy"] },
    { what: "the user's loaded machine (3–4.5 on 2 cores)", e: { nodeBusyPercent: 99.6, procsRunning: 4.3 }, parallel: 1, want: ["node-busy"] },
    { what: "single-threaded tool at a full core on a big idle node", e: { cpuCount: 64, nodeBusyPercent: 3, toolCpuPercent: 99 }, parallel: 1, want: ["tool-core"] },
    { what: "tool just under 95 % of a core", e: { toolCpuPercent: 94.9 }, parallel: 1, want: [] },
    { what: "4 streams at 150 % of a core on 8 cores: not bound", e: { cpuCount: 8, toolCpuPercent: 150 }, parallel: 4, want: [] },
    { what: "4 streams at 380 % on 8 cores: bound", e: { cpuCount: 8, toolCpuPercent: 380 }, parallel: 4, want: ["tool-core"] },
    { what: "4 streams on 2 cores: the limit is the cores", e: { cpuCount: 2, toolCpuPercent: 190 }, parallel: 4, want: ["tool-core"] },
    { what: "steal at 10 %", e: { stealPercent: 10 }, parallel: 1, want: ["steal"] },
    { what: "every rule", e: { nodeBusyPercent: 100, toolCpuPercent: 100, stealPercent: 30 }, parallel: 1, want: ["node-busy", "tool-core", "steal"] },
    { what: "no samples: no verdict", e: { samples: 0, nodeBusyPercent: 100 }, parallel: 1, want: [] },
  ])("$what → $want", ({ e, parallel, want }) => {
    expect(cpuBoundReasons({ ...idle, ...e }, parallel)).toEqual(want);
  });

  test.each([
    [1, 2, 95],
    [0, 2, 95],
    [4, 2, 190],
    [4, 0, 380],
    [3, 16, 285],
  ])("toolCoreLimit(parallel %i, %i cores) = %i", (parallel, cores, want) => {
    expect(toolCoreLimit(parallel, cores)).toBe(want);
  });

  test("the thresholds are the documented ones", () => {
    expect(CPU_BOUND).toEqual({ nodeBusyPercent: 90, toolCorePercent: 95, stealPercent: 10 });
  });
});

describe("cpuBoundText", () => {
  test("names the end, the node, each broken rule with its threshold, and the run queue on the cores", () => {
    const ends = [
      { ...idle, nodeBusyPercent: 98.4, procsRunning: 4.24, reasons: ["node-busy"] },
      { ...idle, end: "server", node: "node-2", toolCpuPercent: 97, stealPercent: 12, procsRunning: undefined, reasons: ["tool-core", "steal"] },
    ];
    expect(cpuBoundText(ends, "iperf3")).toBe(
      "client node-1: node CPU 98 % busy (≥ 90 %); run queue 4.2 on 2 cores; server node-2: iperf3 at 97 % of one core (≥ 95 %), steal 12 % (≥ 10 %); 2 cores",
    );
  });

  test("an end that broke no rule is not named; none → empty", () => {
    expect(cpuBoundText([{ ...idle, reasons: [] }], "iperf3")).toBe("");
    expect(cpuBoundText([{ ...idle, toolCpuPercent: 390, cpuCount: 8, reasons: ["tool-core"] }], "iperf3", 4)).toBe(
      "client node-1: iperf3 at 390 % of one core (≥ 380 %: 4 streams); run queue 1.2 on 8 cores",
    );
  });
});

describe("busyBeforeRun: the pre-run warning", () => {
  const load = { cpuBusyPercent: 4, stealPercent: 0, loadAverage1m: 0.3, cpuCount: 2 };
  test.each([
    { what: "idle", l: {}, want: undefined },
    { what: "49 % busy", l: { cpuBusyPercent: 49.4 }, want: undefined },
    {
      what: "87 % busy, load 3.9",
      l: { cpuBusyPercent: 87.2, loadAverage1m: 3.94 },
      want: "node-1: CPU 87 % busy before the run (load 3.9 on 2 cores): results may measure CPU, not the network; cases where it matters are flagged cpu-bound",
    },
    {
      what: "steal alone",
      l: { stealPercent: 25, cpuCount: 1 },
      want: "node-1: CPU 4 % busy, 25 % stolen by the hypervisor before the run (load 0.3 on 1 core): results may measure CPU, not the network; cases where it matters are flagged cpu-bound",
    },
    { what: "a high load average alone (it lags a minute)", l: { loadAverage1m: 6 }, want: undefined },
  ])("$what", ({ l, want }) => {
    expect(busyBeforeRun("node-1", { ...load, ...l })).toBe(want);
  });

  test("no report yet → no warning", () => {
    expect(busyBeforeRun("node-1", undefined)).toBeUndefined();
  });
});

describe("beatsBaseline: the baseline-suspect rule", () => {
  const M = 1e6;
  test.each([
    { what: "the user's run: pod 946.8 vs host 528.7 Mbit/s", value: 946.8 * M, baseline: 528.7 * M, want: true },
    { what: "pod 946.8 vs host 382.2", value: 946.8 * M, baseline: 382.2 * M, want: true },
    { what: "pod slower than host (the normal case)", value: 900 * M, baseline: 941 * M, want: false },
    { what: "pod 2 % faster: noise", value: 960 * M, baseline: 941 * M, want: false },
    { what: "pod exactly 5 % faster: still within the margin", value: 105, baseline: 100, want: false },
    { what: "pod 5.1 % faster", value: 105.1, baseline: 100, want: true },
    { what: "no baseline", value: 100, baseline: undefined, want: false },
    { what: "no value", value: undefined, baseline: 100, want: false },
    { what: "baseline 0", value: 100, baseline: 0, want: false },
    { what: "NaN", value: Number.NaN, baseline: 100, want: false },
  ])("$what → $want", ({ value, baseline, want }) => {
    expect(beatsBaseline(value, baseline)).toBe(want);
  });
});

describe("case flags", () => {
  test.each([
    { reps: [[], [], []], want: [] },
    { reps: [["cpu-bound"], [], ["cpu-bound"]], want: ["cpu-bound (2/3)"] },
    { reps: [["server-gone"], ["server-gone", "cpu-bound"]], want: ["server-gone", "cpu-bound (1/2)"] },
  ])("repetitionFlagsOfCase($reps) = $want", ({ reps, want }) => {
    expect(repetitionFlagsOfCase(reps.map((flags) => ({ flags })))).toEqual(want);
  });

  test.each([
    ["cpu-bound (2/3)", "cpu-bound"],
    ["baseline-suspect", "baseline-suspect"],
    ["cv>10%", "cv>10%"],
  ])("flagWord(%s) = %s", (flag, word) => {
    expect(flagWord(flag)).toBe(word);
  });
});
