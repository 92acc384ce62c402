/**
 * `netmatrix lab up --image IMAGE`: the lab's coordinator and agents as
 * podman containers of the real image, each with the security settings
 * charts/netmatrix gives its pod — so the lab exercises what a cluster runs
 * (a non-root user, a read-only root, no capabilities, ping through ICMP echo
 * sockets), not a root process on the host.
 *
 * - {@link CHART_SETTINGS}: one table, per role, of what the chart renders
 *   (test/chart-lab.test.ts derives the same from `helm template` and fails
 *   when the two differ);
 * - {@link containerArgs}: pure, the `podman run` arguments of one container;
 * - {@link hostKnobs}: what this host needs of every podman call (OCI runtime,
 *   rlimits), overridable by environment, as scripts/build-image.sh reads them;
 * - the rest is I/O: start, inspect, list and remove containers.
 */
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { exec } from "../../common/src/exec.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { inNs } from "./topology-run.js";

/** What a container stands in for: the chart's host-agent DaemonSet, a pod-agent DaemonSet, the coordinator Deployment. */
export type ContainerRole = "host-agent" | "pod-agent" | "coordinator";

export const CONTAINER_ROLES: readonly ContainerRole[] = ["host-agent", "pod-agent", "coordinator"];

/** The security-relevant settings of one pod of the chart, in the chart's own terms. */
export interface ChartSettings {
  /** podSecurityContext.runAsUser / runAsGroup. */
  user: number;
  group: number;
  /** securityContext.readOnlyRootFilesystem. */
  readOnlyRootFilesystem: boolean;
  /** securityContext.allowPrivilegeEscalation. */
  allowPrivilegeEscalation: boolean;
  /** securityContext.capabilities. */
  capabilities: { drop: string[]; add: string[] };
  /** podSecurityContext.sysctls (namespaced: they change the pod's network namespace only). */
  sysctls: Record<string, string>;
  /** The node's /proc, read-only, at this path (a hostPath volume); undefined: none. */
  hostProc?: string;
  /** emptyDir volumes: mount path → sizeLimit in MiB. */
  emptyDirs: Record<string, number>;
}

/** The image's user and group (Dockerfile.agent's `USER 10001:10001`): every pod of the chart runs as them. */
export const IMAGE_UID = 10001;
export const IMAGE_GID = 10001;
/** Where the chart mounts the node's /proc in pod agents; NETMATRIX_NET_DEV points below it. */
export const HOST_PROC_MOUNT = "/host/proc";
/** The coordinator's data directory in the image (NETMATRIX_DATA_DIR of the image and the chart). */
export const IMAGE_DATA_DIR = "/var/lib/netmatrix";

const NO_CAPABILITIES = { drop: ["ALL"], add: [] as string[] };

/**
 * What charts/netmatrix renders with its default values, per role. Keep in
 * step with values.yaml: test/chart-lab.test.ts renders the chart and fails
 * on any difference.
 */
export const CHART_SETTINGS: Readonly<Record<ContainerRole, ChartSettings>> = {
  // hostNetwork: no pod sysctls (they would be the node's). Ping through ICMP echo sockets, which
  // the node's net.ipv4.ping_group_range allows (systemd's default "0 2147483647"; the lab sets it).
  "host-agent": {
    user: IMAGE_UID,
    group: IMAGE_GID,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: NO_CAPABILITIES,
    sysctls: {},
    emptyDirs: { "/tmp": 64 },
  },
  // agents.pod.unprivilegedPing: ICMP echo sockets for exactly the agent's group; agents.pod.hostProc: the node's NICs.
  "pod-agent": {
    user: IMAGE_UID,
    group: IMAGE_GID,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: NO_CAPABILITIES,
    sysctls: { "net.ipv4.ping_group_range": `${IMAGE_GID} ${IMAGE_GID}` },
    hostProc: HOST_PROC_MOUNT,
    emptyDirs: { "/tmp": 64 },
  },
  // Results on the data volume (an emptyDir or a claim: here a directory of the lab), /tmp an emptyDir.
  coordinator: {
    user: IMAGE_UID,
    group: IMAGE_GID,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: NO_CAPABILITIES,
    sysctls: {},
    emptyDirs: { "/tmp": 64 },
  },
};

/**
 * The settings of `role`; `rawPing` is the chart's agents.host.rawPing: the
 * host agent as root (uid and gid 0) with NET_RAW, for nodes whose
 * ping_group_range refuses ICMP echo sockets.
 */
export function chartSettings(role: ContainerRole, opts: { rawPing?: boolean } = {}): ChartSettings {
  const s = CHART_SETTINGS[role];
  if (role !== "host-agent" || !opts.rawPing) return s;
  return { ...s, user: 0, group: 0, capabilities: { drop: s.capabilities.drop, add: [...s.capabilities.add, "NET_RAW"] } };
}

