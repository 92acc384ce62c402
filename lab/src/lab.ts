/**
 * `netmatrix lab`: a simulated cluster on this machine. `up` builds the
 * namespaces (topology.ts), starts a coordinator in the root namespace and
 * the agents in the nodes, pods and external host — as background processes
 * of this checkout, or with `image` as podman containers of the real image
 * with the chart's security settings (containers.ts) — and writes
 * DATA_DIR/lab/state.json so the CLI talks to the lab with no flags and
 * `down` can stop exactly those processes (by PID) and containers (by name)
 * and remove everything carrying the lab's prefix. With `image`, the lab's
 * Services come from its Kubernetes API stand-in (kube-api.ts), a root
 * process started before the coordinator, which it serves as the API server
 * serves the chart's coordinator.
 */
import { spawn } from "node:child_process";
import { chownSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { NetmatrixError } from "../../common/src/errors.js";
import { loadOrCreateToken } from "../../common/src/token.js";
import { TLS_ENV } from "../../common/src/tls.js";
import { NETMATRIX_BIN } from "./netmatrix-bin.js";
import {
  HOST_PROC_MOUNT,
  IMAGE_DATA_DIR,
  IMAGE_GID,
  IMAGE_UID,
  inspectContainers,
  listContainers,
  removeContainers,
  requireImage,
  startContainer,
  type ContainerRole,
} from "./containers.js";
import { buildLab, DEFAULT_LAB_PREFIX, labObjects, planTopology, teardownLab, type LabOptions, type LabTopology } from "./topology.js";
import { serviceCountersFile } from "./lab-services-counters.js";
import { kubeApiCoordinatorEnv, kubeApiFiles, KUBE_API_HOST, LAB_KUBE_NAMESPACE, prepareKubeApi, SERVICEACCOUNT_MOUNT } from "./kube-api.js";

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
  /** `lab up --image`: the image its coordinator and agents run as containers (then `pids` holds only the kube-api stand-in). */
  image?: string;
  /** With `image`: the Kubernetes API stand-in the coordinator manages Services through (`netmatrix lab kube-api`, in `pids` as "kube-api"). */
  kubeApi?: { address: string; namespace: string; dir: string };
  /** With `image`: host agents as root with NET_RAW, as the chart's agents.host.rawPing. */
  rawPing?: boolean;
  /** Containers the lab started (with `image`), by name; `for` is what `pids` would call it. */
  containers?: { name: string; for: string; role: ContainerRole }[];
  /** With `image`: the coordinator's data directory on this machine (mounted at the image's /var/lib/netmatrix); `down` moves its runs to DATA_DIR/runs. */
  imageDataDir?: string;
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

/** One of the lab's coordinator and agents, to start as a process or a container. */
interface LabMember {
  /** e.g. "coordinator", "node-1/host", "node-1/pod/node-1-pod-a" (state.pids' names). */
  name: string;
  /** Its container's name after the lab's prefix, e.g. "node-1-host". */
  container: string;
  role: ContainerRole;
  /** Its network namespace; undefined: the root namespace. */
  ns?: string;
  /** `netmatrix` arguments, less the token and data directory. */
  args: string[];
  log: string;
  /** Read NIC counters in the network namespace of this host PID (pod agents: their node's, as the chart's /host/proc/1/net/dev). */
  netDevOf?: number;
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
 * `--pod-ips` of node `index`'s host agent (pod `k`'s agent): its IPv6
 * address in a dual-stack lab, as the chart passes status.podIPs, so the
 * agent registers it (and not, say, its bridge's) as its IPv6 target.
 */
function podIps(topo: LabTopology, index: number, k?: number): string[] {
  const a = topo.ipv6?.nodes[index - 1];
  const v6 = k === undefined ? a?.underlay : a?.pods[k];
  return v6 ? ["--pod-ips", v6] : [];
}

/** What `labUp` takes: the topology, where the lab keeps its state, and how to run its members. */
export interface LabUpOptions extends LabOptions {
  dataDir: string;
  /** Clean a half-built lab first. */
  force?: boolean;
  /** The coordinator's gRPC port (default {@link LAB_PORTS}; the live page on the next one; 0 = any free ports). */
  port?: number;
  /** Run the coordinator and agents as podman containers of this image, with the chart's settings (containers.ts). */
  image?: string;
  /** With `image`: host agents as the chart's agents.host.rawPing runs them (root, NET_RAW). */
  rawPing?: boolean;
}

/**
 * Build the lab and start its coordinator and agents. Refuses over a half-built lab unless `force`.
 */
export async function labUp(opts: LabUpOptions): Promise<LabState> {
  requireRoot();
  if (opts.rawPing && !opts.image) {
    throw new NetmatrixError("invalid-argument", "--raw-ping is a setting of the image's host agents (the chart's agents.host.rawPing)", {
      hint: "add --image IMAGE, or leave --raw-ping out: the lab's own processes run as root",
    });
  }
  const topo = planTopology(opts);
  if (opts.image) await requireImage(opts.image);
  const ports = await labPorts(opts.port ?? LAB_PORTS.grpc);
  const existing = await labObjects(topo.prefix);
  const leftContainers = await listContainers(topo.prefix);
  if (existing.namespaces.length || existing.rootLinks.length || leftContainers.length || readLabState(opts.dataDir)) {
    if (!opts.force) {
      throw new NetmatrixError(
        "failed-precondition",
        `a lab (or what is left of one) exists: ${[...existing.namespaces, ...existing.rootLinks, ...leftContainers].slice(0, 6).join(", ") || "state file"}`,
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
  const token = loadOrCreateToken(tokenFile).value;
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
  if (opts.image) {
    // The coordinator's results volume: the chart's pod gets it writable through fsGroup 10001; here, by owner.
    const imageDataDir = join(dir, "image-data");
    mkdirSync(imageDataDir, { recursive: true });
    chownSync(imageDataDir, IMAGE_UID, IMAGE_GID);
    Object.assign(state, { image: opts.image, rawPing: Boolean(opts.rawPing), containers: [], imageDataDir });
  }
  const save = (): void => writeFileSync(join(dir, "state.json"), `${JSON.stringify(state, null, 2)}\n`);
  save();
  /** Start one member; returns the host PID whose network namespace is the member's. */
  const start = async (m: LabMember): Promise<number> => {
    if (!state.image) {
      const netDev = m.netDevOf ? ["--net-dev", `/proc/${m.netDevOf}/net/dev`] : [];
      const data = m.role === "coordinator" ? ["--data-dir", opts.dataDir, "--lab-state", join(dir, "state.json")] : [];
      const pid = daemon([...m.args, ...data, ...netDev, "--token-file", tokenFile], m.log, m.ns);
      state.pids.push({ name: m.name, pid });
      return pid;
    }
    const name = `${topo.prefix}${m.container}`;
    // Recorded before it starts: a failed start is removed with the rest.
    state.containers!.push({ name, for: m.name, role: m.role });
    save();
    const kube = m.role === "coordinator" ? state.kubeApi : undefined;
    const env: Record<string, string | true> = {
      // From podman's environment, so it is in no argv (the token file is root's, 0600; the chart passes a Secret as env too).
      NETMATRIX_TOKEN: true,
      NETMATRIX_LOG_LEVEL: labEnv().NETMATRIX_LOG_LEVEL!,
      ...(m.role === "coordinator" ? { NETMATRIX_DATA_DIR: IMAGE_DATA_DIR } : {}),
      // Services through the Kubernetes API, as the chart's coordinator (coordinator.kubernetesServices): here the lab's stand-in.
      ...(kube ? kubeApiCoordinatorEnv({ port: Number(kube.address.split(":")[1]), namespace: kube.namespace, instance: topo.prefix.replace(/-+$/, "") }) : {}),
      // The chart's /host/proc/1/net/dev: PID 1 of a node lives in the node's network namespace; the lab's node is its host agent's.
      ...(m.netDevOf ? { NETMATRIX_NET_DEV: `${HOST_PROC_MOUNT}/${m.netDevOf}/net/dev` } : {}),
    };
    return startContainer(
      m.role,
      {
        name,
        image: state.image,
        network: m.ns ? { netns: m.ns } : "host",
        args: m.args,
        env,
        ...(m.role === "coordinator" ? { volumes: { [state.imageDataDir!]: IMAGE_DATA_DIR } } : {}),
        // The ServiceAccount token, CA and namespace, where the kubelet mounts them.
        ...(kube ? { readOnlyVolumes: { [kubeApiFiles(dir).serviceAccountDir]: SERVICEACCOUNT_MOUNT } } : {}),
        logFile: m.log,
        rawPing: Boolean(state.rawPing),
      },
      { ...labEnv(), NETMATRIX_TOKEN: token },
    );
  };
  try {
    await buildLab(topo);
    // Agents reach the coordinator over their control links, not from the data-path addresses they declare:
    // the coordinator believes exactly these addresses (the ones the lab gives its agents), and no others.
    const agentAddresses = [...topo.nodes.flatMap((n) => [n.underlayAddress, ...n.pods.map((p) => p.address)]), ...(topo.external ? [topo.external.address] : [])];
    const trust = ["--trust-declared-addresses", agentAddresses.join(",")];
    // The lab's Services are iptables DNAT in every node namespace, which needs root in the root namespace. A lab of
    // processes has its root coordinator program them (--lab-state). The image's coordinator, non-root with no
    // capability like the chart's, manages Services through the Kubernetes API instead: the lab's stand-in serves it
    // and programs the rules (kube-api.ts), so it must answer before the coordinator starts (which sweeps at start-up).
    if (state.image) {
      const files = await prepareKubeApi(dir, { namespace: LAB_KUBE_NAMESPACE, owner: { uid: IMAGE_UID, gid: IMAGE_GID } });
      const kubePort = await freePort();
      state.kubeApi = { address: `${KUBE_API_HOST}:${kubePort}`, namespace: LAB_KUBE_NAMESPACE, dir: files.dir };
      save();
      const log = join(logDir, "kube-api.log");
      state.pids.push({ name: "kube-api", pid: daemon(["lab", "kube-api", "--state", join(dir, "state.json"), "--listen", state.kubeApi.address], log) });
      save();
      await waitForPort(kubePort, "the lab's Kubernetes API stand-in", log);
    }
    await start({
      name: "coordinator",
      container: "coordinator",
      role: "coordinator",
      args: ["coordinator", "--listen", `0.0.0.0:${ports.grpc}`, "--http", `0.0.0.0:${ports.http}`, ...trust],
      log: join(logDir, "coordinator.log"),
    });
    save();
    await waitForPort(ports.grpc, "the lab coordinator", join(logDir, "coordinator.log"));
    for (const node of topo.nodes) {
      const coord = ["--coordinator", `${node.controlGateway}:${ports.grpc}`];
      const hostPid = await start({
        name: `${node.name}/host`,
        container: `${node.name}-host`,
        role: "host-agent",
        ns: node.ns,
        args: ["agent", ...coord, "--node", node.name, "--mode", "host", "--address", node.underlayAddress, ...podIps(topo, node.index), "--metrics", "0.0.0.0:9101"],
        log: join(logDir, `${node.name}-host.log`),
      });
      // Like the chart's pod agents reading the host's /proc/1/net/dev: the node's NICs, seen from the pod.
      await Promise.all(
        node.pods.map((pod, k) =>
          start({
            name: `${node.name}/pod/${pod.name}`,
            container: pod.name,
            role: "pod-agent",
            ns: pod.ns,
            args: ["agent", ...coord, "--node", node.name, "--mode", "pod", "--pod", pod.name, "--address", pod.address, ...podIps(topo, node.index, k), "--metrics", "off"],
            log: join(logDir, `${pod.name}.log`),
            netDevOf: hostPid,
          }),
        ),
      );
      save();
    }
    if (topo.external) {
      const ext = topo.external;
      // A machine outside the cluster running the image: no pod of the chart, so the host agent's settings.
      await start({
        name: "external",
        container: "external",
        role: "host-agent",
        ns: ext.ns,
        args: [
          "agent",
          "--coordinator",
          `${ext.controlGateway}:${ports.grpc}`,
          "--node",
          ext.name,
          "--mode",
          "external",
          "--address",
          ext.address,
          ...(topo.ipv6?.external ? ["--pod-ips", topo.ipv6.external] : []),
          "--metrics",
          "off",
        ],
        log: join(logDir, "external.log"),
      });
    }
    save();
    return state;
  } catch (err) {
    await labDown(opts.dataDir, topo.prefix);
    throw err;
  }
}

async function waitForPort(port: number, what: string, log: string, timeoutMs = 15_000): Promise<void> {
  const { isListening } = await import("../../common/src/listen-probe.js");
  const until = Date.now() + timeoutMs;
  while (!isListening(port, "tcp")) {
    if (Date.now() > until) throw new NetmatrixError("unavailable", `${what} did not listen on :${port} within ${timeoutMs / 1000} s`, { hint: `see its log ${log}` });
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Move the runs the image's coordinator wrote (IMAGE_DATA_DIR/runs) to
 * DATA_DIR/runs, where `netmatrix report RUN_ID` and `compare` find them with
 * no coordinator up, as after a lab of processes. Returns the run ids moved.
 */
function collectRuns(imageDataDir: string, dataDir: string): string[] {
  const from = join(imageDataDir, "runs");
  if (!existsSync(from)) return [];
  const to = join(dataDir, "runs");
  mkdirSync(to, { recursive: true });
  const moved: string[] = [];
  for (const id of readdirSync(from)) {
    if (existsSync(join(to, id))) continue; // never overwrite: it stays where it is
    renameSync(join(from, id), join(to, id));
    moved.push(id);
  }
  return moved;
}

/** Stop the lab's processes and containers and remove every object with its prefix. Idempotent. */
export async function labDown(dataDir: string, prefix = DEFAULT_LAB_PREFIX): Promise<{ stopped: number; removed: string[]; containers: string[]; runs: string[] }> {
  requireRoot();
  const state = readLabState(dataDir);
  const labPrefix = state?.topology.prefix ?? prefix;
  const pids = state?.pids.map((p) => p.pid) ?? [];
  // The state's containers, and any with the prefix a failed `up` did not get to record; before the processes, so the
  // image's coordinator still finds the kube-api stand-in while it stops.
  const containers = await removeContainers([...(state?.containers ?? []).map((c) => c.name), ...(await listContainers(labPrefix))]);
  await stopPids(pids);
  // The stand-in's token, certificate and key: this lab's only.
  rmSync(kubeApiFiles(labDir(dataDir)).dir, { recursive: true, force: true });
  const runs = state?.imageDataDir ? collectRuns(state.imageDataDir, dataDir) : [];
  const removed = await teardownLab(labPrefix);
  rmSync(join(labDir(dataDir), "state.json"), { force: true });
  return { stopped: pids.length + containers.length, removed: [...removed.namespaces, ...removed.rootLinks], containers, runs };
}

/** What is up: state, live processes and containers, objects present. */
export async function labStatus(dataDir: string, prefix = DEFAULT_LAB_PREFIX) {
  const state = readLabState(dataDir);
  const labPrefix = state?.topology.prefix ?? prefix;
  const objects = await labObjects(labPrefix);
  const recorded = state?.containers ?? [];
  const names = [...new Set([...recorded.map((c) => c.name), ...(await listContainers(labPrefix))])];
  const containers = (await inspectContainers(names)).map((c) => ({ ...c, for: recorded.find((r) => r.name === c.name)?.for ?? "(not in the state file)" }));
  return {
    up: Boolean(state),
    state,
    processes: (state?.pids ?? []).map((p) => ({ ...p, alive: alive(p.pid) })),
    containers,
    objects,
    // One JSON line per Service rule the lab's kube-proxy removed, with its packet and byte counters.
    ...(existsSync(serviceCountersFile(labDir(dataDir))) ? { serviceCounters: serviceCountersFile(labDir(dataDir)) } : {}),
  };
}
