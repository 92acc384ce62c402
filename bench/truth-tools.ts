/**
 * bench:truth (tools part) — does each throughput tool tell the truth?
 *
 * On one veth path between two namespaces with a 1 Gbit tbf (test/harness/pair.ts),
 * measure every tool that cross-checks TCP (its driver's `crosscheck`
 * capability: iperf3, iperf2, qperf) through netmatrix, a few short runs
 * each, and print each tool's median against theory: 1e9 × 1448/1514 (TCP
 * payload per Ethernet frame at MTU 1500 with timestamps). Bars: iperf3 and
 * iperf2 within 1 %, qperf within 3 % (its bandwidth test shares its run with
 * a latency test and reports 3 significant digits). A miss prints MISS; the
 * bench never exits non-zero on one.
 *
 *   node dist-dev/bench/truth-tools.js [--runs 3] [--duration 3] [--rate 1gbit]
 */
import { isMain } from "./is-main.js";
import { parseArgs } from "node:util";
import { canUseNamespaces } from "../lab/src/netns.js";
import { drivers, tools } from "../tools/src/index.js";
import { createPair, tcpGoodputBps } from "../test/harness/pair.js";
import { testSlot } from "../test/harness/slot.js";

/** The issue's bars, percent off theory; a tool not listed gets the strictest. */
const BARS_PERCENT: Readonly<Record<string, number>> = { iperf3: 1, iperf2: 1, qperf: 3 };
const DEFAULT_BAR_PERCENT = 1;

export interface TruthToolsOptions {
  /** Runs per tool (each one repetition through netmatrix); default 3. */
  runs?: number;
  /** Seconds per run; default 3. */
  durationS?: number;
  /** tbf rate, tc syntax; default "1gbit" (theory assumes the bits/s it names). */
  rate?: string;
  /** Rate in bits/s the theory is computed from; default 1e9. */
  rateBps?: number;
}

/** One tool's result against theory. */
export interface Row {
  part: "tools";
  tool: string;
  runs: number;
  /** Each run's throughput, bits/s (failed runs left out, never 0). */
  runsBps: number[];
  medianBps: number | undefined;
  theoryBps: number;
  /** (median − theory) / theory, percent; undefined without a median. */
  offPercent: number | undefined;
  barPercent: number;
  pass: boolean;
  /** Why a run failed, when one did. */
  failures: string[];
}

function median(v: readonly number[]): number | undefined {
  if (!v.length) return undefined;
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Measure each TCP cross-checking tool on one tbf-limited pair; one Row per tool. Needs root. */
export async function truthTools(opts: TruthToolsOptions = {}): Promise<Row[]> {
  const runs = opts.runs ?? 3;
  const durationS = opts.durationS ?? 3;
  const rate = opts.rate ?? "1gbit";
  const theoryBps = tcpGoodputBps(opts.rateBps ?? 1e9);
  const slot = testSlot();
  const pair = await createPair({ prefix: slot.prefix("btt"), block: slot.block, rate });
  const rows: Row[] = [];
  try {
    for (const tool of tools.names.filter((t) => drivers[t].capabilities.crosscheck?.tcp)) {
      const runsBps: number[] = [];
      const failures: string[] = [];
      for (let i = 0; i < runs; i++) {
        const res = await pair.cli(["run", "--client", "node-a", "--server", "node-b", "--tool", tool, "--duration", String(durationS), "--output", "json"]);
        let rep: { ok: boolean; measurement?: { throughputBps?: number }; failure?: { reason: string } } | undefined;
        try {
          rep = JSON.parse(res.stdout).cases[0].repetitions[0];
        } catch {
          failures.push(`exit ${res.code}: ${res.stderr.split("\n").find((l) => l.trim()) ?? "no output"}`);
          continue;
        }
        const bps = rep?.measurement?.throughputBps;
        if (rep?.ok && typeof bps === "number" && Number.isFinite(bps) && bps > 0) runsBps.push(bps);
        else failures.push(rep?.failure?.reason ?? "no throughput");
      }
      const med = median(runsBps);
      const offPercent = med === undefined ? undefined : (med / theoryBps - 1) * 100;
      const barPercent = BARS_PERCENT[tool] ?? DEFAULT_BAR_PERCENT;
      rows.push({
        part: "tools",
        tool,
        runs,
        runsBps,
        medianBps: med,
        theoryBps,
        offPercent,
        barPercent,
        pass: offPercent !== undefined && Math.abs(offPercent) <= barPercent,
        failures,
      });
    }
  } finally {
    await pair.close();
  }
  return rows;
}

/** A row as one line: tool, median, theory, how far off, the bar, PASS/MISS. */
export function rowLine(r: Row): string {
  const mbit = (v: number | undefined) => (v === undefined ? "-" : `${(v / 1e6).toFixed(1)} Mbit/s`);
  const off = r.offPercent === undefined ? "no median" : `${r.offPercent >= 0 ? "+" : ""}${r.offPercent.toFixed(2)} %`;
  const runs = r.runsBps.map((v) => (v / 1e6).toFixed(1)).join(", ");
  return `${r.tool.padEnd(8)} median ${mbit(r.medianBps).padStart(14)}  theory ${mbit(r.theoryBps)}  ${off.padStart(9)}  bar ±${r.barPercent} %  ${r.pass ? "PASS" : "MISS"}  (runs: ${runs || "none"}${r.failures.length ? `; failed: ${r.failures.join("; ")}` : ""})`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "3" }, duration: { type: "string", default: "3" }, rate: { type: "string", default: "1gbit" } } });
  if (!canUseNamespaces()) {
    console.error("bench:truth (tools) needs root (it builds two network namespaces joined by a veth pair).");
    process.exit(2);
  }
  const rows = await truthTools({ runs: Number(values.runs), durationS: Number(values.duration), rate: values.rate });
  console.log(`each tool's median TCP throughput through netmatrix on a veth with a ${values.rate} tbf, against 1e9 × 1448/1514:`);
  for (const r of rows) console.log(rowLine(r));
}

if (isMain(import.meta.url)) await main();
