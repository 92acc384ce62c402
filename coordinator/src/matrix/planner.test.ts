import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import type { ToolName } from "../../../tools/src/index.js";
import { caseId } from "./hash.js";
import { plan, type PlannedCase, type PlannerAgent, type PlannerOptions } from "./planner.js";
import type { ScenarioName } from "../../../common/src/scenarios.js";
import { parseSpec, specFromObject } from "./spec.js";

const ALL_TOOLS: ToolName[] = ["iperf3", "iperf2", "qperf", "ping"];
const PROVIDER: PlannerOptions = { serviceProvider: { kinds: ["clusterip", "nodeport"] } };

/** Agents on `nodes`: a host agent and `pods` pod agents (a, b, …) per node, plus external agents. */
function cluster(nodes: string[], o: { pods?: number; host?: boolean; tools?: ToolName[]; external?: string[] } = {}): PlannerAgent[] {
  const tools = o.tools ?? ALL_TOOLS;
  const out: PlannerAgent[] = [];
  nodes.forEach((node, i) => {
    if (o.host ?? true) out.push({ id: `${node}/host`, node, mode: "host", address: `198.18.0.${i + 1}`, tools });
    for (let p = 0; p < (o.pods ?? 2); p++) {
      out.push({ id: `${node}/pod/${"ab"[p] ?? p}`, node, mode: "pod", address: `10.244.${i}.${p + 2}`, tools });
    }
  });
  for (const x of o.external ?? []) out.push({ id: `${x}/external`, node: x, mode: "external", address: "198.19.0.1", tools });
  return out;
}

const spec = (extra: Record<string, unknown>) => specFromObject({ name: "t", scenarios: ["host-host"], ...extra });
const brief = (c: PlannedCase) => `${c.client} → ${c.server} (${c.via})`;

describe("scenario → client and server", () => {
  test.each<[ScenarioName, string[]]>([
    ["host-host", ["n1/host → n2/host (direct)", "n2/host → n1/host (direct)"]],
    ["pod-pod-cross", ["n1/pod/a → n2/pod/a (direct)", "n2/pod/a → n1/pod/a (direct)"]],
    ["pod-pod-same", ["n1/pod/a → n1/pod/b (direct)", "n2/pod/a → n2/pod/b (direct)"]],
    ["pod-host", ["n1/pod/a → n2/host (direct)", "n2/pod/a → n1/host (direct)"]],
    ["host-pod", ["n1/host → n2/pod/a (direct)", "n2/host → n1/pod/a (direct)"]],
    ["pod-service-cross", ["n1/pod/a → n2/pod/a (service)", "n2/pod/a → n1/pod/a (service)"]],
    ["pod-service-same", ["n1/pod/a → n1/pod/b (service)", "n2/pod/a → n2/pod/b (service)"]],
    ["external-pod", ["ext/external → n1/pod/a (direct)", "ext/external → n2/pod/a (direct)"]],
    ["external-nodeport", ["ext/external → n1/pod/a (nodeport)", "ext/external → n2/pod/a (nodeport)"]],
  ])("%s", (scenario, expected) => {
    const p = plan(spec({ scenarios: [scenario] }), cluster(["n1", "n2"], { external: ["ext"] }), PROVIDER);
    expect(p.cases.map(brief)).toEqual(expected);
    expect(p.refused).toEqual([]);
    for (const c of p.cases) expect(c.scenario).toBe(scenario);
  });

  test("a case carries its parameters, a readable key and an id hashed from it", () => {
    const p = plan(spec({ scenarios: ["pod-pod-cross"], protocols: ["udp"], udpBitrates: ["500M"], lengths: ["1K"], duration: 20, omit: 2 }), cluster(["n1", "n2"]));
    expect(p.cases[0]).toEqual<PlannedCase>({
      id: caseId("pod-pod-cross/iperf3/udp/forward/P1/L1K/B500M/n1→n2"),
      key: "pod-pod-cross/iperf3/udp/forward/P1/L1K/B500M/n1→n2",
      scenario: "pod-pod-cross",
      client: "n1/pod/a",
      server: "n2/pod/a",
      via: "direct",
      clientNode: "n1",
      serverNode: "n2",
      tool: "iperf3",
      protocol: "udp",
      direction: "forward",
      parallel: 1,
      lengthBytes: 1024,
      bitrateBps: 5e8,
      durationS: 20,
      omitS: 2,
      baselineKey: undefined,
    });
  });

  test("nodes in natural order: n2 before n10", () => {
    const p = plan(spec({ pairs: "ring" }), cluster(["n10", "n2", "n1"], { pods: 0 }));
    expect(p.cases.map((c) => `${c.clientNode}→${c.serverNode}`)).toEqual(["n1→n2", "n2→n10", "n10→n1"]);
  });

  test("ping is planned once per pair as protocol icmp, and only on direct paths", () => {
    const p = plan(spec({ scenarios: ["pod-pod-cross", "pod-service-cross"], tools: ["ping"], protocols: ["tcp", "udp"] }), cluster(["n1", "n2"]), PROVIDER);
    expect(p.cases.map((c) => c.key)).toEqual(["pod-pod-cross/ping/icmp/forward/P1/L0/n1→n2", "pod-pod-cross/ping/icmp/forward/P1/L0/n2→n1"]);
    expect(p.refused).toContainEqual({
      kind: "skipped",
      scenario: "pod-service-cross",
      tool: "ping",
      count: 2,
      reason: "ping: ICMP to a ClusterIP is not forwarded (kube-proxy and the lab's DNAT forward TCP/UDP ports only); ping runs on direct paths",
    });
  });
});

