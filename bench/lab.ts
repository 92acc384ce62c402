/**
 * bench:lab — `netmatrix lab run` per CNI mode (host-gw, vxlan, l2) on 1 Gbit
 * NICs: its wall time split into setup, measurement and teardown, and a
 * comparison table like field report 004's conclusion, every number produced by
 * netmatrix itself (pod-pod across nodes against the host-host baseline).
 *
 *   sudo npm run bench:lab -- [--duration 3] [--nic-rate 1gbit]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { runNetmatrix } from "../test/harness/processes.js";
import { testSlot } from "../test/harness/slot.js";
import { isIcmpTool } from "../tools/src/index.js";

const { values } = parseArgs({ options: { duration: { type: "string", default: "3" }, "nic-rate": { type: "string", default: "1gbit" } } });

type Case = { scenario: string; tool: string; protocol: string; direction: string; summary: any; repetitions: any[] };

const find = (cases: Case[], scenario: string, tool: string, protocol = "tcp") =>
  cases.find((c) => c.scenario === scenario && c.tool === tool && (isIcmpTool(tool) || c.protocol === protocol) && c.direction === "forward");
const mbit = (bps?: number) => (bps === undefined ? "-" : `${(bps / 1e6).toFixed(1)} Mbit/s`);
const us = (v?: number) => (v === undefined ? "-" : `${v.toFixed(1)} µs`);

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error("bench:lab needs root (the lab builds network namespaces).");
    process.exit(2);
  }
  const dataDir = mkdtempSync(join(tmpdir(), "nm-blab-"));
  // A lab of its own (prefix, address block, free ports): a user's nm-lab- or a test run's lab may be up.
  const env = testSlot().labEnv(dataDir);
  const timing = new Table({ head: ["CNI", "SETUP", "MATRIX", "TEARDOWN", "TOTAL", "CASES", "FAILED"], style: { head: [], border: [] } });
  const compare = new Table({
    head: ["network", "TCP throughput", "vs host-host", "UDP loss", "ping RTT", "qperf tcp_lat (one-way)", "CPU/Gbit/s client·server", "wire/payload"],
    style: { head: [], border: [] },
  });
  try {
    let baselineDone = false;
    for (const cni of ["host-gw", "vxlan", "l2"]) {
      const t0 = performance.now();
      const res = await runNetmatrix(
        ["lab", "run", "--cni", cni, "--nic-rate", values["nic-rate"]!, "--duration", values.duration!, "--tools", "iperf3,qperf,ping", "--output", "json"],
        { env },
      );
      const total = (performance.now() - t0) / 1000;
      const split = /setup ([\d.]+) s, matrix ([\d.]+) s, teardown ([\d.]+) s/.exec(res.stderr);
      let doc: { cases: Case[] };
      try {
        doc = JSON.parse(res.stdout);
      } catch {
        console.error(`lab run --cni ${cni} failed (exit ${res.code}):\n${res.stderr.slice(-3000)}`);
        continue;
      }
      const failed = doc.cases.filter((c) => c.summary.failed > 0).length;
      timing.push([cni, `${split?.[1] ?? "?"} s`, `${split?.[2] ?? "?"} s`, `${split?.[3] ?? "?"} s`, `${total.toFixed(1)} s`, String(doc.cases.length), String(failed)]);
      const row = (label: string, scenario: string) => {
        const tcp = find(doc.cases, scenario, "iperf3");
        const udp = find(doc.cases, scenario, "iperf3", "udp");
        const ping = find(doc.cases, scenario, "ping");
        const qperf = find(doc.cases, scenario, "qperf");
        const rep = tcp?.repetitions[0];
        compare.push([
          label,
          mbit(tcp?.summary.throughputBps?.mean),
          tcp?.summary.ratioToBaseline ? `${(tcp.summary.ratioToBaseline * 100).toFixed(1)} %` : scenario === "host-host" ? "(baseline)" : "-",
          udp?.summary.lossPercent ? `${udp.summary.lossPercent.mean.toFixed(2)} %` : "-",
          us(ping?.summary.latencyUs?.mean),
          us(qperf?.summary.latencyUs?.mean),
          rep ? `${rep.clientCpuPercentPerGbps?.toFixed(1) ?? "-"} · ${rep.serverCpuPercentPerGbps?.toFixed(1) ?? "-"} %` : "-",
          rep?.wireToPayload ? `${rep.wireToPayload.toFixed(3)} (${rep.clientCarryingInterface})` : "-",
        ]);
      };
      if (!baselineDone) {
        row(`host network (${cni} lab)`, "host-host");
        baselineDone = true;
      }
      row(`pod-pod, ${cni}`, "pod-pod-cross");
      row(`pod→service, ${cni}`, "pod-service-cross");
    }
    console.log(`lab run per CNI (2 nodes, NICs ${values["nic-rate"]}, ${values.duration} s per measurement):`);
    console.log(timing.toString());
    console.log("\nCNI comparison (cross-node, node-1 → node-2), produced by netmatrix:");
    console.log(compare.toString());
  } finally {
    await runNetmatrix(["lab", "down"], { env });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
