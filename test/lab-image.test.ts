/**
 * `netmatrix lab up --image`: the lab's coordinator and agents as podman
 * containers of the real image, with the chart's settings. Every agent
 * registers; every container's processes run as uid 10001 with no
 * capability and no_new_privs; a short matrix (iperf3 and ping, host-host
 * and pod-pod across nodes) runs through the containerized agents — the
 * host agents ping through ICMP echo sockets, allowed by the nodes'
 * ping_group_range, the pod agents by their pod sysctl, and the pod agents
 * read their node's NIC counters through the host's /proc; `lab down`
 * leaves no container, namespace or link, and the run in DATA_DIR/runs.
 *
 * Needs root, podman and the image (NETMATRIX_TEST_IMAGE, default
 * localhost/netmatrix/netmatrix:dev, as `bash scripts/build-image.sh` tags
 * it); skips clearly without them. Runs the built CLI (npm run build).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { canUseNamespaces } from "../lab/src/netns.js";
import { labObjects } from "../lab/src/topology.js";
import { readLabState } from "../lab/src/lab.js";
import { runNetmatrix } from "./harness/processes.js";
import { ControlClient } from "../cli/src/control-client.js";
import { testSlot } from "./harness/slot.js";

const IMAGE = process.env.NETMATRIX_TEST_IMAGE || "localhost/netmatrix/netmatrix:dev";
const podman = spawnSync("podman", ["--version"], { encoding: "utf8" }).status === 0;
const image = podman && spawnSync("podman", ["image", "exists", IMAGE]).status === 0;
const root = canUseNamespaces();
const skip = !root ? "needs root (namespaces, rootful podman)" : !podman ? "podman is not installed" : !image ? `image ${IMAGE} is missing (bash scripts/build-image.sh)` : "";
if (skip) console.warn(`SKIPPED test/lab-image.test.ts: ${skip}`);

const dataDir = mkdtempSync(join(tmpdir(), "nm-labimg-"));
const slot = testSlot();
// This run's lab: its own prefix (names of namespaces, links and containers), address block and free ports.
const env = { ...slot.labEnv(dataDir), NETMATRIX_LAB_PREFIX: slot.prefix("limg") };
const PREFIX = env.NETMATRIX_LAB_PREFIX;

const SPEC = `name: lab-image
scenarios: [host-host, pod-pod-cross]
tools: [iperf3, ping]
protocols: [tcp]
directions: [forward]
duration: 2
repetitions: 1
pairs: { sample: 1 }
`;

function containers(): string[] {
  const r = spawnSync("podman", ["ps", "--all", "--format", "{{.Names}}"], { encoding: "utf8" });
  return r.stdout.split("\n").filter((n) => n.startsWith(PREFIX));
}

/** Uid, Gid, CapEff and NoNewPrivs lines of /proc/PID/status. */
function identity(pid: number): Record<string, string> {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, "m").exec(status)?.[1]?.trim().split(/\s+/).join(" ") ?? "";
  return { Uid: field("Uid"), Gid: field("Gid"), CapEff: field("CapEff"), NoNewPrivs: field("NoNewPrivs") };
}

/** `pid` and every process below it. */
function tree(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  return [pid, ...children.flatMap(tree)];
}

