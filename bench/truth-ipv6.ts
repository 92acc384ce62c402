/**
 * bench:truth's IPv6 part — the lab's IPv4 vs IPv6 throughput and ping RTT
 * side by side: `netmatrix lab up --ipv6` (host-gw, 1 Gbit/s tbf NICs), one
 * matrix with `families: [ipv4, ipv6]` (iperf3 TCP and ping, host-host and
 * pod-pod-cross, one node pair), every number produced by netmatrix itself.
 * Each row: IPv4 and IPv6 iperf3 TCP medians, their ratio, IPv6 against the
 * theoretical IPv6 TCP goodput 1e9 × 1428/1514 (the issue's bound: within 2 %),
 * and both families' ping RTT.
 *
 * `truthIpv6()` returns the rows (the lead wires it into `npm run
 * bench:truth`); run alone it prints them:
 *
 *   sudo node dist-dev/bench/truth-ipv6.js [--duration 2] [--repetitions 2]
 */
import { isMain } from "./is-main.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { stringify } from "yaml";
import { readLabState } from "../lab/src/lab.js";
import { runNetmatrix } from "../test/harness/processes.js";
import { testSlot } from "../test/harness/slot.js";

/** The lab's NIC rate (tbf), bits/s, and the theoretical IPv6 TCP goodput through it (MTU 1500, timestamps: 1428 B per 1514 B frame). */
export const NIC_RATE_BPS = 1e9;
export const IPV6_TCP_THEORY_BPS = (NIC_RATE_BPS * 1428) / 1514;

/** One path's IPv4 vs IPv6 figures; undefined where a case failed or was not planned. */
export interface Ipv6TruthRow {
  scenario: string;
  ipv4Bps?: number;
  ipv6Bps?: number;
  /** ipv6Bps / ipv4Bps. */
  ratioV6ToV4?: number;
  /** ipv6Bps / IPV6_TCP_THEORY_BPS. */
  ratioV6ToTheory?: number;
  /** Whether IPv6 is within 2 % of theory. */
  withinBound?: boolean;
  ipv4PingUs?: number;
  ipv6PingUs?: number;
  /** Why a repetition's figure measures CPU (the agents' cpu-bound flag), when one does. */
  cpuBound?: string;
}

const median = (v: number[]): number | undefined => (v.length ? [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] : undefined);

