/**
 * bench:abuse — does hostile traffic hurt the coordinator or the measurements?
 *
 * A real coordinator and two real agents on loopback. For `--seconds` (60):
 * 1,000 random malformed HTTP requests over raw sockets (bad request targets,
 * bad encodings, huge headers, garbage), 1,000 malformed gRPC calls over raw
 * HTTP/2 (wrong or missing token, garbage bodies on real method paths,
 * unknown methods), one Watch client and one browser WebSocket that never
 * read, and 2,000 idle TCP connections (half to each port, reopened when the
 * coordinator closes them). Prints the coordinator's RSS before and after
 * (bar: growth ≤ 50 MB), whether it restarted (PID and uptime), how every
 * hostile request was answered (no 5xx, no INTERNAL), and a normal
 * `netmatrix run` (iperf3 between the agents) before and during the abuse
 * (bar: ratio ≥ 0.95). Traffic goes to 127.0.0.1 only; everything it opens
 * is closed at the end.
 *
 * On loopback iperf3 is CPU-bound and takes both cores of a small machine,
 * so the ratio there also measures the CPU the abuse itself costs (the
 * coordinator's and this generator's, both printed); `--bitrate` paces the
 * runs below that, as a NIC would.
 *
 *   npm run bench:abuse -- [--seconds 60] [--seed 12] [--idle 2000] [--duration 4] [--bitrate 5G]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { WebSocket } from "ws";
import { status as grpcStatus } from "@grpc/grpc-js";
import { startAgentProc, startCoordinatorProc } from "../test/harness/local-cluster.js";
import { runNetmatrix, stopAll } from "../test/harness/processes.js";
import { testSlot } from "../test/harness/slot.js";
import { stuckWatcher } from "../test/harness/fake-agent.js";
import { grpcFrame, grpcRaw, httpRequest, randomMalformedGrpc, randomMalformedHttp, rawHttp, rng } from "../test/harness/hostile.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    seed: { type: "string", default: "12" },
    idle: { type: "string", default: "2000" },
    duration: { type: "string", default: "4" },
    bitrate: { type: "string" },
  },
});
const SECONDS = Number(values.seconds);
const SEED = Number(values.seed);
const DURATION = Number(values.duration);
const HTTP_REQUESTS = 1000;
const GRPC_CALLS = 1000;
/** Well-formed requests before the baseline (see main). */
const WARMUP = 4000;
/** File descriptors besides the idle connections (agents, CLI runs, hostile requests in flight). */
const FD_MARGIN = 400;
const REEXEC = "NETMATRIX_ABUSE_RLIMIT";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MB = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

/** The soft and hard limits on open files of this process. */
function fileLimits(): { soft: number; hard: number } {
  const line = readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((l) => l.startsWith("Max open files"));
  const [soft, hard] = (line ?? "").split(/\s{2,}/).slice(1, 3);
  const n = (v: string | undefined) => (v === "unlimited" ? Infinity : Number(v));
  return { soft: n(soft), hard: n(hard) };
}

/**
 * Enough file descriptors for `idle` idle connections (the coordinator, our
 * child, inherits them): raise the soft limit within the hard one by running
 * again under `ulimit -n`, or scale the idle connections down and say so.
 */
