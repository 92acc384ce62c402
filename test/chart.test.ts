/**
 * charts/netmatrix with the real helm binary (scripts/helm.sh takes it from
 * an npm package): lint --strict on the defaults and every ci/*-values.yaml,
 * render, validate every object against the Kubernetes OpenAPI definitions,
 * and check what the chart promises — agent variants, env wiring, RBAC,
 * security contexts, the helm test hook — plus the values schema and docs.
 */
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { isMap, isPair, isScalar, parse, parseAllDocuments, parseDocument, type YAMLMap } from "yaml";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControlService } from "../gen/netmatrix/v1/control_pb.js";
import { createClient } from "../common/src/grpc-adapter.js";
import { channelSecurity, clientTls } from "../common/src/tls.js";
import { bearerInterceptor } from "../common/src/token.js";
import { startCoordinator } from "../coordinator/src/coordinator.js";
import { startFakeKubeApi, type FakeKubeApi, type StoredObject } from "./harness/fake-kube-api.js";
import { validateK8sObject } from "../coordinator/src/k8s/openapi.js";
import { parseSpec, plan, type PlannerAgent } from "../coordinator/src/matrix/index.js";
import { parseLabels } from "../common/src/registration.js";

const ROOT = join(import.meta.dirname, "..");
const CHART = join(ROOT, "charts", "netmatrix");
const CI_VALUES = readdirSync(join(CHART, "ci"))
  .filter((f) => f.endsWith("-values.yaml"))
  .sort();
const NS = "netmatrix";
const execFileAsync = promisify(execFile);
const RELEASE = "nm-test";

// Loose shapes of what the chart renders; validateK8sObject checks the real ones.
type Env = { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } } };
type Container = {
  name: string;
  args?: string[];
  env?: Env[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsNonRoot?: boolean;
    runAsUser?: number;
    capabilities?: { add?: string[]; drop?: string[] };
  };
};
type PodSpec = {
  hostNetwork?: boolean;
  dnsPolicy?: string;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; runAsGroup?: number; sysctls?: { name: string; value: string }[] };
  containers: Container[];
  initContainers?: Container[];
  volumes?: {
    name: string;
    hostPath?: { path: string };
    configMap?: { name: string };
    emptyDir?: object;
    persistentVolumeClaim?: { claimName: string };
    secret?: { secretName: string; items?: { key: string; path: string }[] };
    projected?: { sources: { secret?: { name: string; items?: { key: string; path: string }[] } }[] };
  }[];
  tolerations?: { operator?: string; key?: string }[];
};
type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: {
    selector?: { matchLabels?: Record<string, string> } & Record<string, unknown>;
    template?: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    ports?: { name: string; port: number; targetPort?: string | number; appProtocol?: string }[];
    clusterIP?: string;
    endpoints?: { port: string }[];
    namespaceSelector?: { matchNames?: string[] };
    // cert-manager Certificate
    secretName?: string;
    dnsNames?: string[];
    ipAddresses?: string[];
    usages?: string[];
    issuerRef?: { name: string; kind: string; group: string };
  } & Partial<PodSpec>;
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
  data?: Record<string, string>;
  type?: string;
  automountServiceAccountToken?: boolean;
};

