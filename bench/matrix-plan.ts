/**
 * bench:matrix-plan — how long do plan() and schedule() take for a big cluster?
 *
 * Only the pure planner and scheduler run: no network, no agents, simulated
 * registrations. Two clusters of 1000 agents each:
 *
 *   A. 1000 nodes × one host agent. Spec: host-host, iperf3, tcp, forward,
 *      pairs: all → every ordered node pair = 1000 × 999 = 999,000 cases.
 *      Scheduled with concurrency 500 (= N/2) and 3 repetitions.
 *   B. 250 nodes × (host + 2 pod agents) + 250 external agents = 1000 agents.
 *      Spec: specs/default.yaml's rows (field report 001's eight-way table + host-host)
 *      plus external-pod, tcp + udp, pairs: all, with a ClusterIP provider →
 *      3 cross-node rows × 62,250 pairs × 2 + 2 same-node rows × 250 × 2 +
 *      250 × 250 × 2 external = 499,500 cases. Concurrency 125, 3 repetitions.
 *
 * Each plan() runs twice (the first call includes JIT warm-up). A reference
 * line shows what merely allocating a million 17-field objects costs on this
 * machine: plan() cannot go below that for a million cases.
 *
 *   npm run build:dev && node dist-dev/bench/matrix-plan.js [--nodes 1000]
 */
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { plan, type Plan, type PlannerAgent, type PlannerOptions } from "../coordinator/src/matrix/planner.js";
import { roundsLowerBound, schedule } from "../coordinator/src/matrix/scheduler.js";
import { specFromObject, type MatrixSpec } from "../coordinator/src/matrix/spec.js";

const { values } = parseArgs({ options: { nodes: { type: "string", default: "1000" } } });
const NODES = Number(values.nodes);
const TOOLS: PlannerAgent["tools"] = ["iperf3", "iperf2", "qperf", "ping"];
const BAR_MS = 1000;

function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const out = f();
  return [out, performance.now() - t0];
}

const fmtMs = (ms: number): string => `${ms.toFixed(0)} ms`.padStart(8);
const fmtN = (n: number): string => n.toLocaleString("en");

function run(title: string, spec: MatrixSpec, agents: PlannerAgent[], opts: PlannerOptions): void {
  console.log(`\n${title}`);
  const [, cold] = timed(() => plan(spec, agents, opts));
  const [p, warm] = timed((): Plan => plan(spec, agents, opts));
  const verdict = warm < BAR_MS ? "under" : "OVER";
  console.log(`  plan():     ${fmtMs(cold)} first call, ${fmtMs(warm)} second (${verdict} the ${BAR_MS} ms bar) → ${fmtN(p.cases.length)} cases, ${p.refused.length} notes`);
  const [rounds, sched] = timed(() => schedule(p.cases, { concurrency: spec.concurrency, repetitions: spec.repetitions }));
  const perRep = rounds.length / spec.repetitions;
  const runs = rounds.reduce((n, r) => n + r.length, 0);
  console.log(
    `  schedule(): ${fmtMs(sched)} → ${fmtN(rounds.length)} rounds = ${perRep} per repetition × ${spec.repetitions} (lower bound ${roundsLowerBound(p.cases, spec.concurrency)}), ${fmtN(runs)} runs, concurrency ${spec.concurrency}`,
  );
  console.log(`  heap used: ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);
}

/** What allocating `n` objects shaped like a PlannedCase costs here: the floor under plan() for n cases. */
function reference(n: number): number {
  const [, ms] = timed(() => {
    const out = new Array<object>(n);
    for (let i = 0; i < n; i++) {
      out[i] = {
        id: "",
        key: "",
        scenario: "host-host",
        client: "a",
        server: "b",
        via: "direct",
        clientNode: "a",
        serverNode: "b",
        tool: "iperf3",
        protocol: "tcp",
        direction: "forward",
        parallel: 1,
        lengthBytes: 0,
        bitrateBps: undefined,
        durationS: 10,
        omitS: 1,
        baselineKey: undefined,
      };
    }
    return out.length;
  });
  return ms;
}

function main(): void {
  console.log(`node ${process.version}, ${process.arch}`);
  console.log(`reference: allocating 999,000 plain 17-field objects takes ${fmtMs(reference(999_000)).trim()} here`);

  const hosts: PlannerAgent[] = Array.from({ length: NODES }, (_, i) => ({
    id: `n${i + 1}/host`,
    node: `n${i + 1}`,
    mode: "host",
    address: `198.18.${(i >> 8) & 255}.${i & 255}`,
    tools: TOOLS,
  }));
  const specA = specFromObject(
    {
      name: "bench-full-mesh",
      scenarios: ["host-host"],
      tools: ["iperf3"],
      protocols: ["tcp"],
      pairs: "all",
      concurrency: Math.max(1, Math.floor(NODES / 2)),
      repetitions: 3,
    },
    "bench",
  );
  run(`A. ${NODES} nodes × 1 host agent = ${hosts.length} agents; host-host, iperf3/tcp/forward, pairs: all`, specA, hosts, {});

  const nodesB = Math.floor(NODES / 4);
  const mixed: PlannerAgent[] = [];
  for (let i = 1; i <= nodesB; i++) {
    const node = `n${i}`;
    const octet = `${(i >> 8) & 255}.${i & 255}`;
    mixed.push({ id: `${node}/host`, node, mode: "host", address: `198.18.${octet}`, tools: TOOLS });
    mixed.push({ id: `${node}/pod/a`, node, mode: "pod", address: `10.244.${i & 255}.2`, tools: TOOLS });
    mixed.push({ id: `${node}/pod/b`, node, mode: "pod", address: `10.244.${i & 255}.3`, tools: TOOLS });
    mixed.push({ id: `ext${i}/external`, node: `ext${i}`, mode: "external", address: `198.19.${octet}`, tools: TOOLS });
  }
  const specB = specFromObject(
    {
      name: "bench-default-mix",
      scenarios: ["host-host", "pod-pod-cross", "pod-pod-same", "pod-service-cross", "pod-service-same", "external-pod"],
      tools: ["iperf3"],
      protocols: ["tcp", "udp"],
      udpBitrates: ["1G"],
      pairs: "all",
      concurrency: Math.max(1, Math.floor(nodesB / 2)),
      repetitions: 3,
    },
    "bench",
  );
  run(`B. ${nodesB} nodes × (host + 2 pods) + ${nodesB} external = ${mixed.length} agents; default rows + external-pod, tcp+udp, pairs: all`, specB, mixed, {
    serviceProvider: { kinds: ["clusterip"] },
  });
}

main();
