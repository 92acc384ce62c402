/**
 * The lab's Kubernetes API stand-in, as pure request handling: what
 * coordinator/src/k8s/client.ts calls, answered as the API server answers it,
 * from objects held in memory. No sockets and no iptables here: kube-api.ts
 * reads the request, calls {@link KubeApiStore.handle}, applies the returned
 * {@link ProxySync}s through the lab's kube-proxy (lab-services.ts) and writes
 * the response.
 *
 * Served (bearer token required, compared in constant time):
 *   /api/v1/namespaces/NS/services                           GET (labelSelector), POST (dryRun=All too)
 *   /api/v1/namespaces/NS/services/NAME                      GET, DELETE
 *   /apis/discovery.k8s.io/v1/namespaces/NS/endpointslices        GET (labelSelector), POST
 *   /apis/discovery.k8s.io/v1/namespaces/NS/endpointslices/NAME   GET, DELETE
 *   /api/v1/nodes/NAME                                       GET: 404 (the lab has no Node objects)
 * and, without a token as for the API server's public info: /readyz, /livez,
 * /healthz, /version. Everything else: 404 or 405 Status.
 *
 * Like the API server, creating a Service allocates its ClusterIP
 * (10.96.0.0/16; an IPv6 Service, in a dual-stack lab only, from
 * fd00:10:96::/112) and, for type NodePort, a NodePort per port number
 * (30000–32767; the TCP and UDP ports of one number share it); deleting a
 * Service deletes the EndpointSlices it owns (the garbage collector's job).
 * Like kube-proxy, every change to a Service or to an EndpointSlice labelled
 * kubernetes.io/service-name yields that Service's desired rules: its
 * ClusterIP and NodePorts to the first ready endpoint, port by port name
 * and protocol (the lab programs one backend per Service; netmatrix
 * exposes exactly one agent).
 */
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import type { L4 } from "./lab-services-rules.js";
import { freeClusterIp, freeClusterIp6, isLabClusterIp, isLabClusterIp6, NODE_PORT_MAX, NODE_PORT_MIN, type ProxyPort } from "./lab-services.js";
import {
  checkEndpointSlice,
  checkService,
  failure,
  isObject,
  matches,
  parseSelector,
  SERVICE_NAME_LABEL,
  type EndpointSlice,
  type IpFamily,
  type KubeStatus,
  type ObjectMeta,
  type Requirement,
  type Service,
} from "./kube-api-objects.js";

/** Request bodies above this are refused (413), as the API server refuses those above its limit. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Objects (Services and EndpointSlices) held at once; more are refused like an exceeded quota (403). */
export const MAX_OBJECTS = 512;
/** Bytes of stored objects (as JSON) held at once. */
export const MAX_STORED_BYTES = 32 * 1024 * 1024;

/** The version /version reports. */
const VERSION = { major: "1", minor: "30", gitVersion: "v1.30.0-netmatrix-lab", platform: "linux/amd64" };

export interface KubeApiRequest {
  method: string;
  /** The request target: path and query. */
  url: string;
  /** The Authorization header. */
  authorization?: string | undefined;
  /** The Content-Type header. */
  contentType?: string | undefined;
  body?: Buffer | string;
}

export interface KubeApiResponse {
  status: number;
  /** JSON (objects, lists, Status) or, for the health endpoints, text. */
  body: unknown;
  contentType: "application/json" | "text/plain; charset=utf-8";
}

/** What kube-proxy should make of Service `namespace`/`name` now: `service` to program, or none (remove its rules). */
export interface ProxySync {
  namespace: string;
  name: string;
  /** `family` only for IPv6 (IPv4 rules as before families). */
  service?: { clusterIP: string; ports: ProxyPort[]; backend: string; family?: "ipv6" };
}

export interface KubeApiResult {
  response: KubeApiResponse;
  /** Services whose rules changed, in order; empty for reads and refusals. */
  sync: ProxySync[];
}

export interface KubeApiStoreOptions {
  /** The bearer token clients present (the ServiceAccount token the lab mounts). */
  token: string;
  /** Namespaces that exist (objects can be created only there). */
  namespaces: readonly string[];
  /** IPv6 Services too, ClusterIPs from fd00:10:96::/112 (a dual-stack lab); else IPv6 is "not configured", as on an IPv4 cluster. */
  ipv6?: boolean;
  now?: () => Date;
  uid?: () => string;
  maxObjects?: number;
  maxStoredBytes?: number;
}