describe.skipIf(Boolean(skip))(`netmatrix lab up --image ${IMAGE} (root, podman)`, () => {
  afterEach(async () => {
    // Whatever happened, leave nothing behind.
    await runNetmatrix(["lab", "down"], { env });
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  test("every agent registers as uid 10001 with no capability; iperf3 and ping run through the containers; down leaves nothing", async () => {
    const t0 = performance.now();
    const up = await runNetmatrix(["lab", "up", "--nodes", "2", "--image", IMAGE], { env });
    expect(up.code, up.stderr.slice(-3000)).toBe(0);
    const upS = (performance.now() - t0) / 1000;
    const state = readLabState(dataDir)!;
    expect(state.image).toBe(IMAGE);
    // A coordinator, and per node a host agent and two pod agents: containers, not processes. The one process: the
    // Kubernetes API stand-in the coordinator manages Services through, as the chart's does through the API server.
    expect(state.pids.map((p) => p.name)).toEqual(["kube-api"]);
    expect(state.kubeApi).toMatchObject({ address: expect.stringMatching(/^127\.0\.0\.1:\d+$/), namespace: "netmatrix" });
    expect(state.containers!.map((c) => c.name).sort()).toEqual(containers().sort());
    expect(state.containers).toHaveLength(7);

    const status = await runNetmatrix(["lab", "status", "--output", "json"], { env });
    const listed = JSON.parse(status.stdout).containers as { name: string; status: string; pid: number; for: string }[];
    expect(listed.map((c) => c.status)).toEqual(Array(7).fill("running"));
    for (const c of listed) {
      // tini and the netmatrix node process under it (and nothing else yet): the image's user, nothing more.
      const procs = tree(c.pid);
      expect(procs.length, c.name).toBeGreaterThanOrEqual(2);
      for (const pid of procs)
        expect(identity(pid), `${c.name}: pid ${pid}`).toEqual({ Uid: "10001 10001 10001 10001", Gid: "10001 10001 10001 10001", CapEff: "0000000000000000", NoNewPrivs: "1" });
    }

    // Every agent registered, every tool it found usable (ping included: the host agents' ICMP echo sockets, allowed by their node).
    const client = new ControlClient(state.coordinator, readFileSync(state.tokenFile, "utf8").trim());
    try {
      const { agents } = await client.listAgents();
      const want = state.topology.nodes.flatMap((n) => [`${n.name}/host`, ...n.pods.map((p) => `${n.name}/pod/${p.name}`)]);
      expect(agents.map((a) => a.agentId).sort()).toEqual(want.sort());
      for (const a of agents) expect(a.info!.tools.filter((t) => t.path && t.problem).map((t) => `${a.agentId}: ${t.problem}`)).toEqual([]);
    } finally {
      client.close();
    }

    writeFileSync(join(dataDir, "spec.yaml"), SPEC);
    const t1 = performance.now();
    const run = await runNetmatrix(["run", "--spec", join(dataDir, "spec.yaml"), "--output", "json", "--coordinator", state.coordinator, "--token-file", state.tokenFile], {
      env,
    });
    const runS = (performance.now() - t1) / 1000;
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    const doc = JSON.parse(run.stdout);
    const find = (scenario: string, tool: string) => doc.cases.find((c: any) => c.scenario === scenario && c.tool === tool);
    for (const scenario of ["host-host", "pod-pod-cross"]) {
      const tcp = find(scenario, "iperf3");
      const ping = find(scenario, "ping");
      expect(tcp?.repetitions[0].ok, `${scenario} iperf3: ${JSON.stringify(tcp?.repetitions[0].failure)}`).toBe(true);
      expect(ping?.repetitions[0].ok, `${scenario} ping: ${JSON.stringify(ping?.repetitions[0].failure)}`).toBe(true);
      expect(tcp.summary.throughputBps.mean).toBeGreaterThan(100e6);
      expect(ping.summary.latencyUs.mean).toBeGreaterThan(0);
    }
    // The pod agent counted its node's eth0 (NETMATRIX_NET_DEV under the host's /proc): wire bytes above the payload.
    const podRep = find("pod-pod-cross", "iperf3").repetitions[0];
    expect(podRep.clientCarryingInterface).toBe("eth0");
    expect(podRep.wireToPayload).toBeGreaterThan(1.01);
    console.log(
      `lab --image: up ${upS.toFixed(1)} s (7 containers), matrix ${runS.toFixed(1)} s; host-host ${(find("host-host", "iperf3").summary.throughputBps.mean / 1e9).toFixed(2)} Gbit/s, ` +
        `pod-pod-cross ${(find("pod-pod-cross", "iperf3").summary.throughputBps.mean / 1e9).toFixed(2)} Gbit/s (wire/payload ${podRep.wireToPayload.toFixed(4)}), ` +
        `ping host-host ${find("host-host", "ping").summary.latencyUs.mean.toFixed(0)} µs, pod-pod-cross ${find("pod-pod-cross", "ping").summary.latencyUs.mean.toFixed(0)} µs`,
    );

    const t2 = performance.now();
    const down = await runNetmatrix(["lab", "down"], { env });
    expect(down.code, down.stderr).toBe(0);
    console.log(`lab --image: down ${((performance.now() - t2) / 1000).toFixed(1)} s: ${down.stderr.trim()}`);
    expect(containers()).toEqual([]);
    expect(await labObjects(PREFIX)).toEqual({ namespaces: [], rootLinks: [] });
    expect(readLabState(dataDir)).toBeUndefined();
    // The stand-in is stopped, its token, certificate and key removed.
    expect(() => process.kill(state.pids[0]!.pid, 0)).toThrow();
    expect(existsSync(join(dataDir, "lab", "kube-api"))).toBe(false);
    // The image coordinator's run is where a lab of processes leaves its runs: `netmatrix report RUN_ID` finds it with no coordinator up.
    expect(readdirSync(join(dataDir, "runs"))).toContain(doc.run.runId);
    expect(existsSync(join(dataDir, "lab", "image-data", "runs", doc.run.runId))).toBe(false);
    const report = await runNetmatrix(["report", doc.run.runId, "--output", "json"], { env });
    expect(report.code, report.stderr).toBe(0);
  }, 120_000);

  test("--ipv6: the containerized coordinator finds the dual-stack Service range with a dry run and measures pod → IPv6 ClusterIP through the stand-in's ip6tables rules", async () => {
    const up = await runNetmatrix(["lab", "up", "--nodes", "2", "--image", IMAGE, "--ipv6"], { env });
    expect(up.code, up.stderr.slice(-3000)).toBe(0);
    const state = readLabState(dataDir)!;
    // The coordinator's log: the families its dry run found (the chart's coordinator logs the same on a cluster).
    const coordinatorLog = readFileSync(join(dataDir, "lab", "logs", "coordinator.log"), "utf8");
    expect(coordinatorLog).toMatch(/"families":\["ipv4","ipv6"\].*Kubernetes services/);
    writeFileSync(
      join(dataDir, "svc6.yaml"),
      "name: lab-image-ipv6\nscenarios: [pod-service-cross]\ntools: [iperf3]\nprotocols: [tcp]\nduration: 2\nrepetitions: 1\npairs: { sample: 1 }\nfamilies: [ipv6]\n",
    );
    const run = await runNetmatrix(["run", "--spec", join(dataDir, "svc6.yaml"), "--output", "json", "--coordinator", state.coordinator, "--token-file", state.tokenFile], { env });
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc.cases).toHaveLength(1);
    const c = doc.cases[0];
    expect(c.key).toMatch(/\/ipv6\//);
    expect(c.via).toBe("service");
    expect(c.repetitions[0].ok, JSON.stringify(c.repetitions[0].failure)).toBe(true);
    expect(c.summary.throughputBps.mean).toBeGreaterThan(0);
    // The rule it went through: an IPv6 ClusterIP's ip6tables DNAT, what it counted kept when the Service went.
    const counted = readFileSync(join(dataDir, "lab", "service-counters.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const dnat6 = counted.filter((r: any) => r.family === "ipv6" && r.target === "DNAT" && r.chain === "PREROUTING" && /-d fd00:10:96::[0-9a-f]+\/128 /.test(r.rule));
    expect(dnat6.reduce((n: number, r: any) => n + r.packets, 0)).toBeGreaterThan(0);
    console.log(`lab --image --ipv6: pod-service-cross over an IPv6 ClusterIP ${(c.summary.throughputBps.mean / 1e9).toFixed(2)} Gbit/s (${dnat6[0].rule})`);
    const down = await runNetmatrix(["lab", "down"], { env });
    expect(down.code, down.stderr).toBe(0);
    expect(containers()).toEqual([]);
    expect(await labObjects(PREFIX)).toEqual({ namespaces: [], rootLinks: [] });
  }, 120_000);

  test("--raw-ping (the chart's agents.host.rawPing): host agents as root with NET_RAW alone, ping over a raw socket where the node refuses ICMP echo sockets; pod agents unchanged", async () => {
    const up = await runNetmatrix(["lab", "up", "--nodes", "1", "--image", IMAGE, "--raw-ping"], { env });
    expect(up.code, up.stderr.slice(-3000)).toBe(0);
    const state = readLabState(dataDir)!;
    const listed = JSON.parse((await runNetmatrix(["lab", "status", "--output", "json"], { env })).stdout).containers as { name: string; pid: number; for: string }[];
    const NET_RAW = (1n << 13n).toString(16).padStart(16, "0");
    for (const c of listed) {
      const host = c.for.endsWith("/host");
      for (const pid of tree(c.pid)) {
        expect(identity(pid), `${c.name}: pid ${pid}`).toEqual(
          host
            ? { Uid: "0 0 0 0", Gid: "0 0 0 0", CapEff: NET_RAW, NoNewPrivs: "1" }
            : { Uid: "10001 10001 10001 10001", Gid: "10001 10001 10001 10001", CapEff: "0000000000000000", NoNewPrivs: "1" },
        );
      }
    }
    const node = state.topology.nodes[0]!;
    const hostContainer = state.containers!.find((c) => c.for === `${node.name}/host`)!.name;
    const podAddress = node.pods[0]!.address;
    const ping = () => spawnSync("podman", ["exec", hostContainer, "ping", "-c", "1", "-W", "2", podAddress], { encoding: "utf8" });
    // A node whose ping_group_range leaves every group out (the kernel's "1 0"): ICMP echo sockets are refused, a raw socket is not.
    expect(spawnSync("ip", ["netns", "exec", node.ns, "sysctl", "-q", "-w", "net.ipv4.ping_group_range=1 0"]).status).toBe(0);
    const raw = ping();
    expect(raw.status, raw.stdout + raw.stderr).toBe(0);
    // What the same node does to a host agent without rawPing: the non-root user, no capability.
    const plain = spawnSync("podman", ["exec", "--user", "10001:10001", hostContainer, "ping", "-c", "1", "-W", "2", podAddress], { encoding: "utf8" });
    expect(plain.status).not.toBe(0);
    expect(plain.stderr).toMatch(/Operation not permitted/);
    const down = await runNetmatrix(["lab", "down"], { env });
    expect(down.code, down.stderr).toBe(0);
    expect(containers()).toEqual([]);
    expect(await labObjects(PREFIX)).toEqual({ namespaces: [], rootLinks: [] });
  }, 60_000);
});
