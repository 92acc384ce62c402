/**
 * The chart and `netmatrix lab up --image` cannot drift apart: render
 * charts/netmatrix with the real helm (default values, and the rawPing
 * values), derive from the rendered DaemonSets and Deployment what the
 * container runtime enforces — user and group, read-only root filesystem,
 * allowPrivilegeEscalation, capabilities, pod sysctls, the host's /proc,
 * the /tmp emptyDir — and require exactly that of the lab's table
 * (lab/src/containers.ts CHART_SETTINGS) and of the `podman run` arguments
 * containerArgs builds from it, read back with this file's own parser.
 * A volume or setting the chart adds that the lab does not mirror fails too,
 * and so does a difference in what the coordinator is told about Kubernetes
 * Services (the lab's coordinator reaches its Kubernetes API stand-in).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { chartSettings, containerArgs, CONTAINER_ROLES, IMAGE_DATA_DIR, type ChartSettings, type ContainerRole } from "../lab/src/containers.js";
import { KUBE_API_HOST, kubeApiCoordinatorEnv, LAB_KUBE_NAMESPACE, SERVICEACCOUNT_MOUNT } from "../lab/src/kube-api.js";
import { INSTANCE_ENV, NAMESPACE_ENV, READ_NODES_ENV, SERVICES_ENV } from "../coordinator/src/k8s/index.js";
import { SERVICEACCOUNT_NAMESPACE_FILE } from "../coordinator/src/k8s/client.js";

const ROOT = join(import.meta.dirname, "..");
const CHART = join(ROOT, "charts", "netmatrix");

type Env = { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } };
type Mount = { name: string; mountPath: string; readOnly?: boolean };
type Volume = { name: string; hostPath?: { path: string }; emptyDir?: { sizeLimit?: string }; secret?: object; projected?: object; persistentVolumeClaim?: object };
type SecurityContext = {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  sysctls?: { name: string; value: string }[];
};
type PodSpec = {
  hostNetwork?: boolean;
  automountServiceAccountToken?: boolean;
  securityContext?: SecurityContext;
  containers: { name: string; args?: string[]; env?: Env[]; volumeMounts?: Mount[]; securityContext?: SecurityContext }[];
  volumes?: Volume[];
};
type Workload = { kind: string; metadata: { name: string; labels?: Record<string, string> }; spec: { template: { spec: PodSpec } } };

let helm = "";

function render(valuesFile: string | undefined): Workload[] {
  const values = valuesFile ? ["-f", join(CHART, "ci", valuesFile)] : [];
  const r = spawnSync(helm, ["template", "nm", CHART, "--namespace", "netmatrix", ...values], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`helm template failed:\n${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Workload | null)
    .filter((o): o is Workload => o !== null && (o.kind === "DaemonSet" || o.kind === "Deployment"));
}

/** The chart's workloads by the lab's roles (both pod-agent DaemonSets, a and b). */
function byRole(objs: Workload[]): Record<ContainerRole, PodSpec[]> {
  const variant = (o: Workload) => o.metadata.labels?.["netmatrix.dev/variant"];
  return {
    "host-agent": objs.filter((o) => o.kind === "DaemonSet" && variant(o) === "host").map((o) => o.spec.template.spec),
    "pod-agent": objs.filter((o) => o.kind === "DaemonSet" && variant(o)?.startsWith("pod-")).map((o) => o.spec.template.spec),
    coordinator: objs.filter((o) => o.kind === "Deployment").map((o) => o.spec.template.spec),
  };
}

/** Mebibytes of a Kubernetes quantity such as "64Mi". */
function mib(quantity: string | undefined): number {
  const m = /^(\d+)(Mi|Gi)$/.exec(quantity ?? "");
  if (!m) throw new Error(`sizeLimit ${String(quantity)}: expected NNMi or NNGi`);
  return Number(m[1]) * (m[2] === "Gi" ? 1024 : 1);
}

/**
 * Volumes the lab does not mirror, and why: anything else the chart mounts
 * must show up in ChartSettings, or this test fails.
 */
const NOT_MIRRORED: Record<string, (role: ContainerRole, v: Volume, m: Mount) => boolean> = {
  // The lab's control plane is plaintext on its own links.
  tls: () => true,
  // The coordinator's results: a directory of the lab mounted at the same path (checked below).
  data: (role, _v, m) => role === "coordinator" && m.mountPath === IMAGE_DATA_DIR,
};

