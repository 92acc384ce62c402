/**
 * The lab's Kubernetes API stand-in as pure request handling: each request
 * the coordinator's client makes (create/read/list/delete of Services and
 * EndpointSlices, label selectors) answered as the API server answers it,
 * the Status objects of its refusals (401, 404, 405, 409, 413, 415, 400,
 * 422, 403), allocation of ClusterIPs and NodePorts, and what kube-proxy is
 * told to program after each change.
 */
import { describe, expect, it, test } from "vitest";
import { KubeApiStore, MAX_BODY_BYTES, type KubeApiRequest, type KubeApiResult } from "./kube-api-store.js";
import { matches, parseSelector } from "./kube-api-objects.js";

const TOKEN = "t0ken-for-the-lab-kube-api";
const NS = "netmatrix";
const SVC = `/api/v1/namespaces/${NS}/services`;
const EPS = `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`;
const AUTH = `Bearer ${TOKEN}`;
/** What kube-proxy is told for the ports of {@link service} and {@link slice}: each Service port to the endpoint's. */
const PROXY_PORTS = [
  { protocol: "tcp", port: 5201, targetPort: 5201 },
  { protocol: "udp", port: 5201, targetPort: 5201 },
  { protocol: "tcp", port: 5202, targetPort: 5202 },
];

function store(opts: { maxObjects?: number; ipv6?: boolean } = {}): KubeApiStore {
  let n = 0;
  return new KubeApiStore({ token: TOKEN, namespaces: [NS], now: () => new Date("2025-01-02T03:04:05.678Z"), uid: () => `uid-${++n}`, ...opts });
}

function call(s: KubeApiStore, method: string, url: string, body?: unknown, headers: Partial<KubeApiRequest> = {}): KubeApiResult {
  return s.handle({
    method,
    url,
    authorization: AUTH,
    ...(body !== undefined ? { contentType: "application/json", body: typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body) } : {}),
    ...headers,
  });
}

/** The Service the coordinator's objects.ts builds for a case (ports tool-tcp/udp and data-tcp/udp). */
function service(name: string, type: "ClusterIP" | "NodePort" = "ClusterIP", over: Record<string, unknown> = {}) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: NS, labels: { "app.kubernetes.io/managed-by": "netmatrix", "netmatrix.dev/run-id": "run-1", "netmatrix.dev/case-id": name } },
    spec: {
      type,
      ports: [
        { name: "tool-tcp", port: 5201, targetPort: 5201, protocol: "TCP" },
        { name: "tool-udp", port: 5201, targetPort: 5201, protocol: "UDP" },
        { name: "data-tcp", port: 5202, targetPort: 5202, protocol: "TCP" },
      ],
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      sessionAffinity: "None",
      ...(type === "NodePort" ? { externalTrafficPolicy: "Cluster" } : {}),
      ...over,
    },
  };
}

function slice(name: string, owner?: { name: string; uid: string }, over: Record<string, unknown> = {}) {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name,
      namespace: NS,
      labels: {
        "app.kubernetes.io/managed-by": "netmatrix",
        "netmatrix.dev/run-id": "run-1",
        "kubernetes.io/service-name": name,
        "endpointslice.kubernetes.io/managed-by": "coordinator.netmatrix.dev",
      },
      ...(owner ? { ownerReferences: [{ apiVersion: "v1", kind: "Service", name: owner.name, uid: owner.uid }] } : {}),
    },
    addressType: "IPv4",
    endpoints: [{ addresses: ["10.244.17.3"], conditions: { ready: true, serving: true, terminating: false }, nodeName: "node-2" }],
    ports: [
      { name: "tool-tcp", port: 5201, protocol: "TCP" },
      { name: "tool-udp", port: 5201, protocol: "UDP" },
      { name: "data-tcp", port: 5202, protocol: "TCP" },
    ],
    ...over,
  };
}

const body = (r: KubeApiResult) => r.response.body as Record<string, any>;