describe("refusals name what is missing", () => {
  test.each<[string, Record<string, unknown>, PlannerAgent[], PlannerOptions, { kind: string; scenario?: string; tool?: string; count: number; reason: string }[]]>([
    [
      "no service provider",
      { scenarios: ["pod-service-cross"] },
      cluster(["n1", "n2"]),
      {},
      [
        {
          kind: "refused",
          scenario: "pod-service-cross",
          count: 0,
          reason: "pod-service-cross: no service provider is configured (the lab provides iptables DNAT, Kubernetes provides Services)",
        },
      ],
    ],
    [
      "provider without NodePorts",
      { scenarios: ["external-nodeport"] },
      cluster(["n1"], { external: ["ext"] }),
      { serviceProvider: { kinds: ["clusterip"] } },
      [{ kind: "refused", scenario: "external-nodeport", count: 0, reason: "external-nodeport: needs a nodeport service, the service provider offers clusterip" }],
    ],
    [
      "no external agent",
      { scenarios: ["external-pod"] },
      cluster(["n1", "n2"]),
      {},
      [
        {
          kind: "refused",
          scenario: "external-pod",
          count: 0,
          reason: "external-pod: no external agent is registered (run `netmatrix agent --mode external` on a machine outside the cluster)",
        },
      ],
    ],
    [
      "one pod agent per node",
      { scenarios: ["pod-pod-same"] },
      cluster(["n1", "n2"], { pods: 1 }),
      {},
      [
        {
          kind: "refused",
          scenario: "pod-pod-same",
          count: 2,
          reason: "pod-pod-same: node(s) n1, n2: fewer than two pod agents (the chart runs the pod variant as two DaemonSets); 2 nodes not planned",
        },
      ],
    ],
    [
      "a single node cannot pair",
      { scenarios: ["host-host"] },
      cluster(["n1"]),
      {},
      [{ kind: "refused", scenario: "host-host", count: 0, reason: "host-host: needs at least two nodes to pair; the selection has 1" }],
    ],
    [
      "no pod agents at all",
      { scenarios: ["pod-pod-cross"] },
      cluster(["n1", "n2"], { pods: 0 }),
      {},
      [
        {
          kind: "refused",
          scenario: "pod-pod-cross",
          count: 2,
          reason: "pod-pod-cross: node(s) n1, n2: no pod agent (the pod-network DaemonSet is not running there); 2 node pairs not planned",
        },
      ],
    ],
    [
      "unknown node in pairs.nodes",
      { pairs: { nodes: ["n1", "n2", "n7"] } },
      cluster(["n1", "n2"]),
      {},
      [{ kind: "refused", count: 0, reason: 'pairs.nodes: no agent runs on node "n7" (nodes with agents: n1, n2)' }],
    ],
  ])("%s", (_what, extra, agents, opts, refused) => {
    const p = plan(spec(extra), agents, opts);
    expect(p.refused).toEqual(refused);
  });

  test("a node without a host agent loses only its pairs", () => {
    const agents = [...cluster(["n1", "n2"]), ...cluster(["n3"], { host: false })];
    const p = plan(spec({ protocols: ["tcp", "udp"] }), agents);
    expect(p.cases.map((c) => `${c.clientNode}→${c.serverNode}`)).toEqual(["n1→n2", "n2→n1", "n1→n2", "n2→n1"]);
    expect(p.refused).toEqual([
      {
        kind: "refused",
        scenario: "host-host",
        count: 8, // 4 node pairs × 2 protocols
        reason: "host-host: node(s) n3: no host agent (the host-network DaemonSet is not running there); 4 node pairs not planned",
      },
    ]);
  });

  test("a tool missing on an agent refuses those cases with the Debian package to install", () => {
    const agents = cluster(["n1", "n2", "n3"], { pods: 0 }).map((a) => (a.node === "n3" ? { ...a, tools: ["iperf3"] as ToolName[] } : a));
    const p = plan(spec({ tools: ["iperf2", "ping"] }), agents);
    // iperf2 needs a server: every pair touching n3 is refused; ping needs only the client's binary.
    expect(p.cases.map((c) => c.key)).toEqual([
      "host-host/iperf2/tcp/forward/P1/L0/n1→n2",
      "host-host/iperf2/tcp/forward/P1/L0/n2→n1",
      "host-host/ping/icmp/forward/P1/L0/n1→n2",
      "host-host/ping/icmp/forward/P1/L0/n1→n3",
      "host-host/ping/icmp/forward/P1/L0/n2→n1",
      "host-host/ping/icmp/forward/P1/L0/n2→n3",
    ]);
    expect(p.refused).toEqual([
      { kind: "refused", scenario: "host-host", tool: "iperf2", count: 4, reason: 'iperf2 is missing on agent n3/host; install the Debian package "iperf"' },
      { kind: "refused", scenario: "host-host", tool: "ping", count: 2, reason: 'ping is missing on agent n3/host; install the Debian package "iputils-ping"' },
    ]);
  });

  test("a tool an agent has but cannot run refuses those cases with the agent's problem and fix", () => {
    const problem = 'ping cannot open an ICMP socket (ping: socket: Operation not permitted): ...; Fix: sysctl -w net.ipv4.ping_group_range="0 2147483647"';
    const agents = cluster(["n1", "n2"], { pods: 0 }).map((a) => (a.node === "n2" ? { ...a, tools: ["iperf3"] as ToolName[], toolProblems: { ping: problem } } : a));
    const p = plan(spec({ tools: ["ping"] }), agents);
    expect(p.cases.map((c) => c.key)).toEqual(["host-host/ping/icmp/forward/P1/L0/n1→n2"]);
    expect(p.refused).toEqual([{ kind: "refused", scenario: "host-host", tool: "ping", count: 1, reason: `ping cannot run on agent n2/host: ${problem}` }]);
  });

  test("a server without an address is refused", () => {
    const agents = cluster(["n1", "n2"], { pods: 0 }).map((a) => (a.node === "n2" ? { ...a, address: "" } : a));
    const p = plan(spec({}), agents);
    expect(p.cases.map((c) => c.key)).toEqual(["host-host/iperf3/tcp/forward/P1/L0/n2→n1"]);
    expect(p.refused[0]?.reason).toBe("host-host: agent(s) n2/host: registered no address (start it with --address IP); 1 node pairs not planned");
  });

  test("qperf reverse and parallel streams are skipped, not the whole spec", () => {
    const p = plan(spec({ tools: ["iperf3", "qperf"], directions: ["forward", "reverse"], parallel: [1, 4] }), cluster(["n1", "n2"], { pods: 0 }));
    expect(p.cases.filter((c) => c.tool === "qperf").map((c) => c.key)).toEqual(["host-host/qperf/tcp/forward/P1/L0/n1→n2", "host-host/qperf/tcp/forward/P1/L0/n2→n1"]);
    expect(p.cases.filter((c) => c.tool === "iperf3")).toHaveLength(8);
    expect(p.refused).toEqual([
      // forward/P4 and reverse/P4 report the stream count (the driver checks it first), reverse/P1 the direction
      { kind: "skipped", scenario: "host-host", tool: "qperf", count: 4, reason: "qperf runs a single stream; parallel 4 is unsupported" },
      { kind: "skipped", scenario: "host-host", tool: "qperf", count: 2, reason: "qperf measures one direction only (client sends); direction reverse is unsupported" },
    ]);
  });

  test("duplicate agent ids are a programming error", () => {
    const a = cluster(["n1"], { pods: 0 });
    expect(() => plan(spec({}), [...a, ...a])).toThrow('plan: agent id "n1/host" appears twice');
  });
});

