/**
 * bench:http — does measuring requests through netmatrix change the number?
 *
 * 1. On one veth path between two namespaces, alternate a raw `wrk` against a
 *    raw nginx (the configuration, server argv and client argv the http
 *    driver generates: the same test) with the same test through netmatrix
 *    (CLI → coordinator → agents), N pairs per mode, the order flipped every
 *    pair; print each pair and the median ratio netmatrix/raw for requests/s
 *    (bar ≥ 0.98) and for p99 latency (bar ≤ 1.05).
 * 2. In the lab (host-gw, 1 Gbit NICs): new connections/s host-host vs
 *    pod-pod-cross vs pod-service-cross (through the lab's DNAT), as a
 *    table like field report 004's QPS column.
 *
 *   sudo npm run bench:http -- [--pairs 5] [--duration 5] [--connections 16] [--body 1K]
 *                              [--modes keepalive,new-connection] [--rate 1gbit|none]
 *                              [--lab-duration 3] [--lab-repetitions 3] [--no-lab] [--no-pair]
 */
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Table from "cli-table3";
import { stringify } from "yaml";
import { exec, startProcess } from "../common/src/exec.js";
import { parseSize } from "../common/src/units.js";
import { canUseNamespaces } from "../lab/src/netns.js";
import { readLabState } from "../lab/src/lab.js";
import { labSpec } from "../lab/src/lab-spec.js";
import { http } from "../tools/src/http.js";
import type { ClientParams, HttpMode, ServerParams } from "../tools/src/types.js";
import { createPair, PAIR_ADDR, type Pair } from "../test/harness/pair.js";
import { runNetmatrix } from "../test/harness/processes.js";
import { testSlot } from "../test/harness/slot.js";

const { values } = parseArgs({
  options: {
    pairs: { type: "string", default: "5" },
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "16" },
    body: { type: "string", default: "1K" },
    modes: { type: "string", default: "keepalive,new-connection" },
    rate: { type: "string", default: "none" },
    "lab-duration": { type: "string", default: "3" },
    "lab-repetitions": { type: "string", default: "3" },
    "no-lab": { type: "boolean", default: false },
    "no-pair": { type: "boolean", default: false },
  },
});
const pairs = Number(values.pairs);
const duration = Number(values.duration);
const connections = Number(values.connections);
const bodyBytes = parseSize(values.body!);
const modes = values.modes!.split(",").map((m) => m.trim()) as HttpMode[];
const rate = values.rate === "none" ? undefined : values.rate;
/** The raw nginx's ports: beside the agents' (20000-20999; the namespaces are private to the bench). */
const RAW_PORTS = { min: 21000, max: 21999 };

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const fmt = (v: number | undefined, digits = 0) => (v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits));

/** One raw measurement or netmatrix repetition. */
interface Figures {
  rps: number;
  p99Us: number;
}

/**
 * The raw nginx in node b: the driver's files and argv, bound to b's
 * data-path address; ready once it listens (as the agent's servers). A fresh
 * one per run on a random port, as an agent starts its server: a port reused
 * run after run meets the previous runs' TIME_WAIT connections (nginx closes
 * first), which slows new connections down by an order of magnitude.
 */