describe("Services", () => {
  it("create allocates a ClusterIP and answers 201 with the object as the API server stores it", () => {
    const s = store();
    const r = call(s, "POST", SVC, service("nm-a"));
    expect(r.response.status).toBe(201);
    expect(body(r)).toMatchObject({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "nm-a", namespace: NS, uid: "uid-1", resourceVersion: "2", creationTimestamp: "2025-01-02T03:04:05Z", labels: { "netmatrix.dev/run-id": "run-1" } },
      spec: { type: "ClusterIP", clusterIP: "10.96.0.20", clusterIPs: ["10.96.0.20"], ipFamilies: ["IPv4"], sessionAffinity: "None" },
      status: { loadBalancer: {} },
    });
    expect(body(r).spec.ports).toEqual([
      { name: "tool-tcp", protocol: "TCP", port: 5201, targetPort: 5201 },
      { name: "tool-udp", protocol: "UDP", port: 5201, targetPort: 5201 },
      { name: "data-tcp", protocol: "TCP", port: 5202, targetPort: 5202 },
    ]);
    // No endpoints yet: kube-proxy has nothing to program.
    expect(r.sync).toEqual([{ namespace: NS, name: "nm-a" }]);
    expect(body(call(s, "POST", SVC, service("nm-b"))).spec.clusterIP).toBe("10.96.0.21");
  });

  it("NodePort: one NodePort per port number, shared by its TCP and UDP ports, none taken twice", () => {
    const s = store();
    const a = body(call(s, "POST", SVC, service("nm-a", "NodePort")));
    expect(a.spec.ports.map((p: any) => p.nodePort)).toEqual([30000, 30000, 30001]);
    expect(a.spec.externalTrafficPolicy).toBe("Cluster");
    const b = body(call(s, "POST", SVC, service("nm-b", "NodePort")));
    expect(b.spec.ports.map((p: any) => p.nodePort)).toEqual([30002, 30002, 30003]);
    // A freed NodePort is handed out again.
    expect(call(s, "DELETE", `${SVC}/nm-a`).response.status).toBe(200);
    expect(body(call(s, "POST", SVC, service("nm-c", "NodePort"))).spec.ports.map((p: any) => p.nodePort)).toEqual([30000, 30000, 30001]);
  });

  it("a requested ClusterIP or NodePort is honoured when valid and free, refused (422) otherwise", () => {
    const s = store();
    expect(body(call(s, "POST", SVC, service("nm-a", "ClusterIP", { clusterIP: "10.96.7.7" }))).spec.clusterIP).toBe("10.96.7.7");
    const taken = call(s, "POST", SVC, service("nm-b", "ClusterIP", { clusterIP: "10.96.7.7" }));
    expect(taken.response.status).toBe(422);
    expect(body(taken).message).toMatch(/spec\.clusterIP: Invalid value: "10\.96\.7\.7": provided IP is already allocated/);
    expect(body(call(s, "POST", SVC, service("nm-b", "ClusterIP", { clusterIP: "10.97.0.1" }))).message).toMatch(/not in the valid range/);
    const np = { ...service("nm-c", "NodePort").spec, ports: [{ name: "tool-tcp", port: 5201, protocol: "TCP", nodePort: 31000 }] };
    expect(body(call(s, "POST", SVC, { ...service("nm-c"), spec: np })).spec.ports[0].nodePort).toBe(31000);
    const again = call(s, "POST", SVC, { ...service("nm-d"), spec: np });
    expect([again.response.status, body(again).message]).toEqual([422, expect.stringMatching(/nodePort: Invalid value: 31000: provided port is already allocated/)]);
    const low = call(s, "POST", SVC, { ...service("nm-d"), spec: { ...np, ports: [{ name: "x", port: 1, nodePort: 80 }] } });
    expect(body(low).message).toMatch(/range of valid ports is 30000-32767/);
  });

  it("read and delete: 200 with the object, then 404 NotFound Status", () => {
    const s = store();
    const created = body(call(s, "POST", SVC, service("nm-a")));
    expect(body(call(s, "GET", `${SVC}/nm-a`))).toEqual(created);
    const del = call(s, "DELETE", `${SVC}/nm-a`, undefined);
    expect([del.response.status, body(del).metadata.name]).toEqual([200, "nm-a"]);
    for (const r of [call(s, "GET", `${SVC}/nm-a`), call(s, "DELETE", `${SVC}/nm-a`)]) {
      expect(r.response).toEqual({
        status: 404,
        contentType: "application/json",
        body: {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: 'services "nm-a" not found',
          reason: "NotFound",
          details: { name: "nm-a", kind: "services" },
          code: 404,
        },
      });
    }
  });

  it("create of an existing name: 409 AlreadyExists", () => {
    const s = store();
    call(s, "POST", SVC, service("nm-a"));
    const r = call(s, "POST", SVC, service("nm-a"));
    expect(r.response.status).toBe(409);
    expect(body(r)).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "AlreadyExists",
      code: 409,
      message: 'services "nm-a" already exists',
      details: { name: "nm-a", kind: "services" },
    });
    expect(r.sync).toEqual([]);
  });

  it("create in a namespace that does not exist: 404 for the namespace", () => {
    const r = call(store(), "POST", "/api/v1/namespaces/other/services", { ...service("nm-a"), metadata: { name: "nm-a" } });
    expect(body(r)).toMatchObject({ code: 404, reason: "NotFound", message: 'namespaces "other" not found', details: { kind: "namespaces", name: "other" } });
  });
});

