/**
 * {@link KubeServiceClient} on @kubernetes/client-node: the in-cluster
 * configuration (the pod's ServiceAccount token and CA) by default, any
 * KubeConfig for tests and out-of-cluster use. API errors become
 * KubeStatusErrors carrying the HTTP status.
 */
import { readFileSync } from "node:fs";
import { ApiException, CoreV1Api, DiscoveryV1Api, KubeConfig, type V1EndpointSlice, type V1Node, type V1Service } from "@kubernetes/client-node";
import { isAddressOf } from "../../../common/src/addresses.js";
import type { FamilyName } from "../../../common/src/model.js";
import type { EndpointSliceObject, ServiceObject } from "./objects.js";
import { KubeStatusError, type KubeServiceClient } from "./provider.js";

/** Where Kubernetes mounts the pod's ServiceAccount namespace. */
export const SERVICEACCOUNT_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** The configuration of the pod this runs in (KUBERNETES_SERVICE_HOST/PORT, the mounted token and CA). */
export function inClusterConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromCluster();
  return kc;
}

/** The pod's own namespace, from its ServiceAccount mount; undefined outside a pod. */
export function podNamespace(file = SERVICEACCOUNT_NAMESPACE_FILE): string | undefined {
  try {
    return readFileSync(file, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

function describe(err: ApiException<unknown>): string {
  const body = err.body as { message?: unknown } | string | undefined;
  if (body && typeof body === "object" && typeof body.message === "string") return body.message;
  if (typeof body === "string" && body) {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === "string") return parsed.message;
    } catch {
      // not JSON: use it as it is
    }
    return body.slice(0, 500);
  }
  return `HTTP ${err.code}`;
}

/** Run an API call, turning client-node's ApiException into a KubeStatusError. */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApiException) throw new KubeStatusError(err.code, describe(err), { cause: err });
    throw err;
  }
}

/** The Node's InternalIP of `family`, else its ExternalIP of it (a dual-stack node lists one of each family). */
function nodeAddress(node: V1Node, family: FamilyName = "ipv4"): string | undefined {
  const of = (type: string) => (node.status?.addresses ?? []).find((a) => a.type === type && isAddressOf(a.address, family))?.address;
  return of("InternalIP") ?? of("ExternalIP");
}

/** A KubeServiceClient over `kc` (default: the in-cluster configuration). */
export function kubeServiceClient(kc: KubeConfig = inClusterConfig()): KubeServiceClient {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  // objects.ts describes the fields netmatrix uses with the API's own names and
  // types; client-node's models are the same JSON with more optional fields.
  const asService = (s: V1Service) => s as unknown as ServiceObject;
  const asSlice = (s: V1EndpointSlice) => s as unknown as EndpointSliceObject;
  return {
    createService: (namespace, body, opts) =>
      call(async () => asService(await core.createNamespacedService({ namespace, body: body as V1Service, ...(opts?.dryRun ? { dryRun: "All" } : {}) }))),
    readService: (namespace, name) => call(async () => asService(await core.readNamespacedService({ namespace, name }))),
    listServices: (namespace, labelSelector) => call(async () => (await core.listNamespacedService({ namespace, labelSelector })).items.map(asService)),
    deleteService: (namespace, name) =>
      call(async () => {
        await core.deleteNamespacedService({ namespace, name });
      }),
    createEndpointSlice: (namespace, body) => call(async () => asSlice(await discovery.createNamespacedEndpointSlice({ namespace, body: body as V1EndpointSlice }))),
    listEndpointSlices: (namespace, labelSelector) => call(async () => (await discovery.listNamespacedEndpointSlice({ namespace, labelSelector })).items.map(asSlice)),
    deleteEndpointSlice: (namespace, name) =>
      call(async () => {
        await discovery.deleteNamespacedEndpointSlice({ namespace, name });
      }),
    readNodeAddress: (name, family) => call(async () => nodeAddress(await core.readNode({ name }), family)),
  };
}