function idleConnections(wanted: number): number {
  const need = wanted + FD_MARGIN;
  const { soft, hard } = fileLimits();
  if (soft >= need) return wanted;
  if (hard >= need && !process.env[REEXEC]) {
    console.log(`open-files limit ${soft} is below ${need}: running again with the soft limit raised to ${need} (hard limit ${hard})`);
    const argv = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
    try {
      execFileSync("/bin/sh", ["-c", `ulimit -n ${need} && exec "$@"`, "sh", ...argv], { stdio: "inherit", env: { ...process.env, [REEXEC]: "1" } });
      process.exit(0);
    } catch (err) {
      process.exit((err as { status?: number }).status ?? 1);
    }
  }
  const scaled = Math.max(0, Math.min(wanted, Math.min(soft, hard) - FD_MARGIN));
  console.log(`open-files limit ${soft} (hard ${hard}) leaves room for ${scaled} idle connections, not ${wanted}: scaled down`);
  return scaled;
}

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** Resident set size, uptime (s) and CPU time used (s) of `pid`, from /proc. */
function procInfo(pid: number): { rss: number; uptimeS: number; cpuS: number } {
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) * 1024;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command: state is field 3, utime 14, stime 15, starttime 22.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const uptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  return { rss, uptimeS: uptime - Number(f[19]) / CLK_TCK, cpuS: (Number(f[11]) + Number(f[12])) / CLK_TCK };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Run `count` calls of `fn`, evenly spread over `ms`, at most `concurrency` at once; resolves when all are done. */
async function paced(count: number, ms: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  const t0 = performance.now();
  const running = new Set<Promise<void>>();
  for (let i = 0; i < count; i++) {
    const at = t0 + (i * ms) / count;
    if (at > performance.now()) await sleep(at - performance.now());
    while (running.size >= concurrency) await Promise.race(running);
    const p = fn(i).finally(() => running.delete(p));
    running.add(p);
  }
  await Promise.all(running);
}

/** Idle TCP connections to 127.0.0.1:`ports`, kept at `count` until stopped (one closed by the server is reopened). */
function idlePool(ports: number[], count: number) {
  const sockets = new Set<Socket>();
  let stopped = false;
  let closedByServer = 0;
  let opened = 0;
  const open = (port: number): void => {
    if (stopped) return;
    const s = connect(port, "127.0.0.1");
    opened++;
    sockets.add(s);
    s.on("error", () => undefined);
    s.on("data", () => undefined);
    s.on("close", () => {
      sockets.delete(s);
      if (stopped) return;
      closedByServer++;
      // Spread out, as many clients would come back, not all in one burst.
      setTimeout(() => open(port), 200 + Math.random() * 2000).unref();
    });
  };
  for (let i = 0; i < count; i++) open(ports[i % ports.length]!);
  return {
    get open() {
      return sockets.size;
    },
    get stats() {
      return { opened, closedByServer };
    },
    close() {
      stopped = true;
      for (const s of sockets) s.destroy();
    },
  };
}

