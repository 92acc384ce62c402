/**
 * Small command runners for the lab topology and its services: programs run
 * inside a network namespace (`ip netns exec NS PROG …`), always as argv
 * arrays through the exec helper (never a shell), plus a listing of the
 * root-namespace veth links a lab owns.
 */
import { exec } from "../../common/src/exec.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { ip } from "./netns.js";

/** Deadline for one configuration command, milliseconds. */
const COMMAND_DEADLINE_MS = 15_000;

/** Outcome of a command that is allowed to fail. */
export interface TryResult {
  ok: boolean;
  stdout: string;
  /** stderr (or the spawn error) when it failed, trimmed. */
  error: string;
}

/** Run `argv` inside namespace `ns` (root namespace when undefined); never throws. */
export async function tryInNs(ns: string | undefined, argv: string[]): Promise<TryResult> {
  const full = ns ? ["ip", "netns", "exec", ns, ...argv] : argv;
  const res = await exec({ argv: full, deadlineMs: COMMAND_DEADLINE_MS, guard: false });
  const ok = res.exitCode === 0;
  return { ok, stdout: res.stdout, error: ok ? "" : (res.stderr || res.stdout || res.spawnError || `exit ${String(res.exitCode)}`).trim() };
}

/** Run `argv` inside namespace `ns`; throws an internal NetmatrixError with stderr on failure. */
export async function inNs(ns: string | undefined, argv: string[]): Promise<string> {
  const res = await tryInNs(ns, argv);
  if (!res.ok) throw new NetmatrixError("internal", `${ns ? `[${ns}] ` : ""}${argv.join(" ")} failed: ${res.error}`);
  return res.stdout;
}

/**
 * Set kernel parameters (`key=value`, dotted names) inside `ns` in one
 * `sysctl -w` call. Keys this kernel lacks are skipped (`-e`), so optional
 * ones (br_netfilter's, `net.core.rps_default_mask` before Linux 6.2) can ride along.
 */
export async function sysctl(ns: string, settings: Record<string, string | number>): Promise<void> {
  const pairs = Object.entries(settings).map(([k, v]) => `${k}=${String(v)}`);
  if (pairs.length > 0) await inNs(ns, ["sysctl", "-q", "-e", "-w", ...pairs]);
}

/** Run `bridge ARGS` (iproute2's bridge tool, e.g. FDB entries) inside `ns`. */
export async function bridgeCmd(args: string[], ns: string): Promise<string> {
  return inNs(ns, ["bridge", ...args]);
}

/**
 * Names of veth links in the ROOT namespace that start with `prefix`. Only
 * veths are listed, so a prefix can never select the machine's own NICs.
 */
export async function rootVethLinks(prefix: string): Promise<string[]> {
  if (!prefix) return [];
  const out = await ip(["-o", "link", "show", "type", "veth"]);
  const names: string[] = [];
  for (const line of out.split("\n")) {
    // "12: nm-lab-c1@if3: <BROADCAST,…> mtu 1500 …"
    const m = /^\d+:\s+([^:@\s]+)[@:]/.exec(line);
    if (m?.[1]?.startsWith(prefix)) names.push(m[1]);
  }
  return names;
}

/** Delete a root-namespace link; true when it existed and is now gone. */
export async function deleteRootLink(name: string): Promise<boolean> {
  return (await tryInNs(undefined, ["ip", "link", "delete", name])).ok;
}