describe("baselines", () => {
  test("every cross-node pod case points at the host-host case of the same pair and parameters", () => {
    const p = plan(spec({ scenarios: ["pod-pod-cross", "pod-service-cross", "pod-pod-same", "host-host"], protocols: ["tcp", "udp"] }), cluster(["n1", "n2", "n3"]), PROVIDER);
    const keys = new Set(p.cases.map((c) => c.key));
    for (const c of p.cases) {
      if (c.scenario === "host-host" || c.scenario === "pod-pod-same") {
        expect(c.baselineKey).toBeUndefined();
        continue;
      }
      expect(c.baselineKey).toBe(`host-host${c.key.slice(c.scenario.length)}`);
      expect(keys.has(c.baselineKey!)).toBe(true);
    }
    expect(p.cases.find((c) => c.key === "pod-service-cross/iperf3/udp/forward/P1/L0/B1G/n3→n1")?.baselineKey).toBe("host-host/iperf3/udp/forward/P1/L0/B1G/n3→n1");
  });

  test("no host-host case, no baseline key", () => {
    const p = plan(spec({ scenarios: ["pod-pod-cross"] }), cluster(["n1", "n2"]));
    expect(p.cases.every((c) => c.baselineKey === undefined)).toBe(true);
  });

  test("a host-host case refused for a missing tool is no baseline", () => {
    const agents = cluster(["n1", "n2"]).map((a) => (a.mode === "host" ? { ...a, tools: [] as ToolName[] } : a));
    const p = plan(spec({ scenarios: ["host-host", "pod-pod-cross"] }), agents);
    expect(p.cases.map((c) => [c.scenario, c.baselineKey])).toEqual([
      ["pod-pod-cross", undefined],
      ["pod-pod-cross", undefined],
    ]);
  });
});