/** What the container runtime enforces for the pod `pod`, in the lab's terms. */
function settingsOf(role: ContainerRole, pod: PodSpec): ChartSettings {
  expect(pod.containers).toHaveLength(1);
  const c = pod.containers[0]!;
  // A container's own securityContext wins over the pod's.
  const sc: SecurityContext = { ...pod.securityContext, ...c.securityContext };
  expect(sc.runAsNonRoot, "runAsNonRoot says the same as runAsUser").toBe(sc.runAsUser !== 0);
  const settings: ChartSettings = {
    user: sc.runAsUser!,
    group: sc.runAsGroup!,
    readOnlyRootFilesystem: sc.readOnlyRootFilesystem === true,
    allowPrivilegeEscalation: sc.allowPrivilegeEscalation !== false,
    capabilities: { drop: sc.capabilities?.drop ?? [], add: sc.capabilities?.add ?? [] },
    sysctls: Object.fromEntries((pod.securityContext?.sysctls ?? []).map((s) => [s.name, s.value])),
    emptyDirs: {},
  };
  for (const m of c.volumeMounts ?? []) {
    const v = pod.volumes!.find((x) => x.name === m.name)!;
    if (v.hostPath) {
      // The only host path the chart may mount: the node's /proc, read-only.
      expect(v.hostPath.path).toBe("/proc");
      expect(m.readOnly).toBe(true);
      settings.hostProc = m.mountPath;
    } else if (v.emptyDir && v.emptyDir.sizeLimit) {
      settings.emptyDirs[m.mountPath] = mib(v.emptyDir.sizeLimit);
    } else {
      expect(NOT_MIRRORED[m.name]?.(role, v, m), `${role}: volume ${m.name} at ${m.mountPath} is neither mirrored by the lab nor known not to be`).toBe(true);
    }
  }
  return settings;
}