describe("EndpointSlices and kube-proxy", () => {
  it("a slice for a Service programs its ClusterIP port by port to the endpoint; deleting it removes the rules", () => {
    const s = store();
    const svc = body(call(s, "POST", SVC, service("nm-a")));
    const r = call(s, "POST", EPS, slice("nm-a", { name: "nm-a", uid: svc.metadata.uid }));
    expect(r.response.status).toBe(201);
    expect(body(r)).toMatchObject({ apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", addressType: "IPv4", metadata: { name: "nm-a", uid: "uid-2" } });
    expect(r.sync).toEqual([
      {
        namespace: NS,
        name: "nm-a",
        service: {
          clusterIP: "10.96.0.20",
          backend: "10.244.17.3",
          ports: PROXY_PORTS,
        },
      },
    ]);
    const del = call(s, "DELETE", `${EPS}/nm-a`, "");
    expect(body(del)).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name: "nm-a", group: "discovery.k8s.io", kind: "endpointslices", uid: "uid-2" },
    });
    expect(del.sync).toEqual([{ namespace: NS, name: "nm-a" }]);
  });

  it("NodePort Services program their ClusterIP and NodePorts; endpoint ports map by name and protocol", () => {
    const s = store();
    call(s, "POST", SVC, service("nm-a", "NodePort"));
    // The endpoint listens elsewhere than the Service port: DNAT to the endpoint's port.
    const r = call(
      s,
      "POST",
      EPS,
      slice("nm-a", undefined, {
        ports: [
          { name: "tool-tcp", port: 6000, protocol: "TCP" },
          { name: "tool-udp", port: 6000, protocol: "UDP" },
        ],
      }),
    );
    expect(r.sync[0]!.service).toEqual({
      clusterIP: "10.96.0.20",
      backend: "10.244.17.3",
      ports: [
        { protocol: "tcp", port: 5201, nodePort: 30000, targetPort: 6000 },
        { protocol: "udp", port: 5201, nodePort: 30000, targetPort: 6000 },
      ],
    });
  });

  it("the slice first, then the Service: programmed when both exist; an unready or unmatched endpoint is no backend", () => {
    const s = store();
    expect(call(s, "POST", EPS, slice("nm-a")).sync).toEqual([{ namespace: NS, name: "nm-a" }]);
    expect(call(s, "POST", SVC, service("nm-a")).sync[0]!.service?.backend).toBe("10.244.17.3");
    const unready = slice("nm-b", undefined, { endpoints: [{ addresses: ["10.244.17.4"], conditions: { ready: false } }] });
    call(s, "POST", SVC, service("nm-b"));
    expect(call(s, "POST", EPS, unready).sync).toEqual([{ namespace: NS, name: "nm-b" }]);
    call(s, "POST", SVC, service("nm-c"));
    expect(call(s, "POST", EPS, slice("nm-c", undefined, { ports: [{ name: "other", port: 1, protocol: "TCP" }] })).sync).toEqual([{ namespace: NS, name: "nm-c" }]);
  });

  it("deleting a Service removes its rules and the slices it owns (the garbage collector), not others", () => {
    const s = store();
    const svc = body(call(s, "POST", SVC, service("nm-a")));
    call(s, "POST", EPS, slice("nm-a", { name: "nm-a", uid: svc.metadata.uid }));
    call(s, "POST", EPS, { ...slice("nm-x"), metadata: { ...slice("nm-x").metadata, name: "nm-x" } });
    expect(call(s, "DELETE", `${SVC}/nm-a`).sync).toEqual([{ namespace: NS, name: "nm-a" }]);
    expect(call(s, "GET", `${EPS}/nm-a`).response.status).toBe(404);
    expect(call(s, "GET", `${EPS}/nm-x`).response.status).toBe(200);
  });

  it("a DeleteOptions precondition on another uid: 409 Conflict, nothing deleted", () => {
    const s = store();
    call(s, "POST", SVC, service("nm-a"));
    const r = call(s, "DELETE", `${SVC}/nm-a`, { kind: "DeleteOptions", apiVersion: "v1", preconditions: { uid: "someone-else" } });
    expect(body(r)).toMatchObject({ code: 409, reason: "Conflict" });
    expect(call(s, "GET", `${SVC}/nm-a`).response.status).toBe(200);
  });
});