async function startRawNginx(pair: Pair, dir: string) {
  const port = RAW_PORTS.min + Math.floor(Math.random() * (RAW_PORTS.max - RAW_PORTS.min + 1));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const p: ServerParams = { port, protocol: "tcp", bind: PAIR_ADDR.b, bodyBytes, dir };
  for (const f of http.serverFiles!(p)) {
    if ("text" in f) writeFileSync(join(dir, f.name), f.text);
    else {
      // Zeros, sparse (as the agent writes them).
      writeFileSync(join(dir, f.name), "");
      truncateSync(join(dir, f.name), f.zeroBytes);
    }
  }
  const argv = http.serverArgv?.(p);
  if (!argv) throw new Error("the http driver has no server argv");
  const server = startProcess({ argv: ["ip", "netns", "exec", pair.nsB, ...argv], deadlineMs: (duration + 60) * 1000 });
  try {
    for (let i = 0; ; i++) {
      const ss = await exec({ argv: ["ip", "netns", "exec", pair.nsB, "ss", "-Hltn", `sport = :${port}`], deadlineMs: 5000, guard: false });
      if (ss.stdout.trim()) break;
      if (i > 100) throw new Error(`the raw nginx never listened on ${PAIR_ADDR.b}:${port}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { port, server };
}

/** wrk in node a, the driver's argv, against a raw nginx; parsed by the driver (any error fails the bench). */
async function rawRun(pair: Pair, mode: HttpMode, dir: string): Promise<Figures> {
  const { port, server } = await startRawNginx(pair, dir);
  try {
    const p: ClientParams = { target: PAIR_ADDR.b, port, protocol: "tcp", durationS: duration, parallel: 1, direction: "forward", httpMode: mode, connections, bodyBytes };
    const res = await exec({ argv: ["ip", "netns", "exec", pair.nsA, ...http.clientArgv(p)], deadlineMs: (duration + 30) * 1000, guard: false });
    const out = http.parseClient({ stdout: res.stdout, stderr: res.stderr, exitCode: res.exitCode }, p);
    if (!out.ok) throw new Error(`raw wrk failed: ${out.failure.reason}`);
    return { rps: out.measurement.requestsPerS!, p99Us: out.measurement.latency!.p99Us! };
  } finally {
    await server.stop();
  }
}

/** The same test through netmatrix: one `netmatrix run` case. */
async function netmatrixRun(pair: Pair, mode: HttpMode): Promise<Figures> {
  const args = ["--tool", "http", "--http-mode", mode, "--connections", String(connections), "--body", String(bodyBytes), "--duration", String(duration)];
  const res = await pair.cli(["run", "--client", "node-a", "--server", "node-b", ...args, "--output", "json"]);
  let rep: any;
  try {
    rep = JSON.parse(res.stdout).cases[0].repetitions[0];
  } catch {
    throw new Error(`netmatrix run printed no report (exit ${res.code}):\n${res.stderr.slice(-2000)}`);
  }
  if (!rep.ok) throw new Error(`netmatrix run failed: ${rep.failure.reason}`);
  return { rps: rep.measurement.requestsPerS, p99Us: rep.measurement.latency.p99Us };
}

async function pairBench(): Promise<boolean> {
  const slot = testSlot();
  const pair = await createPair({ prefix: slot.prefix("bhttp"), block: slot.block, ...(rate ? { rate } : {}) });
  const dir = mkdtempSync(join(tmpdir(), "nm-bhttp-"));
  let met = true;
  try {
    const summary = new Table({ head: ["mode", "raw req/s (median)", "netmatrix req/s", "ratio req/s", "raw p99", "netmatrix p99", "ratio p99"], style: { head: [], border: [] } });
    for (const mode of modes) {
      const rows: { raw: Figures; nm: Figures }[] = [];
      for (let i = 0; i < pairs; i++) {
        // Flip the order every pair, so a drift of the machine does not favour either side.
        let raw: Figures, nm: Figures;
        if (i % 2 === 0) {
          raw = await rawRun(pair, mode, join(dir, "nginx"));
          nm = await netmatrixRun(pair, mode);
        } else {
          nm = await netmatrixRun(pair, mode);
          raw = await rawRun(pair, mode, join(dir, "nginx"));
        }
        rows.push({ raw, nm });
        console.log(
          `${mode} pair ${i + 1}/${pairs}: raw ${fmt(raw.rps)} req/s p99 ${fmt(raw.p99Us)} µs  netmatrix ${fmt(nm.rps)} req/s p99 ${fmt(nm.p99Us)} µs  ratio req/s ${(nm.rps / raw.rps).toFixed(4)} p99 ${(nm.p99Us / raw.p99Us).toFixed(4)}`,
        );
      }
      const rps = median(rows.map((r) => r.nm.rps / r.raw.rps));
      const p99 = median(rows.map((r) => r.nm.p99Us / r.raw.p99Us));
      met &&= rps >= 0.98 && p99 <= 1.05;
      summary.push([
        mode,
        fmt(median(rows.map((r) => r.raw.rps))),
        fmt(median(rows.map((r) => r.nm.rps))),
        `${rps.toFixed(4)} (bar ≥ 0.98: ${rps >= 0.98 ? "met" : "NOT met"})`,
        `${fmt(median(rows.map((r) => r.raw.p99Us)))} µs`,
        `${fmt(median(rows.map((r) => r.nm.p99Us)))} µs`,
        `${p99.toFixed(4)} (bar ≤ 1.05: ${p99 <= 1.05 ? "met" : "NOT met"})`,
      ]);
    }
    console.log(
      `\npath: veth between two namespaces, ${rate ? `tbf ${rate}` : "no rate limit"}; ${pairs} pairs × ${duration} s, wrk -c ${connections}, ${bodyBytes} B bodies; median of the per-pair ratios netmatrix/raw:`,
    );
    console.log(summary.toString());
  } finally {
    await pair.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return met;
}

/** connections/s of a lab case: the mean over its measured repetitions, and its p99 latency. */
function labFigures(c: any) {
  const reps = (c?.repetitions ?? []).filter((r: any) => r.ok && r.measurement);
  const mean = (f: (r: any) => number | undefined) => {
    const v = reps.map(f).filter((x: number | undefined): x is number => typeof x === "number");
    return v.length ? v.reduce((a: number, b: number) => a + b, 0) / v.length : undefined;
  };
  /** An end's node CPU (% of the node, sampled while its tool ran) per 1k new connections/s. */
  const cpuPer1k = (end: string) =>
    mean((r) => {
      const e = (r.cpu ?? []).find((x: any) => x.end === end);
      const busy = typeof e?.nodeBusyPercent === "number" ? e.nodeBusyPercent : e?.nodeBusyPercent?.mean;
      const cps = r.measurement.connectionsPerS;
      return typeof busy === "number" && cps > 0 ? busy / (cps / 1000) : undefined;
    });
  return {
    n: reps.length,
    failed: (c?.repetitions ?? []).length - reps.length,
    cps: mean((r) => r.measurement.connectionsPerS),
    p50: mean((r) => r.measurement.latency?.p50Us),
    p99: mean((r) => r.measurement.latency?.p99Us),
    cpuClient: cpuPer1k("client"),
    cpuServer: cpuPer1k("server"),
  };
}

async function labBench(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "nm-bhttp-lab-"));
  const env = testSlot().labEnv(dataDir);
  try {
    const up = await runNetmatrix(["lab", "up", "--cni", "host-gw", "--nic-rate", "1gbit"], { env });
    if (up.code !== 0) throw new Error(`lab up failed (exit ${up.code}):\n${up.stderr.slice(-3000)}`);
    const state = readLabState(dataDir)!;
    const scenarios = ["host-host", "pod-pod-cross", "pod-service-cross"];
    const spec = {
      ...labSpec(state.topology, {
        durationS: Number(values["lab-duration"]),
        omitS: 0,
        repetitions: Number(values["lab-repetitions"]),
        reverse: false,
        tools: ["http"],
        pairs: "sample",
        udpBitrate: "200M",
      }),
      name: "bench-http-lab",
      scenarios,
      protocols: ["tcp"],
      httpModes: ["new-connection"],
      connections: [connections],
      bodies: [0],
    };
    const file = join(dataDir, "http.yaml");
    writeFileSync(file, stringify(spec));
    // Let the lab's start-up CPU leave the agents' load window (as lab run does).
    await new Promise((r) => setTimeout(r, 4500));
    const res = await runNetmatrix(["run", "--spec", file, "--coordinator", state.coordinator, "--token-file", state.tokenFile, "--output", "json"], { env });
    let doc: { cases: any[] };
    try {
      doc = JSON.parse(res.stdout);
    } catch {
      throw new Error(`the lab's http matrix printed no report (exit ${res.code}):\n${res.stderr.slice(-3000)}`);
    }
    const host = labFigures(doc.cases.find((c) => c.scenario === "host-host"));
    const table = new Table({
      head: ["network (host-gw lab)", "new connections/s", "vs host-host", "latency p50 · p99", "node CPU % per 1k conn/s client · server", "reps ok"],
      style: { head: [], border: [] },
    });
    for (const [label, scenario] of [
      ["host network", "host-host"],
      ["pod-pod, cross-node", "pod-pod-cross"],
      ["pod→service (ClusterIP DNAT), cross-node", "pod-service-cross"],
    ] as const) {
      const f = labFigures(doc.cases.find((c) => c.scenario === scenario));
      table.push([
        label,
        fmt(f.cps),
        scenario === "host-host" ? "(baseline)" : f.cps && host.cps ? `${((f.cps / host.cps) * 100).toFixed(1)} %` : "-",
        `${fmt(f.p50)} · ${fmt(f.p99)} µs`,
        `${fmt(f.cpuClient, 2)} · ${fmt(f.cpuServer, 2)}`,
        `${f.n}${f.failed ? ` (${f.failed} failed)` : ""}`,
      ]);
    }
    console.log(
      `\nlab (host-gw, 2 nodes, NICs 1gbit): http new-connection, wrk -c ${connections}, empty bodies, ${values["lab-duration"]} s × ${values["lab-repetitions"]} repetitions per case, node-1 → node-2:`,
    );
    console.log(table.toString());
  } finally {
    await runNetmatrix(["lab", "down"], { env });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!canUseNamespaces()) {
    console.error("bench:http needs root (it builds network namespaces: a veth pair, and the lab).");
    process.exit(2);
  }
  let met = true;
  if (!values["no-pair"]) met = await pairBench();
  if (!values["no-lab"]) await labBench();
  if (!met) process.exitCode = 1;
}

await main();
