/**
 * What the lab's Kubernetes API stand-in (kube-api-store.ts) accepts and
 * answers, as the API server does for the subset it serves: validation and
 * normalisation of Service and EndpointSlice bodies (field errors worded like
 * the API server's), label selectors, and `Status` objects. Pure.
 *
 * Hostile input: every field is type-checked before use, only known fields
 * are copied into fresh objects (unknown ones are dropped, as the API
 * server's default field validation does), and every list is bounded.
 */
import { isAddressOf as isFamilyAddress } from "../../common/src/addresses.js";

/** Kubernetes' label on an EndpointSlice naming its Service (read by kube-proxy). */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

export const MAX_PORTS = 100;
export const MAX_ENDPOINTS = 1000;
export const MAX_ADDRESSES = 100;
const MAX_OWNER_REFERENCES = 20;
/** The API server's limit on all annotations of an object together, bytes. */
const MAX_ANNOTATION_BYTES = 256 * 1024;

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export const isDns1035Label = (s: string): boolean => s.length <= 63 && DNS1035_LABEL.test(s);
export const isDns1123Label = (s: string): boolean => s.length <= 63 && DNS1123_LABEL.test(s);
export const isDns1123Subdomain = (s: string): boolean => s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
export const isIPv4 = (s: string): boolean => IPV4.test(s);

/** A Service's IP family and an EndpointSlice's addressType, as the API names them. */
export type IpFamily = "IPv4" | "IPv6";
const IP_FAMILIES: readonly IpFamily[] = ["IPv4", "IPv6"];

/** Whether `s` is a valid address of `family` (common/src/addresses.ts: IPv6 in any text form, no zone). */
export const isAddressOf = (s: string, family: IpFamily): boolean => isFamilyAddress(s, family === "IPv6" ? "ipv6" : "ipv4");

/** A label or annotation key: an optional DNS-1123 subdomain prefix and `/`, then a name of at most 63 characters. */
export function isQualifiedName(key: string): boolean {
  const slash = key.indexOf("/");
  const [prefix, name] = slash < 0 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (prefix !== undefined && !isDns1123Subdomain(prefix)) return false;
  return name.length <= 63 && QUALIFIED_NAME.test(name);
}

export const isLabelValue = (v: string): boolean => v.length <= 63 && LABEL_VALUE.test(v);

// ---------------------------------------------------------------------------------------------
// Status objects

export interface StatusCause {
  reason: string;
  message: string;
  field: string;
}

export interface KubeStatus {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: StatusCause[] };
  code: number;
}

const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "AlreadyExists",
  413: "RequestEntityTooLarge",
  415: "UnsupportedMediaType",
  422: "Invalid",
  500: "InternalError",
};

/** A failure `Status` as the API server returns it. */
export function failure(code: number, message: string, opts: { reason?: string; details?: KubeStatus["details"] } = {}): KubeStatus {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason: opts.reason ?? REASONS[code] ?? "Unknown",
    ...(opts.details ? { details: opts.details } : {}),
    code,
  };
}

// ---------------------------------------------------------------------------------------------
// Field errors, worded like k8s.io/apimachinery/pkg/util/validation/field

type FieldErrorType = "Required" | "Invalid" | "NotSupported" | "Duplicate" | "TooMany" | "TooLong" | "Forbidden";

interface FieldError {
  type: FieldErrorType;
  field: string;
  message: string;
}

const CAUSE_REASON: Record<FieldErrorType, string> = {
  Required: "FieldValueRequired",
  Invalid: "FieldValueInvalid",
  NotSupported: "FieldValueNotSupported",
  Duplicate: "FieldValueDuplicate",
  TooMany: "FieldValueTooMany",
  TooLong: "FieldValueTooLong",
  Forbidden: "FieldValueForbidden",
};

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  if (Array.isArray(v)) return `array of ${v.length}`;
  return typeof v;
}