async function main(): Promise<void> {
  const idle = idleConnections(Number(values.idle));
  const dir = mkdtempSync(join(tmpdir(), "nm-babuse-"));
  const r = rng(SEED);
  const cleanups: (() => void)[] = [];
  try {
    const coord = await startCoordinatorProc({ dataDir: dir });
    const token = readFileSync(coord.tokenFile, "utf8").trim();
    const addr = `127.0.0.1:${coord.port}`;
    const slot = testSlot();
    for (const [i, node] of ["n1", "n2"].entries()) {
      await startAgentProc({ coordinator: addr, tokenFile: coord.tokenFile, node, address: "127.0.0.1", portRange: slot.portRange(i * 100, 100) });
    }
    const pid = coord.proc.child.pid!;
    const cli = (args: string[]) => runNetmatrix([...args, "--coordinator", addr, "--token-file", coord.tokenFile]);
    const run = async (): Promise<{ bps: number[]; wallS: number }> => {
      const t0 = performance.now();
      const res = await cli([
        "run",
        "--client",
        "n1",
        "--server",
        "n2",
        "--tool",
        "iperf3",
        "--duration",
        String(DURATION),
        "--repetitions",
        "3",
        ...(values.bitrate ? ["--bitrate", values.bitrate] : []),
        "--output",
        "json",
      ]);
      const wallS = (performance.now() - t0) / 1000;
      if (res.code !== 0) throw new Error(`netmatrix run failed (exit ${res.code}): ${res.stderr.slice(-2000)}`);
      const reps = (JSON.parse(res.stdout) as { cases: { repetitions: { ok: boolean; measurement?: { receiverBps: number }; failure?: { reason: string } }[] }[] }).cases[0]!
        .repetitions;
      const failed = reps.filter((x) => !x.ok);
      if (failed.length) throw new Error(`a repetition failed: ${failed[0]!.failure?.reason}`);
      return { bps: reps.map((x) => x.measurement!.receiverBps), wallS };
    };

    console.log(`bench:abuse — coordinator pid ${pid}, 2 agents on loopback, ${SECONDS} s of abuse, seed ${SEED}`);
    const before = await run();
    await sleep(2000);
    const cold = procInfo(pid);
    // Node's own warm-up (V8 heap, HTTP/2 session buffers, allocator arenas) takes ~35 MB over the first few
    // thousand connections, abusive or not, and then stays flat; so the baseline is taken after as many
    // ordinary ones as a coordinator serves in its first hours: well-formed calls and page requests.
    await paced(WARMUP, 10_000, 8, async (i) => {
      if (i % 2) await grpcRaw(coord.port, { path: "/netmatrix.v1.ControlService/ListAgents", token, body: grpcFrame(Buffer.alloc(0)), timeoutMs: 5000 });
      else await rawHttp(coord.httpPort, httpRequest(`GET /api/runs?token=${token} HTTP/1.1`), 5000);
    });
    await sleep(2000);
    const start = procInfo(pid);
    console.log(
      `  before: run iperf3 n1→n2 ${before.bps.map((b) => (b / 1e9).toFixed(2)).join(" / ")} Gbit/s (median ${(median(before.bps) / 1e9).toFixed(2)}), ${before.wallS.toFixed(1)} s`,
    );
    console.log(`  coordinator before: RSS ${MB(cold.rss)} cold, ${MB(start.rss)} after ${WARMUP} well-formed requests (half gRPC, half HTTP); up ${start.uptimeS.toFixed(0)} s`);

    // The never-reading clients and the idle connections, for the whole window.
    const watcher = stuckWatcher(addr, token, { intervalMs: 100, readFirst: 1 });
    cleanups.push(() => watcher.close());
    const browser = new WebSocket(`ws://127.0.0.1:${coord.httpPort}/ws?token=${token}&interval=100`);
    browser.on("error", () => undefined);
    browser.on("open", () => (browser as unknown as { _socket: Socket })._socket.pause());
    cleanups.push(() => browser.terminate());
    const pool = idlePool([coord.httpPort, coord.port], idle);
    cleanups.push(() => pool.close());

    // The hostile requests, spread over the window.
    const http = { byStatus: new Map<number, number>(), noAnswer: 0 };
    const grpc = { byCode: new Map<string, number>(), transport: 0 };
    const windowMs = SECONDS * 1000;
    const t0 = performance.now();
    const hostileHttp = paced(HTTP_REQUESTS, windowMs * 0.9, 8, async () => {
      const res = await rawHttp(coord.httpPort, randomMalformedHttp(r, token), 5000);
      if (res.status === 0) http.noAnswer++;
      else http.byStatus.set(res.status, (http.byStatus.get(res.status) ?? 0) + 1);
    });
    const hostileGrpc = paced(GRPC_CALLS, windowMs * 0.9, 8, async () => {
      const a = await grpcRaw(coord.port, { ...randomMalformedGrpc(r, token), timeoutMs: 5000 });
      if (a.grpcStatus === undefined) grpc.transport++;
      const name = a.grpcStatus !== undefined ? (grpcStatus[a.grpcStatus] ?? String(a.grpcStatus)) : a.httpStatus ? `HTTP ${a.httpStatus}` : `no answer (${a.error})`;
      grpc.byCode.set(name, (grpc.byCode.get(name) ?? 0) + 1);
    });
    // A normal run in the middle of it.
    await sleep(windowMs * 0.25);
    const idleDuring = pool.open;
    const cpuAt = { t: performance.now(), coord: procInfo(pid).cpuS, self: process.cpuUsage() };
    const during = await run();
    const runS = (performance.now() - cpuAt.t) / 1000;
    const coordCpu = (procInfo(pid).cpuS - cpuAt.coord) / runS;
    const selfUse = process.cpuUsage(cpuAt.self);
    const selfCpu = (selfUse.user + selfUse.system) / 1e6 / runS;
    const duringAt = (performance.now() - t0) / 1000;
    await Promise.all([hostileHttp, hostileGrpc]);
    const left = windowMs - (performance.now() - t0);
    if (left > 0) await sleep(left);
    const end = procInfo(pid);
    const idleEnd = pool.open;
    // What the never-reading Watch client would find if it read now: the status it was cut off with, if it was.
    const stuckEnd = await watcher.resume(3000);
    for (const c of cleanups.splice(0)) c();
    await sleep(3000);
    const settled = procInfo(pid);
    const agents = await cli(["agents", "--output", "json"]);

    const ratio = median(during.bps) / median(before.bps);
    const growth = end.rss - start.rss;
    const sameProcess = coord.proc.child.exitCode === null && end.uptimeS > start.uptimeS;
    const fiveXx = [...http.byStatus].filter(([s]) => s >= 500).reduce((a, [, n]) => a + n, 0);
    const internal = grpc.byCode.get("INTERNAL") ?? 0;
    console.log(
      `  during (${duringAt.toFixed(0)} s in, ${idleDuring} idle connections open): run ${during.bps.map((b) => (b / 1e9).toFixed(2)).join(" / ")} Gbit/s (median ${(median(during.bps) / 1e9).toFixed(2)}), ${during.wallS.toFixed(1)} s`,
    );
    console.log(`  run during / before: ${ratio.toFixed(3)} (bar ≥ 0.95: ${ratio >= 0.95 ? "met" : "NOT met"})`);
    console.log(
      `  CPU while that run went on: coordinator ${(coordCpu * 100).toFixed(0)} % of a core, this abuse generator ${(selfCpu * 100).toFixed(0)} % (the machine has ${availableParallelism()} cores)`,
    );
    console.log(`  coordinator CPU over the whole abuse: ${(((end.cpuS - start.cpuS) / (end.uptimeS - start.uptimeS)) * 100).toFixed(0)} % of a core`);
    console.log(
      `  ${HTTP_REQUESTS} malformed HTTP requests: ${[...http.byStatus]
        .sort()
        .map(([s, n]) => `${s}×${n}`)
        .join(", ")}${http.noAnswer ? `, closed without an answer ×${http.noAnswer}` : ""}; 5xx: ${fiveXx}`,
    );
    console.log(
      `  ${GRPC_CALLS} malformed gRPC calls: ${[...grpc.byCode]
        .sort()
        .map(([s, n]) => `${s}×${n}`)
        .join(", ")}; INTERNAL: ${internal}`,
    );
    console.log(
      `  never-reading Watch client: ${stuckEnd.code === grpcStatus.RESOURCE_EXHAUSTED ? `cut off (${stuckEnd.details})` : `still open or ended otherwise (${stuckEnd.code ?? "open"} ${stuckEnd.details})`}`,
    );
    console.log(
      `  never-reading browser: ${/browser cut off/.test(coord.proc.stderr) ? "cut off after the stall bound" : "not cut off (at this rate the kernel's socket buffers had not filled; the coordinator holds at most 256 KiB and one batch per agent for it)"}`,
    );
    console.log(
      `  idle connections: ${idle} held (${idleEnd} open at the end; the coordinator closed ${pool.stats.closedByServer} idle ones, each reopened; ${pool.stats.opened} opened in all)`,
    );
    console.log(
      `  coordinator after: RSS ${MB(end.rss)} at the end of the abuse, ${MB(settled.rss)} 3 s after the clients left; growth ${MB(growth)} (bar ≤ 50 MB: ${growth <= 50e6 ? "met" : "NOT met"}); ${MB(end.rss - cold.rss)} since cold`,
    );
    console.log(
      `  coordinator restarted: ${sameProcess ? "no" : "YES"} (pid ${pid} ${coord.proc.child.exitCode === null ? "alive" : `exited ${coord.proc.child.exitCode}`}, up ${end.uptimeS.toFixed(0)} s; guard fired: ${/survived an/.test(coord.proc.stderr) ? "YES" : "no"})`,
    );
    const listed = agents.code === 0 ? (JSON.parse(agents.stdout) as { agents: unknown[] }).agents.length : 0;
    console.log(`  agents still registered afterwards: ${listed}/2`);
  } finally {
    for (const c of cleanups) c();
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
