/**
 * The coordinator's Kubernetes service provider (coordinator/src/k8s) and
 * IPv6: it learns whether the cluster makes IPv6 Services with a dry-run
 * create (nothing stored), and builds IPv6 single-stack Services and
 * EndpointSlices for IPv6 cases, NodePorts on the node's IPv6 address. The
 * API server here is the lab's stand-in store (lab/src/kube-api-store.ts),
 * called in process: an IPv4 lab answers as a single-stack IPv4 cluster
 * does ("IPv6 not configured"), a dual-stack lab allocates from
 * fd00:10:96::/112. No root needed: no rules are programmed (test/kube-api
 * carries traffic through them).
 */
import { describe, expect, test } from "vitest";
import { NetmatrixError } from "../common/src/errors.js";
import type { FamilyName } from "../common/src/model.js";
import type { ExposeRequest } from "../common/src/service-provider.js";
import type { EndpointSliceObject, ServiceObject } from "../coordinator/src/k8s/objects.js";
import { KubernetesServiceProvider, KubeStatusError, type KubeServiceClient } from "../coordinator/src/k8s/provider.js";
import { KubeApiStore } from "../lab/src/kube-api-store.js";

const TOKEN = "a-token-for-the-families-test";
const NS = "netmatrix";

/** A KubeServiceClient answered by `store` in process, API errors as KubeStatusErrors (as client.ts turns them). */
function storeClient(store: KubeApiStore): KubeServiceClient {
  const call = (method: string, url: string, body?: unknown): any => {
    const r = store.handle({ method, url, authorization: `Bearer ${TOKEN}`, contentType: "application/json", ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    if (r.response.status >= 300) throw new KubeStatusError(r.response.status, (r.response.body as { message: string }).message);
    return r.response.body;
  };
  const svc = (ns: string) => `/api/v1/namespaces/${ns}/services`;
  const eps = (ns: string) => `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`;
  const q = (selector: string) => `?labelSelector=${encodeURIComponent(selector)}`;
  return {
    createService: async (ns, body, opts) => call("POST", `${svc(ns)}${opts?.dryRun ? "?dryRun=All" : ""}`, body) as ServiceObject,
    readService: async (ns, name) => call("GET", `${svc(ns)}/${name}`) as ServiceObject,
    listServices: async (ns, selector) => call("GET", `${svc(ns)}${q(selector)}`).items as ServiceObject[],
    deleteService: async (ns, name) => void call("DELETE", `${svc(ns)}/${name}`),
    createEndpointSlice: async (ns, body) => call("POST", eps(ns), body) as EndpointSliceObject,
    listEndpointSlices: async (ns, selector) => call("GET", `${eps(ns)}${q(selector)}`).items as EndpointSliceObject[],
    deleteEndpointSlice: async (ns, name) => void call("DELETE", `${eps(ns)}/${name}`),
  };
}

/** Node addresses as the coordinator knows them from its host agents: node-2 has both families, node-3 IPv4 only. */
const NODES: Record<string, Partial<Record<FamilyName, string>>> = {
  "node-2": { ipv4: "198.18.0.12", ipv6: "fd00:198:18::12" },
  "node-3": { ipv4: "198.18.0.13" },
};

function lab(ipv6: boolean): { store: KubeApiStore; provider: KubernetesServiceProvider } {
  const store = new KubeApiStore({ token: TOKEN, namespaces: [NS], ipv6 });
  const provider = new KubernetesServiceProvider(storeClient(store), { namespace: NS, nodeAddress: (node, family = "ipv4") => NODES[node]?.[family], pollMs: 10 });
  return { store, provider };
}

const v6 = (over: Partial<ExposeRequest> & Pick<ExposeRequest, "kind" | "caseId">): ExposeRequest => ({
  runId: "run-1",
  serverNode: "node-2",
  serverAddress: "fd00:10:244:2::10",
  port: 5201,
  dataPort: 0,
  protocol: "tcp",
  family: "ipv6",
  ...over,
});

describe("the Kubernetes service provider and IPv6", () => {
  test("an IPv4 cluster: the dry run is refused as IPv6 not configured, so IPv4 only, and nothing was created", async () => {
    const { store, provider } = lab(false);
    expect(provider.families).toEqual(["ipv4"]);
    const found = await provider.detectFamilies();
    expect(found.families).toEqual(["ipv4"]);
    expect(found.reason).toMatch(/^the cluster has no IPv6 Service range: .*spec\.ipFamilies\[0\]: Invalid value: "IPv6": not configured on this cluster$/);
    expect(provider.familiesNote).toBe(found.reason);
    expect(store.listAll()).toEqual({ services: [], slices: [] });
  });

  test("a dual-stack cluster: IPv4 and IPv6, nothing created by the dry run; an IPv6 ClusterIP case gets IPv6 objects, released", async () => {
    const { store, provider } = lab(true);
    expect(await provider.detectFamilies()).toEqual({ families: ["ipv4", "ipv6"] });
    expect(provider.families).toEqual(["ipv4", "ipv6"]);
    expect(store.listAll()).toEqual({ services: [], slices: [] });

    const svc = await provider.expose(v6({ kind: "clusterip", caseId: "c6" }));
    expect(svc.address).toBe("fd00:10:96::14");
    const { services, slices } = store.listAll();
    expect(services.map((s) => [s.spec.ipFamilies, s.spec.ipFamilyPolicy, s.spec.clusterIP])).toEqual([[["IPv6"], "SingleStack", "fd00:10:96::14"]]);
    expect(slices.map((s) => [s.addressType, s.endpoints.map((e) => e.addresses)])).toEqual([["IPv6", [["fd00:10:244:2::10"]]]]);
    // An IPv4 case beside it: IPv4 objects, as before families.
    const four = await provider.expose({ ...v6({ kind: "clusterip", caseId: "c4", serverAddress: "10.244.2.10" }), family: undefined });
    expect(four.address).toBe("10.96.0.20");
    await svc.release();
    await four.release();
    expect(store.listAll()).toEqual({ services: [], slices: [] });
  });

  test("an IPv6 NodePort targets the node's IPv6 address; a node with none is refused before anything is created", async () => {
    const { store, provider } = lab(true);
    const np = await provider.expose(v6({ kind: "nodeport", caseId: "np6" }));
    expect(np.address).toBe("fd00:198:18::12");
    expect(np.port).toBeGreaterThanOrEqual(30000);
    await np.release();
    const refused = await provider.expose(v6({ kind: "nodeport", caseId: "np6b", serverNode: "node-3" })).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NetmatrixError);
    expect(refused).toMatchObject({ code: "unavailable", message: 'no IPv6 address known for node "node-3" to reach its NodePort on' });
    expect(store.listAll()).toEqual({ services: [], slices: [] });
  });

  test("an IPv6 case with an IPv4 server address is refused, naming the family and where the IPv6 pod IP comes from", async () => {
    const { provider } = lab(true);
    await expect(provider.expose(v6({ kind: "clusterip", caseId: "bad", serverAddress: "10.244.2.10" }))).rejects.toMatchObject({
      code: "invalid-argument",
      message: 'server address "10.244.2.10" is not an IPv6 address',
      hint: expect.stringMatching(/status\.podIPs/),
    });
  });
});
