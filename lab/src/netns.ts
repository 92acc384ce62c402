/**
 * Network-namespace primitives for the lab, the tests and the benchmarks:
 * every object gets a caller-given prefix so one sweep removes all of it.
 * Commands run through the exec helper as argv arrays (no shell).
 */
import { exec } from "../../common/src/exec.js";
import { NetmatrixError } from "../../common/src/errors.js";

/** Run `ip ARGS` (inside `ns` when given); throws with stderr on failure. */
export async function ip(args: string[], ns?: string): Promise<string> {
  return run(ns ? ["ip", "netns", "exec", ns, "ip", ...args] : ["ip", ...args]);
}

/** Run `tc ARGS` inside `ns`. */
export async function tc(args: string[], ns: string): Promise<string> {
  return run(["ip", "netns", "exec", ns, "tc", ...args]);
}

async function run(argv: string[]): Promise<string> {
  const res = await exec({ argv, deadlineMs: 15_000, guard: false });
  if (res.exitCode !== 0) {
    throw new NetmatrixError("internal", `${argv.join(" ")} failed: ${(res.stderr || res.stdout || res.spawnError || "").trim()}`);
  }
  return res.stdout;
}

/** True when we can manage namespaces (root with iproute2). */
export function canUseNamespaces(): boolean {
  return process.getuid?.() === 0;
}

/** Names of existing namespaces that start with `prefix`. */
export async function listNamespaces(prefix: string): Promise<string[]> {
  const out = await run(["ip", "netns", "list"]);
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((n) => n.startsWith(prefix));
}

/** Create namespace `name` with `lo` up. */
export async function addNamespace(name: string): Promise<void> {
  await run(["ip", "netns", "add", name]);
  await ip(["link", "set", "lo", "up"], name);
}

/**
 * Delete every namespace starting with `prefix` (their veths go with them).
 * Idempotent; never throws for what is already gone.
 */
export async function sweepNamespaces(prefix: string): Promise<string[]> {
  const names = await listNamespaces(prefix);
  for (const n of names) await exec({ argv: ["ip", "netns", "delete", n], deadlineMs: 15_000, guard: false });
  return names;
}

/**
 * A veth pair from namespace `a` (interface `aIf`, address `aAddr` as CIDR) to
 * namespace `b`. Both ends up.
 */
export async function vethPair(a: { ns: string; ifName: string; cidr: string }, b: { ns: string; ifName: string; cidr: string }, mtu?: number): Promise<void> {
  await ip(["link", "add", a.ifName, "netns", a.ns, "type", "veth", "peer", "name", b.ifName, "netns", b.ns]);
  for (const end of [a, b]) {
    if (mtu) await ip(["link", "set", end.ifName, "mtu", String(mtu)], end.ns);
    await ip(["addr", "add", end.cidr, "dev", end.ifName], end.ns);
    await ip(["link", "set", end.ifName, "up"], end.ns);
  }
}

/**
 * Limit egress of `ifName` in `ns` to `rate` (tc syntax, e.g. "1gbit") with a
 * token bucket, like a NIC of that speed.
 */
export async function rateLimit(ns: string, ifName: string, rate: string): Promise<void> {
  await tc(["qdisc", "replace", "dev", ifName, "root", "tbf", "rate", rate, "burst", "256kb", "latency", "20ms"], ns);
}
