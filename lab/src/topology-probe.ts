/**
 * Probes for checking a lab by hand or in tests: ping, iperf3 client and
 * server, interface byte counters and MTUs inside a namespace. Processes run
 * through the exec helper (argv arrays, no shell) and long-running ones are
 * stopped by PID.
 */
import { exec, startProcess, type RunningProcess } from "../../common/src/exec.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { inNs } from "./topology-run.js";

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
 * when given, on TCP/UDP `port`; resolves once it listens. Lives at most
 * `lifetimeMs` (default 120 s) even if never stopped.
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
  /** Test length, seconds (default 2); ignored when `bytes` is set. */
  seconds?: number;
  /** Send this much instead of running for `seconds`, iperf3 syntax (e.g. "2M"). */
  bytes?: string;
  /** Give up connecting after this many milliseconds (default 3000). */
  connectTimeoutMs?: number;
  /** Seconds omitted at the start (slow start), default 0. */
  omit?: number;
  /** UDP instead of TCP. */
  udp?: boolean;
  /** Target bitrate, iperf3 syntax (e.g. "50M"); UDP default 1 Mbit/s. */
  bitrate?: string;
}

export interface IperfSummary {
  /** Payload bytes the client sent. */
  sentBytes: number;
  /** Payload bytes the server received. */
  receivedBytes: number;
  /** Receiver goodput, bits per second. */
  receivedBps: number;
  /** TCP retransmissions (0 for UDP). */
  retransmits: number;
}

/** Run `iperf3 -c target -p port -J` from `ns`; throws with iperf3's error when it fails. */
export async function iperfClient(ns: string | undefined, target: string, port: number, opts: IperfOptions = {}): Promise<IperfSummary> {
  const seconds = opts.seconds ?? 2;
  const argv = ["iperf3", "-c", target, "-p", String(port), "-J", "--connect-timeout", String(opts.connectTimeoutMs ?? 3000)];
  argv.push(...(opts.bytes ? ["-n", opts.bytes] : ["-t", String(seconds)]));
  if (opts.omit) argv.push("-O", String(opts.omit));
  if (opts.udp) argv.push("-u", "-b", opts.bitrate ?? "1M");
  else if (opts.bitrate) argv.push("-b", opts.bitrate);
  const res = await exec({ argv: within(ns, argv), deadlineMs: (seconds + (opts.omit ?? 0) + 15) * 1000 });
  let doc: { error?: string; end?: Record<string, { bytes?: number; bits_per_second?: number; retransmits?: number } | undefined> };
  try {
    doc = JSON.parse(res.stdout) as typeof doc;
  } catch {
    throw new NetmatrixError("internal", `iperf3 -c ${target}:${port} printed no JSON: ${(res.stderr || res.stdout).trim()}`);
  }
  if (doc.error || res.exitCode !== 0) throw new NetmatrixError("internal", `iperf3 -c ${target}:${port} failed: ${doc.error ?? res.stderr.trim()}`);
  const end = doc.end ?? {};
  const sent = end["sum_sent"] ?? end["sum"];
  const received = end["sum_received"] ?? end["sum"];
  return {
    sentBytes: sent?.bytes ?? 0,
    receivedBytes: received?.bytes ?? 0,
    receivedBps: received?.bits_per_second ?? 0,
    retransmits: sent?.retransmits ?? 0,
  };
}

/** Transmitted bytes and packets of `ifName` in `ns`, from the namespace's /proc/net/dev. */
export async function txCounters(ns: string, ifName: string): Promise<{ bytes: number; packets: number }> {
  const text = await inNs(ns, ["cat", "/proc/net/dev"]);
  for (const line of text.split("\n")) {
    const [name, rest] = line.split(":");
    if (name?.trim() !== ifName || rest === undefined) continue;
    // receive: bytes packets errs drop fifo frame compressed multicast | transmit: bytes packets …
    const f = rest.trim().split(/\s+/).map(Number);
    return { bytes: f[8] ?? 0, packets: f[9] ?? 0 };
  }
  throw new NetmatrixError("not-found", `no ${ifName} in ${ns}`);
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
