/**
 * `netmatrix lab`: a simulated cluster on this machine. `up` builds the
 * namespaces (topology.ts), starts a coordinator in the root namespace and
 * the agents in the nodes, pods and external host as background processes,
 * and writes DATA_DIR/lab/state.json so the CLI talks to the lab with no
 * flags and `down` can stop exactly those processes (by PID) and remove
 * everything carrying the lab's prefix.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { NetmatrixError } from "../../common/src/errors.js";
import { loadOrCreateToken } from "../../common/src/token.js";
import { TLS_ENV } from "../../common/src/tls.js";
import { NETMATRIX_BIN } from "./netmatrix-bin.js";
import { buildLab, DEFAULT_LAB_PREFIX, labObjects, planTopology, teardownLab, type LabOptions, type LabTopology } from "./topology.js";

/** The lab's coordinator ports (root namespace) unless `port` says otherwise: gRPC, and the live page on the next port. */
export const LAB_PORTS = { grpc: 7400, http: 7401 } as const;

/** A TCP port free on every address right now (the kernel's pick). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(0, "0.0.0.0", resolve);
  });
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** The coordinator's gRPC and HTTP ports for `port`: as given and the next one, or two free ports for 0. */
async function labPorts(port: number): Promise<{ grpc: number; http: number }> {
  if (!Number.isInteger(port) || port < 0 || port > 65534)
    throw new NetmatrixError("invalid-argument", `lab port must be an integer in 0..65534 (0: any free port), got ${String(port)}`);
  if (port !== 0) return { grpc: port, http: port + 1 };
  const grpc = await freePort();
  let http = await freePort();
  while (http === grpc) http = await freePort();
  return { grpc, http };
}

export interface LabState {
  topology: LabTopology;
  /** Processes the lab started, by PID. */
  pids: { name: string; pid: number }[];
  coordinator: string;
  httpPort: number;
  tokenFile: string;
  dataDir: string;
  logDir: string;
  createdAt: string;
}

export function labDir(dataDir: string): string {
  return join(dataDir, "lab");
}

export function readLabState(dataDir: string): LabState | undefined {
  const f = join(labDir(dataDir), "state.json");
  return existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as LabState) : undefined;
}

/** Refuse clearly unless we are root. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new NetmatrixError("failed-precondition", "netmatrix lab needs root: it creates network namespaces, veths, bridges and iptables rules", {
      hint: "run it with sudo (e.g. sudo npx netmatrix lab up)",
    });
  }
}

/**
 * The lab's processes' environment: this one, less the TLS settings a shell
 * may carry for a cluster's coordinator (the lab's control plane is plaintext
 * on its own links; NETMATRIX_CA would make its agents expect TLS).
 */
function labEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NETMATRIX_LOG_LEVEL: process.env.NETMATRIX_LOG_LEVEL ?? "info" };
  for (const name of Object.values(TLS_ENV)) delete env[name];
  return env;
}

