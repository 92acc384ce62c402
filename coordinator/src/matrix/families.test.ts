/** `families: [ipv4, ipv6]`: the spec key, the planner's expansion per family, and its skips (issue 17, item 4). */
import { describe, expect, test } from "vitest";
import type { ToolName } from "../../../tools/src/index.js";
import { caseId } from "./hash.js";
import { plan, type PlannerAgent, type PlannerOptions } from "./planner.js";
import { parseSpec, specFromObject } from "./spec.js";
import { SpecError } from "./spec-error.js";
import { specFromMessage, specMessage } from "./spec-wire.js";

const TOOLS: ToolName[] = ["iperf3", "iperf2", "qperf", "ping", "sockperf", "http"];

/** Host and two pod agents per node; `v6` lists the nodes whose agents also registered an IPv6 address. */
function cluster(nodes: string[], v6: string[]): PlannerAgent[] {
  return nodes.flatMap((node, i) => {
    const six = (suffix: string) => (v6.includes(node) ? [`fd00:10:244:${i + 1}::${suffix}`] : []);
    const host = `198.18.0.${i + 11}`;
    return [
      { id: `${node}/host`, node, mode: "host" as const, address: host, addresses: [host, "fe80::1", ...(v6.includes(node) ? [`fd00:198:18::${i + 11}`] : [])], tools: TOOLS },
      ...["a", "b"].map((p, k) => {
        const a = `10.244.${i + 1}.${10 + k}`;
        return { id: `${node}/pod/${p}`, node, mode: "pod" as const, address: a, addresses: [a, ...six(String(10 + k))], tools: TOOLS };
      }),
    ];
  });
}

const spec = (extra: Record<string, unknown>) => specFromObject({ name: "t", scenarios: ["host-host"], duration: 2, ...extra });

describe("the families key", () => {
  test.each([
    ["families: [ipv4, ipv6]", ["ipv4", "ipv6"]],
    ["families: [ipv6]", ["ipv6"]],
    ["", ["ipv4"]],
  ])("%j → %j", (line, want) => {
    expect(parseSpec(`name: f\nscenarios: [host-host]\n${line}\n`, "f.yaml").families).toEqual(want);
  });

  test.each([
    ["families: [ipv5]", 'f.yaml:3: unknown address family "ipv5"; did you mean "ipv4"?'],
    ["families: [ipv6, ipv6]", 'address family "ipv6" is listed twice'],
    ["families: []", "families"],
  ])("%j is refused, naming the line", (line, message) => {
    expect(() => parseSpec(`name: f\nscenarios: [host-host]\n${line}\n`, "f.yaml")).toThrow(SpecError);
    expect(() => parseSpec(`name: f\nscenarios: [host-host]\n${line}\n`, "f.yaml")).toThrow(message);
  });

  test("survives the wire (MatrixSpec field 24); a message without it (an older CLI) is [ipv4]", () => {
    const s = spec({ families: ["ipv4", "ipv6"] });
    const m = specMessage(s);
    expect(m.families).toEqual([1, 2]);
    expect(specFromMessage(m, "m").families).toEqual(["ipv4", "ipv6"]);
    m.families = [];
    expect(specFromMessage(m, "m").families).toEqual(["ipv4"]);
  });
});

