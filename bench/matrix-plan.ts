/**
 * bench:matrix-plan — how long do plan() and schedule() take on a big cluster?
 *
 * Two simulated clusters, no network, no agents: only the pure planner and
 * scheduler.
 *
 *   A. 1000 nodes, one host agent each (1000 agents); spec host-host, iperf3,
 *      tcp, forward, pairs: all → every ordered node pair = 1000 × 999 =
 *      999,000 cases; scheduled with concurrency 500 (= N/2) and 3 repetitions.
 *   B. 333 nodes × (host + 2 pod agents) + 1 external agent = 1000 agents;
 *      specs/default.yaml's scenarios (seed 001's eight-way table + host-host)
 *      plus external-pod, tcp + udp, pairs: all, with a service provider;
 *      scheduled with concurrency 166 and 3 repetitions.
 *
 * Bar: plan() under 1 s.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/matrix-plan.js [--nodes 1000]
 */
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { plan, type PlannerAgent, type PlannerOptions } from "../coordinator/src/matrix/planner.js";
import { roundsLowerBound, schedule } from "../coordinator/src/matrix/scheduler.js";
import { specFromObject, type MatrixSpec } from "../coordinator/src/matrix/spec.js";

const { values } = parseArgs({ options: { nodes: { type: "string", default: "1000" } } });
const NODES = Number(values.nodes);
const TOOLS: PlannerAgent["tools"] = ["iperf3", "iperf2", "qperf", "ping"];

function ms(t0: number): string {
  return `${(performance.now() - t0).toFixed(0)} ms`;
}

function run(title: string, spec: MatrixSpec, agents: PlannerAgent[], opts: PlannerOptions): void {
  console.log(`\n${title}`);
  console.log(`  agents ${agents.length}, scenarios ${spec.scenarios.join(", ")}, protocols ${spec.protocols.join("+")}`);
  let t0 = performance.now();
  const p = plan(spec, agents, opts);
  const planTime = ms(t0);
  console.log(`  plan():     ${planTime.padStart(8)}  → ${p.cases.length.toLocaleString("en")} cases, ${p.refused.length} refusal/skip notes`);
  t0 = performance.now();
  const rounds = schedule(p.cases, { concurrency: spec.concurrency, repetitions: spec.repetitions });
  const schedTime = ms(t0);
  const perRep = rounds.length / spec.repetitions;
  const runs = rounds.reduce((n, r) => n + r.length, 0);
  console.log(`  schedule(): ${schedTime.padStart(8)}  → ${rounds.length.toLocaleString("en")} rounds (${perRep} per repetition, lower bound ${roundsLowerBound(p.cases, spec.concurrency)}), ${runs.toLocaleString("en")} runs, concurrency ${spec.concurrency}`);
  console.log(`  heap used after: ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);
}

function main(): void {
  // A: full mesh of host agents.
  const hosts: PlannerAgent[] = Array.from({ length: NODES }, (_, i) => ({
    id: `n${i + 1}/host`, node: `n${i + 1}`, mode: "host", address: `198.18.${(i >> 8) & 255}.${i & 255}`, tools: TOOLS,
  }));
  const specA = specFromObject({
    name: "bench-full-mesh", scenarios: ["host-host"], tools: ["iperf3"], protocols: ["tcp"],
    pairs: "all", concurrency: Math.max(1, Math.floor(NODES / 2)), repetitions: 3,
  }, "bench");
  run(`A. ${NODES} nodes × host agent, host-host, pairs: all`, specA, hosts, {});

  // B: 1000 agents over 333 nodes (host + two pod agents) and one external agent.
  const nodesB = Math.floor((NODES - 1) / 3);
  const mixed: PlannerAgent[] = [];
  for (let i = 1; i <= nodesB; i++) {
    const node = `n${i}`;
    mixed.push({ id: `${node}/host`, node, mode: "host", address: `198.18.0.${i % 250}`, tools: TOOLS });
    mixed.push({ id: `${node}/pod/a`, node, mode: "pod", address: `10.244.${i % 250}.2`, tools: TOOLS });
    mixed.push({ id: `${node}/pod/b`, node, mode: "pod", address: `10.244.${i % 250}.3`, tools: TOOLS });
  }
  mixed.push({ id: "ext/external", node: "ext", mode: "external", address: "198.19.0.1", tools: TOOLS });
  const specB = specFromObject({
    name: "bench-default-mix",
    scenarios: ["host-host", "pod-pod-cross", "pod-pod-same", "pod-service-cross", "pod-service-same", "external-pod"],
    tools: ["iperf3"], protocols: ["tcp", "udp"], udpBitrates: ["1G"],
    pairs: "all", concurrency: Math.max(1, Math.floor(nodesB / 2)), repetitions: 3,
  }, "bench");
  run(`B. ${mixed.length} agents = ${nodesB} nodes × (host + 2 pods) + 1 external, default scenarios + external-pod`, specB, mixed, {
    serviceProvider: { kinds: ["clusterip", "nodeport"] },
  });
}

main();