/** What this host needs on every `podman run` (and `podman build`: scripts/build-image.sh reads the same variables). */
export interface HostKnobs {
  /** `--runtime` (NETMATRIX_OCI_RUNTIME; default runc when installed: crun refuses hosts with hybrid cgroups). */
  runtime?: string;
  /** Arguments such as `--ulimit nofile=20000:20000` (NETMATRIX_ULIMITS; the default suits hosts that cannot raise rlimits). */
  ulimits: string[];
}

export const OCI_RUNTIME_ENV = "NETMATRIX_OCI_RUNTIME";
export const ULIMITS_ENV = "NETMATRIX_ULIMITS";
const DEFAULT_ULIMITS = "--ulimit nofile=20000:20000 --ulimit nproc=32768:32768";

function onPath(program: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? "").split(delimiter).some((dir) => dir !== "" && existsSync(join(dir, program)));
}

/** {@link HostKnobs} from `env`, with scripts/build-image.sh's defaults (an empty variable means its default, as `${VAR:-…}` does there). */
export function hostKnobs(env: NodeJS.ProcessEnv = process.env): HostKnobs {
  const runtime = env[OCI_RUNTIME_ENV] || (onPath("runc", env) ? "runc" : undefined);
  const ulimits = (env[ULIMITS_ENV] || DEFAULT_ULIMITS).split(/\s+/).filter(Boolean);
  return { ...(runtime ? { runtime } : {}), ulimits };
}

/** One container of the lab. */
export interface ContainerSpec {
  /** Container name (carries the lab's prefix). */
  name: string;
  image: string;
  /** A network namespace under /run/netns to join, or "host" (the root namespace). */
  network: { netns: string } | "host";
  /** Arguments of `netmatrix` (the image's entry point). */
  args: string[];
  /** Environment: a string value is set; `true` passes this process's value (kept out of argv, e.g. the token). */
  env: Record<string, string | true>;
  /** Host directory → container path, read-write. */
  volumes?: Record<string, string>;
  /** Host directory → container path, read-only (e.g. a ServiceAccount's token, CA and namespace). */
  readOnlyVolumes?: Record<string, string>;
  /** Where podman's k8s-file log driver writes the container's output. */
  logFile: string;
  rawPing?: boolean;
  /**
   * Namespace sysctls to set to the value they already have (see
   * {@link PODMAN_DEFAULT_SYSCTLS}): no setting of the chart, so never one
   * the chart's settings also name.
   */
  keepSysctls?: Record<string, string>;
}

/**
 * Sysctls podman sets in every container's network namespace unless told
 * otherwise: containers.conf's default_sysctls, "net.ipv4.ping_group_range=0 0"
 * as Debian ships it — applied to a joined namespace (`--network ns:…`) too,
 * so a host agent's container would take ICMP echo sockets away from its
 * node. No kubelet's runtime does that; the lab passes each one with the
 * namespace's current value instead (startContainer).
 */
export const PODMAN_DEFAULT_SYSCTLS: readonly string[] = ["net.ipv4.ping_group_range"];

/** The `podman` arguments (from `run` on) that start `spec` as `role` with the chart's settings and this host's knobs. */
export function containerArgs(role: ContainerRole, spec: ContainerSpec, knobs: HostKnobs): string[] {
  const s = chartSettings(role, { rawPing: Boolean(spec.rawPing) });
  const args = ["run", "--detach", "--name", spec.name];
  if (knobs.runtime) args.push("--runtime", knobs.runtime);
  args.push(...knobs.ulimits);
  args.push("--network", spec.network === "host" ? "host" : `ns:/run/netns/${spec.network.netns}`);
  args.push("--user", `${s.user}:${s.group}`);
  // Only the chart's volumes are writable: podman would otherwise add tmpfs on /run and /var/tmp too.
  if (s.readOnlyRootFilesystem) args.push("--read-only", "--read-only-tmpfs=false");
  for (const [path, mib] of Object.entries(s.emptyDirs)) args.push("--tmpfs", `${path}:rw,size=${mib}m`);
  if (!s.allowPrivilegeEscalation) args.push("--security-opt", "no-new-privileges");
  for (const cap of s.capabilities.drop) args.push("--cap-drop", cap);
  for (const cap of s.capabilities.add) args.push("--cap-add", cap);
  // Set by the runtime in the pod's network namespace, as the kubelet's runtime does for pod sysctls.
  for (const [k, v] of Object.entries(s.sysctls)) args.push("--sysctl", `${k}=${v}`);
  for (const [k, v] of Object.entries(spec.keepSysctls ?? {})) if (!(k in s.sysctls)) args.push("--sysctl", `${k}=${v}`);
  if (s.hostProc) args.push("--volume", `/proc:${s.hostProc}:ro`);
  for (const [host, path] of Object.entries(spec.volumes ?? {})) args.push("--volume", `${host}:${path}:rw`);
  for (const [host, path] of Object.entries(spec.readOnlyVolumes ?? {})) args.push("--volume", `${host}:${path}:ro`);
  for (const [k, v] of Object.entries(spec.env)) args.push("--env", v === true ? k : `${k}=${v}`);
  args.push("--log-driver", "k8s-file", "--log-opt", `path=${spec.logFile}`);
  args.push(spec.image, ...spec.args);
  return args;
}