describe("IPv6 Services (a dual-stack lab) and dry runs", () => {
  const v6slice = (name: string, uid: string) => ({
    ...slice(name, { name, uid }),
    addressType: "IPv6",
    endpoints: [{ addresses: ["fd00:10:244:2::10"], conditions: { ready: true }, nodeName: "node-2" }],
  });

  it("an IPv6 Service gets a ClusterIP from fd00:10:96::/112; its IPv6 slice programs ip6tables rules (family ipv6), an IPv4 slice does not", () => {
    const s = store({ ipv6: true });
    const v4 = body(call(s, "POST", SVC, service("nm-4")));
    const r = call(s, "POST", SVC, service("nm-6", "ClusterIP", { ipFamilies: ["IPv6"] }));
    expect(r.response.status).toBe(201);
    expect(body(r).spec).toMatchObject({ clusterIP: "fd00:10:96::14", clusterIPs: ["fd00:10:96::14"], ipFamilies: ["IPv6"], ipFamilyPolicy: "SingleStack" });
    expect(v4.spec).toMatchObject({ clusterIP: "10.96.0.20", ipFamilies: ["IPv4"] });
    // kube-proxy reads only the slices of the Service's family.
    const wrong = call(s, "POST", EPS, {
      ...slice("nm-6x", { name: "nm-6", uid: body(r).metadata.uid }),
      metadata: { ...slice("nm-6x").metadata, labels: { "kubernetes.io/service-name": "nm-6" } },
    });
    expect(wrong.response.status).toBe(201);
    expect(wrong.sync).toEqual([{ namespace: NS, name: "nm-6" }]);
    const ok = call(s, "POST", EPS, v6slice("nm-6", body(r).metadata.uid));
    expect(ok.response.status).toBe(201);
    expect(ok.sync).toEqual([
      {
        namespace: NS,
        name: "nm-6",
        service: {
          clusterIP: "fd00:10:96::14",
          backend: "fd00:10:244:2::10",
          family: "ipv6",
          ports: PROXY_PORTS,
        },
      },
    ]);
    // A ClusterIP asked for must be in the family's range.
    const out = call(s, "POST", SVC, service("nm-7", "ClusterIP", { ipFamilies: ["IPv6"], clusterIP: "fd00:10:97::1" }));
    expect(body(out).message).toMatch(/provided IP is not in the valid range\. The range of valid IPs is fd00:10:96::\/112/);
  });

  test.each([
    ["an IPv6 Service in a dual-stack lab", { ipv6: true }, 201],
    ["an IPv6 Service in an IPv4 lab", {}, 422],
  ] as const)("dryRun=All, %s: answered as a create would be (%i), nothing stored, no rules", (_what, opts, code) => {
    const s = store(opts);
    const r = call(s, "POST", `${SVC}?dryRun=All`, service("nm-probe", "ClusterIP", { ipFamilies: ["IPv6"] }));
    expect(r.response.status).toBe(code);
    if (code === 201) expect(body(r).spec.ipFamilies).toEqual(["IPv6"]);
    else expect(body(r).message).toMatch(/"IPv6": not configured on this cluster/);
    expect(r.sync).toEqual([]);
    expect(s.listAll()).toEqual({ services: [], slices: [] });
    // The name is still free: the dry run held nothing.
    expect(call(s, "POST", SVC, service("nm-probe")).response.status).toBe(201);
  });
});

