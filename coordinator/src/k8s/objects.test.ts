/**
 * The pure Service / EndpointSlice builders: names, labels, ports per kind
 * and protocol, and every built object validated against the Kubernetes
 * OpenAPI definitions (openapi.ts).
 */
import { describe, expect, it } from "vitest";
import { NetmatrixError } from "../../../common/src/errors.js";
import type { ExposeRequest } from "../../../common/src/service-provider.js";
import {
  allocatedPorts,
  buildEndpointSlice,
  buildService,
  casePorts,
  CASE_ID_LABEL,
  INSTANCE_LABEL,
  isDns1035Label,
  isLabelValue,
  labelSelector,
  labelValue,
  MANAGED_BY_LABEL,
  objectName,
  RUN_ID_ANNOTATION,
  RUN_ID_LABEL,
  SERVICE_NAME_LABEL,
  SLICE_MANAGED_BY_LABEL,
} from "./objects.js";
import { validateK8sObject } from "./openapi.js";

const REQ: ExposeRequest = {
  kind: "clusterip",
  runId: "20261123-201500-a3f9",
  caseId: "0123456789ab",
  serverNode: "node-b",
  serverAddress: "10.244.1.7",
  port: 20001,
  dataPort: 0,
  protocol: "tcp",
};
const NS = { namespace: "netmatrix" };

describe("objectName", () => {
  it.each([
    ["a typical run and case", REQ.runId, REQ.caseId],
    ["upper case and symbols", "Run_2026/11/23 20:15:00", "Case#1"],
    ["very long ids", "r".repeat(300), "c".repeat(300)],
    ["ids of nothing but symbols", "///", "***"],
    ["empty ids", "", ""],
    ["unicode", "läuft→", "fälle"],
  ])("%s: a DNS-1035 label of at most 63 characters", (_what, runId, caseId) => {
    const name = objectName(runId, caseId);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(isDns1035Label(name)).toBe(true);
    expect(objectName(runId, caseId)).toBe(name);
  });

  it("is readable for the usual ids", () => {
    expect(objectName(REQ.runId, REQ.caseId)).toMatch(/^nm-20261123-201500-a3f9-0123456789ab-[0-9a-f]{8}$/);
  });

  it("differs for cases whose slugs collide", () => {
    expect(objectName("run", "A_B")).not.toBe(objectName("run", "a-b"));
    expect(objectName("r".repeat(40) + "x", "c")).not.toBe(objectName("r".repeat(40) + "y", "c"));
  });
});

describe("labelValue", () => {
  it.each([
    ["20261123-201500-a3f9", "20261123-201500-a3f9"],
    ["0123456789ab", "0123456789ab"],
    ["A.b_c-9", "A.b_c-9"],
  ])("keeps valid label value %s", (id, want) => expect(labelValue(id)).toBe(want));

  it.each([["-leading"], ["trailing-"], ["has space"], ["x".repeat(64)], ["→"], ["a/b"]])("turns %s into a valid, deterministic label value", (id) => {
    const v = labelValue(id);
    expect(isLabelValue(v)).toBe(true);
    expect(v).not.toBe(id);
    expect(labelValue(id)).toBe(v);
  });
});

describe("labelSelector", () => {
  it.each([
    [undefined, undefined, "app.kubernetes.io/managed-by=netmatrix"],
    ["20261123-201500-a3f9", undefined, "app.kubernetes.io/managed-by=netmatrix,netmatrix.dev/run-id=20261123-201500-a3f9"],
    [undefined, "prod", "app.kubernetes.io/managed-by=netmatrix,netmatrix.dev/instance=prod"],
    ["run 1", "prod", `app.kubernetes.io/managed-by=netmatrix,netmatrix.dev/instance=prod,netmatrix.dev/run-id=${labelValue("run 1")}`],
  ])("run %s, instance %s → %s", (runId, instance, want) => expect(labelSelector(runId, instance)).toBe(want));
});

