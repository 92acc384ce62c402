/**
 * bench:sampler — what does the node sampler cost?
 *
 * 1. CPU per `SamplerSet.sample()` (ms; process.cpuUsage around N calls)
 *    with 50 interfaces: 25 veth pairs in namespace nm<slot>-bsmp-a, read through
 *    /proc/<pid>/net/dev of a `sleep` living there. Bar: ≤ 0.25 ms.
 * 2. The sampler at 10 Hz in its own process (dist-dev/agent/src/samplers/loop.js)
 *    vs `iftop -t` on the same veth during the same iperf3 TCP run between
 *    nm<slot>-bsmp-b and -c (198.18.2.0/24, tbf 1gbit). CPU of each from
 *    /proc/<pid>/stat (utime+stime) over the same window; also the
 *    nanosecond run time from /proc/<pid>/task/<tid>/schedstat, as ticks are
 *    coarse. Bar: sampler/iftop ≤ 0.5. Run twice: (2a) veth defaults, where
 *    GSO hands iftop ~64 KiB super-packets, and (2b) gso_max_segs 1, where it
 *    sees every 1514-byte frame. iftop's cost follows packets/s; the
 *    sampler's does not.
 *
 *   npm run bench:sampler -- [--samples 2000] [--iperf-seconds 15]
 *
 * (<slot>: the test slot, test/harness/slot.ts.)
 *
 * Needs root. Every namespace and process it starts is removed (processes
 * by pid, through the exec helper) even on failure.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createSamplerSet, readNetDev, readProcConstants, readProcessStat, type NetDevCounters } from "../agent/src/samplers/index.js";
import type { LoopSummary } from "../agent/src/samplers/loop.js";
import { startProcess, type RunningProcess } from "../common/src/exec.js";
import { addNamespace, canUseNamespaces, ip, rateLimit, sweepNamespaces, vethPair } from "../lab/src/netns.js";
import { testSlot } from "../test/harness/slot.js";

const { values } = parseArgs({
  options: {
    samples: { type: "string", default: "2000" },
    "iperf-seconds": { type: "string", default: "15" },
  },
});
const N = Number(values.samples);
const IPERF_S = Number(values["iperf-seconds"]);
const PREFIX = testSlot().prefix("bsmp");
const NS_A = `${PREFIX}a`;
const NS_B = `${PREFIX}b`;
const NS_C = `${PREFIX}c`;
const IF_B = "veth-b";
const ADDR_C = "198.18.2.2";
const PORT = "5312";
const LOOP_S = 12;
const LOOP_JS = join(dirname(fileURLToPath(import.meta.url)), "..", "agent", "src", "samplers", "loop.js");

const started: RunningProcess[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Start a process (guarded by `timeout`, so it cannot outlive us) and remember it for the final cleanup. */
function start(argv: string[], deadlineMs: number): RunningProcess {
  const p = startProcess({ argv, deadlineMs });
  started.push(p);
  return p;
}

/** The real process behind a guarded one (`timeout … ip netns exec NS CMD` → CMD), once it runs `comm` inside `ns`. */
async function inNamespace(p: RunningProcess, ns: string, comm: string): Promise<number> {
  const want = statSync(`/run/netns/${ns}`).ino;
  for (let i = 0; i < 300; i++) {
    try {
      const kid = Number(readFileSync(`/proc/${p.pid}/task/${p.pid}/children`, "utf8").trim().split(" ")[0]);
      if (kid > 0 && statSync(`/proc/${kid}/ns/net`).ino === want && readFileSync(`/proc/${kid}/comm`, "utf8").trim() === comm) return kid;
    } catch {
      // not there yet, or between fork and exec
    }
    await sleep(10);
  }
  throw new Error(`${p.argv.join(" ")}: never ran ${comm} in ${ns}`);
}

/** A process's CPU so far: utime+stime ticks (/proc/<pid>/stat) and run time over all threads, ns (schedstat). */
function cpuOf(pid: number): { ticks: number; ns: number } {
  const st = readProcessStat("/proc", pid);
  if (st === undefined) throw new Error(`pid ${pid} is gone`);
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // thread ended meanwhile
    }
  }
  return { ticks: st.utimeTicks + st.stimeTicks, ns };
}