let helm = "";

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(helm, args, { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function template(...args: string[]): K8sObject[] {
  const r = run(["template", RELEASE, CHART, "--namespace", NS, ...args]);
  if (r.status !== 0) throw new Error(`helm template ${args.join(" ")} failed:\n${r.stderr}`);
  const docs = parseAllDocuments(r.stdout);
  if (!Array.isArray(docs)) throw new Error("helm template printed no documents");
  const objects: K8sObject[] = [];
  for (const d of docs) {
    // Duplicate keys or bad YAML would be refused by kubectl too.
    expect(d.errors.map((e) => e.message)).toEqual([]);
    const o = d.toJS() as K8sObject | null;
    if (o) objects.push(o);
  }
  return objects;
}

const valuesArgs = (file: string | undefined) => (file ? ["-f", join(CHART, "ci", file)] : []);
const find = (objs: K8sObject[], kind: string, pred: (o: K8sObject) => boolean = () => true) => objs.filter((o) => o.kind === kind && pred(o));
const one = (objs: K8sObject[], kind: string, pred?: (o: K8sObject) => boolean) => {
  const found = find(objs, kind, pred);
  expect(found, `exactly one ${kind}`).toHaveLength(1);
  return found[0]!;
};
const envOf = (c: Container, name: string) => c.env?.find((e) => e.name === name);
const agentsOf = (objs: K8sObject[]) => find(objs, "DaemonSet", (o) => o.metadata.labels?.["app.kubernetes.io/component"] === "agent");
const modeOf = (ds: K8sObject) => envOf(ds.spec!.template!.spec.containers[0]!, "NETMATRIX_MODE")?.value;
const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
const podsOf = (objs: K8sObject[]) =>
  [...find(objs, "DaemonSet"), ...find(objs, "Deployment")]
    .map((o) => ({ owner: o, spec: o.spec!.template!.spec }))
    .concat(find(objs, "Pod").map((o) => ({ owner: o, spec: o.spec as unknown as PodSpec })));

/** The TLS settings a ci values file (or the defaults) asks for. */
function tlsValues(file: string | undefined) {
  type Tls = {
    enabled?: boolean;
    existingSecret?: string;
    certManager?: { enabled?: boolean; issuerRef?: object };
    extraDnsNames?: string[];
    clientAuth?: { enabled?: boolean; existingSecret?: string };
  };
  const values = file ? (parse(readFileSync(join(CHART, "ci", file), "utf8")) as { tls?: Tls } | null) : null;
  const tls: Tls = values?.tls ?? {};
  const mode = tls.enabled === false ? "off" : tls.existingSecret ? "existingSecret" : tls.certManager?.enabled ? "certManager" : "generate";
  return {
    mode,
    mtls: mode !== "off" && Boolean(tls.clientAuth?.enabled),
    existingSecret: tls.existingSecret,
    clientExistingSecret: tls.clientAuth?.existingSecret,
    issuerRef: tls.certManager?.issuerRef,
    extraDnsNames: tls.extraDnsNames ?? [],
  };
}

beforeAll(() => {
  helm = execFileSync("bash", [join(ROOT, "scripts", "helm.sh")], { encoding: "utf8" }).trim();
}, 120_000);

describe("helm lint --strict", () => {
  it.each([undefined, ...CI_VALUES])("passes with %s", (file) => {
    const r = run(["lint", "--strict", CHART, "--namespace", NS, ...valuesArgs(file)]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it("has the ci values the chart's CI needs", () => {
    expect(CI_VALUES).toEqual(
      expect.arrayContaining([
        "default-values.yaml",
        "external-token-values.yaml",
        "servicemonitor-values.yaml",
        // one per source of the TLS certificate, and TLS off
        "tls-mtls-values.yaml",
        "tls-cert-manager-values.yaml",
        "tls-existing-secret-values.yaml",
        "plaintext-values.yaml",
        // the host agent as root with NET_RAW (agents.host.rawPing)
        "raw-ping-values.yaml",
      ]),
    );
  });
});

describe.each([undefined, ...CI_VALUES])("rendered with %s", (file) => {
  let objs: K8sObject[];
  beforeAll(() => {
    objs = template(...valuesArgs(file));
  });

  it("every object is valid against the Kubernetes OpenAPI definitions", () => {
    expect(objs.length).toBeGreaterThan(5);
    const problems = objs.flatMap((o) => validateK8sObject(o).map((p) => `${o.kind}/${o.metadata.name}${p}`));
    expect(problems).toEqual([]);
  });

  it("names are DNS labels, unique per kind, namespaced in the release namespace", () => {
    const seen = new Set<string>();
    for (const o of objs) {
      expect(o.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(o.metadata.name.length).toBeLessThanOrEqual(63);
      expect(seen.has(`${o.kind}/${o.metadata.name}`), `${o.kind}/${o.metadata.name} twice`).toBe(false);
      seen.add(`${o.kind}/${o.metadata.name}`);
      if (o.kind.startsWith("Cluster")) expect(o.metadata.namespace).toBeUndefined();
      else expect(o.metadata.namespace).toBe(NS);
    }
  });

  it("every workload selects its own pods and nobody else's", () => {
    const workloads = [...find(objs, "DaemonSet"), ...find(objs, "Deployment")];
    for (const w of workloads) {
      const sel = w.spec!.selector!.matchLabels!;
      for (const other of workloads) {
        expect(matches(sel, other.spec!.template!.metadata.labels), `${w.metadata.name} selects ${other.metadata.name}'s pods`).toBe(other === w);
      }
    }
  });

  it("the host agent runs in the node's network namespace with its node's name and address", () => {
    const hosts = agentsOf(objs).filter((d) => modeOf(d) === "host");
    for (const ds of hosts) {
      const pod = ds.spec!.template!.spec;
      const c = pod.containers[0]!;
      expect(pod.hostNetwork).toBe(true);
      expect(pod.dnsPolicy).toBe("ClusterFirstWithHostNet");
      // Net sysctls of a hostNetwork pod would be the node's: the kubelet refuses them. Ping relies on the node's ping_group_range (or rawPing).
      expect(pod.securityContext?.sysctls).toBeUndefined();
      expect(envOf(c, "NETMATRIX_NODE")?.valueFrom?.fieldRef?.fieldPath).toBe("spec.nodeName");
      expect(envOf(c, "NETMATRIX_ADDRESS")?.valueFrom?.fieldRef?.fieldPath).toBe("status.hostIP");
      expect(envOf(c, "NETMATRIX_POD_IPS")?.valueFrom?.fieldRef?.fieldPath).toBe("status.podIPs");
      const metrics = envOf(c, "NETMATRIX_METRICS")?.value;
      if (metrics !== "off") expect(c.ports).toContainEqual({ name: "metrics", containerPort: Number(metrics!.split(":")[1]), protocol: "TCP" });
    }
  });

  it("pod agents: two DaemonSets with pod IP, pod name and the node's NIC counters", () => {
    const pods = agentsOf(objs).filter((d) => modeOf(d) === "pod");
    if (pods.length === 0) return; // agents.pod.enabled=false
    expect(pods.map((d) => d.spec!.template!.metadata.labels["netmatrix.dev/variant"]).sort()).toEqual(["pod-a", "pod-b"]);
    for (const ds of pods) {
      const pod = ds.spec!.template!.spec;
      const c = pod.containers[0]!;
      expect(pod.hostNetwork).toBeUndefined();
      expect(envOf(c, "NETMATRIX_ADDRESS")?.valueFrom?.fieldRef?.fieldPath).toBe("status.podIP");
      expect(envOf(c, "NETMATRIX_POD_IPS")?.valueFrom?.fieldRef?.fieldPath).toBe("status.podIPs");
      expect(envOf(c, "NETMATRIX_POD")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.name");
      expect(envOf(c, "NETMATRIX_NODE")?.valueFrom?.fieldRef?.fieldPath).toBe("spec.nodeName");
      // The node's /proc, read-only; NIC counters from the network namespace of its PID 1.
      const vol = pod.volumes!.find((v) => v.hostPath?.path === "/proc")!;
      expect(c.volumeMounts).toContainEqual({ name: vol.name, mountPath: "/host/proc", readOnly: true });
      expect(envOf(c, "NETMATRIX_NET_DEV")?.value).toBe("/host/proc/1/net/dev");
      // ping through ICMP echo sockets for exactly the agent's group, instead of NET_RAW.
      const gid = pod.securityContext!.runAsGroup!;
      expect(pod.securityContext!.sysctls).toEqual([{ name: "net.ipv4.ping_group_range", value: `${gid} ${gid}` }]);
    }
  });

  it("every agent dials the coordinator Service with the token from the Secret", () => {
    const agents = agentsOf(objs);
    expect(agents.length).toBeGreaterThan(0);
    const svc = one(objs, "Service", (s) => s.metadata.labels?.["app.kubernetes.io/component"] === "coordinator");
    const grpc = svc.spec!.ports!.find((p) => p.name === "grpc")!;
    const secretName = envOf(one(objs, "Deployment").spec!.template!.spec.containers[0]!, "NETMATRIX_TOKEN")!.valueFrom!.secretKeyRef!;
    for (const ds of agents) {
      const c = ds.spec!.template!.spec.containers[0]!;
      expect(c.args?.[0]).toBe("agent");
      expect(envOf(c, "NETMATRIX_COORDINATOR")?.value).toBe(`${svc.metadata.name}.${NS}.svc:${grpc.port}`);
      expect(envOf(c, "NETMATRIX_TOKEN")?.valueFrom?.secretKeyRef).toEqual(secretName);
      expect(envOf(c, "NETMATRIX_PORT_RANGE")?.value).toMatch(/^\d+-\d+$/);
      const pod = ds.spec!.template!.spec;
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.tolerations).toContainEqual({ operator: "Exists" });
    }
  });

  it("the coordinator Service reaches the coordinator's gRPC (and http) ports; the token Secret exists or is external", () => {
    const dep = one(objs, "Deployment");
    const c = dep.spec!.template!.spec.containers[0]!;
    const svc = one(objs, "Service", (s) => s.metadata.labels?.["app.kubernetes.io/component"] === "coordinator");
    expect(matches(svc.spec!.selector as Record<string, string>, dep.spec!.template!.metadata.labels)).toBe(true);
    for (const p of svc.spec!.ports!) expect(c.ports!.map((cp) => cp.name)).toContain(p.targetPort);
    const ref = envOf(c, "NETMATRIX_TOKEN")!.valueFrom!.secretKeyRef!;
    const secrets = find(objs, "Secret", (s) => s.type !== "kubernetes.io/tls");
    if (ref.name === "netmatrix-token") {
      expect(secrets).toHaveLength(0); // ci/external-token-values.yaml: made outside the chart
    } else {
      const secret = one(objs, "Secret", (s) => s.metadata.name === ref.name);
      expect(Buffer.from(secret.data![ref.key]!, "base64").toString().length).toBeGreaterThanOrEqual(32);
    }
    expect(c.env!.map((e) => e.name)).toEqual(expect.arrayContaining(["NETMATRIX_LISTEN", "NETMATRIX_HTTP", "NETMATRIX_DATA_DIR"]));
    const data = dep.spec!.template!.spec.volumes!.find((v) => v.name === "data")!;
    expect(data.emptyDir ?? data.persistentVolumeClaim).toBeDefined();
  });

  it("RBAC: services and endpointslices in the namespace, only the verbs the service provider uses", () => {
    const roles = find(objs, "Role");
    const dep = one(objs, "Deployment");
    const services = envOf(dep.spec!.template!.spec.containers[0]!, "NETMATRIX_SERVICES")?.value === "kubernetes";
    expect(roles).toHaveLength(services ? 1 : 0);
    if (!services) {
      expect(find(objs, "RoleBinding")).toHaveLength(0);
      return;
    }
    // KubeServiceClient: create/read/list/delete Services, create/list/delete EndpointSlices.
    expect(roles[0]!.rules).toEqual([
      { apiGroups: [""], resources: ["services"], verbs: ["get", "list", "create", "delete"] },
      { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "create", "delete"] },
    ]);
    const binding = one(objs, "RoleBinding");
    expect(binding.roleRef).toMatchObject({ kind: "Role", name: roles[0]!.metadata.name });
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: dep.spec!.template!.spec.serviceAccountName, namespace: NS }]);
    const clusterRoles = find(objs, "ClusterRole");
    for (const cr of clusterRoles) expect(cr.rules).toEqual([{ apiGroups: [""], resources: ["nodes"], verbs: ["get"] }]);
    expect(clusterRoles.length).toBe(envOf(dep.spec!.template!.spec.containers[0]!, "NETMATRIX_READ_NODES")?.value === "true" ? 1 : 0);
  });

  it("security: no privilege escalation, read-only root, every capability dropped; non-root everywhere, but the host agent under agents.host.rawPing: root with NET_RAW", () => {
    const rawPing = file === "raw-ping-values.yaml";
    for (const { owner, spec } of podsOf(objs)) {
      const rawHost = rawPing && owner.kind === "DaemonSet" && modeOf(owner) === "host";
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
        const sc = c.securityContext!;
        expect(sc.allowPrivilegeEscalation, `${owner.metadata.name}/${c.name}`).toBe(false);
        expect(sc.readOnlyRootFilesystem).toBe(true);
        expect(sc.capabilities?.drop).toEqual(["ALL"]);
        expect(sc.capabilities?.add ?? [], `${owner.metadata.name}/${c.name} adds capabilities`).toEqual(rawHost ? ["NET_RAW"] : []);
        if (rawHost) {
          // NET_RAW is only effective for uid 0: Kubernetes sets no ambient capabilities.
          expect(spec.securityContext).toMatchObject({ runAsNonRoot: false, runAsUser: 0, runAsGroup: 0 });
        } else {
          expect(spec.securityContext?.runAsNonRoot, `${owner.metadata.name} runs as non-root`).toBe(true);
          expect(spec.securityContext?.runAsUser).toBeGreaterThan(0);
          expect(spec.securityContext?.runAsGroup).toBeGreaterThan(0);
        }
        // A writable /tmp (iperf3's per-stream temporary files) on a read-only root.
        if (owner.kind !== "Pod" || c.name === "smoke") expect(c.volumeMounts?.map((m) => m.mountPath)).toContain("/tmp");
      }
    }
  });

  it("helm test: a Pod that lists the agents, then runs a small matrix the planner accepts", () => {
    const pod = one(objs, "Pod");
    expect(pod.metadata.annotations?.["helm.sh/hook"]).toBe("test");
    const spec = pod.spec as unknown as PodSpec;
    expect(spec.initContainers!.map((c) => c.args)).toEqual([["agents"]]);
    const main = spec.containers[0]!;
    expect(main.args!.slice(0, 2)).toEqual(["run", "--spec"]);
    for (const c of [...spec.initContainers!, main]) {
      expect(envOf(c, "NETMATRIX_COORDINATOR")?.value).toMatch(/\.svc:\d+$/);
      expect(envOf(c, "NETMATRIX_TOKEN")?.valueFrom?.secretKeyRef).toBeDefined();
    }
    const cm = one(objs, "ConfigMap");
    expect(cm.metadata.annotations?.["helm.sh/hook"]).toBe("test");
    expect(spec.volumes).toContainEqual({ name: "spec", configMap: { name: cm.metadata.name } });
    const mount = main.volumeMounts!.find((m) => m.name === "spec")!;
    const [fileName, text] = Object.entries(cm.data!)[0]!;
    expect(main.args![2]).toBe(`${mount.mountPath}/${fileName}`);
    const matrix = parseSpec(text, fileName);
    // What the chart deploys: per node a host agent and two pod agents.
    const cluster = (nodes: number): PlannerAgent[] =>
      Array.from({ length: nodes }, (_, i) => [
        { id: `n${i}/host`, node: `n${i}`, mode: "host" as const, address: `192.0.2.${i + 1}`, tools: ["iperf3" as const] },
        { id: `n${i}/pod/a`, node: `n${i}`, mode: "pod" as const, address: `10.244.${i}.2`, tools: ["iperf3" as const] },
        { id: `n${i}/pod/b`, node: `n${i}`, mode: "pod" as const, address: `10.244.${i}.3`, tools: ["iperf3" as const] },
      ]).flat();
    const services = { serviceProvider: { kinds: ["clusterip" as const] } };
    const multi = plan(matrix, cluster(3), services).cases.length;
    expect(multi).toBeGreaterThan(0);
    expect(plan(matrix, cluster(200), services).cases.length * matrix.durationS).toBeLessThanOrEqual(file === "nodeport-values.yaml" ? 200 * 2 * 2 : 60);
  });
  it("TLS: the coordinator serves its certificate from the Secret; agents and the helm test verify it with ca.crt only (and present theirs under mTLS)", () => {
    const tls = tlsValues(file);
    const dep = one(objs, "Deployment");
    const coordPod = dep.spec!.template!.spec;
    const coordinator = coordPod.containers[0]!;
    const clients = [...agentsOf(objs).map((d) => d.spec!.template!.spec), one(objs, "Pod").spec as unknown as PodSpec];
    if (tls.mode === "off") {
      for (const { spec } of podsOf(objs)) {
        for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) expect(c.env?.map((e) => e.name).filter((n) => /TLS|_CA$/.test(n)) ?? []).toEqual([]);
        expect(spec.volumes?.map((v) => v.name)).not.toContain("tls");
      }
      expect([...find(objs, "Certificate"), ...find(objs, "Secret", (x) => x.type === "kubernetes.io/tls")]).toEqual([]);
      return;
    }
    const mountOf = (c: Container) => c.volumeMounts?.find((m) => m.name === "tls");
    const dir = mountOf(coordinator)!.mountPath;
    expect(mountOf(coordinator)!.readOnly).toBe(true);
    expect(envOf(coordinator, "NETMATRIX_TLS_CERT")?.value).toBe(`${dir}/tls.crt`);
    expect(envOf(coordinator, "NETMATRIX_TLS_KEY")?.value).toBe(`${dir}/tls.key`);
    expect(envOf(coordinator, "NETMATRIX_CLIENT_CA")?.value).toBe(tls.mtls ? `${dir}/ca.crt` : undefined);
    const volume = coordPod.volumes!.find((v) => v.name === "tls")!.secret!;
    expect(volume.items!.map((i) => i.key).sort()).toEqual(tls.mtls ? ["ca.crt", "tls.crt", "tls.key"] : ["tls.crt", "tls.key"]);
    const svc = one(objs, "Service", (x) => x.metadata.labels?.["app.kubernetes.io/component"] === "coordinator");
    const serverName = `${svc.metadata.name}.${NS}.svc`;
    const web = svc.spec!.ports!.find((p) => p.name === "http");
    if (web) expect(web.appProtocol).toBe("https");
    const fullname = svc.metadata.name.replace(/-coordinator$/, "");
    // Where the certificate comes from: one source, as the values say.
    const tlsSecrets = find(objs, "Secret", (x) => x.type === "kubernetes.io/tls");
    const certificates = find(objs, "Certificate");
    let clientSecret: string;
    if (tls.mode === "generate") {
      expect(certificates).toEqual([]);
      const secret = one(objs, "Secret", (x) => x.metadata.name === volume.secretName);
      expect(Object.keys(secret.data!).sort()).toEqual(["ca.crt", "tls.crt", "tls.key"]);
      const ca = new X509Certificate(Buffer.from(secret.data!["ca.crt"]!, "base64"));
      const cert = new X509Certificate(Buffer.from(secret.data!["tls.crt"]!, "base64"));
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(cert.subjectAltName).toContain(`DNS:${serverName}`);
      expect(cert.subjectAltName).toContain("DNS:localhost");
      expect(cert.subjectAltName).toContain("IP Address:127.0.0.1");
      for (const extra of tls.extraDnsNames) expect(cert.subjectAltName).toContain(`DNS:${extra}`);
      // The CA's key is in a Secret of its own that no pod mounts.
      const caSecret = one(objs, "Secret", (x) => x.metadata.name === `${fullname}-ca`);
      expect(caSecret.data!["tls.crt"]).toBe(secret.data!["ca.crt"]);
      for (const { spec } of podsOf(objs)) expect(JSON.stringify(spec.volumes ?? [])).not.toContain(caSecret.metadata.name + '"');
      clientSecret = `${fullname}-tls-client`;
      expect(tlsSecrets.map((x) => x.metadata.name).sort()).toEqual([caSecret.metadata.name, volume.secretName, ...(tls.mtls ? [clientSecret] : [])].sort());
    } else if (tls.mode === "certManager") {
      expect(tlsSecrets).toEqual([]);
      const cert = one(objs, "Certificate", (x) => x.spec!.secretName === volume.secretName);
      expect(cert.spec!.dnsNames).toEqual(expect.arrayContaining([serverName, "localhost"]));
      expect(cert.spec!.ipAddresses).toContain("127.0.0.1");
      expect(cert.spec!.usages).toContain("server auth");
      expect(cert.spec!.issuerRef).toEqual(tls.issuerRef);
      clientSecret = `${fullname}-tls-client`;
      if (tls.mtls) expect(one(objs, "Certificate", (x) => x.spec!.secretName === clientSecret).spec!.usages).toContain("client auth");
      else expect(certificates).toHaveLength(1);
    } else {
      expect([...tlsSecrets, ...certificates]).toEqual([]);
      expect(volume.secretName).toBe(tls.existingSecret);
      clientSecret = tls.clientExistingSecret!;
    }
    // Every client: the CA (never the coordinator's key), the name to verify, and under mTLS its own certificate.
    for (const pod of clients) {
      const sources = pod.volumes!.find((v) => v.name === "tls")!.projected!.sources;
      expect(sources[0]).toEqual({ secret: { name: volume.secretName, items: [{ key: "ca.crt", path: "ca.crt" }] } });
      expect(sources.slice(1)).toEqual(
        tls.mtls
          ? [
              {
                secret: {
                  name: clientSecret,
                  items: [
                    { key: "tls.crt", path: "tls.crt" },
                    { key: "tls.key", path: "tls.key" },
                  ],
                },
              },
            ]
          : [],
      );
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const d = mountOf(c)!.mountPath;
        expect(envOf(c, "NETMATRIX_CA")?.value).toBe(`${d}/ca.crt`);
        expect(envOf(c, "NETMATRIX_TLS_SERVER_NAME")?.value).toBe(serverName);
        expect(envOf(c, "NETMATRIX_TLS_CERT")?.value).toBe(tls.mtls ? `${d}/tls.crt` : undefined);
        expect(envOf(c, "NETMATRIX_TLS_KEY")?.value).toBe(tls.mtls ? `${d}/tls.key` : undefined);
      }
    }
  });
});