describe("the default spec on a 3-node cluster", () => {
  const text = readFileSync(new URL("../../../specs/default.yaml", import.meta.url), "utf8");
  const defaultSpec = parseSpec(text, "specs/default.yaml");

  // Its tools: iperf3, ping and http.
  const withHttp = (): PlannerAgent[] => cluster(["n1", "n2", "n3"], { tools: [...ALL_TOOLS, "http"] });

  test("with a service provider: 8-way table + baseline = 48 iperf3 cases, 15 ping cases (not through a Service) and 60 http cases", () => {
    const p = plan(defaultSpec, withHttp(), PROVIDER);
    const count = (s: ScenarioName, tool?: ToolName) => p.cases.filter((c) => c.scenario === s && (tool === undefined || c.tool === tool)).length;
    const row = (tool: ToolName) => [
      count("host-host", tool),
      count("pod-pod-cross", tool),
      count("pod-pod-same", tool),
      count("pod-service-cross", tool),
      count("pod-service-same", tool),
    ];
    // 6 ordered pairs or 3 nodes, × tcp/udp (iperf3), × 1 (ping: ICMP, no Service), × keepalive/new-connection (http: TCP only)
    expect(row("iperf3")).toEqual([12, 12, 6, 12, 6]);
    expect(row("ping")).toEqual([6, 6, 3, 0, 0]);
    expect(row("http")).toEqual([12, 12, 6, 12, 6]);
    // crosscheck: [host-host, pod-pod-cross]: iperf2 on iperf3's TCP and UDP cases, qperf on its TCP ones, those rows only.
    expect(row("iperf2")).toEqual([12, 12, 0, 0, 0]);
    expect(row("qperf")).toEqual([6, 6, 0, 0, 0]);
    expect(p.refused.filter((r) => r.kind === "refused")).toEqual([]);
  });

  test("without one: the service rows are refused, the others planned", () => {
    const p = plan(defaultSpec, withHttp());
    // 75 listed + 36 cross-checking (iperf2 tcp/udp and qperf tcp on host-host and pod-pod-cross, 6 pairs each).
    expect(p.cases).toHaveLength(111);
    expect(p.refused.filter((r) => r.kind === "refused").map((r) => r.scenario)).toEqual(["pod-service-cross", "pod-service-same"]);
  });

  test("ids are unique, equal caseId(key), and the same whatever order the agents come in", () => {
    const agents = cluster(["n1", "n2", "n3"]);
    const a = plan(defaultSpec, agents, PROVIDER);
    const b = plan(defaultSpec, [...agents].reverse(), PROVIDER);
    expect(b).toEqual(a);
    expect(new Set(a.cases.map((c) => c.id)).size).toBe(a.cases.length);
    for (const c of a.cases) expect(c.id).toBe(caseId(c.key));
  });
});