/** Build a dual-stack lab, measure, tear it down; the rows. Needs root. */
export async function truthIpv6(o: { durationS?: number; repetitions?: number } = {}): Promise<Ipv6TruthRow[]> {
  const dataDir = mkdtempSync(join(tmpdir(), "nm-btv6-"));
  // A lab of its own (prefix, address block, free ports): a user's lab or a test run's may be up.
  const env = testSlot().labEnv(dataDir);
  try {
    const up = await runNetmatrix(["lab", "up", "--cni", "host-gw", "--nic-rate", "1gbit", "--ipv6"], { env });
    if (up.code !== 0) throw new Error(`lab up --ipv6 failed (exit ${up.code}):\n${up.stderr.slice(-3000)}`);
    const state = readLabState(dataDir)!;
    // Let the agents' start-up leave their load window.
    await new Promise((r) => setTimeout(r, 3000));
    const file = join(dataDir, "truth-ipv6.yaml");
    const scenarios = ["host-host", "pod-pod-cross"];
    writeFileSync(
      file,
      stringify({
        name: "truth-ipv6",
        scenarios,
        tools: ["iperf3", "ping"],
        protocols: ["tcp"],
        duration: o.durationS ?? 2,
        omit: 1,
        repetitions: o.repetitions ?? 2,
        pairs: { sample: 1 },
        families: ["ipv4", "ipv6"],
      }),
    );
    const res = await runNetmatrix(["run", "--spec", file, "--coordinator", state.coordinator, "--token-file", state.tokenFile, "--output", "json"], { env });
    let doc: { cases: { key: string; scenario: string; tool: string; repetitions: any[] }[] };
    try {
      doc = JSON.parse(res.stdout);
    } catch {
      throw new Error(`the IPv4/IPv6 matrix printed no report (exit ${res.code}):\n${res.stderr.slice(-3000)}`);
    }
    const pick = (scenario: string, tool: string, v6: boolean) => doc.cases.find((c) => c.scenario === scenario && c.tool === tool && c.key.includes("/ipv6/") === v6);
    const ok = (c: { repetitions: any[] } | undefined) => (c?.repetitions ?? []).filter((r) => r.ok).map((r) => r.measurement);
    return scenarios.map((scenario) => {
      const [t4, t6] = [pick(scenario, "iperf3", false), pick(scenario, "iperf3", true)];
      const ipv4Bps = median(ok(t4).map((m) => m.throughputBps));
      const ipv6Bps = median(ok(t6).map((m) => m.throughputBps));
      const ipv4PingUs = median(ok(pick(scenario, "ping", false)).map((m) => m.latency.meanUs));
      const ipv6PingUs = median(ok(pick(scenario, "ping", true)).map((m) => m.latency.meanUs));
      const cpuBound = [...(t4?.repetitions ?? []), ...(t6?.repetitions ?? [])].map((r) => r.cpuBound).find(Boolean);
      const row: Ipv6TruthRow = { scenario };
      if (ipv4Bps !== undefined) row.ipv4Bps = ipv4Bps;
      if (ipv6Bps !== undefined) {
        row.ipv6Bps = ipv6Bps;
        row.ratioV6ToTheory = ipv6Bps / IPV6_TCP_THEORY_BPS;
        row.withinBound = Math.abs(row.ratioV6ToTheory - 1) < 0.02;
        if (ipv4Bps) row.ratioV6ToV4 = ipv6Bps / ipv4Bps;
      }
      if (ipv4PingUs !== undefined) row.ipv4PingUs = ipv4PingUs;
      if (ipv6PingUs !== undefined) row.ipv6PingUs = ipv6PingUs;
      if (cpuBound) row.cpuBound = cpuBound;
      return row;
    });
  } finally {
    await runNetmatrix(["lab", "down"], { env });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The rows as a table. */
export function ipv6TruthTable(rows: readonly Ipv6TruthRow[]): string {
  const mbit = (v?: number) => (v === undefined ? "-" : `${(v / 1e6).toFixed(1)} Mbit/s`);
  const us = (v?: number) => (v === undefined ? "-" : `${v.toFixed(0)} µs`);
  const t = new Table({
    head: ["path", "IPv4 TCP", "IPv6 TCP", "v6/v4", `v6/theory (${mbit(IPV6_TCP_THEORY_BPS)})`, "IPv4 ping", "IPv6 ping", "note"],
    style: { head: [], border: [] },
  });
  for (const r of rows) {
    t.push([
      r.scenario,
      mbit(r.ipv4Bps),
      mbit(r.ipv6Bps),
      r.ratioV6ToV4?.toFixed(4) ?? "-",
      r.ratioV6ToTheory === undefined ? "-" : `${r.ratioV6ToTheory.toFixed(4)} ${r.withinBound ? "(within 2 %)" : "(OUTSIDE 2 %)"}`,
      us(r.ipv4PingUs),
      us(r.ipv6PingUs),
      r.cpuBound ? `cpu-bound: ${r.cpuBound}` : "",
    ]);
  }
  return t.toString();
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { duration: { type: "string", default: "2" }, repetitions: { type: "string", default: "2" } } });
  if (process.getuid?.() !== 0) {
    console.error("bench truth-ipv6 needs root (the lab builds network namespaces).");
    process.exit(2);
  }
  const rows = await truthIpv6({ durationS: Number(values.duration), repetitions: Number(values.repetitions) });
  console.log(`lab host-gw --ipv6, NICs 1 Gbit/s (tbf), iperf3 TCP and ping, node-1 → node-2 (one sampled pair):`);
  console.log(ipv6TruthTable(rows));
}
