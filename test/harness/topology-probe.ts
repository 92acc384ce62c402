/**
 * Probes for checking a lab in tests: ping, iperf3 client and server,
 * interface byte counters and MTUs inside a namespace. Processes run through
 * the exec helper (argv arrays, no shell) and long-running ones are stopped by
 * PID. The iperf3 client is the tools catalogue's driver (its argv, its
 * parser) and the counters are the agent's /proc/net/dev parser, so a probe
 * sees exactly what netmatrix itself would.
 */
import { parseNetDev } from "../../agent/src/samplers/netdev.js";
import { exec, startProcess, type RunningProcess } from "../../common/src/exec.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { inNs } from "../../lab/src/topology-run.js";
import { iperf3, type ClientParams, type Measurement } from "../../tools/src/index.js";

/** `argv` inside `ns`, or as is in the root namespace. */
function within(ns: string | undefined, argv: string[]): string[] {
  return ns ? ["ip", "netns", "exec", ns, ...argv] : argv;
}

/** `count` pings from `ns` to `address`, 200 ms apart; ok when at least one came back. */
export async function ping(ns: string, address: string, count = 3): Promise<{ ok: boolean; output: string }> {
  const res = await exec({ argv: within(ns, ["ping", "-n", "-c", String(count), "-i", "0.2", "-W", "1", address]), deadlineMs: 10_000 });
  return { ok: res.exitCode === 0, output: res.stdout + res.stderr };
}

/** An iperf3 server started by {@link startIperfServer}; stop it (by PID) when done. */
export interface IperfServer {
  proc: RunningProcess;
  stop(): Promise<void>;
}

/**
 * Start `iperf3 -s` in `ns` (root namespace when undefined), bound to `bind`
 * when given, on TCP/UDP `port`; resolves once it listens. Unlike the
 * driver's one-off server (`-1`) it serves any number of tests, and lives at
 * most `lifetimeMs` (default 120 s) even if never stopped.
 */
export async function startIperfServer(ns: string | undefined, port: number, bind?: string, lifetimeMs = 120_000): Promise<IperfServer> {
  const argv = ["iperf3", "-s", "-p", String(port), "--forceflush", ...(bind ? ["-B", bind] : [])];
  const proc = startProcess({ argv: within(ns, argv), deadlineMs: lifetimeMs });
  const server: IperfServer = { proc, stop: async () => void (await proc.stop()) };
  const until = Date.now() + 5_000;
  while (!/listening/i.test(proc.output().stdout)) {
    const gone = await Promise.race([proc.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 50))]);
    if (gone || Date.now() > until) {
      await server.stop();
      throw new NetmatrixError("internal", `iperf3 server on port ${port} did not start: ${proc.output().stderr || proc.output().stdout}`);
    }
  }
  return server;
}

export interface IperfOptions {
  /** Test length, seconds (default 2). */
  seconds?: number;
  /** Seconds omitted at the start (slow start), default 0. */
  omit?: number;
  /** UDP instead of TCP. */
  udp?: boolean;
  /** Target bitrate, bits/s; UDP default 1 Mbit/s (iperf3's own default). */
  bitrateBps?: number;
}

/**
 * Run the iperf3 driver's client from `ns` against `target:port` and parse it
 * with the driver; throws with the driver's failure reason (never a number)
 * when the run failed.
 */
export async function iperfClient(ns: string | undefined, target: string, port: number, opts: IperfOptions = {}): Promise<Measurement> {
  const udp = opts.udp ?? false;
  const params: ClientParams = { target, port, protocol: udp ? "udp" : "tcp", durationS: opts.seconds ?? 2, parallel: 1, direction: "forward" };
  if (opts.omit) params.omitS = opts.omit;
  const bitrateBps = opts.bitrateBps ?? (udp ? 1e6 : undefined);
  if (bitrateBps !== undefined) params.bitrateBps = bitrateBps;
  const res = await exec({ argv: within(ns, iperf3.clientArgv(params)), deadlineMs: iperf3.runMs(params) + 15_000 });
  const outcome = iperf3.parseClient({ stdout: res.stdout, stderr: res.stderr || res.spawnError || "", exitCode: res.exitCode }, params);
  if (!outcome.ok) throw new NetmatrixError("internal", `iperf3 -c ${target}:${port} failed (${outcome.failure.code}): ${outcome.failure.reason}`);
  return outcome.measurement;
}

/** Transmitted bytes and packets of `ifName` in `ns`, from the namespace's /proc/net/dev (the agent's parser). */
export async function txCounters(ns: string, ifName: string): Promise<{ bytes: bigint; packets: bigint }> {
  const text = await inNs(ns, ["cat", "/proc/net/dev"]);
  const dev = parseNetDev(text, (name) => name === ifName)[0];
  if (!dev) throw new NetmatrixError("not-found", `no ${ifName} in ${ns}`);
  return { bytes: dev.txBytes, packets: dev.txPackets };
}

/** MTU of `ifName` in `ns`, bytes. */
export async function linkMtu(ns: string, ifName: string): Promise<number> {
  const out = await inNs(ns, ["ip", "-j", "link", "show", "dev", ifName]);
  const [link] = JSON.parse(out) as { mtu: number }[];
  if (!link) throw new NetmatrixError("not-found", `no ${ifName} in ${ns}`);
  return link.mtu;
}

/** A TCP port in 20000..39999 for a throwaway server. */
export function randomPort(): number {
  return 20_000 + Math.floor(Math.random() * 20_000);
}