describe("values", () => {
  it.each([
    ["a string for a boolean", ["--set", "agents.host.enabled=notabool"], /agents\/host\/enabled/],
    ["an unknown key (a typo)", ["--set", "agents.hots.enabled=true"], /hots/],
    ["a port range that is no range", ["--set", "agents.portRange=20000"], /portRange/],
    ["a port out of range", ["--set", "coordinator.service.grpcPort=70000"], /grpcPort/],
    ["an unknown pull policy", ["--set", "image.pullPolicy=Sometimes"], /pullPolicy/],
    ["a string for rawPing", ["--set", "agents.host.rawPing=yes"], /agents\/host\/rawPing/],
    ["an unknown scenario in the smoke test", ["--set", "tests.scenarios={pod-to-pod}"], /scenarios/],
    ["a Service type that does not exist", ["--set", "coordinator.service.type=Ingress"], /type/],
    ["an issuer kind that does not exist", ["--set", "tls.certManager.issuerRef.kind=Vault"], /issuerRef\/kind/],
    ["an IP address that is none", ["--set", "tls.extraIpAddresses={not-an-ip}"], /extraIpAddresses/],
    ["a certificate lifetime that is no duration", ["--set", "tls.certManager.duration=90days"], /duration/],
    ["a node label value out of Kubernetes' syntax", ["--set", "agents.labels.zone=eu west"], /agents\/labels\/zone/],
    ["a node label key out of Kubernetes' syntax", ["--set", "agents.labels.Zone_=a"], /Zone_/],
  ])("the schema rejects %s", (_what, args, where) => {
    const r = run(["template", RELEASE, CHART, "--namespace", NS, ...args]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(r.stderr).toMatch(where);
  });

  it("every value in values.yaml has a comment above it", () => {
    const doc = parseDocument(readFileSync(join(CHART, "values.yaml"), "utf8"));
    const undocumented: string[] = [];
    // helm-docs convention: "# -- text" documents a value (and everything under it); a
    // map without one is a section whose keys must each be documented.
    const visit = (map: YAMLMap, path: string) => {
      map.items.forEach((pair, i) => {
        if (!isPair(pair) || !isScalar(pair.key)) return;
        const comment = [i === 0 ? map.commentBefore : undefined, pair.key.commentBefore].filter(Boolean).join("\n");
        const lastParagraph = comment.split(/\n\s*\n/).pop() ?? "";
        const key = `${path}${String(pair.key.value)}`;
        if (/^\s*-- \S/m.test(lastParagraph)) return;
        if (isMap(pair.value) && pair.value.items.length > 0 && !pair.value.flow) visit(pair.value, `${key}.`);
        else undocumented.push(key);
      });
    };
    visit(doc.contents as YAMLMap, "");
    expect(undocumented).toEqual([]);
  });

  it("keeps the generated token across upgrades (lookup) unless an existing Secret is named", () => {
    const helpers = readFileSync(join(CHART, "templates", "_helpers.tpl"), "utf8");
    expect(helpers).toMatch(/lookup "v1" "Secret"/);
    const objs = template("--set", "token.existingSecret=mine", "--set", "token.key=t");
    expect(find(objs, "Secret", (s) => s.type !== "kubernetes.io/tls")).toHaveLength(0);
    for (const ds of agentsOf(objs)) expect(envOf(ds.spec!.template!.spec.containers[0]!, "NETMATRIX_TOKEN")?.valueFrom?.secretKeyRef).toEqual({ name: "mine", key: "t" });
  });

  it("agents.labels and agents.topologyLabels give every agent NETMATRIX_NODE_LABELS, in the syntax its --label parses; by default none", () => {
    for (const ds of agentsOf(template())) {
      const env = ds.spec!.template!.spec.containers[0]!.env ?? [];
      expect(env.filter((e) => e.name.startsWith("NETMATRIX_TOPOLOGY_") || e.name === "NETMATRIX_NODE_LABELS")).toEqual([]);
    }
    const objs = template("--set", "agents.labels.cluster=prod", "--set", "agents.labels.netmatrix/rack=r1", "--set", "agents.topologyLabels=true");
    expect(agentsOf(objs).map(modeOf)).toEqual(["host", "pod", "pod"]);
    for (const ds of agentsOf(objs)) {
      const c = ds.spec!.template!.spec.containers[0]!;
      const env = c.env ?? [];
      const at = (name: string) => env.findIndex((e) => e.name === name);
      expect(envOf(c, "NETMATRIX_TOPOLOGY_ZONE")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.labels['topology.kubernetes.io/zone']");
      expect(envOf(c, "NETMATRIX_TOPOLOGY_REGION")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.labels['topology.kubernetes.io/region']");
      // $(VAR) expands only variables defined before it.
      expect(at("NETMATRIX_TOPOLOGY_ZONE")).toBeLessThan(at("NETMATRIX_NODE_LABELS"));
      expect(at("NETMATRIX_TOPOLOGY_REGION")).toBeLessThan(at("NETMATRIX_NODE_LABELS"));
      const value = envOf(c, "NETMATRIX_NODE_LABELS")!.value!;
      // What the kubelet hands the agent on a node in eu-west-1a (and on one whose pods carry no zone).
      const expanded = (zone: string, region: string) => value.replace("$(NETMATRIX_TOPOLOGY_ZONE)", zone).replace("$(NETMATRIX_TOPOLOGY_REGION)", region);
      expect(parseLabels([expanded("eu-west-1a", "eu-west-1")], "NETMATRIX_NODE_LABELS")).toEqual({
        cluster: "prod",
        "netmatrix/rack": "r1",
        "topology.kubernetes.io/zone": "eu-west-1a",
        "topology.kubernetes.io/region": "eu-west-1",
      });
      expect(parseLabels([expanded("", "")], "NETMATRIX_NODE_LABELS")).toMatchObject({ "topology.kubernetes.io/zone": "" });
    }
  });

  it("agents.coordinatorAddress points agents elsewhere; turning variants off removes them", () => {
    const objs = template("--set", "agents.coordinatorAddress=coord.example:7400", "--set", "agents.host.enabled=false");
    const agents = agentsOf(objs);
    expect(agents.map(modeOf)).toEqual(["pod", "pod"]);
    for (const ds of agents) expect(envOf(ds.spec!.template!.spec.containers[0]!, "NETMATRIX_COORDINATOR")?.value).toBe("coord.example:7400");
  });

  it("the ServiceMonitor scrapes the agents' metrics Service", () => {
    const objs = template("-f", join(CHART, "ci", "servicemonitor-values.yaml"));
    const sm = one(objs, "ServiceMonitor");
    const svc = one(objs, "Service", (s) => s.spec?.clusterIP === "None");
    expect(matches(sm.spec!.selector!.matchLabels!, svc.metadata.labels!)).toBe(true);
    expect(sm.spec!.namespaceSelector!.matchNames).toEqual([NS]);
    expect(svc.spec!.ports!.map((p) => p.name)).toContain(sm.spec!.endpoints![0]!.port);
    for (const ds of agentsOf(objs)) {
      expect(matches(svc.spec!.selector as Record<string, string>, ds.spec!.template!.metadata.labels)).toBe(true);
      expect(ds.spec!.template!.spec.containers[0]!.ports).toContainEqual(expect.objectContaining({ name: "metrics" }));
    }
    expect(find(template(), "ServiceMonitor")).toHaveLength(0);
  });

  it("NOTES.txt prints the commands to reach and use the coordinator", () => {
    const r = run(["install", RELEASE, CHART, "--namespace", NS, "--dry-run=client"]);
    expect(r.status, r.stderr).toBe(0);
    const notes = r.stdout.slice(r.stdout.indexOf("NOTES:"));
    for (const want of [
      `kubectl --namespace ${NS} port-forward service/${RELEASE}-netmatrix-coordinator 7400:7400 7401:7401`,
      `kubectl --namespace ${NS} get secret ${RELEASE}-netmatrix-token -o jsonpath='{.data.token}' | base64 -d > netmatrix-token`,
      "export NETMATRIX_COORDINATOR=127.0.0.1:7400",
      // TLS is on by default: the CA for the CLI, and the name the certificate carries (the port-forward dials 127.0.0.1)
      `kubectl --namespace ${NS} get secret ${RELEASE}-netmatrix-tls -o jsonpath='{.data.ca\\.crt}' | base64 -d > netmatrix-ca.crt`,
      `export NETMATRIX_CA="$PWD/netmatrix-ca.crt" NETMATRIX_TLS_SERVER_NAME=${RELEASE}-netmatrix-coordinator.${NS}.svc`,
      "https://127.0.0.1:7401/",
      "netmatrix agents",
      "netmatrix run --spec default",
      "netmatrix watch",
      `helm test ${RELEASE} --namespace ${NS}`,
    ]) {
      expect(notes).toContain(want);
    }
  });
});

describe("TLS values that cannot work are refused with the fix", () => {
  it.each([
    [
      "two sources of the certificate",
      ["--set", "tls.existingSecret=mine", "--set", "tls.certManager.enabled=true", "--set", "tls.certManager.issuerRef.name=ca"],
      /two sources of the coordinator's certificate: set one of them/,
    ],
    ["cert-manager without an issuer", ["--set", "tls.certManager.enabled=true"], /tls.certManager.enabled needs tls.certManager.issuerRef.name/],
    ["mTLS with an existing Secret but no client certificate", ["--set", "tls.existingSecret=mine", "--set", "tls.clientAuth.enabled=true"], /needs tls.clientAuth.existingSecret/],
  ])("%s", (_what, args, message) => {
    const r = run(["template", RELEASE, CHART, "--namespace", NS, ...args]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});

/** The Secret named `name` among `objs`, its data decoded, written into `dir` as files. */
function secretFiles(objs: K8sObject[], name: string, dir: string): Record<string, string> {
  const secret = one(objs, "Secret", (x) => x.metadata.name === name);
  const files: Record<string, string> = {};
  for (const [key, b64] of Object.entries(secret.data!)) {
    files[key] = join(dir, `${name}-${key}`);
    writeFileSync(files[key], Buffer.from(b64, "base64"));
  }
  return files;
}

describe("the certificates the chart generates work with the coordinator and the agents' settings", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "nm-chart-tls-"));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ["defaults", undefined],
    ["mTLS", "tls-mtls-values.yaml"],
  ])("%s: a real coordinator serves them; a client configured as the agents are gets through, and only such a client", async (_what, file) => {
    const objs = template(...valuesArgs(file));
    const mtls = tlsValues(file).mtls;
    const server = secretFiles(objs, `${RELEASE}-netmatrix-tls`, dir);
    const agentEnv = agentsOf(objs)[0]!.spec!.template!.spec.containers[0]!;
    const serverName = envOf(agentEnv, "NETMATRIX_TLS_SERVER_NAME")!.value!;
    const token = "chart-tls-test-token-0123456789abcdef";
    const coord = await startCoordinator(
      {
        listen: "127.0.0.1:0",
        token,
        dataDir: join(dir, `data-${String(file)}`),
        tls: { cert: server["tls.crt"]!, key: server["tls.key"]!, ...(mtls ? { clientCa: server["ca.crt"]! } : {}) },
      },
      pino({ level: "silent" }),
    );
    const call = async (tls: ReturnType<typeof clientTls>) => {
      const { credentials, channelOptions } = channelSecurity(tls);
      const c = createClient(ControlService, `127.0.0.1:${coord.port}`, { interceptors: [bearerInterceptor(token)], credentials, channelOptions });
      try {
        await c.listAgents({}, { timeoutMs: 5000 });
        return "ok";
      } catch (err) {
        return (err as Error).message;
      } finally {
        c.close();
      }
    };
    try {
      const client = mtls ? secretFiles(objs, `${RELEASE}-netmatrix-tls-client`, dir) : undefined;
      const asAgents = { ca: server["ca.crt"]!, tlsServerName: serverName, ...(client ? { tlsCert: client["tls.crt"]!, tlsKey: client["tls.key"]! } : {}) };
      expect(await call(clientTls(asAgents))).toBe("ok");
      // The certificate names localhost too (port-forwards): no server name needed there.
      expect(serverName).toMatch(/\.svc$/);
      if (mtls) expect(await call(clientTls({ ca: server["ca.crt"]!, tlsServerName: serverName }))).toMatch(/requires a client certificate and none was presented/);
      expect(await call(undefined)).toMatch(/requires TLS/);
    } finally {
      await coord.stop();
    }
  });
});

describe("generated certificates and token are kept across upgrades (lookup, against a stand-in API server)", () => {
  let dir: string;
  let api: FakeKubeApi;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nm-chart-lookup-"));
    api = await startFakeKubeApi(dir);
  });
  afterAll(async () => {
    await api?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * `helm template --dry-run=server`: lookup asks the API server (here the
   * stand-in, in this process: so helm runs asynchronously) for each Secret.
   */
  async function templateAgainstApi(...args: string[]): Promise<K8sObject[]> {
    const r = await execFileAsync(
      helm,
      ["template", RELEASE, CHART, "--namespace", NS, "--kubeconfig", api.kubeconfig, "--dry-run=server", "--disable-openapi-validation", ...args],
      {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
        // helm caches discovery under $KUBECACHEDIR (default ~/.kube/cache): keep it in the test's directory.
        env: { ...process.env, KUBECACHEDIR: join(dir, "kube-cache") },
      },
    );
    return parseAllDocuments(r.stdout)
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null);
  }
  const data = (objs: K8sObject[], name: string) => one(objs, "Secret", (x) => x.metadata.name === `${RELEASE}-netmatrix-${name}`).data!;
  const cert = (objs: K8sObject[], name: string, key = "tls.crt") => new X509Certificate(Buffer.from(data(objs, name)[key]!, "base64"));
  /** What an install leaves in the cluster: the Secrets as rendered, owned by the release. */
  const install = (objs: K8sObject[]) => {
    for (const secret of find(objs, "Secret")) {
      api.put({
        ...secret,
        metadata: { ...secret.metadata, annotations: { ...secret.metadata.annotations, "meta.helm.sh/release-name": RELEASE, "meta.helm.sh/release-namespace": NS } },
      } as StoredObject);
    }
  };

  it("an upgrade reuses the CA, the certificates and the token; new names get a new certificate from the same CA; a lost CA makes everything new", async () => {
    const mtls = ["--set", "tls.clientAuth.enabled=true"];
    const first = await templateAgainstApi(...mtls);
    expect(api.gets).toContain(`/api/v1/namespaces/${NS}/secrets/${RELEASE}-netmatrix-ca`);
    // Without lookup (plain helm template) every render makes new ones: what "kept" is measured against.
    expect(data(template(...mtls), "ca")).not.toEqual(data(first, "ca"));
    install(first);

    const upgrade = await templateAgainstApi(...mtls);
    for (const name of ["ca", "tls", "tls-client", "token"]) expect(data(upgrade, name), name).toEqual(data(first, name));

    // New names: the same CA signs a new coordinator certificate that carries them; the client certificate stays.
    const renamed = await templateAgainstApi(...mtls, "--set", "tls.extraDnsNames={netmatrix.example.com}");
    expect(data(renamed, "ca")).toEqual(data(first, "ca"));
    expect(data(renamed, "tls-client")).toEqual(data(first, "tls-client"));
    expect(data(renamed, "tls")["tls.crt"]).not.toEqual(data(first, "tls")["tls.crt"]);
    expect(cert(renamed, "tls").subjectAltName).toContain("DNS:netmatrix.example.com");
    expect(cert(renamed, "tls").verify(cert(first, "ca").publicKey)).toBe(true);

    // The CA Secret deleted: a new CA, and certificates it signed; the token is its own Secret and stays.
    api.remove(NS, "Secret", `${RELEASE}-netmatrix-ca`);
    const fresh = await templateAgainstApi(...mtls);
    for (const name of ["ca", "tls", "tls-client"]) expect(data(fresh, name)["tls.crt"], name).not.toEqual(data(first, name)["tls.crt"]);
    expect(cert(fresh, "tls").verify(cert(fresh, "ca").publicKey)).toBe(true);
    expect(cert(fresh, "tls-client").verify(cert(fresh, "ca").publicKey)).toBe(true);
    expect(data(fresh, "token")).toEqual(data(first, "token"));
  }, 120_000);
});
