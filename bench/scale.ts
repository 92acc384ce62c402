/**
 * bench:scale — does one coordinator stay responsive at Kubernetes' own
 * limit (5,000 nodes, three agents each: 15,000 agents)?
 *
 * Simulated agents part: for each K of --agents (default 5,000 and 15,000) a
 * real `netmatrix coordinator` (a child process: loopback, a token file, a
 * temporary data dir, its log in that dir) and the scale simulator
 * (test/harness/sim-cli.ts, another child process: K agents, each its own
 * AgentService.Session over gRPC — register, heartbeats at the interval the
 * coordinator asks, 1 Hz synthetic samples on the streams a watcher asks for;
 * nodes of one host and two pod agents). All K register at once (the
 * thundering herd of a coordinator restart). This process then subscribes two
 * watchers through the client seam — one to every node, one to a single node
 * (its 3 agents) — waits until samples from every agent arrived, lets it
 * settle (--warmup), and measures over a steady window (--seconds):
 *
 *   - registration time for all K (bar < 30 s), from the simulator's first
 *     dial to its last Registered;
 *   - the coordinator's CPU, % of one core, and its peak RSS, from
 *     /proc/PID/stat and /proc/PID/status over the window (bars < 50 %, < 1 GB);
 *   - `netmatrix agents` first-page latency: ListAgents (page_size
 *     --page-size) through the client seam with the CLI's default 4 MiB
 *     receive limit, three times during the window (bar < 1 s, the slowest);
 *   - watch lag p99 for each watcher (bar < 2 s): receive time less the
 *     sample's wall_ms (the simulated agent's wall clock when it took the
 *     sample and wrote its batch);
 *   - the simulator's own CPU and this process's (the watchers'), and the
 *     whole machine's: on a 2-core machine the coordinator, the simulator and
 *     the watchers share two cores, and a simulator near a full core is the
 *     limit of what is measured — the output says so.
 *
 * Planner part: {@link planSection} (time to the first round and peak RSS for
 * a full-mesh plan and a covering plan at N = 1,000 and 5,000 nodes).
 *
 *   npm run bench:scale -- [--agents 5000,15000] [--seconds 60] [--warmup 10] [--interval 1000]
 *     [--page-size 500] [--watch-form batched|per-agent] [--streams-per-channel 100]
 *     [--register-timeout 300] [--no-plan] [--no-sim] [--no-agent] [--agent-s 30] [--keep] [--netmatrix PATH] [--sim-node-args ARGS] [--watch-window BYTES]
 *
 * --netmatrix runs the coordinator from another build's entry point (e.g.
 * another checkout's bin/netmatrix.js), to compare coordinators under the
 * same simulator; --sim-node-args passes node options to the simulator
 * (e.g. --sim-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof"); --watch-window
 * gives the watchers' connection an HTTP/2 flow-control window of that many
 * bytes (default: grpc-js's, as the CLI).
 *
 * Traffic stays on 127.0.0.1; every process started here is stopped (by PID)
 * and the temporary directories removed (kept with --keep, for the logs).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ControlService } from "../gen/netmatrix/v1/control_pb.js";
import { createClient, type Client } from "../common/src/grpc-adapter.js";
import { bearerInterceptor } from "../common/src/token.js";
import { NETMATRIX_BIN } from "../lab/src/netmatrix-bin.js";
import { writeToken } from "../test/harness/local-cluster.js";
import { listAgentPages, quantile, watchProbe, type WatchProbe } from "../test/harness/sim-probe.js";
import { planSection } from "./scale-plan.js";
import { measureAgentCost } from "./agent-cost.js";

const { values } = parseArgs({
  options: {
    agents: { type: "string", default: "5000,15000" },
    seconds: { type: "string", default: "60" },
    warmup: { type: "string", default: "10" },
    interval: { type: "string", default: "1000" },
    "page-size": { type: "string", default: "500" },
    "watch-form": { type: "string", default: "batched" },
    "streams-per-channel": { type: "string", default: "100" },
    "register-timeout": { type: "string", default: "300" },
    "no-plan": { type: "boolean", default: false },
    "no-sim": { type: "boolean", default: false },
    "no-agent": { type: "boolean", default: false },
    "agent-s": { type: "string", default: "30" },
    keep: { type: "boolean", default: false },
    netmatrix: { type: "string", default: NETMATRIX_BIN },
    "sim-node-args": { type: "string", default: "" },
    "watch-window": { type: "string", default: "0" },
  },
});
const KS = values.agents.split(",").map((s) => Number(s.trim()));
const SECONDS = Number(values.seconds);
const WARMUP_S = Number(values.warmup);
const INTERVAL_MS = Number(values.interval);
const PAGE_SIZE = Number(values["page-size"]);
const BATCHED = values["watch-form"] !== "per-agent";
const REGISTER_TIMEOUT_S = Number(values["register-timeout"]);
for (const [name, v] of [
  ["--agents", KS.every((k) => Number.isInteger(k) && k >= 3)],
  ["--seconds", SECONDS > 0],
  ["--warmup", WARMUP_S >= 0],
  ["--interval", INTERVAL_MS >= 100],
  ["--page-size", Number.isInteger(PAGE_SIZE) && PAGE_SIZE >= 1],
  ["--register-timeout", REGISTER_TIMEOUT_S > 0],
] as const) {
  if (!v) {
    console.error(`bench:scale: ${name} is out of range (see the usage at the top of bench/scale.ts)`);
    process.exit(2);
  }
}

/** The bars of issue 15. */
const BARS = { registrationMs: 30_000, coordinatorCpu: 0.5, coordinatorRss: 1e9, firstPageMs: 1000, lagP99Ms: 2000 } as const;
/** A simulator using this share of a core or more is (close to) the limit of what the window measures. */
const SIM_LIMIT = 0.85;
/** A simulator whose event loop runs this late (p99, ms) is behind its own schedule. */
const SIM_LOOP_DELAY_MS = 250;
/** How long after all samples arrived the watchers may take at most to see every agent. */
const SEEN_TIMEOUT_MS = 90_000;