describe("planning over families", () => {
  test("every case runs once per family; IPv4 keys and ids are as before families, IPv6 ones end in /ipv6", () => {
    const p = plan(spec({ scenarios: ["host-host", "pod-pod-cross"], families: ["ipv4", "ipv6"] }), cluster(["n1", "n2"], ["n1", "n2"]));
    expect(p.refused).toEqual([]);
    expect(p.cases.map((c) => c.key)).toEqual([
      "host-host/iperf3/tcp/forward/P1/L0/n1→n2",
      "host-host/iperf3/tcp/forward/P1/L0/n2→n1",
      "host-host/iperf3/tcp/forward/P1/L0/ipv6/n1→n2",
      "host-host/iperf3/tcp/forward/P1/L0/ipv6/n2→n1",
      "pod-pod-cross/iperf3/tcp/forward/P1/L0/n1→n2",
      "pod-pod-cross/iperf3/tcp/forward/P1/L0/n2→n1",
      "pod-pod-cross/iperf3/tcp/forward/P1/L0/ipv6/n1→n2",
      "pod-pod-cross/iperf3/tcp/forward/P1/L0/ipv6/n2→n1",
    ]);
    const v4 = p.cases[0]!;
    expect(v4.id).toBe(caseId("host-host/iperf3/tcp/forward/P1/L0/n1→n2"));
    expect(v4).not.toHaveProperty("family");
    expect(p.cases[2]!.family).toBe("ipv6");
    // The IPv6 pod case's baseline is the IPv6 host-host case.
    expect(p.cases[6]!.baselineKey).toBe("host-host/iperf3/tcp/forward/P1/L0/ipv6/n1→n2");
  });

  test("the default (no families key) plans exactly what it did before", () => {
    const before = plan(spec({ scenarios: ["host-host"] }), cluster(["n1", "n2"], ["n1", "n2"]));
    expect(before.cases.map((c) => c.key)).toEqual(["host-host/iperf3/tcp/forward/P1/L0/n1→n2", "host-host/iperf3/tcp/forward/P1/L0/n2→n1"]);
  });

  test.each([
    ["host-host", "n2 has no IPv6 address: run the lab with --ipv6 / enable dual stack"],
    ["pod-pod-cross", "n2/pod/a has no IPv6 address: run the lab with --ipv6 / enable dual stack"],
  ])("%s: a pair whose endpoint lacks IPv6 is skipped with the reason; its IPv4 cases run", (scenario, reason) => {
    const p = plan(spec({ scenarios: [scenario], families: ["ipv4", "ipv6"] }), cluster(["n1", "n2"], ["n1"]));
    expect(p.cases.map((c) => c.family ?? "ipv4")).toEqual(["ipv4", "ipv4"]);
    expect(p.refused).toEqual([{ kind: "skipped", scenario, tool: "iperf3", count: 2, reason }]);
  });

  test("a mesh of three nodes, one without IPv6: the four pairs touching it are skipped, the two others run", () => {
    const p = plan(spec({ scenarios: ["host-host"], families: ["ipv6"] }), cluster(["n1", "n2", "n3"], ["n1", "n3"]));
    expect(p.cases.map((c) => `${c.clientNode}→${c.serverNode}`)).toEqual(["n1→n3", "n3→n1"]);
    expect(p.refused.reduce((n, r) => n + r.count, 0)).toBe(4);
  });

  test("a tool that cannot run over IPv6 is skipped with its driver's reason", () => {
    const p = plan(spec({ scenarios: ["pod-pod-cross"], tools: ["sockperf"], protocols: ["udp"], families: ["ipv4", "ipv6"] }), cluster(["n1", "n2"], ["n1", "n2"]));
    expect(p.cases.every((c) => c.family === undefined)).toBe(true);
    expect(p.refused).toEqual([expect.objectContaining({ kind: "skipped", tool: "sockperf", reason: expect.stringContaining("sockperf 3.7 takes IPv4 addresses only") })]);
  });

  test("service rows over IPv6 need a provider that offers IPv6 services", () => {
    const agents = cluster(["n1", "n2"], ["n1", "n2"]);
    const v4only: PlannerOptions = { serviceProvider: { kinds: ["clusterip"] } };
    const s = spec({ scenarios: ["pod-service-cross"], families: ["ipv4", "ipv6"] });
    const p = plan(s, agents, v4only);
    expect(p.cases.map((c) => c.family ?? "ipv4")).toEqual(["ipv4", "ipv4"]);
    expect(p.refused).toEqual([expect.objectContaining({ kind: "skipped", reason: "pod-service-cross: the service provider offers no IPv6 services" })]);
    // The provider's note on why (a cluster without an IPv6 Service range) goes with the reason.
    const noted = plan(s, agents, { serviceProvider: { kinds: ["clusterip"], families: ["ipv4"], familiesNote: "the cluster has no IPv6 Service range: not configured" } });
    expect(noted.refused.map((r) => r.reason)).toEqual(["pod-service-cross: the service provider offers no IPv6 services (the cluster has no IPv6 Service range: not configured)"]);
    const dual = plan(s, agents, { serviceProvider: { kinds: ["clusterip"], families: ["ipv4", "ipv6"] } });
    expect(dual.cases).toHaveLength(4);
  });
});
