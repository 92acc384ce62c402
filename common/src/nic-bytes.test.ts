import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { windowBytes, type CounterRate, type CounterSample } from "./nic-bytes.js";

/** A sample of one interval (`ms`) ending at the given totals, with the rates the agent would send (delta × 8000 / ms). */
function sample(ms: number, ifs: [name: string, prevRx: number, rx: number, prevTx: number, tx: number][]): CounterSample {
  return {
    intervalMs: ms,
    interfaces: ifs.map(([name, prevRx, rx, prevTx, tx]): CounterRate => ({
      name,
      rxBps: ((rx - prevRx) * 8000) / ms,
      txBps: ((tx - prevTx) * 8000) / ms,
      rxBytesTotal: rx,
      txBytesTotal: tx,
    })),
  };
}

describe("windowBytes: counters, first to last sample", () => {
  test("the window starts at the agent's priming read: the first interval counts", () => {
    // Primed at rx 1000 / tx 5000; three intervals.
    const s = [
      sample(100, [["eth0", 1000, 1500, 5000, 125_005_000]]),
      sample(100, [["eth0", 1500, 1700, 125_005_000, 250_005_000]]),
      sample(33.3, [["eth0", 1700, 1760, 250_005_000, 291_630_000]]),
    ];
    expect(windowBytes(s).get("eth0")).toEqual({ rxBytes: 760, txBytes: 291_625_000 });
  });

  test("an interval the agent could not rate loses nothing (rates summed over the samples would)", () => {
    const s = [sample(100, [["eth0", 0, 10, 0, 1_000_000]]), { intervalMs: 100, interfaces: [] }, sample(100, [["eth0", 10, 30, 3_000_000, 4_000_000]])];
    const ratesTimesTime = s.flatMap((x) => x.interfaces.map((i) => (i.txBps * x.intervalMs) / 8000)).reduce((a, b) => a + b, 0);
    expect(ratesTimesTime).toBe(2_000_000);
    expect(windowBytes(s).get("eth0")).toEqual({ rxBytes: 30, txBytes: 4_000_000 });
  });

  test("an interface that appears during the window counts from its first sample", () => {
    const s = [
      sample(100, [["eth0", 0, 10, 0, 10]]),
      sample(100, [
        ["eth0", 10, 20, 10, 20],
        ["veth9", 500, 800, 0, 40],
      ]),
    ];
    expect(windowBytes(s)).toEqual(
      new Map([
        ["eth0", { rxBytes: 20, txBytes: 20 }],
        ["veth9", { rxBytes: 300, txBytes: 40 }],
      ]),
    );
  });

  test("a counter that goes backwards gives no figure, with the reason", () => {
    const s = [sample(100, [["eth0", 0, 5000, 0, 5000]]), sample(100, [["eth0", 0, 200, 5000, 6000]])];
    expect(windowBytes(s).get("eth0")).toEqual({ problem: "its rx counter went backwards (5000 → 200 B): reset or re-created during the window" });
  });

  test.each<[string, CounterRate, RegExp]>([
    ["a fractional total", { name: "x", rxBps: 0, txBps: 0, rxBytesTotal: 10.5, txBytesTotal: 0 }, /rx total 10.5 is not a whole number/],
    ["a negative total", { name: "x", rxBps: 0, txBps: 0, rxBytesTotal: 0, txBytesTotal: -1 }, /tx total -1 is not a whole number/],
    ["beyond 64 bits", { name: "x", rxBps: 0, txBps: 0, rxBytesTotal: 2 ** 64, txBytesTotal: 0 }, /not a whole number/],
    ["NaN", { name: "x", rxBps: 0, txBps: 0, rxBytesTotal: NaN, txBytesTotal: 0 }, /not a whole number/],
    // No cumulative counters, or rates that are not bytes over the interval: the start of the window is unknown.
    ["no totals under a rate", { name: "x", rxBps: 8e6, txBps: 0, rxBytesTotal: 0, txBytesTotal: 0 }, /first sample's rx rate and total do not agree/],
    ["a rate that is not whole bytes", { name: "x", rxBps: 12.3, txBps: 0, rxBytesTotal: 1e6, txBytesTotal: 0 }, /rx rate and total do not agree/],
    ["a negative rate", { name: "x", rxBps: -8000, txBps: 0, rxBytesTotal: 1e6, txBytesTotal: 0 }, /rx rate and total do not agree/],
  ])("hostile input, %s: no figure", (_what, i, reason) => {
    const got = windowBytes([{ intervalMs: 100, interfaces: [i] }]).get("x");
    expect(got && "problem" in got ? got.problem : got).toMatch(reason);
  });

  test("totals beyond 2^53 (a long-lived 100G NIC): differences taken exactly from the doubles sent", () => {
    const big = 2 ** 60; // doubles 256 apart here
    const s = [sample(100, [["eth0", big, big + 1024, big, big]]), sample(100, [["eth0", big + 1024, big + 4096, big, big + 256]])];
    expect(windowBytes(s).get("eth0")).toEqual({ rxBytes: 4096, txBytes: 256 });
  });
});

describe("windowBytes on recorded lab runs (report/fixtures/runs)", () => {
  // Every interface of every repetition, both ends: where every interval was rated the counters and the
  // rates agree to the byte, so the counters change no figure of a complete recording.
  test.each(["host-gw", "vxlan"])("%s: counters = Σ rate × interval wherever no interval is missing", (cni) => {
    let checked = 0;
    for (const line of readFileSync(`report/fixtures/runs/${cni}/cases.jsonl`, "utf8").trim().split("\n")) {
      const rec = JSON.parse(line) as { result: { repetitions?: Record<string, unknown>[] } };
      for (const rep of rec.result.repetitions ?? []) {
        for (const side of ["clientSamples", "serverSamples"]) {
          const raw = (rep[side] ?? []) as { intervalMs: number; interfaces?: Partial<CounterRate>[] }[];
          const samples: CounterSample[] = raw.map((s) => ({
            intervalMs: s.intervalMs,
            interfaces: (s.interfaces ?? []).map((i) => ({
              name: i.name!,
              rxBps: i.rxBps ?? 0,
              txBps: i.txBps ?? 0,
              rxBytesTotal: i.rxBytesTotal ?? 0,
              txBytesTotal: i.txBytesTotal ?? 0,
            })),
          }));
          for (const [name, got] of windowBytes(samples)) {
            const sum = (k: "rxBps" | "txBps") => samples.reduce((n, s) => n + ((s.interfaces.find((i) => i.name === name)?.[k] ?? 0) * s.intervalMs) / 8000, 0);
            expect(got).toEqual({ rxBytes: Math.round(sum("rxBps")), txBytes: Math.round(sum("txBps")) });
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(900); // 90 repetitions × 2 ends × 5 interfaces
  });
});