/** Collects field errors for one object. */
class Errors {
  readonly list: FieldError[] = [];
  required(field: string, detail = ""): void {
    this.list.push({ type: "Required", field, message: `${field}: Required value${detail ? `: ${detail}` : ""}` });
  }
  invalid(field: string, value: unknown, detail: string): void {
    this.list.push({ type: "Invalid", field, message: `${field}: Invalid value: ${show(value)}: ${detail}` });
  }
  notSupported(field: string, value: unknown, supported: readonly string[], why = ""): void {
    const values = supported.map((s) => JSON.stringify(s)).join(", ");
    this.list.push({ type: "NotSupported", field, message: `${field}: Unsupported value: ${show(value)}: supported values: ${values}${why ? ` (${why})` : ""}` });
  }
  duplicate(field: string, value: unknown): void {
    this.list.push({ type: "Duplicate", field, message: `${field}: Duplicate value: ${show(value)}` });
  }
  tooMany(field: string, n: number, max: number): void {
    this.list.push({ type: "TooMany", field, message: `${field}: Too many: ${n}: must have at most ${max} items` });
  }
  tooLong(field: string, max: number): void {
    this.list.push({ type: "TooLong", field, message: `${field}: Too long: may not be more than ${max} bytes` });
  }
  forbidden(field: string, detail: string): void {
    this.list.push({ type: "Forbidden", field, message: `${field}: Forbidden: ${detail}` });
  }
  /** The 422 `Status` for `kind` "name", when there are errors. */
  status(kind: string, name: string, group?: string): KubeStatus | undefined {
    if (this.list.length === 0) return undefined;
    const messages = this.list.map((e) => e.message);
    const summary = messages.length === 1 ? messages[0]! : `[${messages.join(", ")}]`;
    return failure(422, `${kind} ${JSON.stringify(name)} is invalid: ${summary}`, {
      details: {
        name,
        ...(group ? { group } : {}),
        kind,
        causes: this.list.map((e) => ({ reason: CAUSE_REASON[e.type], message: e.message.slice(e.field.length + 2), field: e.field })),
      },
    });
  }
}

// ---------------------------------------------------------------------------------------------
// JSON access that never follows a prototype

type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Own property `k` of `o`, else undefined. */
function get(o: Json, k: string): unknown {
  return Object.hasOwn(o, k) ? o[k] : undefined;
}

function isPort(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 65535;
}

// ---------------------------------------------------------------------------------------------
// Object metadata

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

/** What a create request's metadata may set; the server fills the rest. */
export type MetaInput = Pick<ObjectMeta, "name" | "labels" | "annotations" | "ownerReferences">;

function stringMap(v: unknown, field: string, errs: Errors, checkKey: (k: string) => boolean, checkValue?: (v: string) => boolean): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) {
    errs.invalid(field, v, "must be a map of strings");
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (!checkKey(k)) errs.invalid(`${field}`, k, "a qualified name: an optional DNS-1123 subdomain prefix and '/', then at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends");
    else if (typeof val !== "string") errs.invalid(`${field}[${k}]`, val, "must be a string");
    else if (checkValue && !checkValue(val)) errs.invalid(`${field}[${k}]`, val, "a valid label value: at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends, or empty");
    else Object.defineProperty(out, k, { value: val, enumerable: true, writable: true, configurable: true });
  }
  return Object.keys(out).length ? out : undefined;
}

function ownerReferences(v: unknown, errs: Errors): OwnerReference[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    errs.invalid("metadata.ownerReferences", v, "must be a list");
    return undefined;
  }
  if (v.length > MAX_OWNER_REFERENCES) {
    errs.tooMany("metadata.ownerReferences", v.length, MAX_OWNER_REFERENCES);
    return undefined;
  }
  const out: OwnerReference[] = [];
  v.forEach((r: unknown, i) => {
    const field = `metadata.ownerReferences[${i}]`;
    if (!isObject(r)) return errs.invalid(field, r, "must be an object");
    const ref: Partial<OwnerReference> = {};
    for (const k of ["apiVersion", "kind", "name", "uid"] as const) {
      const s = get(r, k);
      if (typeof s !== "string" || s === "" || s.length > 253) errs.required(`${field}.${k}`, "a string of 1..253 characters");
      else ref[k] = s;
    }
    for (const k of ["controller", "blockOwnerDeletion"] as const) {
      const b = get(r, k);
      if (b === undefined || b === null) continue;
      if (typeof b !== "boolean") errs.invalid(`${field}.${k}`, b, "must be a boolean");
      else ref[k] = b;
    }
    if (ref.apiVersion && ref.kind && ref.name && ref.uid) out.push(ref as OwnerReference);
  });
  return out.length ? out : undefined;
}

