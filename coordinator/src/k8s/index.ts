/**
 * Kubernetes Services for the pod-service and external-nodeport scenarios.
 *
 * The coordinator turns this on when `NETMATRIX_SERVICES=kubernetes` (the
 * chart sets it, with the namespace from the downward API):
 *
 *   const services = await kubernetesServiceProviderFromEnv();
 *   await services.sweep();          // what a crashed coordinator left behind
 *
 * @kubernetes/client-node is loaded only then, so the CLI, the agents and
 * the lab never pay for it.
 */
import { NetmatrixError } from "../../../common/src/errors.js";
import { KubernetesServiceProvider, type KubernetesServiceProviderOptions } from "./provider.js";

export * from "./objects.js";
export { KubeStatusError, KubernetesServiceProvider, type KubeServiceClient, type KubernetesServiceProviderOptions } from "./provider.js";

/** `kubernetes` turns the provider on; anything else (or unset) leaves it off. */
export const SERVICES_ENV = "NETMATRIX_SERVICES";
/** Namespace for the Services (default: the pod's own, from its ServiceAccount mount). */
export const NAMESPACE_ENV = "NETMATRIX_NAMESPACE";
/** Coordinator instance label, e.g. the Helm release name. */
export const INSTANCE_ENV = "NETMATRIX_INSTANCE";
/** `true`: read Node objects for NodePort addresses (needs `get` on nodes). */
export const READ_NODES_ENV = "NETMATRIX_READ_NODES";

/** Whether `env` asks for Kubernetes Services. */
export function kubernetesServicesRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[SERVICES_ENV]?.trim().toLowerCase() === "kubernetes";
}

/**
 * A provider for the pod this runs in, configured from `env`; `extra`
 * supplies what only the coordinator knows (e.g. `nodeAddress` from its
 * registry of host agents).
 */
export async function kubernetesServiceProviderFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  extra: Partial<KubernetesServiceProviderOptions> = {},
): Promise<KubernetesServiceProvider> {
  const { kubeServiceClient, podNamespace } = await import("./client.js");
  const namespace = extra.namespace ?? (env[NAMESPACE_ENV]?.trim() || podNamespace());
  if (!namespace) {
    throw new NetmatrixError("failed-precondition", "Kubernetes services: no namespace", {
      hint: `set ${NAMESPACE_ENV} (the chart sets it from metadata.namespace) or run in a pod with a ServiceAccount`,
    });
  }
  const hint = "run the coordinator in a pod whose ServiceAccount token is mounted (automountServiceAccountToken), or unset NETMATRIX_SERVICES";
  if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT) {
    throw new NetmatrixError("failed-precondition", "Kubernetes services: not running in a pod (KUBERNETES_SERVICE_HOST/PORT unset)", { hint });
  }
  let client;
  try {
    client = kubeServiceClient();
  } catch (err) {
    throw new NetmatrixError("failed-precondition", `Kubernetes services: no in-cluster configuration (${(err as Error).message})`, { cause: err, hint });
  }
  const instance = env[INSTANCE_ENV]?.trim();
  return new KubernetesServiceProvider(client, {
    ...(instance ? { instance } : {}),
    readNodes: env[READ_NODES_ENV]?.trim().toLowerCase() === "true",
    ...extra,
    namespace,
  });
}