/** Start `netmatrix ARGS` in the background (in `ns` when given), its output in `log`. */
function daemon(args: string[], log: string, ns?: string): number {
  const fd = openSync(log, "a");
  const argv = [process.execPath, NETMATRIX_BIN, ...args];
  const full = ns ? ["ip", "netns", "exec", ns, ...argv] : argv;
  const child = spawn(full[0]!, full.slice(1), {
    detached: true,
    stdio: ["ignore", fd, fd],
    env: labEnv(),
  });
  child.unref();
  if (!child.pid) throw new NetmatrixError("internal", `could not start netmatrix ${args[0]}`);
  return child.pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM the lab's processes, SIGKILL what is left after `graceMs`. */
async function stopPids(pids: number[], graceMs = 4000): Promise<void> {
  for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGTERM");
  const until = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
}

/**
 * Build the lab and start its coordinator and agents. Refuses over a half-built lab unless `force`.
 * `port`: the coordinator's gRPC port (default {@link LAB_PORTS}; the live page on the next one; 0 = any free ports).
 */
export async function labUp(opts: LabOptions & { dataDir: string; force?: boolean; port?: number }): Promise<LabState> {
  requireRoot();
  const topo = planTopology(opts);
  const ports = await labPorts(opts.port ?? LAB_PORTS.grpc);
  const existing = await labObjects(topo.prefix);
  if (existing.namespaces.length || existing.rootLinks.length || readLabState(opts.dataDir)) {
    if (!opts.force) {
      throw new NetmatrixError(
        "failed-precondition",
        `a lab (or what is left of one) exists: ${[...existing.namespaces, ...existing.rootLinks].slice(0, 6).join(", ") || "state file"}`,
        {
          hint: "remove it with `netmatrix lab down`, or pass --force to clean it first",
        },
      );
    }
    await labDown(opts.dataDir, topo.prefix);
  }
  const dir = labDir(opts.dataDir);
  const logDir = join(dir, "logs");
  mkdirSync(logDir, { recursive: true });
  const tokenFile = join(opts.dataDir, "token");
  loadOrCreateToken(tokenFile);
  const state: LabState = {
    topology: topo,
    pids: [],
    coordinator: `127.0.0.1:${ports.grpc}`,
    httpPort: ports.http,
    tokenFile,
    dataDir: opts.dataDir,
    logDir,
    createdAt: new Date().toISOString(),
  };
  const save = (): void => writeFileSync(join(dir, "state.json"), `${JSON.stringify(state, null, 2)}\n`);
  save();
  try {
    await buildLab(topo);
    const tok = ["--token-file", tokenFile];
    // Agents reach the coordinator over their control links, not from the data-path addresses they declare:
    // the coordinator believes exactly these addresses (the ones the lab gives its agents), and no others.
    const agentAddresses = [...topo.nodes.flatMap((n) => [n.underlayAddress, ...n.pods.map((p) => p.address)]), ...(topo.external ? [topo.external.address] : [])];
    const trust = ["--trust-declared-addresses", agentAddresses.join(",")];
    state.pids.push({
      name: "coordinator",
      pid: daemon(
        [
          "coordinator",
          "--listen",
          `0.0.0.0:${ports.grpc}`,
          "--http",
          `0.0.0.0:${ports.http}`,
          "--data-dir",
          opts.dataDir,
          "--lab-state",
          join(dir, "state.json"),
          ...trust,
          ...tok,
        ],
        join(logDir, "coordinator.log"),
      ),
    });
    save();
    await waitForPort(ports.grpc);
    for (const node of topo.nodes) {
      const coord = ["--coordinator", `${node.controlGateway}:${ports.grpc}`, ...tok];
      const hostPid = daemon(
        ["agent", ...coord, "--node", node.name, "--mode", "host", "--address", node.underlayAddress, "--metrics", "0.0.0.0:9101"],
        join(logDir, `${node.name}-host.log`),
        node.ns,
      );
      state.pids.push({ name: `${node.name}/host`, pid: hostPid });
      for (const pod of node.pods) {
        // Like the chart's pod agents reading the host's /proc/1/net/dev: the node's NICs, seen from the pod.
        const netDev = ["--net-dev", `/proc/${hostPid}/net/dev`];
        state.pids.push({
          name: `${node.name}/pod/${pod.name}`,
          pid: daemon(
            ["agent", ...coord, "--node", node.name, "--mode", "pod", "--pod", pod.name, "--address", pod.address, "--metrics", "off", ...netDev],
            join(logDir, `${pod.name}.log`),
            pod.ns,
          ),
        });
      }
    }
    if (topo.external) {
      const ext = topo.external;
      state.pids.push({
        name: "external",
        pid: daemon(
          ["agent", "--coordinator", `${ext.controlGateway}:${ports.grpc}`, ...tok, "--node", ext.name, "--mode", "external", "--address", ext.address, "--metrics", "off"],
          join(logDir, "external.log"),
          ext.ns,
        ),
      });
    }
    save();
    return state;
  } catch (err) {
    await labDown(opts.dataDir, topo.prefix);
    throw err;
  }
}

async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const { isListening } = await import("../../common/src/listen-probe.js");
  const until = Date.now() + timeoutMs;
  while (!isListening(port, "tcp")) {
    if (Date.now() > until)
      throw new NetmatrixError("unavailable", `the lab coordinator did not listen on :${port} within ${timeoutMs / 1000} s`, { hint: "see its log under DATA_DIR/lab/logs" });
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Stop the lab's processes and remove every object with its prefix. Idempotent. */
export async function labDown(dataDir: string, prefix = DEFAULT_LAB_PREFIX): Promise<{ stopped: number; removed: string[] }> {
  requireRoot();
  const state = readLabState(dataDir);
  const pids = state?.pids.map((p) => p.pid) ?? [];
  await stopPids(pids);
  const removed = await teardownLab(state?.topology.prefix ?? prefix);
  rmSync(join(labDir(dataDir), "state.json"), { force: true });
  return { stopped: pids.length, removed: [...removed.namespaces, ...removed.rootLinks] };
}

/** What is up: state, live processes, objects present. */
export async function labStatus(dataDir: string, prefix = DEFAULT_LAB_PREFIX) {
  const state = readLabState(dataDir);
  const objects = await labObjects(state?.topology.prefix ?? prefix);
  return {
    up: Boolean(state),
    state,
    processes: (state?.pids ?? []).map((p) => ({ ...p, alive: alive(p.pid) })),
    objects,
  };
}