function metadata(body: Json, namespace: string, errs: Errors, nameOk: (n: string) => boolean, nameRule: string): { meta: MetaInput; name: string; mismatch?: string } {
  const m = get(body, "metadata");
  if (!isObject(m)) {
    errs.required("metadata.name", "name or generateName is required");
    return { meta: { name: "" }, name: "" };
  }
  const name = get(m, "name");
  const out: MetaInput = { name: typeof name === "string" ? name : "" };
  if (name === undefined || name === "") {
    errs.required("metadata.name", get(m, "generateName") !== undefined ? "the lab's API stand-in does not generate names: set metadata.name" : "name or generateName is required");
  } else if (typeof name !== "string" || !nameOk(name)) {
    errs.invalid("metadata.name", name, nameRule);
  }
  const ns = get(m, "namespace");
  const labels = stringMap(get(m, "labels"), "metadata.labels", errs, isQualifiedName, isLabelValue);
  if (labels) out.labels = labels;
  const annotations = stringMap(get(m, "annotations"), "metadata.annotations", errs, isQualifiedName);
  if (annotations) {
    const bytes = Object.entries(annotations).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    if (bytes > MAX_ANNOTATION_BYTES) errs.tooLong("metadata.annotations", MAX_ANNOTATION_BYTES);
    else out.annotations = annotations;
  }
  const owners = ownerReferences(get(m, "ownerReferences"), errs);
  if (owners) out.ownerReferences = owners;
  const mismatch = ns !== undefined && ns !== "" && ns !== namespace ? (typeof ns === "string" ? ns : show(ns)) : undefined;
  return { meta: out, name: out.name, ...(mismatch !== undefined ? { mismatch } : {}) };
}