describe("casePorts", () => {
  it.each([
    ["tcp, one port", { port: 5201, dataPort: 0, protocol: "tcp" }, [["tool-tcp", 5201, "TCP"]]],
    [
      "udp adds TCP for iperf3's control connection",
      { port: 5201, dataPort: 0, protocol: "udp" },
      [
        ["tool-tcp", 5201, "TCP"],
        ["tool-udp", 5201, "UDP"],
      ],
    ],
    [
      "qperf's data port",
      { port: 19765, dataPort: 19766, protocol: "tcp" },
      [
        ["tool-tcp", 19765, "TCP"],
        ["data-tcp", 19766, "TCP"],
      ],
    ],
    [
      "udp with a data port",
      { port: 19765, dataPort: 19766, protocol: "udp" },
      [
        ["tool-tcp", 19765, "TCP"],
        ["tool-udp", 19765, "UDP"],
        ["data-tcp", 19766, "TCP"],
        ["data-udp", 19766, "UDP"],
      ],
    ],
  ] as const)("%s", (_what, req, want) => {
    expect(casePorts(req).map((p) => [p.name, p.port, p.protocol])).toEqual(want);
  });
});

const VARIANTS: [string, Partial<ExposeRequest>][] = [
  ["clusterip tcp", {}],
  ["clusterip udp", { protocol: "udp" }],
  ["clusterip qperf", { port: 20010, dataPort: 20011 }],
  ["nodeport tcp", { kind: "nodeport" }],
  ["nodeport udp with data port", { kind: "nodeport", protocol: "udp", dataPort: 20002 }],
  ["odd ids", { runId: "Run 7/resumed", caseId: "→case" }],
  ["node name that is no Kubernetes name", { serverNode: "Node_B" }],
  ["IPv6 clusterip", { family: "ipv6", serverAddress: "fd00:10:244:2::10" }],
  ["IPv6 nodeport udp", { kind: "nodeport", protocol: "udp", family: "ipv6", serverAddress: "fd00:10:244:2::10" }],
];

describe("buildService", () => {
  it.each(VARIANTS)("%s: a valid selector-less Service", (_what, over) => {
    const req = { ...REQ, ...over };
    const svc = buildService(req, { ...NS, instance: "netmatrix" });
    expect(validateK8sObject(svc)).toEqual([]);
    expect(svc.metadata.name).toBe(objectName(req.runId, req.caseId));
    expect(svc.metadata.namespace).toBe("netmatrix");
    expect(svc.spec).not.toHaveProperty("selector");
    expect(svc.spec.type).toBe(req.kind === "nodeport" ? "NodePort" : "ClusterIP");
    // Single stack in the case's family: the EndpointSlice's.
    expect([svc.spec.ipFamilies, svc.spec.ipFamilyPolicy]).toEqual([[req.family === "ipv6" ? "IPv6" : "IPv4"], "SingleStack"]);
    expect(svc.spec.ports.map((p) => p.name)).toEqual(casePorts(req).map((p) => p.name));
    for (const p of svc.spec.ports) expect(p.targetPort).toBe(p.port);
    expect(svc.metadata.labels).toMatchObject({
      [MANAGED_BY_LABEL]: "netmatrix",
      [RUN_ID_LABEL]: labelValue(req.runId),
      [CASE_ID_LABEL]: labelValue(req.caseId),
      [INSTANCE_LABEL]: "netmatrix",
    });
    for (const v of Object.values(svc.metadata.labels ?? {})) expect(isLabelValue(v)).toBe(true);
  });

  it("keeps ids that do not fit a label in annotations", () => {
    const svc = buildService({ ...REQ, runId: "Run 7/resumed" }, NS);
    expect(svc.metadata.annotations).toEqual({ [RUN_ID_ANNOTATION]: "Run 7/resumed" });
    expect(buildService(REQ, NS).metadata).not.toHaveProperty("annotations");
    expect(buildService(REQ, NS).metadata.labels).not.toHaveProperty(INSTANCE_LABEL);
  });

  it.each([
    ["a kind it does not know", { kind: "loadbalancer" as never }],
    ["an IPv6 address for an IPv4 case", { serverAddress: "fd00::1" }],
    ["an IPv4 address for an IPv6 case", { family: "ipv6" as const }],
    ["an IPv6 address with a zone", { family: "ipv6" as const, serverAddress: "fe80::1%eth0" }],
    ["no address", { serverAddress: "" }],
    ["port 0", { port: 0 }],
    ["port 65536", { port: 65536 }],
    ["a fractional data port", { dataPort: 1.5 }],
    ["the data port on the tool port", { dataPort: REQ.port }],
    ["no run id", { runId: "" }],
  ])("refuses %s", (_what, over) => {
    expect(() => buildService({ ...REQ, ...over }, NS)).toThrow(NetmatrixError);
  });
});

