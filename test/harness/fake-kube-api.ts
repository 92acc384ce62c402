/**
 * A stand-in for the Kubernetes API server, for `helm template
 * --dry-run=server`: no cluster runs here, and the chart's `lookup` (keeping
 * generated Secrets across upgrades) only acts against one. It answers what
 * helm asks — version, discovery of the kinds the chart renders, and GET of
 * one object (the objects the test put in, else 404) — on 127.0.0.1, and
 * writes a kubeconfig pointing at itself. Nothing else; it records the paths
 * it was asked for.
 */
import { createServer, type Server } from "node:http";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** group, version, kind, plural, namespaced: every kind the chart may render. */
const KINDS: [string, string, string, string, boolean][] = [
  ["", "v1", "Secret", "secrets", true],
  ["", "v1", "ServiceAccount", "serviceaccounts", true],
  ["", "v1", "Service", "services", true],
  ["", "v1", "ConfigMap", "configmaps", true],
  ["", "v1", "Pod", "pods", true],
  ["", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true],
  ["apps", "v1", "Deployment", "deployments", true],
  ["apps", "v1", "DaemonSet", "daemonsets", true],
  ["rbac.authorization.k8s.io", "v1", "Role", "roles", true],
  ["rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true],
  ["rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false],
  ["rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false],
  ["monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors", true],
  ["cert-manager.io", "v1", "Certificate", "certificates", true],
];

export interface StoredObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface FakeKubeApi {
  /** A kubeconfig for helm's --kubeconfig. */
  kubeconfig: string;
  /** Objects a GET finds, by "namespace/plural/name". */
  put(obj: StoredObject): void;
  remove(namespace: string, kind: string, name: string): void;
  /** Paths of the object GETs helm made. */
  gets: string[];
  close(): Promise<void>;
}

function plural(kind: string): string {
  const k = KINDS.find((x) => x[2] === kind);
  if (!k) throw new Error(`the fake API does not serve kind ${kind}`);
  return k[3];
}

export async function startFakeKubeApi(dir: string): Promise<FakeKubeApi> {
  const objects = new Map<string, StoredObject>();
  const gets: string[] = [];
  const groups = [...new Set(KINDS.map((k) => k[0]).filter(Boolean))];
  const resources = (group: string, version: string) => ({
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources: KINDS.filter((k) => k[0] === group && k[1] === version).map((k) => ({
      name: k[3],
      singularName: k[2].toLowerCase(),
      namespaced: k[4],
      kind: k[2],
      verbs: ["get", "list", "create", "update", "delete"],
    })),
  });
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").replace(/\?.*$/, "");
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const notFound = () => json(404, { kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404, message: `${path} not found` });
    if (req.method !== "GET") return json(405, { kind: "Status", apiVersion: "v1", status: "Failure", code: 405, message: "the fake API only reads" });
    if (path === "/version") return json(200, { major: "1", minor: "30", gitVersion: "v1.30.0", platform: "linux/amd64" });
    if (path === "/api") return json(200, { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] });
    if (path === "/api/v1") return json(200, resources("", "v1"));
    if (path === "/apis") {
      return json(200, {
        kind: "APIGroupList",
        apiVersion: "v1",
        groups: groups.map((g) => ({ name: g, versions: [{ groupVersion: `${g}/v1`, version: "v1" }], preferredVersion: { groupVersion: `${g}/v1`, version: "v1" } })),
      });
    }
    const gv = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
    if (gv) return json(200, resources(gv[1]!, gv[2]!));
    const obj = /^\/apis?(?:\/[^/]+)?\/v1\/namespaces\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
    if (obj) {
      gets.push(path);
      const found = objects.get(`${obj[1]}/${obj[2]}/${obj[3]}`);
      return found ? json(200, found) : notFound();
    }
    notFound();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "  - name: fake",
      `    cluster: { server: "http://127.0.0.1:${port}" }`,
      "contexts:",
      "  - name: fake",
      "    context: { cluster: fake, user: fake }",
      "current-context: fake",
      "users:",
      "  - name: fake",
      "    user: { token: fake }",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  return {
    kubeconfig,
    put: (o) => objects.set(`${o.metadata.namespace ?? ""}/${plural(o.kind)}/${o.metadata.name}`, o),
    remove: (ns, kind, name) => objects.delete(`${ns}/${plural(kind)}/${name}`),
    gets,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