describe("lists and label selectors", () => {
  const s = store();
  call(s, "POST", SVC, service("nm-a"));
  call(s, "POST", SVC, { ...service("nm-b"), metadata: { name: "nm-b", labels: { "app.kubernetes.io/managed-by": "netmatrix", "netmatrix.dev/run-id": "run-2", tier: "x" } } });
  call(s, "POST", SVC, { ...service("other"), metadata: { name: "other", labels: { "app.kubernetes.io/managed-by": "helm" } } });
  call(s, "POST", EPS, slice("nm-a"));

  test.each([
    ["", ["nm-a", "nm-b", "other"]],
    ["app.kubernetes.io/managed-by=netmatrix", ["nm-a", "nm-b"]],
    ["app.kubernetes.io/managed-by==netmatrix,netmatrix.dev/run-id=run-2", ["nm-b"]],
    ["app.kubernetes.io/managed-by = netmatrix , netmatrix.dev/run-id != run-2", ["nm-a"]],
    ["netmatrix.dev/run-id in (run-1, run-2)", ["nm-a", "nm-b"]],
    ["netmatrix.dev/run-id notin (run-1)", ["nm-b", "other"]],
    ["tier", ["nm-b"]],
    ["!tier", ["nm-a", "other"]],
    ["app.kubernetes.io/managed-by=nobody", []],
  ])("services?labelSelector=%j → %j", (selector, names) => {
    const r = call(s, "GET", `${SVC}?labelSelector=${encodeURIComponent(selector)}`);
    expect(r.response.status).toBe(200);
    expect(body(r)).toMatchObject({ kind: "ServiceList", apiVersion: "v1", metadata: { resourceVersion: expect.any(String) } });
    expect(body(r).items.map((i: any) => i.metadata.name)).toEqual(names);
    // List items carry no kind/apiVersion of their own, as the API server's.
    for (const i of body(r).items) expect(i.kind).toBeUndefined();
  });

  it("EndpointSlice lists, and lists of another namespace (empty)", () => {
    const r = call(s, "GET", `${EPS}?labelSelector=${encodeURIComponent("kubernetes.io/service-name=nm-a")}`);
    expect(body(r)).toMatchObject({ kind: "EndpointSliceList", apiVersion: "discovery.k8s.io/v1" });
    expect(body(r).items.map((i: any) => i.metadata.name)).toEqual(["nm-a"]);
    expect(body(call(s, "GET", "/api/v1/namespaces/elsewhere/services")).items).toEqual([]);
  });

  test.each(["a=b=c", "a in b", "a in ()", "=x", "a,", "a b", "a!x", "a > 3", "bad key=1", `a=${"x".repeat(64)}`, "a notin (x", "_x=1"])(
    "a malformed selector %j: 400 BadRequest",
    (selector) => {
      const r = call(s, "GET", `${SVC}?labelSelector=${encodeURIComponent(selector)}`);
      expect(r.response.status).toBe(400);
      expect(body(r)).toMatchObject({ kind: "Status", reason: "BadRequest", message: expect.stringMatching(/unable to parse requirement/) });
    },
  );

  it("parseSelector and matches agree on absent labels", () => {
    expect(matches(undefined, parseSelector("a!=b"))).toBe(true);
    expect(matches(undefined, parseSelector("a notin (b)"))).toBe(true);
    expect(matches(undefined, parseSelector("a in (b)"))).toBe(false);
    expect(matches({ a: "" }, parseSelector("a="))).toBe(true);
  });
});

describe("authentication", () => {
  const s = store();
  test.each([
    ["no header", undefined],
    ["another token", "Bearer not-the-token-at-all-0000"],
    ["the token as Basic", `Basic ${TOKEN}`],
    ["a prefix of the token", `Bearer ${TOKEN.slice(0, -1)}`],
    ["the token and more", `Bearer ${TOKEN}x`],
    ["an empty bearer", "Bearer "],
  ])("%s: 401 Unauthorized, on every path", (_what, authorization) => {
    for (const [method, url] of [
      ["GET", SVC],
      ["POST", SVC],
      ["DELETE", `${EPS}/x`],
      ["GET", "/api/v1/nodes/node-1"],
      ["GET", "/nothing/here"],
    ] as const) {
      const r = s.handle({ method, url, authorization, contentType: "application/json", body: JSON.stringify(service("nm-a")) });
      expect(r.response).toEqual({
        status: 401,
        contentType: "application/json",
        body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "Unauthorized", reason: "Unauthorized", code: 401 },
      });
      expect(r.sync).toEqual([]);
    }
    expect(s.listAll().services).toEqual([]);
  });

  it("health and version need no token", () => {
    for (const path of ["/readyz", "/livez", "/healthz"]) expect(s.handle({ method: "GET", url: path }).response).toMatchObject({ status: 200, body: "ok" });
    expect(body(s.handle({ method: "GET", url: "/version" }))).toMatchObject({ major: "1" });
  });

  it("the case of the scheme does not matter", () => {
    expect(s.handle({ method: "GET", url: SVC, authorization: `bearer ${TOKEN}` }).response.status).toBe(200);
  });
});