/** Deadline of one podman call; a first `run` may set up storage. */
const PODMAN_DEADLINE_MS = 60_000;

async function podman(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const res = await exec({ argv: ["podman", ...args], deadlineMs: PODMAN_DEADLINE_MS, guard: false, ...(env ? { env } : {}) });
  if (res.exitCode !== 0) {
    const why = (res.stderr || res.stdout || res.spawnError || `exit ${String(res.exitCode)}`).trim();
    if (res.spawnErrorCode === "ENOENT") {
      throw new NetmatrixError("failed-precondition", "podman is not installed: the lab runs --image with podman", { hint: "apt-get install podman runc" });
    }
    throw new NetmatrixError("internal", `podman ${args.slice(0, 2).join(" ")} failed: ${why}`);
  }
  return res.stdout.trim();
}

/** Whether podman is installed here. */
export function havePodman(env: NodeJS.ProcessEnv = process.env): boolean {
  return onPath("podman", env);
}

/** Refuse unless podman is installed and `image` is in its store. */
export async function requireImage(image: string): Promise<void> {
  if (!havePodman()) throw new NetmatrixError("failed-precondition", "podman is not installed: the lab runs --image with podman", { hint: "apt-get install podman runc" });
  const res = await exec({ argv: ["podman", "image", "exists", image], deadlineMs: PODMAN_DEADLINE_MS, guard: false });
  if (res.exitCode !== 0) {
    throw new NetmatrixError("failed-precondition", `image ${image} is not in podman's store`, {
      hint: `build it with \`bash scripts/build-image.sh --tag ${image}\`, or \`podman pull ${image}\``,
    });
  }
}

/**
 * Start a container (`podman run --detach …` with `env` as podman's own
 * environment, so values passed by name stay out of argv); returns the host
 * PID of its init process (tini).
 */
export async function startContainer(role: ContainerRole, spec: ContainerSpec, env: NodeJS.ProcessEnv, knobs = hostKnobs()): Promise<number> {
  const keepSysctls: Record<string, string> = {};
  if (spec.network !== "host") {
    for (const key of PODMAN_DEFAULT_SYSCTLS) {
      if (key in chartSettings(role, spec).sysctls) continue;
      const value = await inNs(spec.network.netns, ["cat", `/proc/sys/${key.replace(/\./g, "/")}`]);
      keepSysctls[key] = value.trim().split(/\s+/).join(" ");
    }
  }
  try {
    await podman(containerArgs(role, { ...spec, keepSysctls }, knobs), env);
  } catch (err) {
    if (!(err instanceof NetmatrixError) || err.code !== "internal") throw err;
    throw new NetmatrixError("internal", `the ${role} container ${spec.name} (${spec.image}) did not start: ${err.message}`, {
      cause: err,
      hint: `is ${spec.image} netmatrix's image (Dockerfile.agent, entry point netmatrix)? Its output: ${spec.logFile}`,
    });
  }
  const pid = Number(await podman(["inspect", "--format", "{{.State.Pid}}", spec.name]));
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new NetmatrixError("internal", `container ${spec.name} exited right after it started`, { hint: `see its log ${spec.logFile}` });
  }
  return pid;
}

/** Names of every container podman has (running or not); [] without podman. */
async function allContainers(): Promise<string[]> {
  if (!havePodman()) return [];
  return (await podman(["ps", "--all", "--format", "{{.Names}}"]))
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Names of every container (running or not) whose name starts with `prefix`; [] without podman. */
export async function listContainers(prefix: string): Promise<string[]> {
  if (!prefix) return [];
  return (await allContainers()).filter((n) => n.startsWith(prefix));
}

/** State ("running", "exited", … or "missing") and host PID of each named container. */
export async function inspectContainers(names: string[]): Promise<{ name: string; status: string; pid: number }[]> {
  const present = new Set(names.length > 0 ? await allContainers() : []);
  const out: { name: string; status: string; pid: number }[] = [];
  for (const name of names) {
    if (!present.has(name)) {
      out.push({ name, status: "missing", pid: 0 });
      continue;
    }
    const [status = "unknown", pid = "0"] = (await podman(["inspect", "--format", "{{.State.Status}} {{.State.Pid}}", name])).split(" ");
    out.push({ name, status, pid: Number(pid) });
  }
  return out;
}

/**
 * Stop (SIGTERM, SIGKILL after `graceS`) and remove the named containers, all
 * at once; names already gone are fine. Returns the names that existed.
 */
export async function removeContainers(names: string[], graceS = 4): Promise<string[]> {
  if (names.length === 0) return [];
  const present = new Set(await allContainers());
  const existing = [...new Set(names)].filter((n) => present.has(n));
  if (existing.length > 0) await podman(["rm", "--force", "--ignore", "--time", String(graceS), ...existing]);
  return existing;
}