/** The settings `podman run ARGS` enforces, parsed from the arguments alone. */
function settingsFromPodman(args: string[]): ChartSettings {
  const values = (flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
  const [user, group] = values("--user")[0]!.split(":").map(Number);
  const settings: ChartSettings = {
    user: user!,
    group: group!,
    // Only the chart's volumes writable: no extra tmpfs on /run and /var/tmp.
    readOnlyRootFilesystem: args.includes("--read-only") && args.includes("--read-only-tmpfs=false"),
    allowPrivilegeEscalation: !values("--security-opt").includes("no-new-privileges"),
    capabilities: { drop: values("--cap-drop"), add: values("--cap-add") },
    sysctls: Object.fromEntries(values("--sysctl").map((s) => [s.slice(0, s.indexOf("=")), s.slice(s.indexOf("=") + 1)])),
    emptyDirs: Object.fromEntries(
      values("--tmpfs").map((t) => {
        const [path, opts] = t.split(":");
        const size = /(?:^|,)size=(\d+)m(?:,|$)/.exec(opts ?? "");
        return [path!, size ? Number(size[1]) : NaN];
      }),
    ),
  };
  for (const v of values("--volume")) {
    const [src, dst, mode] = v.split(":");
    if (src === "/proc") {
      expect(mode).toBe("ro");
      settings.hostProc = dst;
    }
  }
  return settings;
}

beforeAll(() => {
  helm = execFileSync("bash", [join(ROOT, "scripts", "helm.sh")], { encoding: "utf8" }).trim();
}, 120_000);

describe.each([
  ["default values", undefined, false],
  ["ci/raw-ping-values.yaml (agents.host.rawPing)", "raw-ping-values.yaml", true],
] as const)("the chart rendered with %s and the lab's containers", (_what, valuesFile, rawPing) => {
  let roles: Record<ContainerRole, PodSpec[]>;
  beforeAll(() => {
    roles = byRole(render(valuesFile));
  });

  it.each(CONTAINER_ROLES)("%s: the lab's table says what the chart renders", (role) => {
    expect(roles[role].length, `the chart renders ${role}`).toBeGreaterThan(0);
    for (const pod of roles[role]) expect(chartSettings(role, { rawPing })).toEqual(settingsOf(role, pod));
  });

  it.each(CONTAINER_ROLES)("%s: `podman run` enforces what the chart renders", (role) => {
    const args = containerArgs(
      role,
      {
        name: `nm-lab-${role}`,
        image: "localhost/netmatrix/netmatrix:dev",
        network: role === "coordinator" ? "host" : { netns: `nm-lab-${role}` },
        args: [role === "coordinator" ? "coordinator" : "agent"],
        env: { NETMATRIX_TOKEN: true },
        ...(role === "coordinator" ? { volumes: { "/data/lab/image-data": IMAGE_DATA_DIR } } : {}),
        logFile: `/data/lab/logs/${role}.log`,
        rawPing,
      },
      { ulimits: [] },
    );
    for (const pod of roles[role]) expect(settingsFromPodman(args)).toEqual(settingsOf(role, pod));
  });

  it("the pieces the lab fills in itself: the host agent in its node's namespace, pod agents' NIC counters under the host's /proc, the coordinator's data directory", () => {
    const env = (pod: PodSpec, name: string) => pod.containers[0]!.env?.find((e) => e.name === name);
    for (const pod of roles["host-agent"]) expect(pod.hostNetwork).toBe(true);
    for (const pod of roles["pod-agent"]) {
      expect(pod.hostNetwork).toBeUndefined();
      // The lab: NETMATRIX_NET_DEV=/host/proc/<host agent's PID>/net/dev (lab.ts), the chart: PID 1 of the node.
      expect(env(pod, "NETMATRIX_NET_DEV")?.value).toBe(`${chartSettings("pod-agent").hostProc}/1/net/dev`);
    }
    for (const pod of roles.coordinator) {
      expect(env(pod, "NETMATRIX_DATA_DIR")?.value).toBe(IMAGE_DATA_DIR);
      expect(pod.containers[0]!.volumeMounts).toContainEqual({ name: "data", mountPath: IMAGE_DATA_DIR });
    }
  });

  it("the coordinator's Kubernetes Services: the lab's coordinator is told what the chart's is, and gets its ServiceAccount where the kubelet mounts it", () => {
    const SERVICES_NAMES = [SERVICES_ENV, NAMESPACE_ENV, INSTANCE_ENV, READ_NODES_ENV];
    const lab = kubeApiCoordinatorEnv({ port: 6443, namespace: LAB_KUBE_NAMESPACE, instance: "nm-lab" });
    expect(roles.coordinator.length).toBeGreaterThan(0);
    for (const pod of roles.coordinator) {
      // Services are on by default (coordinator.kubernetesServices), with the token mounted.
      expect(pod.automountServiceAccountToken).toBe(true);
      const chart = (pod.containers[0]!.env ?? []).filter((e) => SERVICES_NAMES.includes(e.name));
      expect(chart.map((e) => e.name).sort()).toEqual([...SERVICES_NAMES].sort());
      // The same variables, no more: the coordinator's names, as the chart sets them.
      expect(
        Object.keys(lab)
          .filter((k) => k.startsWith("NETMATRIX_"))
          .sort(),
      ).toEqual([...SERVICES_NAMES].sort());
      for (const e of chart) {
        if (e.name === INSTANCE_ENV) expect(e.value, "the release name; the lab's is its prefix").toBeTruthy();
        else if (e.name === NAMESPACE_ENV) {
          // The pod's own namespace; the lab's is the one it writes into the ServiceAccount's namespace file.
          expect(e.valueFrom?.fieldRef?.fieldPath).toBe("metadata.namespace");
          expect(lab[e.name]).toBe(LAB_KUBE_NAMESPACE);
        } else expect(lab[e.name], e.name).toBe(e.value);
      }
    }
    // What the kubelet gives every pod: the API server's address, and the ServiceAccount where client-node reads it.
    expect(lab).toMatchObject({ KUBERNETES_SERVICE_HOST: KUBE_API_HOST, KUBERNETES_SERVICE_PORT: "6443" });
    expect(SERVICEACCOUNT_NAMESPACE_FILE).toBe(`${SERVICEACCOUNT_MOUNT}/namespace`);
    const args = containerArgs(
      "coordinator",
      {
        name: "nm-lab-coordinator",
        image: "localhost/netmatrix/netmatrix:dev",
        network: "host",
        args: ["coordinator"],
        env: lab,
        readOnlyVolumes: { "/data/lab/kube-api/serviceaccount": SERVICEACCOUNT_MOUNT },
        logFile: "/data/lab/logs/coordinator.log",
      },
      { ulimits: [] },
    );
    expect(args.flatMap((a, i) => (a === "--volume" ? [args[i + 1]] : []))).toContain(`/data/lab/kube-api/serviceaccount:${SERVICEACCOUNT_MOUNT}:ro`);
    for (const [k, v] of Object.entries(lab)) expect(args).toContain(`${k}=${v}`);
  });
});