async function perSampleCost(): Promise<void> {
  await addNamespace(NS_A);
  const dir = mkdtempSync(join(tmpdir(), PREFIX));
  try {
    const batch = Array.from({ length: 25 }, (_, i) => [`link add va${i} type veth peer name vb${i}`, `link set va${i} up`, `link set vb${i} up`].join("\n"));
    writeFileSync(join(dir, "batch"), `${batch.join("\n")}\n`);
    await ip(["-batch", join(dir, "batch")], NS_A);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const pid = await inNamespace(start(["ip", "netns", "exec", NS_A, "sleep", "600"], 600_000), NS_A, "sleep");
  const sampler = await createSamplerSet({ netDevPath: `/proc/${pid}/net/dev`, pids: () => [process.pid, pid] });
  sampler.sample(process.hrtime.bigint());
  const first = sampler.sample(process.hrtime.bigint());
  if (first?.interfaces.length !== 50) throw new Error(`expected 50 interfaces, sampled ${first?.interfaces.length}`);
  for (let i = 0; i < 200; i++) sampler.sample(process.hrtime.bigint());
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let processes = 0;
  for (let i = 0; i < N; i++) processes = sampler.sample(process.hrtime.bigint())?.processes.length ?? 0;
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  const per = (c.user + c.system) / 1000 / N;
  console.log(`1. CPU per sample, ${first.interfaces.length} interfaces + /proc/stat + /proc/meminfo + ${processes} processes, N=${N}:`);
  console.log(`   ${per.toFixed(4)} ms (user ${(c.user / 1000 / N).toFixed(4)}, system ${(c.system / 1000 / N).toFixed(4)}), wall ${(wallMs / N).toFixed(4)} ms`);
  console.log(`   bar ≤ 0.25 ms: ${per <= 0.25 ? "met" : "NOT met"}`);
}

/**
 * `wireFrames`: gso_max_segs 1 on both veth ends, so every skb is one
 * 1514-byte frame (what a capture sees on a NIC without offloads); otherwise
 * veth's default GSO hands ~64 KiB super-packets around and iftop sees ~30×
 * fewer packets.
 */
async function versusIftop(wireFrames: boolean): Promise<void> {
  await sweepNamespaces(`${PREFIX}b`);
  await sweepNamespaces(`${PREFIX}c`);
  await addNamespace(NS_B);
  await addNamespace(NS_C);
  await vethPair({ ns: NS_B, ifName: IF_B, cidr: "198.18.2.1/24" }, { ns: NS_C, ifName: "veth-c", cidr: `${ADDR_C}/24` });
  if (wireFrames) {
    await ip(["link", "set", IF_B, "gso_max_segs", "1"], NS_B);
    await ip(["link", "set", "veth-c", "gso_max_segs", "1"], NS_C);
  }
  await rateLimit(NS_B, IF_B, "1gbit");
  const server = start(["ip", "netns", "exec", NS_C, "iperf3", "-s", "-1", "-p", PORT], (IPERF_S + 30) * 1000);
  await inNamespace(server, NS_C, "iperf3");
  await sleep(300);
  const client = start(["ip", "netns", "exec", NS_B, "iperf3", "-c", ADDR_C, "-p", PORT, "-t", String(IPERF_S), "-J"], (IPERF_S + 30) * 1000);
  await sleep(1000);
  const loop = start(["ip", "netns", "exec", NS_B, process.execPath, LOOP_JS, "--seconds", String(LOOP_S)], (LOOP_S + 20) * 1000);
  const iftop = start(["ip", "netns", "exec", NS_B, "iftop", "-t", "-n", "-N", "-P", "-B", "-i", IF_B, "-s", String(LOOP_S)], (LOOP_S + 20) * 1000);
  const loopPid = await inNamespace(loop, NS_B, "node");
  const iftopPid = await inNamespace(iftop, NS_B, "iftop");
  await sleep(1500); // both past start-up
  const counters = (): NetDevCounters | undefined => readNetDev(`/proc/${loopPid}/net/dev`)?.find((c) => c.name === IF_B);
  const n0 = counters();
  const a0 = cpuOf(loopPid);
  const i0 = cpuOf(iftopPid);
  const w0 = process.hrtime.bigint();
  await sleep((LOOP_S - 3) * 1000);
  const a1 = cpuOf(loopPid);
  const i1 = cpuOf(iftopPid);
  const n1 = counters();
  const windowS = Number(process.hrtime.bigint() - w0) / 1e9;
  const [loopRes, iftopRes, clientRes] = await Promise.all([loop.exited, iftop.exited, client.exited]);
  if (loopRes.exitCode !== 0) throw new Error(`loop failed: ${loopRes.stderr}`);
  if (iftopRes.exitCode !== 0) throw new Error(`iftop failed: ${iftopRes.stderr}`);
  const doc = JSON.parse(clientRes.stdout) as { error?: string; end: { sum_received: { bits_per_second: number } } };
  if (doc.error) throw new Error(`iperf3 failed: ${doc.error}`);
  const summary = JSON.parse(loopRes.stdout.trim().split("\n").pop() ?? "{}") as LoopSummary;
  const seen = summary.interfaces.find((r) => r.name === IF_B);
  const pps = n0 && n1 ? Number(n1.txPackets - n0.txPackets + n1.rxPackets - n0.rxPackets) / windowS : NaN;
  const { ticksPerSecond } = await readProcConstants();
  const tickMs = 1000 / ticksPerSecond;
  const aMs = (a1.ticks - a0.ticks) * tickMs;
  const iMs = (i1.ticks - i0.ticks) * tickMs;
  const aNs = (a1.ns - a0.ns) / 1e6;
  const iNs = (i1.ns - i0.ns) / 1e6;
  const pct = (ms: number): string => `${((ms / (windowS * 1000)) * 100).toFixed(2)} % of one CPU`;
  const label = wireFrames ? "wire-sized frames (gso_max_segs 1)" : "veth defaults (GSO super-packets)";
  console.log(`\n2${wireFrames ? "b" : "a"}. 10 Hz sampler process vs iftop -t on ${IF_B}, ${label}, same ${windowS.toFixed(2)} s window of iperf3 TCP:`);
  console.log(
    `   load: iperf3 ${(doc.end.sum_received.bits_per_second / 1e6).toFixed(1)} Mbit/s received (payload), ${pps.toFixed(0)} packets/s on ${IF_B}; the sampler saw ${((seen?.txBps ?? 0) / 1e6).toFixed(1)} Mbit/s tx over its run`,
  );
  console.log(
    `   sampler (pid ${loopPid}): ${aMs.toFixed(0)} ms utime+stime (${pct(aMs)}); schedstat ${aNs.toFixed(1)} ms; ${summary.samples} samples, self-reported ${summary.cpuMs.toFixed(1)} ms over ${(summary.wallMs / 1000).toFixed(1)} s`,
  );
  console.log(`   iftop   (pid ${iftopPid}): ${iMs.toFixed(0)} ms utime+stime (${pct(iMs)}); schedstat ${iNs.toFixed(1)} ms`);
  const ratio = aMs / iMs;
  console.log(`   ratio sampler/iftop: ${ratio.toFixed(3)} from /proc/<pid>/stat (tick ${tickMs} ms), ${(aNs / iNs).toFixed(3)} from schedstat`);
  console.log(`   bar ≤ 0.5: ${ratio <= 0.5 ? "met" : "NOT met"}`);
}

async function main(): Promise<void> {
  if (!canUseNamespaces()) {
    console.error("bench:sampler needs root (it builds network namespaces).");
    process.exit(2);
  }
  await sweepNamespaces(PREFIX);
  try {
    await perSampleCost();
    await versusIftop(false);
    await versusIftop(true);
  } finally {
    await Promise.all(started.map((p) => p.stop()));
    await sweepNamespaces(PREFIX);
  }
}

await main();