const SIM_CLI = fileURLToPath(new URL("../test/harness/sim-cli.js", import.meta.url));
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
const CORES = availableParallelism();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmtS = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const fmtMs = (ms: number) => (Number.isFinite(ms) ? (ms >= 10_000 ? fmtS(ms) : `${ms.toFixed(0)} ms`) : "n/a");
const fmtPct = (f: number) => `${(f * 100).toFixed(0)} %`;
const fmtMB = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
const fmtN = (n: number) => n.toLocaleString("en");

/** CPU seconds used by `pid` so far, and its RSS now (bytes); undefined when it is gone. */
function procStat(pid: number): { cpuS: number; rss: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command: utime is field 14, stime 15 (1-based over the whole line).
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) * 1024;
    return { cpuS: (Number(f[11]) + Number(f[12])) / CLK_TCK, rss };
  } catch {
    return undefined;
  }
}

/** Busy and total jiffies of the whole machine (/proc/stat "cpu": everything but idle and iowait is busy). */
function machineJiffies(): { busy: number; total: number } {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total };
}

/** A child we started, stopped by its PID: SIGTERM, SIGKILL after `graceMs`. */
async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(t);
}

/** `netmatrix coordinator` on 127.0.0.1:0, its log (JSON, info) to `dir/coordinator.log`; resolves with its port once it listens. */
async function startCoordinator(dir: string, tokenFile: string): Promise<{ child: ChildProcess; port: number; log: string }> {
  const log = join(dir, "coordinator.log");
  const fd = openSync(log, "a");
  const child = spawn(process.execPath, [values.netmatrix, "coordinator", "--listen", "127.0.0.1:0", "--http", "off", "--token-file", tokenFile, "--data-dir", dir], {
    stdio: ["ignore", fd, fd],
    env: { ...process.env, NETMATRIX_LOG_FORMAT: "json", NETMATRIX_LOG_LEVEL: "info" },
  });
  closeSync(fd);
  const t0 = performance.now();
  while (performance.now() - t0 < 30_000) {
    const m = /"port":(\d+),"msg":"coordinator listening"/.exec(readFileSync(log, "utf8"));
    if (m) return { child, port: Number(m[1]), log };
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  await stopChild(child);
  throw new Error(`the coordinator did not start listening; its log:\n${readFileSync(log, "utf8").slice(-3000)}`);
}

interface SimEvent {
  event: "started" | "registered" | "stats" | "error" | "closed";
  [k: string]: unknown;
}

/** The simulator as a child process; its stdout JSON lines as events. */
function startSim(coordinator: string, tokenFile: string, agents: number) {
  const child = spawn(
    process.execPath,
    [
      ...values["sim-node-args"].split(" ").filter(Boolean),
      SIM_CLI,
      "--coordinator",
      coordinator,
      "--token-file",
      tokenFile,
      "--agents",
      String(agents),
      "--streams-per-channel",
      values["streams-per-channel"],
      "--stats-every",
      "1",
      "--register-timeout",
      String(REGISTER_TIMEOUT_S),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  let buf = "";
  let lastStats: SimEvent | undefined;
  /** The largest event-loop delay p99 (per stats line) since the last reset, ms. */
  let loopDelayMax = 0;
  const listeners = new Set<(e: SimEvent) => void>();
  child.stderr!.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-8000)));
  child.stdout!.on("data", (c: Buffer) => {
    buf += c.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let e: SimEvent;
      try {
        e = JSON.parse(line) as SimEvent;
      } catch {
        continue;
      }
      if (e.event === "stats") {
        lastStats = e;
        loopDelayMax = Math.max(loopDelayMax, Number(e.loopDelayP99Ms ?? 0));
      }
      for (const l of [...listeners]) l(e);
    }
  });
  const next = (kinds: SimEvent["event"][], timeoutMs: number): Promise<SimEvent> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(
        () => (listeners.delete(l), reject(new Error(`the simulator sent no ${kinds.join("/")} within ${fmtS(timeoutMs)}; stderr: ${stderr.slice(-2000)}`))),
        timeoutMs,
      );
      const l = (e: SimEvent): void => {
        if (!kinds.includes(e.event)) return;
        listeners.delete(l);
        clearTimeout(t);
        resolve(e);
      };
      listeners.add(l);
      child.once("exit", (code) => {
        if (!listeners.has(l)) return;
        listeners.delete(l);
        clearTimeout(t);
        reject(new Error(`the simulator exited (${code}) before ${kinds.join("/")}; stderr: ${stderr.slice(-2000)}`));
      });
    });
  return {
    child,
    next,
    stats: () => lastStats,
    stderr: () => stderr,
    /** The largest event-loop delay p99 since the previous call, ms. */
    takeLoopDelayMax: () => {
      const m = loopDelayMax;
      loopDelayMax = 0;
      return m;
    },
  };
}

