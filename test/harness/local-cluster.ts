/**
 * A coordinator and agents as real processes on this machine (optionally in
 * network namespaces), for tests, benchmarks and the lab.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { spawnNetmatrix, type Proc, type SpawnOptions } from "./processes.js";

export interface CoordinatorProc {
  proc: Proc;
  port: number;
  /** Port of the live web page. */
  httpPort: number;
  tokenFile: string;
  dataDir: string;
}

/** Write a fresh token into `dataDir/token`. */
export function writeToken(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, "token");
  writeFileSync(file, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
  return file;
}

/** Start `netmatrix coordinator` and wait until it listens. */
export async function startCoordinatorProc(opts: {
  dataDir: string;
  listen?: string;
  http?: string;
  ns?: string;
  tokenFile?: string;
  /** --trust-declared-addresses: agents declaring these addresses connect from elsewhere (namespaces over control links). */
  trustDeclaredAddresses?: string;
  /** More arguments, e.g. --tls-cert FILE --tls-key FILE. */
  args?: string[];
}): Promise<CoordinatorProc> {
  const tokenFile = opts.tokenFile ?? writeToken(opts.dataDir);
  const spawnOpts: SpawnOptions = opts.ns ? { ns: opts.ns } : {};
  const args = ["coordinator", "--listen", opts.listen ?? "127.0.0.1:0", "--http", opts.http ?? "127.0.0.1:0", "--token-file", tokenFile, "--data-dir", opts.dataDir];
  if (opts.trustDeclaredAddresses) args.push("--trust-declared-addresses", opts.trustDeclaredAddresses);
  args.push(...(opts.args ?? []));
  const proc = spawnNetmatrix(args, spawnOpts);
  const web = await proc.waitFor(/"httpPort":(\d+)/);
  const m = await proc.waitFor(/"port":(\d+),"msg":"coordinator listening"/);
  return { proc, port: Number(m[1]), httpPort: Number(web[1]), tokenFile, dataDir: opts.dataDir };
}

export interface AgentProcOptions {
  coordinator: string;
  tokenFile: string;
  node: string;
  mode?: "host" | "pod" | "external";
  address?: string;
  pod?: string;
  portRange?: string;
  ns?: string;
  env?: NodeJS.ProcessEnv;
  /** Run under this command (e.g. setpriv dropping a capability); see SpawnOptions. */
  wrap?: string[];
  /** Wait for registration (default true). */
  waitRegistered?: boolean;
  /** --metrics HOST:PORT|off (default 127.0.0.1:0: any free port, so agents on one machine never collide). */
  metrics?: string;
  /** --behind-nat: registered as a client only when its address is not where it connects from. */
  behindNat?: boolean;
  /** More arguments, e.g. --ca FILE. */
  args?: string[];
}

/** Start `netmatrix agent` and (by default) wait until the coordinator registered it. */
export async function startAgentProc(o: AgentProcOptions): Promise<Proc> {
  const args = ["agent", "--coordinator", o.coordinator, "--token-file", o.tokenFile, "--node", o.node, "--mode", o.mode ?? "host"];
  if (o.address) args.push("--address", o.address);
  if (o.pod) args.push("--pod", o.pod);
  if (o.portRange) args.push("--port-range", o.portRange);
  args.push("--metrics", o.metrics ?? "127.0.0.1:0");
  if (o.behindNat) args.push("--behind-nat");
  args.push(...(o.args ?? []));
  const spawnOpts: SpawnOptions = {};
  if (o.ns) spawnOpts.ns = o.ns;
  if (o.env) spawnOpts.env = o.env;
  if (o.wrap) spawnOpts.wrap = o.wrap;
  const proc = spawnNetmatrix(args, spawnOpts);
  if (o.waitRegistered ?? true) await proc.waitFor(/"msg":"registered"/, 20_000);
  return proc;
}
