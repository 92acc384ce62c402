/**
 * Small command runners for the lab topology and its services: programs run
 * inside a network namespace (`ip netns exec NS PROG …`), always as argv
 * arrays through the exec helper (never a shell), plus a listing of the
 * root-namespace veth links a lab owns.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
 * ones (br_netfilter's, absent when the module is not loaded) can ride along.
 */
export async function sysctl(ns: string, settings: Record<string, string | number>): Promise<void> {
  const pairs = Object.entries(settings).map(([k, v]) => `${k}=${String(v)}`);
  if (pairs.length > 0) await inNs(ns, ["sysctl", "-q", "-e", "-w", ...pairs]);
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

/** Wait for every promise (so nothing is still creating objects during a teardown); then throw the first failure. */
export async function settleAll(work: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/**
 * Run many `ip` (or `bridge`) commands inside `ns` in one process with
 * `-batch FILE`: each command is an argv without the program name. Arguments
 * must not contain whitespace (names and addresses never do).
 */
export async function batch(ns: string, tool: "ip" | "bridge", commands: string[][]): Promise<void> {
  if (commands.length === 0) return;
  for (const c of commands) {
    if (c.some((a) => a === "" || /\s/.test(a))) throw new NetmatrixError("internal", `batch argument with whitespace: ${JSON.stringify(c)}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "nm-batch-"));
  try {
    const file = join(dir, "cmds");
    writeFileSync(file, `${commands.map((c) => c.join(" ")).join("\n")}\n`, { mode: 0o600 });
    await inNs(ns, [tool, "-batch", file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