describe("routing", () => {
  const s = store();
  test.each([
    ["GET", "/api/v1/nodes/node-1", 404, "NotFound", /nodes "node-1" not found/],
    ["GET", "/api/v1/namespaces/netmatrix/pods", 404, "NotFound", /could not find the requested resource/],
    ["GET", "/api/v1/namespaces/netmatrix/services/a/status", 404, "NotFound", /could not find/],
    ["GET", "//evil:99999/", 404, "NotFound", /could not find/],
    ["GET", "http://a:99999/", 404, "NotFound", /could not find/],
    ["GET", "/api/v1/namespaces/%E0%A4%A/services", 404, "NotFound", /could not find/],
    ["PUT", `${SVC}/nm-a`, 405, "MethodNotAllowed", /does not serve PUT/],
    ["PATCH", `${EPS}/nm-a`, 405, "MethodNotAllowed", /does not serve PATCH/],
    ["DELETE", SVC, 405, "MethodNotAllowed", /only GET, POST/],
    ["POST", `${SVC}/nm-a`, 405, "MethodNotAllowed", /only GET, DELETE/],
    ["GET", `${SVC}?watch=true`, 400, "BadRequest", /watch is not supported/],
    ["GET", `${SVC}?fieldSelector=metadata.name%3Dx`, 400, "BadRequest", /fieldSelector is not supported/],
    ["POST", `${SVC}?dryRun=Some`, 400, "BadRequest", /dryRun "Some": the lab's API stand-in supports only dryRun=All, on create/],
    ["GET", `${SVC}?dryRun=All`, 400, "BadRequest", /supports only dryRun=All, on create/],
  ])("%s %s: %i %s", (method, url, code, reason, message) => {
    const r = call(s, method, url, method === "POST" ? service("nm-a") : undefined);
    expect(r.response.status).toBe(code);
    expect(body(r)).toMatchObject({ kind: "Status", status: "Failure", code, reason, message: expect.stringMatching(message) });
  });
});

describe("hostile and malformed bodies", () => {
  test.each([
    ["not JSON", "{", 400, /not JSON/],
    ["JSON, not an object", "[1,2]", 400, /not a JSON object/],
    ["null", "null", 400, /not a JSON object/],
    ["empty", "", 400, /no body/],
    ["invalid UTF-8", Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 400, /UTF-8/],
    ["another kind", { ...service("nm-a"), kind: "Pod" }, 400, /must be of type Service/],
    ["another apiVersion", { ...service("nm-a"), apiVersion: "v2" }, 400, /must be of type Service/],
    ["another namespace in the body", { ...service("nm-a"), metadata: { name: "nm-a", namespace: "kube-system" } }, 400, /does not match the namespace/],
    ["no metadata", { spec: service("x").spec }, 422, /metadata\.name: Required value/],
    ["generateName", { metadata: { generateName: "nm-" }, spec: service("x").spec }, 422, /does not generate names/],
    ["an invalid name", { ...service("x"), metadata: { name: "Not_A_Name" } }, 422, /metadata\.name: Invalid value: "Not_A_Name"/],
    ["a name of 64 characters", { ...service("x"), metadata: { name: `a${"b".repeat(63)}` } }, 422, /metadata\.name: Invalid value/],
    ["a name that is a number", { ...service("x"), metadata: { name: 7 } }, 422, /metadata\.name: Invalid value: 7/],
    ["no spec", { metadata: { name: "nm-a" } }, 422, /spec\.ports: Required value/],
    ["no ports", service("nm-a", "ClusterIP", { ports: [] }), 422, /spec\.ports: Required value/],
    ["ports not a list", service("nm-a", "ClusterIP", { ports: { a: 1 } }), 422, /spec\.ports: Invalid value/],
    ["101 ports", service("nm-a", "ClusterIP", { ports: Array.from({ length: 101 }, (_, i) => ({ name: `p${i}`, port: i + 1 })) }), 422, /Too many: 101: must have at most 100/],
    ["port 0", service("nm-a", "ClusterIP", { ports: [{ name: "a", port: 0 }] }), 422, /spec\.ports\[0\]\.port: Invalid value: 0: must be between 1 and 65535/],
    ["port 65536", service("nm-a", "ClusterIP", { ports: [{ name: "a", port: 65536 }] }), 422, /must be between 1 and 65535/],
    ["port 1.5", service("nm-a", "ClusterIP", { ports: [{ name: "a", port: 1.5 }] }), 422, /must be between 1 and 65535/],
    ["port as a string", service("nm-a", "ClusterIP", { ports: [{ name: "a", port: "80" }] }), 422, /Invalid value: "80"/],
    ["two unnamed ports", service("nm-a", "ClusterIP", { ports: [{ port: 1 }, { port: 2 }] }), 422, /spec\.ports\[0\]\.name: Required value/],
    [
      "duplicate port names",
      service("nm-a", "ClusterIP", {
        ports: [
          { name: "a", port: 1 },
          { name: "a", port: 2 },
        ],
      }),
      422,
      /Duplicate value: "a"/,
    ],
    [
      "duplicate port and protocol",
      service("nm-a", "ClusterIP", {
        ports: [
          { name: "a", port: 1 },
          { name: "b", port: 1 },
        ],
      }),
      422,
      /Duplicate value: "1\/TCP"/,
    ],
    ["SCTP", service("nm-a", "ClusterIP", { ports: [{ name: "a", port: 1, protocol: "SCTP" }] }), 422, /protocol: Unsupported value: "SCTP"/],
    ["type LoadBalancer", service("nm-a", "ClusterIP", { type: "LoadBalancer" }), 422, /spec\.type: Unsupported value: "LoadBalancer".*selector-less ClusterIP and NodePort/],
    ["type Bogus", service("nm-a", "ClusterIP", { type: "Bogus" }), 422, /spec\.type: Unsupported value: "Bogus"/],
    ["a selector", service("nm-a", "ClusterIP", { selector: { app: "x" } }), 422, /spec\.selector: Forbidden: the lab has no pods/],
    ["headless", service("nm-a", "ClusterIP", { clusterIP: "None" }), 422, /spec\.clusterIP: Unsupported value: "None"/],
    ["an IPv6 ClusterIP", service("nm-a", "ClusterIP", { clusterIP: "fd00::1" }), 422, /spec\.clusterIP: Invalid value: "fd00::1"/],
    ["IPv6 in an IPv4 lab", service("nm-a", "ClusterIP", { ipFamilies: ["IPv6"] }), 422, /spec\.ipFamilies\[0\]: Invalid value: "IPv6": not configured on this cluster/],
    [
      "two families",
      service("nm-a", "ClusterIP", { ipFamilies: ["IPv4", "IPv6"], ipFamilyPolicy: "PreferDualStack" }),
      422,
      /spec\.ipFamilies: Unsupported value.*list one family/,
    ],
    ["sessionAffinity ClientIP", service("nm-a", "ClusterIP", { sessionAffinity: "ClientIP" }), 422, /sessionAffinity: Unsupported value: "ClientIP"/],
    ["externalTrafficPolicy on a ClusterIP", service("nm-a", "ClusterIP", { externalTrafficPolicy: "Cluster" }), 422, /may only be set when `type` is 'NodePort'/],
    ["externalTrafficPolicy Local", service("nm-a", "NodePort", { externalTrafficPolicy: "Local" }), 422, /externalTrafficPolicy: Unsupported value: "Local"/],
    ["nodePort on a ClusterIP", service("nm-a", "ClusterIP", { ports: [{ name: "a", port: 1, nodePort: 30000 }] }), 422, /nodePort: Forbidden/],
    ["a label key with __proto__", { ...service("x"), metadata: { name: "nm-a", labels: JSON.parse('{"__proto__": "x"}') } }, 422, /metadata\.labels: Invalid value: "__proto__"/],
    ["a label value of 64 characters", { ...service("x"), metadata: { name: "nm-a", labels: { a: "b".repeat(64) } } }, 422, /metadata\.labels\[a\]: Invalid value/],
    ["a label value that is not a string", { ...service("x"), metadata: { name: "nm-a", labels: { a: 1 } } }, 422, /must be a string/],
    ["labels as a list", { ...service("x"), metadata: { name: "nm-a", labels: ["a"] } }, 422, /metadata\.labels: Invalid value: array of 1/],
    ["annotations over 256 KiB", { ...service("x"), metadata: { name: "nm-a", annotations: { a: "x".repeat(262_145) } } }, 422, /metadata\.annotations: Too long/],
    [
      "21 ownerReferences",
      { ...service("x"), metadata: { name: "nm-a", ownerReferences: Array(21).fill({ apiVersion: "v1", kind: "X", name: "x", uid: "u" }) } },
      422,
      /Too many: 21/,
    ],
  ])("Service, %s", (_what, payload, code, message) => {
    const s = store();
    const r = call(s, "POST", SVC, payload);
    expect(r.response.status).toBe(code);
    expect(body(r)).toMatchObject({ kind: "Status", status: "Failure", code, message: expect.stringMatching(message) });
    if (code === 422) expect(body(r).details.causes.length).toBeGreaterThan(0);
    expect(r.sync).toEqual([]);
    expect(s.listAll().services).toEqual([]);
  });

  test.each([
    ["no addressType", { ...slice("nm-a"), addressType: undefined }, /addressType: Required value/],
    ["IPv6 with an IPv4 address", { ...slice("nm-a"), addressType: "IPv6" }, /endpoints\[0\]\.addresses\[0\]: Invalid value: "10\.244\.17\.3": must be a valid IPv6 address/],
    ["FQDN", { ...slice("nm-a"), addressType: "FQDN" }, /addressType: Unsupported value: "FQDN"/],
    ["an IPv6 address with a zone", { ...slice("nm-a"), addressType: "IPv6", endpoints: [{ addresses: ["fe80::1%eth0"] }] }, /must be a valid IPv6 address/],
    ["an endpoint with no address", { ...slice("nm-a"), endpoints: [{ addresses: [] }] }, /endpoints\[0\]\.addresses: Required value/],
    ["an address that is not IPv4", { ...slice("nm-a"), endpoints: [{ addresses: ["10.0.0.256"] }] }, /endpoints\[0\]\.addresses\[0\]: Invalid value: "10\.0\.0\.256"/],
    ["101 addresses", { ...slice("nm-a"), endpoints: [{ addresses: Array(101).fill("10.0.0.1") }] }, /Too many: 101/],
    ["1001 endpoints", { ...slice("nm-a"), endpoints: Array(1001).fill({ addresses: ["10.0.0.1"] }) }, /endpoints: Too many: 1001/],
    ["a condition that is not a boolean", { ...slice("nm-a"), endpoints: [{ addresses: ["10.0.0.1"], conditions: { ready: "yes" } }] }, /conditions\.ready: Invalid value: "yes"/],
    ["a nodeName that is no name", { ...slice("nm-a"), endpoints: [{ addresses: ["10.0.0.1"], nodeName: "No Way" }] }, /nodeName: Invalid value/],
    ["port 70000", { ...slice("nm-a"), ports: [{ name: "a", port: 70000 }] }, /ports\[0\]\.port: Invalid value: 70000/],
    [
      "duplicate port names",
      {
        ...slice("nm-a"),
        ports: [
          { name: "a", port: 1 },
          { name: "a", port: 2 },
        ],
      },
      /ports\[1\]\.name: Duplicate value: "a"/,
    ],
  ])("EndpointSlice, %s: 422 Invalid", (_what, payload, message) => {
    const s = store();
    const r = call(s, "POST", EPS, payload);
    expect(r.response.status).toBe(422);
    expect(body(r)).toMatchObject({ kind: "Status", reason: "Invalid", details: { kind: "EndpointSlice", group: "discovery.k8s.io" }, message: expect.stringMatching(message) });
    expect(s.listAll().slices).toEqual([]);
  });

  it(`a body over ${MAX_BODY_BYTES} bytes: 413`, () => {
    const r = call(store(), "POST", SVC, "x".repeat(MAX_BODY_BYTES + 1));
    expect(body(r)).toMatchObject({ code: 413, reason: "RequestEntityTooLarge" });
  });

  it("a body not declared JSON: 415", () => {
    const r = call(store(), "POST", SVC, service("nm-a"), { contentType: "application/yaml" });
    expect(body(r)).toMatchObject({ code: 415, reason: "UnsupportedMediaType" });
  });

  it("a DELETE body that is not JSON: 400", () => {
    const s = store();
    call(s, "POST", SVC, service("nm-a"));
    expect(call(s, "DELETE", `${SVC}/nm-a`, "{nope").response.status).toBe(400);
    expect(call(s, "GET", `${SVC}/nm-a`).response.status).toBe(200);
  });

  it("unknown fields are dropped, not stored", () => {
    const r = call(store(), "POST", SVC, {
      ...service("nm-a"),
      extra: { a: 1 },
      metadata: { ...service("nm-a").metadata, finalizers: ["x"], uid: "mine" },
      status: { loadBalancer: { ingress: [{ ip: "1.2.3.4" }] } },
    });
    expect(r.response.status).toBe(201);
    expect(body(r).extra).toBeUndefined();
    expect(body(r).metadata.finalizers).toBeUndefined();
    expect(body(r).metadata.uid).toBe("uid-1");
    expect(body(r).status).toEqual({ loadBalancer: {} });
  });

  it("beyond the object quota: 403 Forbidden until something is deleted", () => {
    const s = store({ maxObjects: 2 });
    expect(call(s, "POST", SVC, service("nm-a")).response.status).toBe(201);
    expect(call(s, "POST", EPS, slice("nm-a")).response.status).toBe(201);
    expect(body(call(s, "POST", SVC, service("nm-b")))).toMatchObject({ code: 403, reason: "Forbidden", message: expect.stringMatching(/exceeded quota/) });
    call(s, "DELETE", `${EPS}/nm-a`);
    expect(call(s, "POST", SVC, service("nm-b")).response.status).toBe(201);
  });
});