type Kind = "services" | "endpointslices";

interface Route {
  kind: Kind;
  namespace: string;
  name?: string;
}

const JSON_TYPE = "application/json" as const;
const TEXT_TYPE = "text/plain; charset=utf-8" as const;

const json = (status: number, body: unknown): KubeApiResponse => ({ status, body, contentType: JSON_TYPE });
const fail = (status: KubeStatus): KubeApiResult => ({ response: json(status.code, status), sync: [] });

function sha256(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** Split a request target into decoded path segments and its query; undefined when it is no origin-form path. */
function parseTarget(url: string): { segments: string[]; query: URLSearchParams } | undefined {
  if (!url.startsWith("/") || url.startsWith("//")) return undefined;
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  const segments: string[] = [];
  for (const raw of path.split("/").slice(1)) {
    if (raw === "") continue;
    try {
      segments.push(decodeURIComponent(raw));
    } catch {
      return undefined;
    }
  }
  return { segments, query: new URLSearchParams(q < 0 ? "" : url.slice(q + 1)) };
}

function route(segments: string[]): Route | "node" | undefined {
  const s = segments;
  if (s[0] === "api" && s[1] === "v1" && s[2] === "nodes" && s.length === 4) return "node";
  const [kind, rest] =
    s[0] === "api" && s[1] === "v1" && s[2] === "namespaces" && s[4] === "services"
      ? (["services", s.slice(5)] as const)
      : s[0] === "apis" && s[1] === "discovery.k8s.io" && s[2] === "v1" && s[3] === "namespaces" && s[5] === "endpointslices"
        ? (["endpointslices", s.slice(6)] as const)
        : [undefined, []];
  if (!kind || rest.length > 1) return undefined;
  const namespace = kind === "services" ? s[3]! : s[4]!;
  return { kind, namespace, ...(rest.length === 1 ? { name: rest[0]! } : {}) };
}

const KIND_NAMES: Record<Kind, { kind: string; group?: string; list: string; apiVersion: string }> = {
  services: { kind: "Service", list: "ServiceList", apiVersion: "v1" },
  endpointslices: { kind: "EndpointSlice", group: "discovery.k8s.io", list: "EndpointSliceList", apiVersion: "discovery.k8s.io/v1" },
};

function notFound(kind: Kind, name: string): KubeStatus {
  const group = KIND_NAMES[kind].group;
  return failure(404, `${kind}${group ? `.${group}` : ""} ${JSON.stringify(name)} not found`, { details: { name, ...(group ? { group } : {}), kind } });
}

export class KubeApiStore {
  private readonly services = new Map<string, Service>();
  private readonly slices = new Map<string, EndpointSlice>();
  private readonly sizes = new Map<string, number>();
  private storedBytes = 0;
  private version = 1;
  private readonly tokenHash: Buffer;
  private readonly namespaces: Set<string>;
  private readonly now: () => Date;
  private readonly uid: () => string;
  private readonly maxObjects: number;
  private readonly maxStoredBytes: number;
  private readonly ipv6: boolean;

  constructor(opts: KubeApiStoreOptions) {
    this.ipv6 = opts.ipv6 === true;
    if (opts.token.length < 16) throw new Error("the kube-api token must have at least 16 characters");
    this.tokenHash = sha256(opts.token);
    this.namespaces = new Set(opts.namespaces);
    this.now = opts.now ?? (() => new Date());
    this.uid = opts.uid ?? randomUUID;
    this.maxObjects = opts.maxObjects ?? MAX_OBJECTS;
    this.maxStoredBytes = opts.maxStoredBytes ?? MAX_STORED_BYTES;
  }

  /** Answer one request; never throws. */
  handle(req: KubeApiRequest): KubeApiResult {
    try {
      return this.dispatch(req);
    } catch (err) {
      return fail(failure(500, `the lab's API stand-in failed: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  /** Every Service, for tests and logs. */
  listAll(): { services: Service[]; slices: EndpointSlice[] } {
    return { services: [...this.services.values()], slices: [...this.slices.values()] };
  }

  private authorized(header: string | undefined): boolean {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
    // Hashes of equal length: the comparison takes the same time whatever was sent.
    return timingSafeEqual(sha256(m?.[1] ?? ""), this.tokenHash) && m !== null;
  }

  private dispatch(req: KubeApiRequest): KubeApiResult {
    const target = parseTarget(req.url);
    const method = req.method.toUpperCase();
    const path = target ? `/${target.segments.join("/")}` : "";
    if (target && method === "GET") {
      if (path === "/readyz" || path === "/livez" || path === "/healthz") return { response: { status: 200, body: "ok", contentType: TEXT_TYPE }, sync: [] };
      if (path === "/version") return { response: json(200, VERSION), sync: [] };
    }
    if (!this.authorized(req.authorization)) return fail(failure(401, "Unauthorized"));
    const r = target ? route(target.segments) : undefined;
    if (r === "node") return fail(failure(404, `nodes ${JSON.stringify(target!.segments[3])} not found`, { details: { name: target!.segments[3]!, kind: "nodes" } }));
    if (!r || !target) return fail(failure(404, "the server could not find the requested resource"));
    const bytes = req.body === undefined ? 0 : Buffer.byteLength(req.body);
    if (bytes > MAX_BODY_BYTES) return fail(failure(413, `the request body is ${bytes} bytes: the lab's API stand-in accepts at most ${MAX_BODY_BYTES}`));
    for (const unsupported of ["watch", "fieldSelector"]) {
      const v = target.query.get(unsupported);
      if (v !== null && v !== "" && v !== "false") return fail(failure(400, `${unsupported} is not supported by the lab's API stand-in`));
    }
    // dryRun: "All" on a create (validate, answer, store nothing), as the API server; any other value is refused.
    const dryRunValues = target.query.getAll("dryRun");
    if (dryRunValues.some((v) => v !== "All") || (dryRunValues.length > 0 && method !== "POST")) {
      return fail(failure(400, `dryRun ${JSON.stringify(dryRunValues.join(","))}: the lab's API stand-in supports only dryRun=All, on create`));
    }
    const dryRun = dryRunValues.length > 0;
    const allowed = r.name === undefined ? ["GET", "POST"] : ["GET", "DELETE"];
    if (!allowed.includes(method)) {
      return fail(
        failure(405, `the lab's API stand-in does not serve ${method} on ${r.name === undefined ? "a collection" : "an object"} of ${r.kind} (only ${allowed.join(", ")})`),
      );
    }
    if (method === "GET" && r.name === undefined) return this.list(r, target.query.get("labelSelector") ?? "");
    if (method === "GET") return this.read(r.kind, r.namespace, r.name!);
    if (method === "DELETE") {
      const opts = this.body(req, true);
      if ("status" in opts) return fail(opts.status);
      return this.remove(r.kind, r.namespace, r.name!, opts.value);
    }
    if (!/^application\/json\s*(;|$)/i.test(req.contentType ?? "")) {
      return fail(failure(415, `the body of the request was in an unknown format (${JSON.stringify(req.contentType ?? "")}) - accepted media types include: application/json`));
    }
    const body = this.body(req, false);
    if ("status" in body) return fail(body.status);
    if (!this.namespaces.has(r.namespace)) return fail(failure(404, `namespaces ${JSON.stringify(r.namespace)} not found`, { details: { name: r.namespace, kind: "namespaces" } }));
    return r.kind === "services" ? this.createService(r.namespace, body.value, dryRun) : this.createSlice(r.namespace, body.value, dryRun);
  }

  /** The JSON body (optional for DELETE: its DeleteOptions). */
  private body(req: KubeApiRequest, optional: boolean): { value: unknown } | { status: KubeStatus } {
    const raw = req.body === undefined ? Buffer.alloc(0) : typeof req.body === "string" ? Buffer.from(req.body) : req.body;
    if (raw.length === 0) return optional ? { value: undefined } : { status: failure(400, "the request has no body: send the object as JSON") };
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
    } catch {
      return { status: failure(400, "the request body is not valid UTF-8") };
    }
    if (optional && text.trim() === "") return { value: undefined };
    try {
      return { value: JSON.parse(text) as unknown };
    } catch (err) {
      return { status: failure(400, `the request body is not JSON: ${(err as Error).message.slice(0, 200)}`) };
    }
  }

  private key(namespace: string, name: string): string {
    return `${namespace}/${name}`;
  }

  private list(r: Route, selector: string): KubeApiResult {
    let reqs: Requirement[];
    try {
      reqs = parseSelector(selector);
    } catch (err) {
      return fail(failure(400, (err as Error).message));
    }
    const store: Map<string, Service | EndpointSlice> = r.kind === "services" ? this.services : this.slices;
    const items = [...store.values()]
      .filter((o) => o.metadata.namespace === r.namespace && matches(o.metadata.labels, reqs))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
      // As in the API server's lists: items carry no kind and apiVersion of their own.
      .map(({ kind: _kind, apiVersion: _apiVersion, ...rest }) => rest);
    const names = KIND_NAMES[r.kind];
    return { response: json(200, { kind: names.list, apiVersion: names.apiVersion, metadata: { resourceVersion: String(this.version) }, items }), sync: [] };
  }

  private read(kind: Kind, namespace: string, name: string): KubeApiResult {
    const obj = (kind === "services" ? this.services : this.slices).get(this.key(namespace, name));
    return obj ? { response: json(200, obj), sync: [] } : fail(notFound(kind, name));
  }

  private meta(
    namespace: string,
    input: { name: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: ObjectMeta["ownerReferences"] },
  ): ObjectMeta {
    this.version++;
    return {
      name: input.name,
      namespace,
      uid: this.uid(),
      resourceVersion: String(this.version),
      creationTimestamp: this.now()
        .toISOString()
        .replace(/\.\d{3}Z$/, "Z"),
      ...(input.labels ? { labels: input.labels } : {}),
      ...(input.annotations ? { annotations: input.annotations } : {}),
      ...(input.ownerReferences ? { ownerReferences: input.ownerReferences } : {}),
    };
  }

  /** The labels and annotations a dry-run create answers with (no uid, no resourceVersion: nothing was stored). */
  private dryMeta(input: { labels?: Record<string, string>; annotations?: Record<string, string> }): Partial<ObjectMeta> {
    return { ...(input.labels ? { labels: input.labels } : {}), ...(input.annotations ? { annotations: input.annotations } : {}) };
  }

  /** 403 when storing `obj` would exceed the quota. */
  private quota(obj: unknown): { bytes: number } | { status: KubeStatus } {
    const bytes = Buffer.byteLength(JSON.stringify(obj));
    if (this.services.size + this.slices.size >= this.maxObjects || this.storedBytes + bytes > this.maxStoredBytes) {
      return {
        status: failure(403, `exceeded quota: the lab's API stand-in holds at most ${this.maxObjects} objects and ${this.maxStoredBytes} bytes`, {
          details: { causes: [{ reason: "Forbidden", message: "delete Services or EndpointSlices first", field: "" }] },
        }),
      };
    }
    return { bytes };
  }

  private store(kind: Kind, obj: Service | EndpointSlice, bytes: number): void {
    const k = `${kind}:${this.key(obj.metadata.namespace, obj.metadata.name)}`;
    if (kind === "services") this.services.set(this.key(obj.metadata.namespace, obj.metadata.name), obj as Service);
    else this.slices.set(this.key(obj.metadata.namespace, obj.metadata.name), obj as EndpointSlice);
    this.sizes.set(k, bytes);
    this.storedBytes += bytes;
  }

  private drop(kind: Kind, namespace: string, name: string): void {
    const k = `${kind}:${this.key(namespace, name)}`;
    (kind === "services" ? this.services : this.slices).delete(this.key(namespace, name));
    this.storedBytes -= this.sizes.get(k) ?? 0;
    this.sizes.delete(k);
  }

  private createService(namespace: string, body: unknown, dryRun = false): KubeApiResult {
    const checked = checkService(body, namespace);
    if (!checked.ok) return fail(checked.status);
    const input = checked.value;
    const name = input.meta.name;
    if (this.services.has(this.key(namespace, name))) {
      return fail(failure(409, `services ${JSON.stringify(name)} already exists`, { details: { name, kind: "services" } }));
    }
    const invalid = (field: string, value: unknown, detail: string) =>
      fail(
        failure(422, `Service ${JSON.stringify(name)} is invalid: ${field}: Invalid value: ${JSON.stringify(value)}: ${detail}`, {
          details: { name, kind: "Service", causes: [{ reason: "FieldValueInvalid", message: `Invalid value: ${JSON.stringify(value)}: ${detail}`, field }] },
        }),
      );
    // An IPv4 lab has no IPv6 Service range: the API server's answer on a single-stack IPv4 cluster.
    if (input.family === "IPv6" && !this.ipv6) return invalid("spec.ipFamilies[0]", "IPv6", "not configured on this cluster");
    // The ClusterIP: the one asked for (in range, free) or the lowest free one, of the Service's family.
    const range =
      input.family === "IPv6" ? { has: isLabClusterIp6, free: freeClusterIp6, cidr: "fd00:10:96::/112" } : { has: isLabClusterIp, free: freeClusterIp, cidr: "10.96.0.0/16" };
    const usedIps = new Set([...this.services.values()].map((s) => s.spec.clusterIP));
    let clusterIP = input.clusterIP;
    if (clusterIP !== undefined) {
      if (!range.has(clusterIP)) return invalid("spec.clusterIP", clusterIP, `provided IP is not in the valid range. The range of valid IPs is ${range.cidr}`);
      if (usedIps.has(clusterIP)) return invalid("spec.clusterIP", clusterIP, "provided IP is already allocated");
    } else {
      clusterIP = range.free(usedIps);
      if (!clusterIP) return fail(failure(500, "failed to allocate a serviceIP: range is full"));
    }
    // NodePorts: one per port number (TCP and UDP of one number share it, as the API server allocates them).
    const ports = input.ports.map((p) => ({ ...p }));
    if (input.type === "NodePort") {
      const used = new Set([...this.services.values()].flatMap((s) => s.spec.ports.map((p) => p.nodePort ?? 0)));
      const byNumber = new Map<number, number>();
      for (const [i, p] of ports.entries()) {
        if (p.nodePort === undefined) continue;
        if (p.nodePort < NODE_PORT_MIN || p.nodePort > NODE_PORT_MAX) {
          return invalid(`spec.ports[${i}].nodePort`, p.nodePort, `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_MIN}-${NODE_PORT_MAX}`);
        }
        const mine = byNumber.get(p.port);
        if (used.has(p.nodePort) || (mine === undefined && [...byNumber.values()].includes(p.nodePort))) {
          return invalid(`spec.ports[${i}].nodePort`, p.nodePort, "provided port is already allocated");
        }
        if (mine !== undefined && mine !== p.nodePort) return invalid(`spec.ports[${i}].nodePort`, p.nodePort, "provided port is already allocated");
        byNumber.set(p.port, p.nodePort);
      }
      for (const p of ports) {
        if (p.nodePort !== undefined) continue;
        let np = byNumber.get(p.port);
        if (np === undefined) {
          const taken = new Set([...used, ...byNumber.values()]);
          np = NODE_PORT_MIN;
          while (np <= NODE_PORT_MAX && taken.has(np)) np++;
          if (np > NODE_PORT_MAX) return fail(failure(500, `failed to allocate a nodePort: range ${NODE_PORT_MIN}-${NODE_PORT_MAX} is full`));
          byNumber.set(p.port, np);
        }
        p.nodePort = np;
      }
    }
    const draft: Service = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace, uid: "", resourceVersion: "", creationTimestamp: "" },
      spec: {
        type: input.type,
        ports: ports.map((p) => ({
          ...(p.name !== undefined ? { name: p.name } : {}),
          protocol: p.protocol,
          port: p.port,
          targetPort: p.targetPort,
          ...(p.nodePort ? { nodePort: p.nodePort } : {}),
        })),
        clusterIP,
        clusterIPs: [clusterIP],
        ipFamilies: [input.family],
        ipFamilyPolicy: "SingleStack",
        sessionAffinity: "None",
        internalTrafficPolicy: "Cluster",
        ...(input.type === "NodePort" ? { externalTrafficPolicy: "Cluster" as const } : {}),
      },
      status: { loadBalancer: {} },
    };
    const q = this.quota({ ...draft, metadata: input.meta });
    if ("status" in q) return fail(q.status);
    if (dryRun) return { response: json(201, { ...draft, metadata: { ...draft.metadata, ...this.dryMeta(input.meta) } }), sync: [] };
    const svc: Service = { ...draft, metadata: this.meta(namespace, input.meta) };
    this.store("services", svc, q.bytes);
    return { response: json(201, svc), sync: [this.desired(namespace, name)] };
  }

  private createSlice(namespace: string, body: unknown, dryRun = false): KubeApiResult {
    const checked = checkEndpointSlice(body, namespace);
    if (!checked.ok) return fail(checked.status);
    const input = checked.value;
    const name = input.meta.name;
    if (this.slices.has(this.key(namespace, name))) {
      return fail(failure(409, `endpointslices.discovery.k8s.io ${JSON.stringify(name)} already exists`, { details: { name, group: "discovery.k8s.io", kind: "endpointslices" } }));
    }
    const draft = { apiVersion: "discovery.k8s.io/v1" as const, kind: "EndpointSlice" as const, addressType: input.addressType, endpoints: input.endpoints, ports: input.ports };
    const q = this.quota({ ...draft, metadata: input.meta });
    if ("status" in q) return fail(q.status);
    if (dryRun) return { response: json(201, { ...draft, metadata: { name, namespace, ...this.dryMeta(input.meta) } }), sync: [] };
    const slice: EndpointSlice = {
      apiVersion: draft.apiVersion,
      kind: draft.kind,
      metadata: this.meta(namespace, input.meta),
      addressType: input.addressType,
      endpoints: draft.endpoints,
      ports: draft.ports,
    };
    this.store("endpointslices", slice, q.bytes);
    const service = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    return { response: json(201, slice), sync: service ? [this.desired(namespace, service)] : [] };
  }

  private remove(kind: Kind, namespace: string, name: string, options: unknown): KubeApiResult {
    const obj = (kind === "services" ? this.services : this.slices).get(this.key(namespace, name));
    if (!obj) return fail(notFound(kind, name));
    const pre = isObject(options) && isObject(options.preconditions) ? options.preconditions : undefined;
    if (pre && typeof pre.uid === "string" && pre.uid !== obj.metadata.uid) {
      return fail(
        failure(409, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`, {
          reason: "Conflict",
          details: { name, kind },
        }),
      );
    }
    this.version++;
    this.drop(kind, namespace, name);
    if (kind === "services") {
      // The garbage collector: EndpointSlices owned by the Service go with it.
      for (const s of [...this.slices.values()]) {
        if (s.metadata.namespace === namespace && s.metadata.ownerReferences?.some((o) => o.kind === "Service" && o.uid === obj.metadata.uid)) {
          this.drop("endpointslices", namespace, s.metadata.name);
        }
      }
      return { response: json(200, obj), sync: [this.desired(namespace, name)] };
    }
    const service = obj.metadata.labels?.[SERVICE_NAME_LABEL];
    const group = KIND_NAMES.endpointslices.group!;
    return {
      response: json(200, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name, group, kind, uid: obj.metadata.uid } }),
      sync: service ? [this.desired(namespace, service)] : [],
    };
  }

  /**
   * kube-proxy's view of Service `namespace`/`name`: its ClusterIP and
   * NodePorts to the first ready endpoint of its EndpointSlices (by slice
   * name), each Service port to the endpoint port of the same name and
   * protocol; none (remove its rules) when it or its endpoints are gone.
   */
  private desired(namespace: string, name: string): ProxySync {
    const svc = this.services.get(this.key(namespace, name));
    const none: ProxySync = { namespace, name };
    if (!svc) return none;
    // As kube-proxy: only the slices of the Service's own family.
    const family: IpFamily = svc.spec.ipFamilies[0];
    const slices = [...this.slices.values()]
      .filter((s) => s.metadata.namespace === namespace && s.metadata.labels?.[SERVICE_NAME_LABEL] === name && s.addressType === family)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    for (const slice of slices) {
      // As kube-proxy: a nil ready condition counts as ready.
      const ep = slice.endpoints.find((e) => e.conditions.ready !== false && e.addresses.length > 0);
      if (!ep) continue;
      const ports: ProxyPort[] = [];
      for (const sp of svc.spec.ports) {
        const match = slice.ports.find((p) => (p.name ?? "") === (sp.name ?? "") && p.protocol === sp.protocol && p.port !== undefined);
        if (!match?.port) continue;
        ports.push({ protocol: sp.protocol.toLowerCase() as L4, port: sp.port, ...(sp.nodePort ? { nodePort: sp.nodePort } : {}), targetPort: match.port });
      }
      if (ports.length === 0) continue;
      return { namespace, name, service: { clusterIP: svc.spec.clusterIP, ports, backend: ep.addresses[0]!, ...(family === "IPv6" ? { family: "ipv6" as const } : {}) } };
    }
    return none;
  }
}