/** One line of the results: a measure, its value, and its bar with the verdict (or a note). */
interface Row {
  measure: string;
  value: string;
  bar?: string;
  ok?: boolean;
  note?: string;
}

function printRows(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  const w = Math.max(...rows.map((r) => r.measure.length));
  const v = Math.max(...rows.map((r) => r.value.length));
  for (const r of rows) {
    const verdict = r.bar === undefined ? "" : `  bar ${r.bar}: ${r.ok ? "OK" : "OVER"}`;
    console.log(`  ${r.measure.padEnd(w)}  ${r.value.padStart(v)}${verdict}${r.note ? `  (${r.note})` : ""}`);
  }
}

/** Measure one K; returns the rows to print. */
async function simulated(k: number): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "nm-bscale-"));
  const tokenFile = writeToken(dir);
  const token = readFileSync(tokenFile, "utf8").trim();
  const rows: Row[] = [];
  let coord: Awaited<ReturnType<typeof startCoordinator>> | undefined;
  let sim: ReturnType<typeof startSim> | undefined;
  let client: Client<typeof ControlService> | undefined;
  const probes: WatchProbe[] = [];
  try {
    coord = await startCoordinator(dir, tokenFile);
    const addr = `127.0.0.1:${coord.port}`;
    const coordPid = coord.child.pid!;
    // As the CLI's client; --watch-window gives it a larger HTTP/2 flow-control window (to tell a window-bound transit from a slow coordinator).
    const window = Number(values["watch-window"]);
    client = createClient(ControlService, addr, {
      interceptors: [bearerInterceptor(token)],
      ...(window > 0 ? { channelOptions: { "grpc-node.flow_control_window": window } } : {}),
    });
    console.log(`\nK = ${fmtN(k)} simulated agents: coordinator pid ${coordPid} on ${addr} (log ${coord.log}); ${CORES} cores`);

    // Registration: the simulator dials every session at once and reports when the last one is registered.
    const coordBefore = procStat(coordPid)!;
    sim = startSim(addr, tokenFile, k);
    const started = await sim.next(["started"], 30_000);
    const simPid = Number(started.pid);
    const firstNode = String(started.firstNode);
    console.log(
      `  simulator pid ${simPid}: ${fmtN(k)} agents on ${fmtN(Number(started.nodes))} nodes (host + 2 pods each), ${values["streams-per-channel"]} sessions per HTTP/2 connection`,
    );
    const reg = await sim.next(["registered", "error"], REGISTER_TIMEOUT_S * 1000 + 30_000);
    const coordAfterReg = procStat(coordPid);
    const simAtReg = procStat(simPid);
    if (reg.event === "error") {
      rows.push({ measure: "registration of all K", value: `${fmtN(Number(reg.registered))} of ${fmtN(k)}`, bar: "< 30 s", ok: false, note: String(reg.message) });
      return rows;
    }
    const regMs = Number(reg.ms);
    rows.push({
      measure: "registration of all K",
      value: fmtS(regMs),
      bar: "< 30 s",
      ok: regMs < BARS.registrationMs,
      note: `${fmtN(Number(reg.sessions))} sessions for ${fmtN(k)} agents; CPU meanwhile: coordinator ${coordAfterReg ? fmtPct((coordAfterReg.cpuS - coordBefore.cpuS) / (regMs / 1000)) : "?"} of a core, simulator ${simAtReg ? `${Number(simAtReg.cpuS).toFixed(1)} s` : "?"} of CPU`,
    });
    const listed = await listAgentPages(client, PAGE_SIZE, { timeoutMs: 60_000 }).catch((e: Error) => e);
    if (listed instanceof Error) console.log(`  ListAgents (paged, ${PAGE_SIZE} a page) failed after registration: ${listed.message}`);
    else
      console.log(`  the coordinator lists ${fmtN(listed.agents.length)} agents (total_matching ${fmtN(listed.totalMatching)}) in ${listed.pages} pages, ${fmtMs(listed.totalMs)}`);

    // Watchers: all nodes, and one node (its host and pod agents).
    const all = watchProbe(client, { node: "", intervalMs: INTERVAL_MS, batched: BATCHED });
    const one = watchProbe(client, { node: firstNode, intervalMs: INTERVAL_MS, batched: BATCHED });
    probes.push(all, one);
    const perNode = Math.min(3, k);
    const seenMs = await all.whenSeen(k, SEEN_TIMEOUT_MS).catch((e: Error) => e);
    await one.whenSeen(perNode, 10_000).catch(() => undefined);
    if (seenMs instanceof Error) console.log(`  ${seenMs.message}`);
    else
      console.log(
        `  the all-nodes watcher had samples from every agent ${fmtS(seenMs)} after subscribing (${BATCHED ? "batched" : "per-agent"} events, ${INTERVAL_MS} ms interval)`,
      );
    await sleep(WARMUP_S * 1000);

    // The steady window.
    for (const p of probes) p.resetWindow();
    sim.takeLoopDelayMax();
    const w0 = { t: performance.now(), coord: procStat(coordPid)!, sim: procStat(simPid)!, self: process.cpuUsage(), machine: machineJiffies(), simStats: sim.stats() };
    let coordRssPeak = w0.coord.rss;
    let simRssPeak = w0.sim.rss;
    const firstPages: number[] = [];
    const pageErrors: string[] = [];
    let pageSize = 0;
    const windowMs = SECONDS * 1000;
    // Three first-page calls, at a quarter, half and three quarters of the window.
    const pageAt = [0.25, 0.5, 0.75].map((f) => w0.t + f * windowMs);
    while (performance.now() - w0.t < windowMs) {
      await sleep(1000);
      const c = procStat(coordPid);
      const s = procStat(simPid);
      if (c) coordRssPeak = Math.max(coordRssPeak, c.rss);
      if (s) simRssPeak = Math.max(simRssPeak, s.rss);
      if (pageAt.length && performance.now() >= pageAt[0]!) {
        pageAt.shift();
        const first = await listAgentPages(client, PAGE_SIZE, { maxPages: 1, timeoutMs: 30_000 }).catch((e: Error) => e);
        if (first instanceof Error) pageErrors.push(first.message);
        else {
          firstPages.push(first.firstPageMs);
          pageSize = first.agents.length;
        }
      }
    }
    const w1 = { t: performance.now(), coord: procStat(coordPid), sim: procStat(simPid), self: process.cpuUsage(w0.self), machine: machineJiffies(), simStats: sim.stats() };
    const wallS = (w1.t - w0.t) / 1000;
    const coordCpu = w1.coord ? (w1.coord.cpuS - w0.coord.cpuS) / wallS : NaN;
    const simCpu = w1.sim ? (w1.sim.cpuS - w0.sim.cpuS) / wallS : NaN;
    const selfCpu = (w1.self.user + w1.self.system) / 1e6 / wallS;
    const machine = (w1.machine.busy - w0.machine.busy) / (w1.machine.total - w0.machine.total);
    if (w1.coord) coordRssPeak = Math.max(coordRssPeak, w1.coord.rss);

    rows.push({
      measure: "coordinator CPU (steady window)",
      value: fmtPct(coordCpu),
      bar: "< 50 % of a core",
      ok: coordCpu < BARS.coordinatorCpu,
      note: `${fmtS(wallS * 1000)} window`,
    });
    rows.push({ measure: "coordinator RSS (peak in window)", value: fmtMB(coordRssPeak), bar: "< 1 GB", ok: coordRssPeak < BARS.coordinatorRss });
    const slowest = firstPages.length ? Math.max(...firstPages) : NaN;
    rows.push({
      measure: "`agents` first page (ListAgents)",
      value: pageErrors.length && !firstPages.length ? "failed" : fmtMs(slowest),
      bar: "< 1 s",
      ok: !pageErrors.length && slowest < BARS.firstPageMs,
      note: [
        firstPages.length ? `slowest of ${firstPages.length}: ${firstPages.map((m) => fmtMs(m)).join(", ")}; page_size ${PAGE_SIZE}, ${fmtN(pageSize)} agents on the page` : "",
        pageErrors.length ? `${pageErrors.length} failed: ${pageErrors[0]}` : "",
      ]
        .filter(Boolean)
        .join("; "),
    });
    for (const [name, p, agents] of [
      ["watch lag p99, all nodes", all, k],
      [`watch lag p99, one node (${firstNode})`, one, perNode],
    ] as const) {
      const lags = p.lags();
      const p99 = quantile(lags, 0.99);
      const win = p.windowEvents();
      rows.push({
        measure: name,
        value: fmtMs(p99),
        bar: "< 2 s",
        ok: lags.length > 0 && p99 < BARS.lagP99Ms,
        note: lags.length
          ? `p50 ${fmtMs(quantile(lags, 0.5))}, max ${fmtMs(quantile(lags, 1))}${p.hubLags().length ? `; until the coordinator sent it (sent_at_ms): p99 ${fmtMs(quantile(p.hubLags(), 0.99))}, then on the way here p99 ${fmtMs(quantile(p.transits(), 0.99))}` : ""}; ${fmtN(win.samples)} samples in ${fmtN(win.events)} events (${(win.samples / wallS / agents).toFixed(2)} per agent per s)${p.skippedTicks ? `; ${p.skippedTicks} ticks skipped` : ""}${p.endedWith ? `; stream ended: ${p.endedWith}` : ""}`
          : `no samples in the window${p.endedWith ? `; stream ended: ${p.endedWith}` : ""}`,
      });
    }
    // Did the simulator keep its schedule? Samples and heartbeats sent against those due, and how late its timers ran.
    const n = (e: SimEvent | undefined, key: string): number => Number(e?.[key] ?? 0);
    const streams = n(w0.simStats, "streams");
    const hbMs = n(w1.simStats, "heartbeatIntervalMs");
    const samplesShare = streams ? (n(w1.simStats, "samples") - n(w0.simStats, "samples")) / ((streams * wallS * 1000) / INTERVAL_MS) : NaN;
    const heartbeatsShare = hbMs ? (n(w1.simStats, "heartbeats") - n(w0.simStats, "heartbeats")) / ((n(w0.simStats, "registered") * wallS * 1000) / hbMs) : NaN;
    const loopDelay = sim.takeLoopDelayMax();
    const why = [
      simCpu >= SIM_LIMIT ? `it had ${fmtPct(simCpu)} of a core` : "",
      samplesShare < 0.9 ? `it sent ${fmtPct(samplesShare)} of the samples due` : "",
      heartbeatsShare < 0.9 ? `${fmtPct(heartbeatsShare)} of the heartbeats due` : "",
      loopDelay > SIM_LOOP_DELAY_MS ? `its timers ran up to ${fmtMs(loopDelay)} late (event-loop delay p99)` : "",
    ].filter(Boolean);
    rows.push({
      measure: "simulator CPU",
      value: fmtPct(simCpu),
      note: `${why.length ? `THE SIMULATOR IS (PART OF) THE LIMIT here: ${why.join(", ")}; what it did not send the coordinator never had to take, and its lateness counts in the lag. ` : ""}Peak RSS ${fmtMB(simRssPeak)}`,
    });
    rows.push({
      measure: "simulator: samples sent / due",
      value: fmtPct(samplesShare),
      note: `${fmtN(streams)} streams at ${INTERVAL_MS} ms; heartbeats sent / due ${fmtPct(heartbeatsShare)} (every ${hbMs} ms, as the coordinator asked); event-loop delay p99 up to ${fmtMs(loopDelay)}`,
    });
    rows.push({ measure: "watchers' CPU (this process)", value: fmtPct(selfCpu) });
    rows.push({
      measure: "machine CPU busy",
      value: fmtPct(machine),
      note: `of ${CORES} cores: ${machine > 0.9 ? "saturated: every process here waited for CPU, and the figures measure this machine as much as the coordinator" : "cores to spare"}`,
    });
    const ended = Number(w1.simStats?.sessionsEnded ?? 0) - Number(w0.simStats?.sessionsEnded ?? 0);
    const heartbeats = Number(w1.simStats?.heartbeats ?? 0) - Number(w0.simStats?.heartbeats ?? 0);
    const dropped = Number(w1.simStats?.droppedBatches ?? 0) - Number(w0.simStats?.droppedBatches ?? 0);
    rows.push({
      measure: "sessions lost in the window",
      value: fmtN(ended),
      note: `${fmtN(heartbeats)} heartbeats sent (${(heartbeats / wallS).toFixed(0)}/s); ${fmtN(dropped)} sample batches dropped by the simulated agents' outboxes (coordinator pushing back)${ended ? `; last: ${String(w1.simStats?.lastEnd)}` : ""}`,
    });
    const still = await listAgentPages(client, PAGE_SIZE, { maxPages: 1, timeoutMs: 30_000 }).catch((e: Error) => e);
    if (!(still instanceof Error) && still.totalMatching) rows.push({ measure: "agents registered at the end", value: `${fmtN(still.totalMatching)} of ${fmtN(k)}` });
    return rows;
  } catch (err) {
    rows.push({ measure: "bench", value: "failed", note: `${(err as Error).message}${coord ? `; coordinator log ${coord.log}` : ""}` });
    return rows;
  } finally {
    for (const p of probes) p.close();
    client?.close();
    if (sim) await stopChild(sim.child);
    if (coord) await stopChild(coord.child);
    if (values.keep) console.log(`  kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(
    `bench:scale — ${CORES} cores; simulated agents ${KS.map(fmtN).join(", ")}, ${SECONDS} s steady window after ${WARMUP_S} s warm-up, watch interval ${INTERVAL_MS} ms (${BATCHED ? "batched" : "per-agent"} events)`,
  );
  // The planner part (bench/scale-plan.ts): each measurement in a child process of its own, so its peak RSS is its own.
  if (!values["no-plan"]) planSection();
  // One real agent's own cost (bench/agent-cost.ts): idle, and sampling at 10 Hz.
  if (!values["no-agent"]) {
    const s = Number(values["agent-s"]);
    const cost = await measureAgentCost({ idleS: s, sampleS: s, settleS: 10 });
    console.log(`\none real agent (${s} s windows; % of one core)`);
    console.log(`  idle (heartbeats only): ${cost.idleCpuPercent.toFixed(3)} % [bar ≤ 0.1 %: ${cost.idleCpuPercent <= 0.1 ? "OK" : "OVER"}]`);
    console.log(`  watched at 10 Hz: ${cost.watch10HzCpuPercent.toFixed(3)} % [bar ≤ 1 %: ${cost.watch10HzCpuPercent <= 1 ? "OK" : "OVER"}]`);
    console.log(`  case window at 10 Hz: ${cost.case10HzCpuPercent.toFixed(3)} % [bar ≤ 1 %: ${cost.case10HzCpuPercent <= 1 ? "OK" : "OVER"}]`);
    console.log(`  RSS idle / watched / case: ${cost.rssMB.idle} / ${cost.rssMB.watching} / ${cost.rssMB.case} MB`);
  }
  if (values["no-sim"]) return;
  const all: { k: number; rows: Row[] }[] = [];
  for (const k of KS) {
    const rows = await simulated(k).catch((err: Error): Row[] => [{ measure: "bench", value: "failed", note: err.message }]);
    printRows(`K = ${fmtN(k)} simulated agents`, rows);
    all.push({ k, rows });
  }
  if (all.length > 1) {
    console.log("\nsummary");
    for (const { k, rows } of all) {
      const over = rows.filter((r) => r.bar !== undefined && !r.ok).map((r) => r.measure);
      console.log(`  K = ${fmtN(k)}: ${over.length ? `OVER: ${over.join("; ")}` : "every bar OK"}`);
    }
  }
}

await main();
process.exit(0);
