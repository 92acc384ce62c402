/**
 * Checks Kubernetes objects against the API's OpenAPI definitions, for the
 * tests of the chart and of the Service builders. Test support: it loads
 * devDependencies, so nothing the coordinator runs may import it.
 *
 * Two checks, both generated from the Kubernetes OpenAPI spec rather than
 * written by hand:
 * - `kubernetes-models` (and `@kubernetes-models/prometheus-operator` for
 *   ServiceMonitor, `@kubernetes-models/cert-manager` for Certificate): JSON-schema validation of types, required fields and
 *   enums, the way the API server's validation rejects a manifest;
 * - `@kubernetes/client-node`'s generated models: every field must exist in
 *   the API type (the API server's strict field validation, `kubectl apply
 *   --validate=strict`), which the JSON schemas above do not check.
 */
import * as k8s from "@kubernetes/client-node";
import * as apps from "kubernetes-models/apps/v1";
import * as discovery from "kubernetes-models/discovery.k8s.io/v1";
import * as networking from "kubernetes-models/networking.k8s.io/v1";
import * as policy from "kubernetes-models/policy/v1";
import * as rbac from "kubernetes-models/rbac.authorization.k8s.io/v1";
import * as core from "kubernetes-models/v1";
import * as monitoring from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import * as certManager from "@kubernetes-models/cert-manager/cert-manager.io/v1";

interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: object): { validate(): void };
}

function isModelClass(v: unknown): v is ModelClass {
  return typeof v === "function" && typeof (v as { apiVersion?: unknown }).apiVersion === "string" && typeof (v as { kind?: unknown }).kind === "string";
}

/** JSON-schema models by "apiVersion/kind". */
const MODELS = new Map<string, ModelClass>();
for (const mod of [core, apps, discovery, networking, policy, rbac, monitoring, certManager] as Record<string, unknown>[]) {
  for (const v of Object.values(mod)) if (isModelClass(v)) MODELS.set(`${v.apiVersion}/${v.kind}`, v);
}

interface AttributeType {
  baseName: string;
  type: string;
}
interface GeneratedModel {
  getAttributeTypeMap(): AttributeType[];
}

function generatedModel(type: string): GeneratedModel | undefined {
  const m = (k8s as unknown as Record<string, unknown>)[type];
  return typeof m === "function" && typeof (m as Partial<GeneratedModel>).getAttributeTypeMap === "function" ? (m as unknown as GeneratedModel) : undefined;
}

/** client-node's model of a built-in kind ("V1DaemonSet"), undefined for custom resources. */
function generatedModelOf(apiVersion: string, kind: string): string | undefined {
  const version = apiVersion.split("/").pop() ?? "";
  const name = `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
  return generatedModel(name) ? name : undefined;
}

/** Fields of `value` that its API type `type` does not have, as JSON paths. */
function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, array[1]!, `${path}/${i}`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value === "object") for (const [k, v] of Object.entries(value)) unknownFields(v, map[1]!, `${path}/${k}`, out);
    return;
  }
  const model = generatedModel(type);
  if (!model || typeof value !== "object" || Array.isArray(value)) return;
  const attrs = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const t = attrs.get(k);
    if (t === undefined) out.push(`${path}/${k}: unknown field (not in ${type})`);
    else unknownFields(v, t, `${path}/${k}`, out);
  }
}

/** The kinds this can check, as "apiVersion/kind". */
export function knownKinds(): string[] {
  return [...MODELS.keys()];
}

/**
 * What is wrong with `obj` as a Kubernetes object: schema violations and
 * unknown fields, each "path: message"; empty when it is valid. An object of
 * a kind with no schema here is an error too.
 */
export function validateK8sObject(obj: unknown): string[] {
  if (!obj || typeof obj !== "object") return ["not an object"];
  const { apiVersion, kind } = obj as { apiVersion?: unknown; kind?: unknown };
  if (typeof apiVersion !== "string" || typeof kind !== "string") return ["apiVersion and kind must be strings"];
  const Model = MODELS.get(`${apiVersion}/${kind}`);
  if (!Model) return [`no schema for ${apiVersion}/${kind}`];
  const errors: string[] = [];
  try {
    new Model(obj).validate();
  } catch (err) {
    const details = (err as { errors?: { instancePath?: string; message?: string }[] }).errors;
    if (Array.isArray(details) && details.length) for (const d of details) errors.push(`${d.instancePath ?? ""}: ${d.message ?? "invalid"}`);
    else errors.push((err as Error).message);
  }
  const generated = generatedModelOf(apiVersion, kind);
  if (generated) unknownFields(obj, generated, "", errors);
  return errors;
}