/** 400 when the body's kind or apiVersion names another type, or its namespace another namespace. */
function typeMismatch(body: Json, kind: string, apiVersion: string, namespace: string, mismatch: string | undefined): KubeStatus | undefined {
  const k = get(body, "kind");
  const v = get(body, "apiVersion");
  if ((k !== undefined && k !== kind) || (v !== undefined && v !== apiVersion)) {
    return failure(400, `the object provided is unrecognized (must be of type ${kind}): got kind ${show(k)}, apiVersion ${show(v)}; want ${apiVersion} ${kind}`);
  }
  if (mismatch !== undefined) {
    return failure(400, `the namespace of the provided object (${mismatch}) does not match the namespace sent on the request (${namespace})`);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Services

export type Protocol = "TCP" | "UDP";
const PROTOCOLS: readonly Protocol[] = ["TCP", "UDP"];

export interface ServicePort {
  name?: string;
  protocol: Protocol;
  port: number;
  targetPort: number | string;
  nodePort?: number;
}

export interface ServiceSpec {
  type: "ClusterIP" | "NodePort";
  ports: ServicePort[];
  clusterIP: string;
  clusterIPs: string[];
  ipFamilies: [IpFamily];
  ipFamilyPolicy: "SingleStack";
  sessionAffinity: "None";
  internalTrafficPolicy: "Cluster";
  externalTrafficPolicy?: "Cluster";
}

export interface Service {
  apiVersion: "v1";
  kind: "Service";
  metadata: ObjectMeta;
  spec: ServiceSpec;
  status: { loadBalancer: Record<string, never> };
}

/** A valid Service create request, before the server allocates its ClusterIP and NodePorts. */
export interface ServiceInput {
  meta: MetaInput;
  type: ServiceSpec["type"];
  ports: ServicePort[];
  /** The one family it asks for (ipFamilies; IPv4 when unset). */
  family: IpFamily;
  /** A ClusterIP the request asks for. */
  clusterIP?: string;
}

const why = "the lab's API stand-in serves selector-less ClusterIP and NodePort Services, as netmatrix's coordinator creates them";

/** Enumerated string field: `undefined`/"" → the default, one of `supported` → itself, else an error. */
function oneOf<T extends string>(spec: Json, key: string, supported: readonly T[], dflt: T, errs: Errors, known: readonly string[] = supported): T {
  const v = get(spec, key);
  if (v === undefined || v === null || v === "") return dflt;
  if (typeof v === "string" && (supported as readonly string[]).includes(v)) return v as T;
  errs.notSupported(`spec.${key}`, v, supported, typeof v === "string" && known.includes(v) ? why : "");
  return dflt;
}

/** Check a Service create body for `namespace`: the input, or the 400/422 Status to answer. */
export function checkService(body: unknown, namespace: string): { ok: true; value: ServiceInput } | { ok: false; status: KubeStatus } {
  if (!isObject(body)) return { ok: false, status: failure(400, "the object provided is unrecognized (must be of type Service): not a JSON object") };
  const errs = new Errors();
  const { meta, name, mismatch } = metadata(body, namespace, errs, isDns1035Label, "a DNS-1035 label: at most 63 of [a-z0-9-], starting with a letter, ending alphanumeric");
  const bad = typeMismatch(body, "Service", "v1", namespace, mismatch);
  if (bad) return { ok: false, status: bad };
  const spec = get(body, "spec");
  if (!isObject(spec)) {
    errs.required("spec.ports");
    return { ok: false, status: errs.status("Service", name)! };
  }
  const type = oneOf(spec, "type", ["ClusterIP", "NodePort"] as const, "ClusterIP", errs, ["LoadBalancer", "ExternalName"]);
  const selector = get(spec, "selector");
  if (isObject(selector) && Object.keys(selector).length > 0) {
    errs.forbidden("spec.selector", "the lab has no pods and no endpoints controller: create a selector-less Service and an EndpointSlice");
  } else if (selector !== undefined && selector !== null && !isObject(selector)) {
    errs.invalid("spec.selector", selector, "must be a map of strings");
  }
  oneOf(spec, "sessionAffinity", ["None"] as const, "None", errs, ["ClientIP"]);
  oneOf(spec, "internalTrafficPolicy", ["Cluster"] as const, "Cluster", errs, ["Local"]);
  const etp = get(spec, "externalTrafficPolicy");
  if (etp !== undefined && etp !== null && etp !== "") {
    if (type !== "NodePort") errs.invalid("spec.externalTrafficPolicy", etp, "may only be set when `type` is 'NodePort' or 'LoadBalancer'");
    else oneOf(spec, "externalTrafficPolicy", ["Cluster"] as const, "Cluster", errs, ["Local"]);
  }
  const families = get(spec, "ipFamilies");
  let family: IpFamily = "IPv4";
  if (families !== undefined && families !== null) {
    if (!Array.isArray(families) || families.length > 1 || !families.every((f) => IP_FAMILIES.includes(f as IpFamily))) {
      errs.notSupported("spec.ipFamilies", families, ["IPv4", "IPv6"], "the lab's API stand-in makes single-stack Services: list one family");
    } else if (families.length === 1) family = families[0] as IpFamily;
  }
  oneOf(spec, "ipFamilyPolicy", ["SingleStack", "PreferDualStack"] as const, "SingleStack", errs, ["RequireDualStack"]);
  const externalIPs = get(spec, "externalIPs");
  if (Array.isArray(externalIPs) && externalIPs.length > 0) errs.forbidden("spec.externalIPs", why);

  // ClusterIP (and clusterIPs, which must agree with it).
  let clusterIP: string | undefined;
  const cip = get(spec, "clusterIP");
  const cips = get(spec, "clusterIPs");
  if (cip === "None") errs.notSupported("spec.clusterIP", cip, ["", "an address in 10.96.0.0/16 or fd00:10:96::/112"], "headless Services have no rules to program");
  else if (cip !== undefined && cip !== null && cip !== "") {
    if (typeof cip !== "string" || !isAddressOf(cip, family)) errs.invalid("spec.clusterIP", cip, `must be a valid ${family} address`);
    else clusterIP = cip;
  }
  if (cips !== undefined && cips !== null) {
    if (!Array.isArray(cips) || cips.length > 1 || (cips.length === 1 && (typeof cips[0] !== "string" || (cips[0] !== clusterIP && !(cips[0] === "" && !clusterIP))))) {
      errs.invalid("spec.clusterIPs", cips, "must hold at most one address, the same as spec.clusterIP");
    }
  }

  // Ports.
  const ports: ServicePort[] = [];
  const rawPorts = get(spec, "ports");
  if (!Array.isArray(rawPorts) || rawPorts.length === 0) {
    if (rawPorts !== undefined && rawPorts !== null && !Array.isArray(rawPorts)) errs.invalid("spec.ports", rawPorts, "must be a list");
    else errs.required("spec.ports");
  } else if (rawPorts.length > MAX_PORTS) {
    errs.tooMany("spec.ports", rawPorts.length, MAX_PORTS);
  } else {
    const names = new Set<string>();
    const numbers = new Set<string>();
    rawPorts.forEach((p: unknown, i) => {
      const field = `spec.ports[${i}]`;
      if (!isObject(p)) return errs.invalid(field, p, "must be an object");
      const out: Partial<ServicePort> = {};
      const pname = get(p, "name");
      if (pname === undefined || pname === null || pname === "") {
        if (rawPorts.length > 1) errs.required(`${field}.name`);
      } else if (typeof pname !== "string" || !isDns1123Label(pname)) {
        errs.invalid(`${field}.name`, pname, "a DNS-1123 label: at most 63 of [a-z0-9-], alphanumeric at both ends");
      } else if (names.has(pname)) {
        errs.duplicate(`${field}.name`, pname);
      } else {
        names.add(pname);
        out.name = pname;
      }
      const proto = get(p, "protocol");
      if (proto === undefined || proto === null || proto === "") out.protocol = "TCP";
      else if (proto === "TCP" || proto === "UDP") out.protocol = proto;
      else errs.notSupported(`${field}.protocol`, proto, PROTOCOLS, proto === "SCTP" ? "the lab's rules are TCP and UDP" : "");
      const port = get(p, "port");
      if (port === undefined || port === null) errs.required(`${field}.port`);
      else if (!isPort(port)) errs.invalid(`${field}.port`, port, "must be between 1 and 65535, inclusive");
      else out.port = port;
      if (out.port !== undefined && out.protocol) {
        const key = `${out.port}/${out.protocol}`;
        if (numbers.has(key)) errs.duplicate(`${field}`, `${out.port}/${out.protocol}`);
        numbers.add(key);
      }
      const target = get(p, "targetPort");
      if (target === undefined || target === null || target === 0 || target === "") out.targetPort = out.port ?? 0;
      else if (isPort(target)) out.targetPort = target;
      else if (typeof target === "string" && target.length <= 15 && IANA_SVC_NAME.test(target) && /[a-z]/.test(target) && !target.includes("--")) out.targetPort = target;
      else errs.invalid(`${field}.targetPort`, target, "must be between 1 and 65535, inclusive, or a port name (IANA_SVC_NAME)");
      const nodePort = get(p, "nodePort");
      if (nodePort !== undefined && nodePort !== null && nodePort !== 0) {
        if (type !== "NodePort") errs.forbidden(`${field}.nodePort`, "may not be used when `type` is 'ClusterIP'");
        else if (!isPort(nodePort)) errs.invalid(`${field}.nodePort`, nodePort, "must be between 1 and 65535, inclusive");
        else out.nodePort = nodePort;
      }
      if (out.protocol && out.port !== undefined && out.targetPort !== undefined) ports.push(out as ServicePort);
    });
  }
  const status = errs.status("Service", name);
  if (status) return { ok: false, status };
  return { ok: true, value: { meta, type, ports, family, ...(clusterIP ? { clusterIP } : {}) } };
}

// ---------------------------------------------------------------------------------------------
// EndpointSlices

export interface Endpoint {
  addresses: string[];
  conditions: { ready?: boolean; serving?: boolean; terminating?: boolean };
  nodeName?: string;
  hostname?: string;
  zone?: string;
}

export interface EndpointPort {
  name?: string;
  protocol: Protocol;
  port?: number;
}

export interface EndpointSlice {
  apiVersion: "discovery.k8s.io/v1";
  kind: "EndpointSlice";
  metadata: ObjectMeta;
  addressType: IpFamily;
  endpoints: Endpoint[];
  ports: EndpointPort[];
}

export interface EndpointSliceInput {
  meta: MetaInput;
  addressType: IpFamily;
  endpoints: Endpoint[];
  ports: EndpointPort[];
}

function endpoint(e: unknown, field: string, family: IpFamily, errs: Errors): Endpoint | undefined {
  if (!isObject(e)) {
    errs.invalid(field, e, "must be an object");
    return undefined;
  }
  const out: Endpoint = { addresses: [], conditions: {} };
  const addrs = get(e, "addresses");
  if (!Array.isArray(addrs) || addrs.length === 0) errs.required(`${field}.addresses`, "must contain at least 1 address");
  else if (addrs.length > MAX_ADDRESSES) errs.tooMany(`${field}.addresses`, addrs.length, MAX_ADDRESSES);
  else
    addrs.forEach((a: unknown, j) => {
      if (typeof a !== "string" || !isAddressOf(a, family)) errs.invalid(`${field}.addresses[${j}]`, a, `must be a valid ${family} address`);
      else out.addresses.push(a);
    });
  const cond = get(e, "conditions");
  if (cond !== undefined && cond !== null) {
    if (!isObject(cond)) errs.invalid(`${field}.conditions`, cond, "must be an object");
    else
      for (const k of ["ready", "serving", "terminating"] as const) {
        const b = get(cond, k);
        if (b === undefined || b === null) continue;
        if (typeof b !== "boolean") errs.invalid(`${field}.conditions.${k}`, b, "must be a boolean");
        else out.conditions[k] = b;
      }
  }
  for (const [k, ok, rule] of [
    ["nodeName", isDns1123Subdomain, "a DNS-1123 subdomain"],
    ["hostname", isDns1123Label, "a DNS-1123 label"],
    ["zone", (s: string) => s.length <= 253, "at most 253 characters"],
  ] as const) {
    const v = get(e, k);
    if (v === undefined || v === null) continue;
    if (typeof v !== "string" || !ok(v)) errs.invalid(`${field}.${k}`, v, rule);
    else out[k] = v;
  }
  return out;
}

/** Check an EndpointSlice create body for `namespace`: the input, or the 400/422 Status to answer. */
export function checkEndpointSlice(body: unknown, namespace: string): { ok: true; value: EndpointSliceInput } | { ok: false; status: KubeStatus } {
  if (!isObject(body)) return { ok: false, status: failure(400, "the object provided is unrecognized (must be of type EndpointSlice): not a JSON object") };
  const errs = new Errors();
  const { meta, name, mismatch } = metadata(body, namespace, errs, isDns1123Subdomain, "a DNS-1123 subdomain: at most 253 of [a-z0-9.-], alphanumeric at both ends");
  const bad = typeMismatch(body, "EndpointSlice", "discovery.k8s.io/v1", namespace, mismatch);
  if (bad) return { ok: false, status: bad };
  const addressType = get(body, "addressType");
  let family: IpFamily = "IPv4";
  if (addressType === undefined || addressType === null || addressType === "") errs.required("addressType");
  else if (addressType === "IPv4" || addressType === "IPv6") family = addressType;
  else errs.notSupported("addressType", addressType, IP_FAMILIES, addressType === "FQDN" ? "the lab's kube-proxy programs IP endpoints only" : "");
  const endpoints: Endpoint[] = [];
  const rawEndpoints = get(body, "endpoints");
  if (rawEndpoints !== undefined && rawEndpoints !== null) {
    if (!Array.isArray(rawEndpoints)) errs.invalid("endpoints", rawEndpoints, "must be a list");
    else if (rawEndpoints.length > MAX_ENDPOINTS) errs.tooMany("endpoints", rawEndpoints.length, MAX_ENDPOINTS);
    else
      rawEndpoints.forEach((e: unknown, i) => {
        const out = endpoint(e, `endpoints[${i}]`, family, errs);
        if (out) endpoints.push(out);
      });
  }
  const ports: EndpointPort[] = [];
  const rawPorts = get(body, "ports");
  if (rawPorts !== undefined && rawPorts !== null) {
    if (!Array.isArray(rawPorts)) errs.invalid("ports", rawPorts, "must be a list");
    else if (rawPorts.length > MAX_PORTS) errs.tooMany("ports", rawPorts.length, MAX_PORTS);
    else {
      const names = new Set<string>();
      rawPorts.forEach((p: unknown, i) => {
        const field = `ports[${i}]`;
        if (!isObject(p)) return errs.invalid(field, p, "must be an object");
        const out: Partial<EndpointPort> = {};
        const pname = get(p, "name");
        if (pname !== undefined && pname !== null) {
          if (typeof pname !== "string" || (pname !== "" && !isDns1123Label(pname))) errs.invalid(`${field}.name`, pname, "a DNS-1123 label, or empty");
          else if (names.has(pname)) errs.duplicate(`${field}.name`, pname);
          else {
            names.add(pname);
            out.name = pname;
          }
        }
        const proto = get(p, "protocol");
        if (proto === undefined || proto === null || proto === "") out.protocol = "TCP";
        else if (proto === "TCP" || proto === "UDP") out.protocol = proto;
        else errs.notSupported(`${field}.protocol`, proto, PROTOCOLS);
        const port = get(p, "port");
        if (port !== undefined && port !== null) {
          if (!isPort(port)) errs.invalid(`${field}.port`, port, "must be between 1 and 65535, inclusive");
          else out.port = port;
        }
        if (out.protocol) ports.push(out as EndpointPort);
      });
    }
  }
  const status = errs.status("EndpointSlice", name, "discovery.k8s.io");
  if (status) return { ok: false, status };
  return { ok: true, value: { meta, addressType: family, endpoints, ports } };
}

// ---------------------------------------------------------------------------------------------
// Label selectors (k8s.io/apimachinery/pkg/labels: equality- and set-based)

export interface Requirement {
  key: string;
  op: "exists" | "!exists" | "=" | "!=" | "in" | "notin";
  values: string[];
}

const KEY_CHAR = /[A-Za-z0-9._/-]/;
const VALUE_CHAR = /[A-Za-z0-9._-]/;

/** Parse a label selector; throws an Error whose message says what is wrong (answer 400). Empty: every object. */
export function parseSelector(text: string): Requirement[] {
  const reqs: Requirement[] = [];
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
  };
  const word = (re: RegExp) => {
    const start = i;
    while (i < text.length && re.test(text[i]!)) i++;
    return text.slice(start, i);
  };
  const fail = (what: string): never => {
    throw new Error(`unable to parse requirement: ${what} at position ${i} of ${JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text)}`);
  };
  const value = () => {
    ws();
    const v = word(VALUE_CHAR);
    if (!isLabelValue(v)) fail(`invalid label value ${JSON.stringify(v)}`);
    return v;
  };
  ws();
  if (i === text.length) return reqs;
  for (;;) {
    ws();
    const negated = text[i] === "!";
    if (negated) {
      i++;
      ws();
    }
    const key = word(KEY_CHAR);
    if (key === "") fail("expected a label key");
    if (!isQualifiedName(key)) fail(`invalid label key ${JSON.stringify(key)}`);
    ws();
    const atEnd = () => i === text.length || text[i] === ",";
    if (negated) {
      if (!atEnd()) fail("expected ',' or the end after '!key'");
      reqs.push({ key, op: "!exists", values: [] });
    } else if (atEnd()) {
      reqs.push({ key, op: "exists", values: [] });
    } else if (text.startsWith("==", i) || text.startsWith("!=", i)) {
      const op = text[i] === "!" ? "!=" : "=";
      i += 2;
      reqs.push({ key, op, values: [value()] });
    } else if (text[i] === "=") {
      i++;
      reqs.push({ key, op: "=", values: [value()] });
    } else {
      const op = word(/[a-z]/);
      if (op !== "in" && op !== "notin") fail(`unknown operator ${JSON.stringify(op || text[i])}: use =, ==, !=, in, notin, or a bare key`);
      ws();
      if (text[i] !== "(") fail(`expected '(' after ${op}`);
      i++;
      const values: string[] = [];
      for (;;) {
        values.push(value());
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === ")") {
          i++;
          break;
        }
        fail("expected ',' or ')'");
      }
      if (values.length === 1 && values[0] === "") fail(`the values of '${op}' cannot be empty`);
      reqs.push({ key, op: op as "in" | "notin", values });
    }
    ws();
    if (i === text.length) return reqs;
    if (text[i] !== ",") fail("expected ','");
    i++;
  }
}

/** Whether `labels` satisfy every requirement. */
export function matches(labels: Readonly<Record<string, string>> | undefined, reqs: readonly Requirement[]): boolean {
  return reqs.every((r) => {
    const has = labels !== undefined && Object.hasOwn(labels, r.key);
    const v = has ? labels[r.key]! : undefined;
    switch (r.op) {
      case "exists":
        return has;
      case "!exists":
        return !has;
      case "=":
        return v === r.values[0];
      case "!=":
        return v !== r.values[0];
      case "in":
        return v !== undefined && r.values.includes(v);
      case "notin":
        return v === undefined || !r.values.includes(v);
    }
  });
}