describe("buildEndpointSlice", () => {
  it.each(VARIANTS)("%s: a valid EndpointSlice with exactly the server agent", (_what, over) => {
    const req = { ...REQ, ...over };
    const svc = buildService(req, NS);
    const slice = buildEndpointSlice(req, NS, { name: svc.metadata.name, uid: "5f0e3c1a-0000-4000-8000-000000000001" });
    expect(validateK8sObject(slice)).toEqual([]);
    expect(slice.addressType).toBe(req.family === "ipv6" ? "IPv6" : "IPv4");
    expect(slice.metadata.labels).toMatchObject({
      [SERVICE_NAME_LABEL]: svc.metadata.name,
      [SLICE_MANAGED_BY_LABEL]: "coordinator.netmatrix.dev",
      [MANAGED_BY_LABEL]: "netmatrix",
    });
    // The API server refuses a label value that is not one (e.g. with a "/").
    for (const v of Object.values(slice.metadata.labels ?? {})) expect(isLabelValue(v), v).toBe(true);
    expect(slice.endpoints).toHaveLength(1);
    expect(slice.endpoints[0]!.addresses).toEqual([req.serverAddress]);
    expect(slice.endpoints[0]!.conditions.ready).toBe(true);
    // kube-proxy pairs Service and slice ports by name: same names, same protocols, same numbers.
    expect(slice.ports).toEqual(svc.spec.ports.map((p) => ({ name: p.name, port: p.targetPort, protocol: p.protocol })));
    expect(slice.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "Service", name: svc.metadata.name, uid: "5f0e3c1a-0000-4000-8000-000000000001" }]);
  });

  it("names the node only when it is a valid node name", () => {
    expect(buildEndpointSlice(REQ, NS).endpoints[0]!.nodeName).toBe("node-b");
    expect(buildEndpointSlice({ ...REQ, serverNode: "Node_B" }, NS).endpoints[0]).not.toHaveProperty("nodeName");
    expect(buildEndpointSlice(REQ, NS).metadata).not.toHaveProperty("ownerReferences");
  });
});

describe("allocatedPorts", () => {
  const udpNodePort = { ...REQ, kind: "nodeport" as const, protocol: "udp" as const, dataPort: 20002 };
  it.each([
    ["clusterip before allocation", REQ, { ports: [] }, undefined],
    ["headless is never ready", REQ, { clusterIP: "None", ports: [] }, undefined],
    ["clusterip", REQ, { clusterIP: "10.96.3.4", ports: [] }, { clusterIP: "10.96.3.4", port: 20001, dataPort: 0 }],
    ["clusterip with data port", { ...REQ, dataPort: 20002 }, { clusterIP: "10.96.3.4", ports: [] }, { clusterIP: "10.96.3.4", port: 20001, dataPort: 20002 }],
    [
      "nodeport without nodePorts yet",
      { ...REQ, kind: "nodeport" as const },
      { clusterIP: "10.96.3.4", ports: [{ name: "tool-tcp", port: 20001, protocol: "TCP" as const }] },
      undefined,
    ],
    [
      "nodeport udp: TCP and UDP share the NodePort",
      udpNodePort,
      {
        clusterIP: "10.96.3.4",
        ports: [
          { name: "tool-tcp", port: 20001, protocol: "TCP" as const, nodePort: 31000 },
          { name: "tool-udp", port: 20001, protocol: "UDP" as const, nodePort: 31000 },
          { name: "data-tcp", port: 20002, protocol: "TCP" as const, nodePort: 31001 },
          { name: "data-udp", port: 20002, protocol: "UDP" as const, nodePort: 31001 },
        ],
      },
      { clusterIP: "10.96.3.4", port: 31000, dataPort: 31001 },
    ],
  ])("%s", (_what, req, spec, want) => {
    expect(allocatedPorts(req, { spec: { type: "ClusterIP", ...spec } })).toEqual(want);
  });

  it("refuses TCP and UDP NodePorts that differ", () => {
    const spec = {
      type: "NodePort" as const,
      clusterIP: "10.96.3.4",
      ports: [
        { name: "tool-tcp", port: 20001, protocol: "TCP" as const, nodePort: 31000 },
        { name: "tool-udp", port: 20001, protocol: "UDP" as const, nodePort: 31005 },
      ],
    };
    expect(() => allocatedPorts({ ...udpNodePort, dataPort: 0 }, { spec })).toThrow(/TCP and UDP NodePorts differ/);
  });
});
