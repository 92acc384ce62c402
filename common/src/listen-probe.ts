/**
 * Is anything listening on a port in this network namespace? Read from
 * /proc/net/{tcp,tcp6,udp,udp6} rather than by connecting: a probe connection
 * would be taken as a test client by `iperf3 -s -1`.
 */
import { readFileSync } from "node:fs";

/** TCP state code for LISTEN in /proc/net/tcp. UDP sockets show 07 (CLOSE) when bound. */
const TCP_LISTEN = "0A";
const UDP_BOUND = "07";

/**
 * Local ports in `text` (the contents of /proc/net/tcp or udp, v4 or v6) whose
 * socket is in `state` (hex, e.g. "0A"); in any state when `state` is omitted.
 */
export function parseProcNetPorts(text: string, state?: string): Set<number> {
  const ports = new Set<number>();
  for (const line of text.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    // cols: sl local_address rem_address st ...
    const local = cols[1];
    const st = cols[3];
    if (!local || !st || (state !== undefined && st !== state)) continue;
    const portHex = local.slice(local.lastIndexOf(":") + 1);
    const port = Number.parseInt(portHex, 16);
    if (Number.isInteger(port)) ports.add(port);
  }
  return ports;
}

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** True when a TCP socket listens (or, for "udp", a UDP socket is bound) on `port`. */
export function isListening(port: number, protocol: "tcp" | "udp", procRoot = "/proc"): boolean {
  const [files, state] = protocol === "tcp" ? [["tcp", "tcp6"], TCP_LISTEN] : [["udp", "udp6"], UDP_BOUND];
  return files.some((f) => parseProcNetPorts(read(`${procRoot}/net/${f}`), state).has(port));
}

/**
 * Every local port a TCP or UDP socket holds in this network namespace, in any
 * state: a TIME_WAIT or established socket on a port makes a server that binds
 * without SO_REUSEADDR (sockperf) fail with "Address already in use", though
 * Node's own listen, which sets it, succeeds there.
 */
export function portsInUse(procRoot = "/proc"): Set<number> {
  const all = new Set<number>();
  for (const f of ["tcp", "tcp6", "udp", "udp6"]) for (const p of parseProcNetPorts(read(`${procRoot}/net/${f}`))) all.add(p);
  return all;
}
